"""Letta's messages: one table of their types, and one reading of each message.

Everything in the toolkit that needs to know what a message type *is* (its role in a
history frame, its label on a card, which field its streamed text goes to, whether it is
an answer or an intermediate step, which filter shows it) reads :data:`MESSAGE_TYPES`; the
front-end gets the same table as JSON (:func:`types_json`). Everything that needs a
message's text reads :func:`text_of` (or :func:`row_parts`, its rows), so a history
frame's ``text`` and a card's text cannot drift apart.

A new Letta message type is one row of ``_TYPES`` here (and, if it needs a card of its
own, one renderer in ``render/_cards.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "IMAGE_PLACEHOLDER",
    "KNOWN_MESSAGE_TYPES",
    "MESSAGE_TYPES",
    "ROLES",
    "SIMPLE_TEXT",
    "STREAM_TYPES",
    "MessageType",
    "RowPart",
    "approvals_of",
    "as_dict",
    "content_text",
    "is_compaction_event",
    "part_text",
    "row_parts",
    "text_of",
    "tool_calls_of",
    "tool_returns_of",
    "types_json",
]

Kind = Literal["input", "answer", "step", "context", "stream"]


@dataclass(frozen=True)
class MessageType:
    """What the toolkit knows about one ``message_type``."""

    name: str
    """The ``message_type`` value, e.g. ``assistant_message``."""
    label: str
    """How a card or a live line names it."""
    role: str | None
    """The history frame's ``role`` (None: stream-only, never a row)."""
    kind: Kind
    """``input`` (the user's), ``answer`` (the agent's reply), ``step`` (reasoning and tool
    work on the way), ``context`` (the system prompt, summaries, events), ``stream`` (an
    event of the stream itself, not a stored message)."""
    group: str
    """The message filter that shows it (``user``, ``assistant``, ``reasoning``, ``tools``,
    ``system``; ``""`` for stream-only types)."""
    text_field: str | None = None
    """The field a streamed delta's text is appended to (None: no streamed text)."""
    calls: bool = False
    """It carries tool calls (``tool_calls`` / ``tool_call``)."""


_TYPES = (
    MessageType("system_message", "System prompt", "system", "context", "system", "content"),
    MessageType("user_message", "User", "user", "input", "user", "content"),
    MessageType("assistant_message", "Assistant", "assistant", "answer", "assistant", "content"),
    MessageType("reasoning_message", "Reasoning", "assistant", "step", "reasoning", "reasoning"),
    MessageType(
        "hidden_reasoning_message",
        "Reasoning",
        "assistant",
        "step",
        "reasoning",
        "hidden_reasoning",
    ),
    MessageType("tool_call_message", "Tool call", "assistant", "step", "tools", calls=True),
    MessageType("tool_return_message", "Tool return", "tool", "step", "tools"),
    MessageType(
        "approval_request_message",
        "Approval requested",
        "assistant",
        "step",
        "tools",
        calls=True,
    ),
    MessageType("approval_response_message", "Approval", "user", "step", "tools"),
    MessageType("summary_message", "Summary", "system", "context", "system", "summary"),
    MessageType("event_message", "Event", "system", "context", "system"),
    MessageType("error_message", "Error", None, "stream", ""),
    MessageType("stop_reason", "Stopped", None, "stream", ""),
    MessageType("usage_statistics", "Usage", None, "stream", ""),
    MessageType("ping", "Ping", None, "stream", ""),
)

MESSAGE_TYPES: dict[str, MessageType] = {t.name: t for t in _TYPES}
"""Every message type the toolkit knows, by name (stored ones first, in the SDK's order)."""
KNOWN_MESSAGE_TYPES: tuple[str, ...] = tuple(t.name for t in _TYPES if t.role is not None)
"""The stored message types of ``letta-client`` 1.12 (``letta_client.types.agents.MessageType``)."""
STREAM_TYPES: frozenset[str] = frozenset(t.name for t in _TYPES if t.role is None)
"""Types a stream carries besides messages (errors, stop reasons, usage, pings)."""
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
"""The categories of the history frame's ``role`` column."""

IMAGE_PLACEHOLDER = "[image]"
"""What a message's text shows for an image content part."""


def types_json() -> str:
    """:data:`MESSAGE_TYPES` as JSON for the front-end (``bundle()`` prepends it)."""
    return json.dumps({name: asdict(t) for name, t in MESSAGE_TYPES.items()}, sort_keys=True)


def as_dict(message: Any) -> dict[str, Any]:
    """A message (SDK model or mapping) as the JSON dict the REST API sends.

    SDK objects are dumped with their API field names and only the fields the server set,
    so the dict of a streamed message equals the dict of the same message listed later.
    """
    if isinstance(message, dict):
        return message
    if isinstance(message, Mapping):
        return dict(message)
    to_dict = getattr(message, "to_dict", None)
    if callable(to_dict):
        return to_dict(mode="json", use_api_names=True, exclude_unset=True)
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_unset=True)
    raise TypeError(
        f"expected a Letta message (SDK model or dict), got {type(message).__name__}: "
        "pass message.model_dump(mode='json') or the model itself"
    )


def _s(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def part_text(part: Any) -> str:
    """The text of one content part (text, image, reasoning, tool call or return)."""
    if isinstance(part, str):
        return part
    if part is None:
        return ""
    if not isinstance(part, Mapping):
        try:
            part = as_dict(part)
        except TypeError:
            return str(part)
    kind = part.get("type")
    if kind == "image" or (kind is None and "source" in part):
        return IMAGE_PLACEHOLDER
    if kind == "reasoning" or (kind is None and "reasoning" in part):
        return _s(part.get("reasoning"))
    if kind == "redacted_reasoning":
        return "[redacted reasoning]"
    if kind == "omitted_reasoning":
        return ""
    if kind == "tool_call":
        args = json.dumps(part.get("input") or {}, ensure_ascii=False, default=str)
        return f"{_s(part.get('name'))}({args})"
    if kind == "tool_return":
        return _s(part.get("content"))
    if "text" in part:
        return _s(part.get("text"))
    return ""


def content_text(content: Any) -> str:
    """A ``content`` field (a string or a list of content parts) as text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "".join(part_text(p) for p in content)  # as stream deltas concatenate
    return part_text(content)


def _maybe_text(content: Any) -> str | None:
    """:func:`content_text`, but None stays None (a frame's ``<NA>``)."""
    return content if content is None or type(content) is str else content_text(content)


def _field_reader(name: str) -> Callable[[Mapping[str, Any]], str | None]:
    if name == "content":
        return lambda m: _maybe_text(m.get("content"))
    return lambda m: m.get(name)


SIMPLE_TEXT: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    t.name: _field_reader(t.text_field)
    for t in _TYPES
    if t.text_field is not None and t.role is not None and not t.calls
}
"""The text of each type that makes exactly one row with no tool fields (None: no text)."""


def is_compaction_event(m: Mapping[str, Any]) -> bool:
    """An ``event_message`` announcing a compaction (its ``summary_message`` follows)."""
    return m.get("message_type") == "event_message" and m.get("event_type") == "compaction"


def tool_calls_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tool calls of a message (``tool_calls``, else ``tool_call``).

    Streaming deltas (``ToolCallDelta``: fields may be null) are included as they are.
    """
    calls = m.get("tool_calls")
    if isinstance(calls, Mapping):
        calls = [calls]
    if not calls:
        one = m.get("tool_call")
        calls = [one] if one else []
    return [c if isinstance(c, dict) else as_dict(c) for c in calls if c]


def tool_returns_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The returns of a tool_return message (``tool_returns``, else its top-level fields)."""
    rets = m.get("tool_returns")
    if rets:
        return [r if isinstance(r, dict) else as_dict(r) for r in rets]
    if m.get("tool_return") is None and m.get("status") is None:
        return []
    return [
        {
            "status": m.get("status"),
            "tool_call_id": m.get("tool_call_id"),
            "tool_return": m.get("tool_return"),
            "stdout": m.get("stdout"),
            "stderr": m.get("stderr"),
        }
    ]


def approvals_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The decisions of an approval_response message (``approvals``, else the message)."""
    approvals = m.get("approvals")
    if not approvals:
        return [m if isinstance(m, dict) else dict(m)]
    return [a if isinstance(a, dict) else as_dict(a) for a in approvals]


def _parse_args(arguments: Any) -> dict[str, Any] | None:
    if arguments is None or arguments == "":
        return None
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"_raw": arguments}


RowPart = tuple[str | None, str | None, dict[str, Any] | None, str | None, str | None]
"""(text, tool_name, tool_args, tool_call_id, tool_status) of one row of a message."""


def _approval_part(a: Mapping[str, Any]) -> RowPart:
    if a.get("type") == "tool":  # a client-side tool's return
        return (
            _maybe_text(a.get("tool_return")),
            None,
            None,
            a.get("tool_call_id"),
            a.get("status"),
        )
    approve = a.get("approve")
    status = None if approve is None else ("approved" if approve else "denied")
    reason = _s(a.get("reason"))
    text = f"{status}: {reason}" if status and reason else status or reason or None
    return (text, None, None, a.get("tool_call_id"), status)


def row_parts(m: Mapping[str, Any]) -> list[RowPart]:
    """One :data:`RowPart` per row the message makes in a history frame.

    One row per message, except a message with several tool calls, tool returns or
    approvals: one row per call. Stream-only types make no rows.
    """
    t = m.get("message_type")
    simple = SIMPLE_TEXT.get(t)  # type: ignore[arg-type]
    if simple is not None:
        return [(simple(m), None, None, None, None)]
    if t == "tool_call_message" or t == "approval_request_message":
        out: list[RowPart] = []
        for call in tool_calls_of(m) or [{}]:
            name, args = call.get("name"), call.get("arguments")
            text = f"{name}({_s(args)})" if name is not None else None
            out.append((text, name, _parse_args(args), call.get("tool_call_id"), None))
        return out
    if t == "tool_return_message":
        name = m.get("name")
        return [
            (_maybe_text(r.get("tool_return")), name, None, r.get("tool_call_id"), r.get("status"))
            for r in tool_returns_of(m) or [{}]
        ]
    if t == "approval_response_message":
        return [_approval_part(a) for a in approvals_of(m)]
    if t == "event_message":
        data = m.get("event_data")
        event = m.get("event_type")
        return [(f"{_s(event)} {json.dumps(data, default=str)}" if data else event, *_NONE4)]
    if t in STREAM_TYPES:
        return []
    for key in ("content", "text", "reasoning", "summary", "tool_return"):  # an unknown type
        if m.get(key) is not None:
            return [(_maybe_text(m.get(key)), None, None, None, None)]
    return [(None, None, None, None, None)]


_NONE4 = (None, None, None, None)


def text_of(message: Any) -> str:
    """The readable text of any Letta message (SDK model or dict).

    A history frame's ``text`` column holds the same, one row per tool call (here the
    rows' texts joined by newlines): the content (parts concatenated, images as
    ``[image]``), the reasoning, ``name(arguments)`` per tool call, the return value(s),
    ``approved`` / ``denied: reason`` per approval, the summary, the event type and its
    data as JSON. Stream events: an error's message, the stop reason, "" for pings and
    usage.
    """
    m = as_dict(message)
    t = m.get("message_type")
    if t == "error_message":
        return _s(m.get("message"))
    if t == "stop_reason":
        return _s(m.get("stop_reason"))
    return "\n".join(text for text, *_ in row_parts(m) if text)
