"""Messages -> transcript items: the compact, already-sanitized snapshot widgets sync.

An item is ``{"key", "type", "kind", "html"}`` (``kind``: the type's kind in
:data:`letta_widgets.letta.messages.MESSAGE_TYPES`, ``step`` for a tool exchange; plus
``"pending"`` and ``"tool_call_ids"`` for an approval request, ``"text"`` for a user message,
what an edit starts from). ``html`` comes from :mod:`letta_widgets.render`, the one renderer,
so it is sanitized before it is ever synced to the front-end. A tool call followed by its
return becomes one item (the call card with its result).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from letta_widgets import render
from letta_widgets.letta.images import user_content, written_text
from letta_widgets.letta.messages import MESSAGE_TYPES, is_compaction_event

__all__ = ["item_key", "kind_of", "transcript_items", "usage_item", "user_item"]

Message = Mapping[str, Any]


def item_key(msg: Message) -> str:
    """The identity of a Letta message: its id and type (ids can be shared)."""
    return f"{msg.get('id')}|{msg.get('message_type')}"


def kind_of(message_type: str) -> str:
    """A transcript item's ``kind``: its type's kind, ``answer`` for a type the table lacks."""
    known = MESSAGE_TYPES.get(message_type)
    return known.kind if known is not None else "answer"


def _call_ids(msg: Message) -> list[str]:
    calls = msg.get("tool_calls") or ([msg["tool_call"]] if msg.get("tool_call") else [])
    return [str(c.get("tool_call_id")) for c in calls if isinstance(c, Mapping)]


def transcript_items(
    messages: Iterable[Message], *, answered: set[str] | None = None
) -> list[dict[str, Any]]:
    """Render messages (oldest first) into transcript items, pairing calls with returns.

    ``answered`` collects the tool_call_ids that have a return; an approval request
    whose calls are not all answered is marked ``pending``.
    """
    msgs = list(messages)
    returns = {
        str(m.get("tool_call_id")): m
        for m in msgs
        if m.get("message_type") == "tool_return_message"
    }
    answered = answered if answered is not None else set()
    answered.update(returns)
    used: set[str] = set()
    items: list[dict[str, Any]] = []
    summary_at = max(
        (i for i, m in enumerate(msgs) if m.get("message_type") == "summary_message"), default=-1
    )
    for n, msg in enumerate(msgs):
        mtype = msg.get("message_type")
        if n < summary_at and is_compaction_event(msg):
            continue  # one line per compaction: the summary (with its stats) that follows
        if mtype == "tool_return_message" and str(msg.get("tool_call_id")) in used:
            continue
        if mtype == "tool_call_message":
            ids = _call_ids(msg)
            paired = [returns[i] for i in ids if i in returns]
            if len(ids) == 1 and paired:
                used.add(ids[0])
                items.append(
                    {
                        "key": item_key(msg),
                        "type": "tool_exchange",
                        "kind": "step",
                        "html": render.render_tool_exchange(msg, paired[0]),
                    }
                )
                continue
        item: dict[str, Any] = {
            "key": item_key(msg),
            "type": str(mtype),
            "kind": kind_of(str(mtype)),
            "html": render.render_message(msg),
        }
        if mtype == "approval_request_message":
            ids = _call_ids(msg)
            item["pending"] = bool(ids) and not set(ids) <= answered
            item["tool_call_ids"] = ids
        elif mtype == "user_message":
            item["text"] = written_text(msg.get("content"))  # what an edit box starts from
        items.append(item)
    return items


def user_item(text: str, key: str, parts: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The optimistic item for a message the user just sent (``parts``: its image parts)."""
    msg = {"id": key, "message_type": "user_message", "content": user_content(text, parts)}
    return {
        "key": f"{key}|user_message",
        "type": "user_message",
        "kind": "input",
        "html": render.render_message(msg),
        "text": text,
    }


def usage_item(key: str, usage: Mapping[str, Any] | None, **timings: Any) -> dict[str, Any]:
    """The thin usage line under a turn (tokens, steps, time)."""
    info = {**(usage or {}), **{k: v for k, v in timings.items() if v is not None}}
    return {
        "key": f"{key}|usage",
        "type": "usage",
        "kind": "usage",
        "html": render.render_usage(info),
    }
