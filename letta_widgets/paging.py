"""Paging backwards through a conversation without losing messages that share an id.

Letta expands one stored message into several Letta messages with the same id
(reasoning + reply, or reasoning + tool call). A ``before=<id>`` cursor excludes
every Letta message of that id, so a page that ends in the middle of such a group
would lose the rest of the group. :func:`trim_partial_group` drops the trailing,
possibly incomplete group and moves the cursor to the last complete one; the next
page then returns the whole group.
"""

from __future__ import annotations

from typing import Any

from letta_client import AsyncLetta

__all__ = ["older_page", "oldest_first", "trim_partial_group"]


def trim_partial_group(
    page_desc: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """Split a newest-first page into (complete messages, next ``before`` cursor, more?).

    A page shorter than ``limit`` is the last one: everything is kept and there is
    nothing older.
    """
    if len(page_desc) < limit or not page_desc:
        cursor = page_desc[-1]["id"] if page_desc else None
        return page_desc, cursor, False
    tail_id = page_desc[-1]["id"]
    cut = len(page_desc)
    while cut > 0 and page_desc[cut - 1]["id"] == tail_id:
        cut -= 1
    if cut == 0:  # the whole page is one group: keep it, nothing else to do
        return page_desc, tail_id, True
    kept = page_desc[:cut]
    return kept, kept[-1]["id"], True


def oldest_first(page_desc: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reverse a newest-first page into thread order, group by group.

    Within one id group a desc page keeps the natural order (reasoning before the
    reply), so reversing message by message would put the reply first.
    """
    groups: list[list[dict[str, Any]]] = []
    for msg in page_desc:
        if groups and groups[-1][0]["id"] == msg["id"]:
            groups[-1].append(msg)
        else:
            groups.append([msg])
    return [msg for group in reversed(groups) for msg in group]


async def older_page(
    aclient: AsyncLetta,
    conversation_id: str,
    *,
    before: str,
    limit: int,
    **target: Any,
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """The page of messages before ``before`` (newest first), trimmed to whole groups."""
    page = await aclient.conversations.messages.list(
        conversation_id, before=before, limit=limit, order="desc", **target
    )
    msgs = [m.to_dict(mode="json") for m in page.items]
    return trim_partial_group(msgs, limit)
