"""The turn engine: one streamed agent turn, shared by ChatCell and CompareView.

:class:`TurnEngine` sends a message through ``AsyncLetta`` with
``streaming=True, stream_tokens=True, background=True``, assembles token deltas
into whole messages keyed by ``(id, message_type)`` (a reasoning message and the
reply after it can share an id), and follows ``run_id`` / ``seq_id`` so that a
dropped connection is resumed through the conversation's ``/stream`` endpoint
with nothing lost or repeated. Every user message carries an ``otid``: a retried
send is recognised by the server and never stored twice.

Stream events that are not messages (``response_state``, ``retry_message`` on Letta
Cloud, and any kind a server adds later) go to :attr:`Turn.events`, never to the
messages. Every send asks for compaction messages, so a compaction during the turn
arrives as ``event_message`` + ``summary_message``. A run that fails with an
``error_message`` the server marks ``retryable`` is sent again (fresh otid, backoff).

The engine knows nothing about widgets: a listener callback sees every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import letta_client
from letta_client import AsyncLetta, Letta

from letta_widgets._messages import KNOWN_MESSAGE_TYPES
from letta_widgets.client import async_twin, base_url_of
from letta_widgets.errors import (
    AgentRunError,
    ApprovalPending,
    ConversationBusy,
    LettaWidgetsError,
    StreamInterrupted,
    translate,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ERROR_STOP_REASONS",
    "MESSAGE_TYPES",
    "AssembledMessage",
    "Turn",
    "TurnEngine",
    "TurnEvent",
]

LANDING_TIMEOUT_S = 10.0
"""How long a Stop during the send request waits for the server to start the run
(so that the run can be cancelled) before giving up on it."""

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

MESSAGE_TYPES = frozenset(KNOWN_MESSAGE_TYPES)
"""Stream chunk types that are Letta messages (listed by ``messages.list`` too). Anything
else but ``ping``, ``stop_reason``, ``usage_statistics`` and ``error_message`` is an event
(:attr:`Turn.events`)."""

RUN_RETRY_DELAYS_S = (1.0, 3.0)
"""Waits before re-sending a run that failed with a ``retryable`` error (one per retry)."""

_log = logging.getLogger(__name__)
_NO_METRICS: set[str] = set()  # base URLs that keep no step metrics

_TEXT_FIELD = {
    "assistant_message": "content",
    "user_message": "content",
    "system_message": "content",
    "reasoning_message": "reasoning",
    "hidden_reasoning_message": "hidden_reasoning",
    "summary_message": "summary",
}
_TOOL_CALL_TYPES = frozenset({"tool_call_message", "approval_request_message"})
_RESUMABLE = (
    httpx.TransportError,
    httpx.StreamError,
    letta_client.APIConnectionError,
    json.JSONDecodeError,
)


@dataclass
class TurnEvent:
    """What changed in a turn: passed to the engine's listener.

    ``kind`` is one of ``"start"`` (the request was sent), ``"message"`` (a new
    message began at ``index``), ``"delta"`` (``text`` was appended to the
    message at ``index``), ``"update"`` (a non-text change, e.g. tool-call
    arguments or a tool return), ``"reconnect"`` (the stream dropped and is being
    resumed), ``"retry"`` (the run failed with a retryable error and is sent again;
    ``text`` says why), ``"event"`` (a non-message event, ``text`` is its type),
    ``"usage"``, ``"stop"`` (the stop reason arrived) and ``"end"``.
    """

    kind: str
    index: int | None = None
    text: str = ""


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
        if isinstance(piece, str):
            text = piece
        elif isinstance(piece, list):
            text = "".join(
                str(p.get("text", "")) if isinstance(p, dict) else str(getattr(p, "text", "") or "")
                for p in piece
            )
        else:
            return ""
        if text:
            self.parts.append(text)
        return text

    def add_tool_calls(self, chunk: dict[str, Any]) -> None:
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
    _assembled: list[AssembledMessage] = field(default_factory=list, repr=False)
    _index: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message of the turn, in stream order, as plain dicts."""
        return [m.to_dict() for m in self._assembled]

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
            if m.message_type not in _TOOL_CALL_TYPES:
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


Listener = Callable[[Turn, TurnEvent], None]


class TurnEngine:
    """Streams turns into one conversation; resumable, cancellable, idempotent.

    One engine runs one turn at a time (a second ``run`` while one is active
    raises :class:`ConversationBusy` without touching the server).
    """

    def __init__(
        self,
        client: Letta | AsyncLetta,
        conversation_id: str,
        *,
        agent_id: str | None = None,
        stream_tokens: bool = True,
        background: bool = True,
        include_pings: bool = True,
        max_reconnects: int = 5,
        max_run_retries: int = len(RUN_RETRY_DELAYS_S),
        fetch_metrics: bool = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.conversation_id = conversation_id
        self.agent_id = agent_id
        self.stream_tokens = stream_tokens
        self.background = background
        self.include_pings = include_pings
        self.max_reconnects = max_reconnects
        self.max_run_retries = max_run_retries
        """Re-sends of a run that failed with an error its server marked ``retryable``."""
        self.retry_delays: tuple[float, ...] = RUN_RETRY_DELAYS_S
        """Seconds to wait before each re-send (the last one repeats)."""
        self.fetch_metrics = fetch_metrics
        """Ask the server for each step's timings after a turn (:attr:`Turn.step_metrics`)."""
        self.extra_headers = dict(extra_headers or {})
        self.current: Turn | None = None
        self._cancel_requested = False

    @property
    def aclient(self) -> AsyncLetta:
        """The async SDK client for the running event loop."""
        return async_twin(self.client)

    @property
    def base_url(self) -> str:
        """The server this engine talks to."""
        return base_url_of(self.client)

    @property
    def busy(self) -> bool:
        """True while a turn streams."""
        return self.current is not None and self.current.total_s is None

    def _what(self) -> str:
        if self.conversation_id == "default" and self.agent_id:
            return f"the default conversation of agent {self.agent_id}"
        return f"conversation {self.conversation_id}"

    def _target(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id} if self.conversation_id == "default" else {}

    async def run(
        self,
        message: str | Iterable[Mapping[str, Any]],
        *,
        listener: Listener | None = None,
        override_model: str | None = None,
        override_system: str | None = None,
        otid: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Turn:
        """Send ``message`` (text, or message dicts) and stream the turn to the end.

        ``override_model`` / ``override_system`` apply to this turn only (the agent's
        configuration is unchanged).

        Raises a :class:`LettaWidgetsError` (with the partial turn as ``.turn``)
        when the turn fails; a cancelled turn returns with ``stop_reason ==
        "cancelled"``.
        """
        if self.busy:
            raise ConversationBusy(
                f"{self._what()} is already streaming a turn",
                "wait for it to finish or stop it before sending again",
            )
        otid = otid or str(uuid.uuid4())
        if isinstance(message, str):
            prompt: str | None = message
            messages: list[dict[str, Any]] = [{"role": "user", "content": message, "otid": otid}]
        else:
            messages = [dict(m) for m in message]
            for m in messages:
                m.setdefault("otid", otid if len(messages) == 1 else str(uuid.uuid4()))
            prompt = next(
                (str(m.get("content")) for m in messages if m.get("role") == "user"), None
            )
        kwargs: dict[str, Any] = {"messages": messages}
        if override_model:
            kwargs["override_model"] = override_model
        if override_system:
            kwargs["override_system"] = override_system
        return await self._drive(prompt, otid, kwargs, listener, extra_headers)

    async def approve(
        self,
        tool_call_id: str,
        *,
        approve: bool = True,
        reason: str | None = None,
        approval_request_id: str | None = None,
        listener: Listener | None = None,
    ) -> Turn:
        """Answer a pending approval request and stream the continued run."""
        otid = str(uuid.uuid4())
        approval: dict[str, Any] = {
            "type": "approval",
            "approve": approve,
            "approval_request_id": approval_request_id,
            "approvals": [
                {
                    "type": "approval",
                    "tool_call_id": tool_call_id,
                    "approve": approve,
                    "reason": reason,
                }
            ],
            "reason": reason,
            "otid": otid,
        }
        return await self._drive(None, otid, {"messages": [approval]}, listener, None)

    async def attach(self, *, run_id: str | None = None, listener: Listener | None = None) -> Turn:
        """Follow the conversation's active run (e.g. one started elsewhere) to its end."""
        turn = Turn(conversation_id=self.conversation_id, agent_id=self.agent_id, run_id=run_id)
        self.current = turn
        self._cancel_requested = False
        t0 = time.perf_counter()
        try:
            await self._resume_loop(turn, listener, t0, first_error=None)
        finally:
            self._finish(turn, t0, listener)
        return self._result(turn)

    async def cancel(self) -> dict[str, Any] | None:
        """Ask the server to cancel the conversation's active runs.

        Returns the server's answer, or ``None`` when nothing was running (409).
        """
        self._cancel_requested = True
        try:
            res = await self.aclient.conversations.cancel(
                self.conversation_id, extra_headers=self.extra_headers or None, **self._target()
            )
        except letta_client.ConflictError:
            return None
        except letta_client.LettaError as exc:
            raise translate(exc, base_url=self.base_url, what=self._what()) from None
        return res if isinstance(res, dict) else getattr(res, "to_dict", lambda: None)()

    # ----------------------------------------------------------------- internals

    async def _drive(
        self,
        prompt: str | None,
        otid: str,
        kwargs: dict[str, Any],
        listener: Listener | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Turn:
        turn = Turn(
            conversation_id=self.conversation_id, prompt=prompt, agent_id=self.agent_id, otid=otid
        )
        self.current = turn
        self._cancel_requested = False
        headers = {**self.extra_headers, **(extra_headers or {})}
        t0 = time.perf_counter()
        _emit(listener, turn, TurnEvent("start"))
        try:
            await self._attempt(turn, kwargs, headers, listener, t0)
            while self._retryable(turn):
                await self._retry(turn, kwargs, listener)
                await self._attempt(turn, kwargs, headers, listener, t0)
            if turn.stop_reason is not None and turn.error is None:
                turn.total_s = time.perf_counter() - t0
                await self._fetch_metrics(turn)
        except LettaWidgetsError as err:
            turn.error = err
            err.turn = turn
            raise
        finally:
            self._finish(turn, t0, listener)
        return self._result(turn)

    async def _attempt(
        self,
        turn: Turn,
        kwargs: dict[str, Any],
        headers: dict[str, str],
        listener: Listener | None,
        t0: float,
    ) -> None:
        """Send once and stream (resuming a dropped connection) until the stop reason."""
        first_error: BaseException | None = None
        try:
            stream = await self._land(
                self.aclient.conversations.messages.create(
                    self.conversation_id,
                    streaming=True,
                    stream_tokens=self.stream_tokens,
                    background=self.background,
                    include_pings=self.include_pings,
                    include_compaction_messages=True,
                    extra_headers=headers or None,
                    **self._target(),
                    **kwargs,
                )
            )
            await self._consume(stream, turn, listener, t0)
        except asyncio.CancelledError:
            await self._cancel_on_server(turn)
            raise
        except _RESUMABLE as exc:
            # Nothing reached us: is the server there at all?
            nothing_yet = isinstance(exc, letta_client.APIConnectionError) and not turn.run_id
            if nothing_yet and not await self._server_alive():
                raise translate(exc, base_url=self.base_url, what=self._what()) from None
            first_error = exc
        except letta_client.ConflictError as exc:
            if "approval" in str(exc.body).lower():
                raise self._approval_pending(str(exc)) from None
            raise ConversationBusy(
                f"{self._what()} is busy: another run is in progress",
                "attach to it (ChatCell's Attach button or engine.attach()) or stop it "
                "with client.conversations.cancel(conversation_id)",
                status=409,
                url=self.base_url,
                detail=str(exc),
            ) from None
        except letta_client.LettaError as exc:
            raise translate(exc, base_url=self.base_url, what=self._what()) from None
        if turn.stop_reason is None and not self._cancel_requested:
            await self._resume_loop(turn, listener, t0, first_error)

    def _retryable(self, turn: Turn) -> bool:
        """The run failed with an error its server marked ``retryable``, and tries are left."""
        err = turn.error
        return (
            isinstance(err, AgentRunError)
            and err.retryable is True
            and turn.retries < self.max_run_retries
            and not self._cancel_requested
        )

    async def _retry(self, turn: Turn, kwargs: dict[str, Any], listener: Listener | None) -> None:
        """Forget the failed attempt, wait, and give the input fresh otids (a new request)."""
        why = str(turn.error)
        delays = self.retry_delays or (0.0,)
        await asyncio.sleep(delays[min(turn.retries, len(delays) - 1)])
        turn.retries += 1
        turn.error = None
        turn.stop_reason = turn.run_id = turn.last_seq_id = turn.usage = None
        turn._assembled.clear()
        turn._index.clear()
        messages = [dict(m) for m in kwargs.get("messages") or []]
        for m in messages:
            m["otid"] = str(uuid.uuid4())
        kwargs["messages"] = messages
        turn.otid = messages[0]["otid"] if messages else turn.otid
        _emit(listener, turn, TurnEvent("retry", text=why))

    async def _fetch_metrics(self, turn: Turn) -> None:
        """The server's step timings (LLM, tools) for the turn, where it keeps them.

        Best effort, never failing the turn: a step without metrics (404: unknown, or not
        recorded yet, as letta 0.16.8 records them in the background) is left out; a server
        that fails otherwise is remembered and not asked again.
        """
        base = self.base_url
        if not self.fetch_metrics or base in _NO_METRICS or not turn.step_ids:
            return
        aclient = self.aclient.with_options(max_retries=0, timeout=5)

        async def one(step_id: str) -> dict[str, Any] | None:
            try:
                got = await aclient.steps.metrics.retrieve(step_id)
            except letta_client.NotFoundError:
                return None
            return got.to_dict(mode="json")

        try:
            found = await asyncio.gather(*(one(s) for s in turn.step_ids[:20]))
        except (letta_client.LettaError, httpx.HTTPError) as exc:
            _log.debug("no step metrics from %s: %r", base, exc)
            _NO_METRICS.add(base)
            return
        turn.step_metrics = [m for m in found if m]

    def _result(self, turn: Turn) -> Turn:
        if turn.error is None and turn.stop_reason in ERROR_STOP_REASONS:
            turn.error = AgentRunError(
                f"the agent's run ended with stop reason {turn.stop_reason!r}",
                "look at the run's messages (turn.messages) and the server log; send again "
                "to retry",
                url=self.base_url,
            )
        if turn.error is not None:
            turn.error.turn = turn
            raise turn.error
        return turn

    async def _resume_loop(
        self,
        turn: Turn,
        listener: Listener | None,
        t0: float,
        first_error: BaseException | None,
    ) -> None:
        """Reconnect through ``/stream`` until the stop reason arrives."""
        error = first_error
        attempts = 0
        while turn.stop_reason is None and not self._cancel_requested:
            if not self.background and turn.otid is not None:
                # A foreground run has no stream to rejoin (the real server would wait
                # forever on one): say what happened instead of trying.
                if turn.run_id is None:
                    raise StreamInterrupted(
                        f"the stream from {self._what()} broke before the run was known",
                        "send again: the message's otid makes the retry safe",
                        url=self.base_url,
                        detail=repr(error) if error else None,
                    ) from error
                raise StreamInterrupted(
                    f"the stream of run {turn.run_id} broke, and a run started without "
                    "background mode cannot be resumed",
                    "reload the conversation's history to see how the run ended; "
                    "TurnEngine(background=True), the default, resumes instead",
                    url=self.base_url,
                    detail=repr(error) if error else None,
                ) from error
            if attempts >= self.max_reconnects:
                raise StreamInterrupted(
                    f"the stream from {self._what()} ended without a stop reason "
                    f"after {attempts} reconnect attempts",
                    "check the server; the run may still finish (reload the history)",
                    url=self.base_url,
                    detail=repr(error) if error else None,
                ) from error
            if attempts:
                await asyncio.sleep(min(0.2 * 2 ** (attempts - 1), 2.0))
            attempts += 1
            turn.reconnects += 1
            _emit(listener, turn, TurnEvent("reconnect", text=repr(error) if error else ""))
            kwargs: dict[str, Any] = {"include_pings": self.include_pings, **self._target()}
            if turn.run_id:
                kwargs["run_id"] = turn.run_id
            elif turn.otid:
                kwargs["otid"] = turn.otid
            if turn.last_seq_id is not None:
                kwargs["starting_after"] = turn.last_seq_id
            try:
                stream = await self.aclient.conversations.messages.stream(
                    self.conversation_id, extra_headers=self.extra_headers or None, **kwargs
                )
                await self._consume(stream, turn, listener, t0)
                error = None
            except asyncio.CancelledError:
                await self._cancel_on_server(turn)
                raise
            except _RESUMABLE as exc:
                error = exc
            except letta_client.BadRequestError as exc:
                # The run is over: the server keeps no stream to resume. The stored
                # history is complete, so the turn ended even if we missed its end.
                if turn.run_id is None:
                    raise translate(exc, base_url=self.base_url, what=self._what()) from None
                raise StreamInterrupted(
                    f"the run {turn.run_id} finished while the stream was disconnected",
                    "its messages are stored: reload the conversation's history",
                    url=self.base_url,
                    detail=str(exc),
                ) from exc
            except letta_client.LettaError as exc:
                raise translate(exc, base_url=self.base_url, what=self._what()) from None

    async def _land(self, request: Awaitable[Any]) -> Any:
        """Await the request that starts a run, even through a cancel.

        Cancelling mid-request would leave the run the server is still creating
        alive, out of reach of the cancel that follows. So a cancel here waits (up
        to ``LANDING_TIMEOUT_S``) for the server's answer, closes the stream, and
        only then lets the cancel through, to cancel that run on the server.
        """
        task = asyncio.ensure_future(request)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            deadline = time.monotonic() + LANDING_TIMEOUT_S
            while not task.done() and time.monotonic() < deadline:
                with contextlib.suppress(asyncio.CancelledError):  # a second Stop: same job
                    await asyncio.wait({task}, timeout=deadline - time.monotonic())
            if not task.done():
                task.cancel()
            elif not task.cancelled() and task.exception() is None:
                with contextlib.suppress(Exception):
                    await task.result().close()
            raise

    async def _consume(self, stream: Any, turn: Turn, listener: Listener | None, t0: float) -> None:
        """Fold every chunk of ``stream`` into ``turn``."""
        try:
            async for chunk in stream:
                self._fold(chunk, turn, listener, t0)
        except letta_client.APIStatusError as exc:
            # An SSE ``event: error`` frame: the SDK raises it mid-stream with the
            # server's error_message as the body. The run is over.
            body = exc.body if isinstance(exc.body, dict) else {}
            if body.get("message_type") != "error_message":
                raise
            turn.error = self._run_error(body)
            turn.stop_reason = turn.stop_reason or "error"
        finally:
            await stream.close()

    def _approval_pending(self, detail: str) -> ApprovalPending:
        return ApprovalPending(
            f"{self._what()} is waiting for your approval of a tool call",
            "approve or deny it first (the Approve / Deny buttons, or "
            "chat.approve(approve=True|False))",
            status=409,
            url=self.base_url,
            detail=detail,
        )

    def _run_error(self, event: Mapping[str, Any]) -> LettaWidgetsError:
        """The error a failed run reported (``error_message``), as a typed error.

        Letta Cloud adds ``error_code``, ``status_code`` and ``retryable`` to the event; they
        become the error's ``code``, ``status`` and ``retryable`` (``None`` where absent).
        """
        message = str(event.get("message") or "")
        if "waiting for approval" in message.lower():
            # The real server refuses a message sent while a tool call awaits approval
            # by failing the new run at once (CONFLICT inside the stream, not an HTTP 409).
            return self._approval_pending(message)
        retryable = event.get("retryable")
        retryable = retryable if isinstance(retryable, bool) else None
        status = event.get("status_code")
        code = event.get("error_code")
        label = f"{event.get('error_type')}" + (f", {code}" if code else "")
        if retryable is False:
            remedy = (
                "the server says retrying will not help; look at the message and the server log"
            )
        else:
            remedy = "look at the server log; send again to retry"
        return AgentRunError(
            f"the agent's run failed ({label}: {message})",
            remedy,
            status=status if isinstance(status, int) else None,
            url=self.base_url,
            detail=str(event.get("detail") or "") or None,
            code=str(code) if code else None,
            retryable=retryable,
        )

    def _fold(self, chunk: Any, turn: Turn, listener: Listener | None, t0: float) -> None:
        mtype = getattr(chunk, "message_type", None)
        seq = getattr(chunk, "seq_id", None)
        if seq is not None:
            if turn.last_seq_id is not None and seq <= turn.last_seq_id:
                return  # a replayed chunk we already have
            turn.last_seq_id = seq
        run_id = getattr(chunk, "run_id", None)
        if run_id and not turn.run_id:
            turn.run_id = run_id
        if mtype == "ping" or mtype is None:
            return
        if mtype == "stop_reason":
            turn.stop_reason = chunk.stop_reason
            _emit(listener, turn, TurnEvent("stop", text=str(chunk.stop_reason)))
            return
        if mtype == "usage_statistics":
            turn.usage = chunk.to_dict(mode="json")
            _emit(listener, turn, TurnEvent("usage"))
            return
        if mtype == "error_message":
            turn.error = self._run_error(chunk.to_dict(mode="json"))
            return
        if mtype not in MESSAGE_TYPES:  # response_state, retry_message, or a kind to come
            _log.debug("stream event %r kept in turn.events (not a message)", mtype)
            turn.events.append(chunk.to_dict(mode="json"))
            _emit(listener, turn, TurnEvent("event", text=str(mtype)))
            return
        key = (chunk.id, mtype)
        index = turn._index.get(key)
        text_field = _TEXT_FIELD.get(mtype)
        if index is None:
            data = chunk.to_dict(mode="json")
            msg = AssembledMessage(key, data)
            index = len(turn._assembled)
            turn._index[key] = index
            turn._assembled.append(msg)
            added = ""
            if text_field is not None:
                added = msg.add_text(data.get(text_field))
            elif mtype in _TOOL_CALL_TYPES:
                msg.add_tool_calls(data)
            _emit(listener, turn, TurnEvent("message", index, added))
        else:
            msg = turn._assembled[index]
            if seq is not None:
                msg.seq_id = seq
            if text_field is not None:
                added = msg.add_text(getattr(chunk, text_field, None))
                if added:
                    _emit(listener, turn, TurnEvent("delta", index, added))
                return
            if mtype in _TOOL_CALL_TYPES:
                msg.add_tool_calls(chunk.to_dict(mode="json"))
            else:
                msg.replace(chunk.to_dict(mode="json"))
            _emit(listener, turn, TurnEvent("update", index))
            return
        if turn.ttft_s is None and mtype in ("assistant_message", "reasoning_message"):
            turn.ttft_s = time.perf_counter() - t0

    async def _cancel_on_server(self, turn: Turn) -> None:
        """Cancel the run server-side when the local task is cancelled (Stop, interrupt)."""
        turn.stop_reason = turn.stop_reason or "cancelled"
        with contextlib.suppress(LettaWidgetsError, asyncio.CancelledError):
            await asyncio.shield(self.cancel())

    async def _server_alive(self) -> bool:
        try:
            await self.aclient.with_options(max_retries=0, timeout=3).health()
        except letta_client.LettaError:
            return False
        return True

    def _finish(self, turn: Turn, t0: float, listener: Listener | None) -> None:
        if turn.total_s is None:
            turn.total_s = time.perf_counter() - t0
        if self._cancel_requested and turn.stop_reason is None:
            turn.stop_reason = "cancelled"
        _emit(listener, turn, TurnEvent("end"))


def _emit(listener: Listener | None, turn: Turn, event: TurnEvent) -> None:
    if listener is not None:
        listener(turn, event)
