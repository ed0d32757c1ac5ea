"""Paging through a conversation's messages on any Letta server: the one place that knows how.

Two things make it harder than following a cursor:

* **Cursor semantics differ by server.** letta 0.16.8 compares message positions whatever
  the order: ``before=X`` is always older. Letta Cloud reads the cursors relative to the sort
  order: with ``order="desc"`` (newest first, the default) ``after=X`` is *older* and
  ``before=X`` newer (measured in letta-ai/letta-agent-sdk#239; Letta Code swaps the keys for
  desc requests). Ascending requests mean the same on both (``after`` is newer). So the key
  that fetches older messages under ``desc`` is learned per server (:func:`older_messages`
  checks every answer against the cursor's date and the messages already held, switches key
  when the answer went the wrong way, and remembers the right one per base URL), and nothing
  is lost or shown twice on either kind of server. (Conversation lists have only ``after``,
  which both generations read relative to the sort order: they page with it as it is.)
* **Groups.** Letta expands one stored message into several Letta messages with the same id
  (reasoning + reply, or reasoning + tool call). A cursor excludes every Letta message of its
  id, so a page that ends inside such a group would lose the rest of it:
  :func:`whole_groups` drops the trailing, possibly incomplete group and moves the cursor to
  the last complete one; the next page returns the whole group.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Literal

from letta_widgets.letta.conversation import DEFAULT

__all__ = [
    "CursorStyle",
    "ListPage",
    "cursor_key",
    "cursor_style",
    "older_messages",
    "older_page",
    "oldest_first",
    "page_direction",
    "server_key",
    "whole_groups",
]

_log = logging.getLogger(__name__)

CursorStyle = Literal["ordered", "positional"]
"""How a server reads message cursors: ``ordered`` (relative to the sort order, Letta Cloud)
or ``positional`` (``before`` is older whatever the order, letta 0.16.8)."""

ListPage = Callable[..., Awaitable[list[dict[str, Any]]]]
"""``await list_page(order=..., limit=..., after=... | before=...)``: one page of message dicts."""

_DEFAULT_STYLE: CursorStyle = "ordered"  # Letta Cloud's, and the SDK's documented reading
_styles: dict[str, CursorStyle] = {}  # base URL -> what its answers showed


def cursor_style(server: str | None) -> CursorStyle | None:
    """What this process has learned of the server's cursors, or ``None`` if nothing yet.

    ``server`` is a base URL, or :func:`server_key` of a conversation on it.
    """
    return _styles.get(server or "")


def _learn(server: str | None, style: CursorStyle) -> None:
    key = server or ""
    if _styles.get(key) != style:
        _log.debug("message cursors of %s are %s", key or "the server", style)
    _styles[key] = style


def cursor_key(server: str | None, order: str, direction: Literal["older", "newer"]) -> str:
    """The list parameter (``"after"`` or ``"before"``) that pages ``direction`` in ``order``."""
    if order == "asc":
        return "after" if direction == "newer" else "before"
    style = _styles.get(server or "", _DEFAULT_STYLE)
    older = "after" if style == "ordered" else "before"
    return older if direction == "older" else ("before" if older == "after" else "after")


def _when(msg: Mapping[str, Any]) -> datetime | None:
    raw = msg.get("date")
    if isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def page_direction(
    page: list[dict[str, Any]],
    cursor: Mapping[str, Any],
    newer_ids: Collection[str] = (),
) -> Literal["older", "newer"] | None:
    """Whether ``page`` holds messages older or newer than ``cursor``; ``None``: can't tell.

    A message whose id is one of ``newer_ids`` (messages already held, all newer than the
    cursor) makes the page newer. Otherwise the dates vote, later than the cursor's against
    earlier: a system message is left out (a recompile re-dates it), and so are ties.
    """
    cursor_id = cursor.get("id")
    rows = [m for m in page if m.get("id") != cursor_id]
    if newer_ids and any(m.get("id") in newer_ids for m in rows):
        return "newer"
    at = _when(cursor)
    if at is None:
        return None
    votes = 0
    for msg in rows:
        when = _when(msg)
        if when is None or when == at or msg.get("message_type") == "system_message":
            continue
        try:
            votes += 1 if when > at else -1
        except TypeError:  # a date with a zone against one without: no verdict
            return None
    return "newer" if votes > 0 else "older" if votes < 0 else None


async def older_messages(
    list_page: ListPage,
    server: str | None,
    cursor: Mapping[str, Any],
    *,
    limit: int,
    newer_ids: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Up to ``limit`` stored messages older than ``cursor``, newest first, as the server sent them.

    ``server`` names what the cursor style is learned for (:func:`server_key`); ``cursor`` is
    the oldest message held (its ``id``, and its ``date`` so that the answer can be checked);
    ``newer_ids`` are ids already held, if known. The key the server is known (or assumed) to
    read as "older" is asked first. The answer is checked by ids and dates; when they cannot
    tell and nothing is known of the server yet, :func:`_probe` decides with requests whose
    meaning is the same everywhere. An answer that went the wrong way is asked again with the
    other key; the server's style is learned from whichever answer tells.
    """
    known = cursor_style(server)
    key = cursor_key(server, "desc", "older")
    page = await list_page(order="desc", limit=limit, **{key: cursor["id"]})
    verdict = page_direction(page, cursor, newer_ids)
    if verdict is None and known is None:
        verdict = await _probe(list_page, cursor, page)
    if verdict == "older":
        _learn(server, _style_of(key))
        return page
    other = "before" if key == "after" else "after"
    if verdict is None:
        if page or known is not None:
            return page  # nothing says the key is wrong: trust it
        # Empty, and nothing newer than the cursor either: the other key tells.
        again = await list_page(order="desc", limit=limit, **{other: cursor["id"]})
        if again:
            _learn(server, _style_of(other))
        return again
    again = await list_page(order="desc", limit=limit, **{other: cursor["id"]})
    _learn(server, _style_of(other))
    return again


async def _probe(
    list_page: ListPage, cursor: Mapping[str, Any], page: list[dict[str, Any]]
) -> Literal["older", "newer"] | None:
    """Whether ``page`` (the answer for the cursor) is older or newer, asked of the server.

    Ascending pages mean the same on every server, so ``order="asc", after=<cursor>`` gives
    the messages just newer than the cursor; the first page of ``desc`` the newest. A page
    that went the wrong way holds newer messages, the nearest or the newest ones whatever
    the server. An empty page: if newer messages exist, the key is the older one (a wrong
    key would have found them); if not, nobody can tell (``None``).
    """
    newer = await list_page(order="asc", limit=max(len(page), 1), after=cursor["id"])
    if not page:
        return "older" if newer else None
    newest = await list_page(order="desc", limit=1)
    close = {m.get("id") for m in newer}
    wrong = any(m.get("id") in close for m in page) or (
        bool(newest) and page[0].get("id") == newest[0].get("id")
    )
    return "newer" if wrong else "older"


def server_key(base_url: str | None, conversation_id: str) -> str:
    """What a cursor style is learned for: the server, apart for agents' default threads
    (which Letta Code pages through another route, so they might read cursors another way)."""
    base = base_url or ""
    return f"{base} (default conversations)" if conversation_id == DEFAULT else base


def _style_of(older_key: str) -> CursorStyle:
    """The cursor style of a server on which ``older_key`` pages older under ``desc``."""
    return "ordered" if older_key == "after" else "positional"


def whole_groups(
    page: list[dict[str, Any]], limit: int, *, cap: bool = False
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """Keep whole id groups of a page (in fetch order).

    Returns (kept, the cursor for the next page in the same direction, more?). A page
    shorter than ``limit`` is the last one: all of it is kept. A full page may end inside a
    group of Letta messages sharing one id (reasoning + reply): that trailing group is
    dropped and comes again, whole, with the next page (unless the page is one group).
    ``cap``: also keep at most ``limit`` messages (a server may count ``limit`` in stored
    messages, each several Letta messages), cutting between groups.
    """
    if not page:
        return [], None, False
    kept = page
    more = len(page) >= limit
    if more:
        tail = kept[-1].get("id")
        i = len(kept)
        while i > 0 and kept[i - 1].get("id") == tail:
            i -= 1
        if i > 0:
            kept = kept[:i]
    if cap and len(kept) > limit:
        i = limit
        while i > 0 and kept[i - 1].get("id") == kept[i].get("id"):
            i -= 1
        kept = kept[:i] if i > 0 else kept[:limit]
        more = True
    return kept, kept[-1].get("id"), more


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
    list_page: ListPage,
    server: str | None,
    cursor: Mapping[str, Any],
    *,
    limit: int,
    newer_ids: Collection[str] = (),
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, bool]:
    """The page older than ``cursor`` (newest first) trimmed to whole groups.

    Returns (messages, the oldest kept message, which is the next cursor, more?).
    """
    page = await older_messages(list_page, server, cursor, limit=limit, newer_ids=newer_ids)
    kept, _, more = whole_groups(page, limit)
    return kept, (kept[-1] if kept else None), more
