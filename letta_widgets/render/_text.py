"""Messages as plain dicts, and their readable plain text (shared with the DataFrame helpers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: What :func:`message_text` shows for an image content part.
IMAGE_PLACEHOLDER = "[image]"


def as_dict(msg: Any) -> dict[str, Any]:
    """A message (SDK pydantic model or mapping) as a plain JSON-like dict."""
    if isinstance(msg, dict):
        return msg
    if isinstance(msg, Mapping):
        return dict(msg)
    dump = getattr(msg, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(
        f"expected a Letta message (SDK model or dict), got {type(msg).__name__}: "
        "pass message.model_dump(mode='json') or the model itself"
    )


def _s(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def part_text(part: Any) -> str:
    """The plain text of one content part (text, image, reasoning, tool call/return...)."""
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
    """A ``content`` field (a string or a list of content parts) as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "".join(part_text(p) for p in content)  # as stream deltas concatenate
    return part_text(content)


def tool_calls_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tool calls of a tool_call/approval_request message (``tool_calls`` else ``tool_call``).

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
    """The returns of a tool_return message (``tool_returns`` else the top-level fields)."""
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


def _call_text(c: Mapping[str, Any]) -> str:
    name = c.get("name")
    return "" if name is None else f"{name}({_s(c.get('arguments'))})"


def message_text(msg: Any) -> str:
    """The readable plain text of any Letta message, SDK model or dict.

    The same notion as the ``text`` column of the messages frame (one row per tool call
    there; here the rows' texts joined by newlines). user/assistant/system: the content
    (content parts concatenated, images as ``[image]``); reasoning: the reasoning;
    hidden_reasoning: its text if any; tool call and approval request: ``name(arguments)``
    per call; tool return: the return value(s); approval response: ``approved`` /
    ``denied: reason`` per approval; summary: the summary; event: the event type and its
    data as JSON; error: the error message; stop_reason: the reason; ping and
    usage_statistics: ""; an unknown type: its content/text/reasoning/summary/tool_return.
    """
    m = as_dict(msg)
    t = m.get("message_type")
    if t in ("user_message", "assistant_message", "system_message"):
        return content_text(m.get("content"))
    if t == "reasoning_message":
        return _s(m.get("reasoning"))
    if t == "hidden_reasoning_message":
        return _s(m.get("hidden_reasoning"))
    if t in ("tool_call_message", "approval_request_message"):
        return "\n".join(t for t in (_call_text(c) for c in tool_calls_of(m)) if t)
    if t == "tool_return_message":
        return "\n".join(content_text(r.get("tool_return")) for r in tool_returns_of(m))
    if t == "approval_response_message":
        approvals = m.get("approvals") or []
        lines = []
        for a in approvals or [m]:
            a = a if isinstance(a, Mapping) else as_dict(a)
            if a.get("type") == "tool":  # a client-side tool's return
                lines.append(content_text(a.get("tool_return")))
            else:
                verdict = {True: "approved", False: "denied"}.get(a.get("approve"), "")
                reason = _s(a.get("reason"))
                lines.append(f"{verdict}: {reason}" if verdict and reason else verdict or reason)
        return "\n".join(lines)
    if t == "summary_message":
        return _s(m.get("summary"))
    if t == "event_message":
        data = m.get("event_data")
        suffix = f" {json.dumps(data, default=str)}" if data else ""
        return _s(m.get("event_type")) + suffix
    if t == "error_message":
        return _s(m.get("message"))
    if t == "stop_reason":
        return _s(m.get("stop_reason"))
    if t in ("ping", "usage_statistics"):
        return ""
    for key in ("content", "text", "reasoning", "summary", "tool_return"):  # unknown type
        if m.get(key) is not None:
            return content_text(m.get(key))
    return ""
