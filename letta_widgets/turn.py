"""One agent turn, folded from its stream chunks: pure, no I/O.

:meth:`Turn.apply` takes one chunk (an SDK stream object or its JSON dict) and returns what
changed as :class:`TurnEvent` objects; :class:`letta_widgets.stream.TurnEngine` only moves
chunks from the server to it (send, resume, cancel), as ``letta_client``'s ``SSEDecoder``
sits beside its ``Stream``. Token deltas are assembled into whole messages keyed by
``(id, message_type)`` (a reasoning message and the reply after it can share an id);
replayed chunks (a resumed stream repeats what it had sent) are dropped by ``seq_id``.

Stream events that are not messages (``response_state``, ``retry_message`` on Letta Cloud,
and any kind a server adds later) go to :attr:`Turn.events`, never to the messages.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from letta_widgets.errors import LettaWidgetsError, run_error
from letta_widgets.letta.conversation import ConversationRef
from letta_widgets.letta.messages import (
    KNOWN_MESSAGE_TYPES,
    MESSAGE_TYPES,
    as_dict,
    is_compaction_event,
)
from letta_widgets.render import compaction_label

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ERROR_STOP_REASONS", "AssembledMessage", "Turn", "TurnEvent"]

ERROR_STOP_REASONS = frozenset(
    {
        "error",
        "llm_api_error",
        "invalid_llm_response",
        "invalid_tool_call",
        "max_tokens_exceeded",
        "insufficient_credits",
        "context_window_overflow_in_system_prompt",
    }
)
"""Stop reasons that mean the run failed (``send`` raises :class:`AgentRunError`)."""

_log = logging.getLogger(__name__)
_STORED = frozenset(KNOWN_MESSAGE_TYPES)
_CALL_TYPES = frozenset(name for name, t in MESSAGE_TYPES.items() if t.calls)
_TEXT_FIELD = {name: t.text_field for name, t in MESSAGE_TYPES.items() if t.text_field}
_FIRST_TOKEN_TYPES = frozenset({"assistant_message", "reasoning_message"})


@dataclass
class TurnEvent:
    """What changed in a turn: what :meth:`Turn.apply` returns, and the engine's listener sees.

    ``kind`` is one of ``"start"`` (the request was sent), ``"message"`` (a new message began
    at ``index``), ``"delta"`` (``text`` was appended to the message at ``index``),
    ``"update"`` (a non-text change, e.g. tool-call arguments or a tool return),
    ``"reconnect"`` (the stream dropped and is being resumed), ``"retry"`` (the run failed
    with a retryable error and is sent again; ``text`` says why), ``"event"`` (a non-message
    event, ``text`` is its type), ``"error"`` (the run reported an error: ``turn.error``),
    ``"usage"``, ``"stop"`` (the stop reason arrived) and ``"end"``.
    """

    kind: str
    index: int | None = None
    text: str = ""
    message_type: str | None = None
    """For ``message``, ``delta`` and ``update``: the message's type."""
    live: str | None = None
    """For ``message`` and ``update``: the message's text as shown while it streams."""


def _get(chunk: Any, name: str) -> Any:
    return chunk.get(name) if isinstance(chunk, Mapping) else getattr(chunk, name, None)


def _delta_text(piece: Any) -> str:
    if isinstance(piece, str):
        return piece
    if isinstance(piece, list):
        return "".join(
            str(p.get("text", "")) if isinstance(p, dict) else str(getattr(p, "text", "") or "")
            for p in piece
        )
    return ""


class AssembledMessage:
    """One Letta message built from its stream chunks (token deltas concatenated)."""

    __slots__ = ("_tool_calls", "base", "key", "message_type", "parts", "seq_id")

    def __init__(self, key: tuple[str, str], base: dict[str, Any]) -> None:
        self.key = key
        self.message_type = key[1]
        self.base = base
        self.parts: list[str] = []
        self.seq_id: int | None = base.get("seq_id")
        self._tool_calls: dict[str, dict[str, Any]] = {}

    @property
    def text(self) -> str:
        """The text assembled so far (content, reasoning, ... by type)."""
        return "".join(self.parts)

    def add_text(self, piece: Any) -> str:
        """Append a delta (a string or a list of content parts); return the added text."""
        text = _delta_text(piece)
        if text:
            self.parts.append(text)
        return text

    def add_tool_calls(self, chunk: Mapping[str, Any]) -> None:
        """Merge tool-call deltas (name first, arguments in pieces) by tool_call_id."""
        calls = chunk.get("tool_calls") or chunk.get("tool_call") or []
        if isinstance(calls, dict):  # token mode: one ToolCallDelta, not a list
            calls = [calls]
        for n, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            call_id = call.get("tool_call_id") or (list(self._tool_calls)[n : n + 1] or [str(n)])[0]
            merged = self._tool_calls.setdefault(
                call_id, {"name": None, "arguments": "", "tool_call_id": call.get("tool_call_id")}
            )
            if call.get("name"):
                merged["name"] = call["name"]
            if call.get("tool_call_id"):
                merged["tool_call_id"] = call["tool_call_id"]
            if call.get("arguments"):
                merged["arguments"] += call["arguments"]

    def replace(self, chunk: dict[str, Any]) -> None:
        """A whole-message chunk for a type that is not streamed in pieces."""
        self.base = chunk

    def to_dict(self) -> dict[str, Any]:
        """The finished message as ``messages.list`` would return it."""
        out = dict(self.base)
        field_name = _TEXT_FIELD.get(self.message_type)
        if field_name is not None and self.parts:
            out[field_name] = self.text
        if self._tool_calls:
            calls = [dict(c) for c in self._tool_calls.values()]
            out["tool_calls"] = calls
            out["tool_call"] = dict(calls[0])
        if self.seq_id is not None:
            out["seq_id"] = self.seq_id
        return out

    @property
    def live_text(self) -> str:
        """The plain text shown while it streams (rendered properly once it is whole)."""
        mtype = self.message_type
        if mtype in _CALL_TYPES:
            calls = self.to_dict().get("tool_calls") or []
            return "\n".join(f"{c.get('name') or '…'}({c.get('arguments') or ''})" for c in calls)
        if mtype == "tool_return_message":
            data = self.to_dict()
            return f"{data.get('status', '')}: {data.get('tool_return', '')}"
        if mtype == "summary_message" or is_compaction_event(self.base):
            return compaction_label(self.to_dict())
        return self.text if MESSAGE_TYPES[mtype].kind in ("answer", "step") else ""


@dataclass
class Turn:
    """The result of one turn: messages, text, tool calls, usage, timings, stop reason."""

    conversation_id: str
    prompt: str | None = None
    agent_id: str | None = None
    otid: str | None = None
    run_id: str | None = None
    last_seq_id: int | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    error: LettaWidgetsError | None = None
    started_at: float = field(default_factory=time.time)
    ttft_s: float | None = None
    total_s: float | None = None
    reconnects: int = 0
    retries: int = 0
    """How many times a run that failed with a retryable error was sent again."""
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """Stream events that are not messages (``response_state``, ``retry_message``, …)."""
    step_metrics: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """The server's timings of each step of the run (``steps.metrics``), where it has them."""
    base_url: str | None = field(default=None, repr=False)
    """The server the turn ran on (named in its errors)."""
    _assembled: list[AssembledMessage] = field(default_factory=list, repr=False)
    _index: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ the fold

    def apply(self, chunk: Any, elapsed: float | None = None) -> list[TurnEvent]:
        """Fold one stream chunk into the turn; returns what changed (maybe nothing).

        ``elapsed``: seconds since the request was sent (sets :attr:`ttft_s` at the first
        token). A replayed chunk (``seq_id`` not newer than the last one) changes nothing.
        """
        mtype = _get(chunk, "message_type")
        seq = _get(chunk, "seq_id")
        if seq is not None:
            if self.last_seq_id is not None and seq <= self.last_seq_id:
                return []
            self.last_seq_id = seq
        run_id = _get(chunk, "run_id")
        if run_id and not self.run_id:
            self.run_id = run_id
        if mtype == "ping" or mtype is None:
            return []
        if mtype == "stop_reason":
            self.stop_reason = _get(chunk, "stop_reason")
            return [TurnEvent("stop", text=str(self.stop_reason))]
        if mtype == "usage_statistics":
            self.usage = as_dict(chunk)
            return [TurnEvent("usage")]
        if mtype == "error_message":
            self.error = run_error(as_dict(chunk), what=self.describe(), url=self.base_url)
            return [TurnEvent("error", text=str(self.error))]
        if mtype not in _STORED:  # response_state, retry_message, or a kind to come
            _log.debug("stream event %r kept in turn.events (not a message)", mtype)
            self.events.append(as_dict(chunk))
            return [TurnEvent("event", text=str(mtype))]
        return self._apply_message(chunk, mtype, seq, elapsed)

    def _apply_message(
        self, chunk: Any, mtype: str, seq: int | None, elapsed: float | None
    ) -> list[TurnEvent]:
        key = (_get(chunk, "id"), mtype)
        index = self._index.get(key)
        text_field = _TEXT_FIELD.get(mtype)
        if index is None:
            data = as_dict(chunk)
            msg = AssembledMessage(key, data)
            index = len(self._assembled)
            self._index[key] = index
            self._assembled.append(msg)
            added = ""
            if text_field is not None:
                added = msg.add_text(data.get(text_field))
            elif mtype in _CALL_TYPES:
                msg.add_tool_calls(data)
            if self.ttft_s is None and elapsed is not None and mtype in _FIRST_TOKEN_TYPES:
                self.ttft_s = elapsed
            return [TurnEvent("message", index, added, mtype, msg.live_text)]
        msg = self._assembled[index]
        if seq is not None:
            msg.seq_id = seq
        if text_field is not None:
            added = msg.add_text(_get(chunk, text_field))
            return [TurnEvent("delta", index, added, mtype)] if added else []
        if mtype in _CALL_TYPES:
            msg.add_tool_calls(as_dict(chunk))
        else:
            msg.replace(as_dict(chunk))
        return [TurnEvent("update", index, "", mtype, msg.live_text)]

    def reset(self) -> None:
        """Forget a failed attempt's messages and outcome (before its retry)."""
        self.error = None
        self.stop_reason = self.run_id = self.last_seq_id = self.usage = None
        self._assembled.clear()
        self._index.clear()

    # ------------------------------------------------------------------ reading

    def describe(self) -> str:
        """How errors name the turn's conversation."""
        return ConversationRef(self.conversation_id, self.agent_id).describe()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message of the turn, in stream order, as plain dicts."""
        return [m.to_dict() for m in self._assembled]

    @property
    def assembled(self) -> list[AssembledMessage]:
        """The turn's messages as they are being assembled (index = a TurnEvent's index)."""
        return self._assembled

    def _texts(self, message_type: str) -> list[str]:
        return [m.text for m in self._assembled if m.message_type == message_type and m.parts]

    @property
    def assistant_text(self) -> str:
        """The assistant's reply (all assistant messages, joined by blank lines)."""
        return "\n\n".join(self._texts("assistant_message"))

    @property
    def reasoning(self) -> str:
        """The agent's visible reasoning, joined by blank lines."""
        return "\n\n".join(self._texts("reasoning_message"))

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """Each tool call with its return: name, arguments (dict), status, return text."""
        returns: dict[str, dict[str, Any]] = {}
        for m in self._assembled:
            if m.message_type == "tool_return_message":
                ret = m.to_dict()
                returns[str(ret.get("tool_call_id"))] = ret
        calls = []
        for m in self._assembled:
            if m.message_type not in _CALL_TYPES:
                continue
            for call in m.to_dict().get("tool_calls") or []:
                ret = returns.get(str(call.get("tool_call_id")), {})
                calls.append(
                    {
                        "name": call.get("name"),
                        "arguments": _parse_json(call.get("arguments")),
                        "tool_call_id": call.get("tool_call_id"),
                        "needs_approval": m.message_type == "approval_request_message",
                        "status": ret.get("status"),
                        "return": ret.get("tool_return"),
                    }
                )
        return calls

    @property
    def approval_requests(self) -> list[dict[str, Any]]:
        """Approval requests of this turn that no tool return has answered yet."""
        answered = {c["tool_call_id"] for c in self.tool_calls if c["status"] is not None}
        return [
            m.to_dict()
            for m in self._assembled
            if m.message_type == "approval_request_message"
            and not {c.get("tool_call_id") for c in m.to_dict().get("tool_calls") or []} <= answered
        ]

    @property
    def compactions(self) -> list[dict[str, Any]]:
        """The compactions during this turn: each ``summary_message`` (summary and stats)."""
        return [m.to_dict() for m in self._assembled if m.message_type == "summary_message"]

    @property
    def step_ids(self) -> list[str]:
        """The run's step ids, in order (from its messages)."""
        ids = (m.base.get("step_id") for m in self._assembled)
        return list(dict.fromkeys(i for i in ids if i))

    @property
    def llm_s(self) -> float | None:
        """Seconds the server spent in LLM requests this turn (``None``: not reported)."""
        return _seconds(self.step_metrics, "llm_request_ns")

    @property
    def tool_s(self) -> float | None:
        """Seconds the server spent executing tools this turn (``None``: not reported)."""
        return _seconds(self.step_metrics, "tool_execution_ns")

    @property
    def ok(self) -> bool:
        """True when the turn ended without an error."""
        return self.error is None and self.stop_reason not in ERROR_STOP_REASONS

    def frame(self) -> pd.DataFrame:
        """The turn's messages in the :func:`letta_widgets.messages_frame` schema."""
        import letta_widgets.frames  # noqa: F401 - registers the ``.letta`` accessor
        from letta_widgets._messages import rows_from_messages

        return rows_from_messages(
            self.messages, conversation_id=self.conversation_id, agent_id=self.agent_id
        )

    def __repr__(self) -> str:
        text = self.assistant_text
        short = text if len(text) < 60 else text[:57] + "..."
        return (
            f"Turn(conversation_id={self.conversation_id!r}, stop_reason={self.stop_reason!r}, "
            f"messages={len(self._assembled)}, text={short!r})"
        )


def _seconds(metrics: list[dict[str, Any]], key: str) -> float | None:
    values = [m[key] for m in metrics if isinstance(m.get(key), (int, float))]
    return sum(values) / 1e9 if values else None


def _parse_json(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
