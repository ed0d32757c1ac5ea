"""The message pane's data: pages of one conversation's messages, and message details.

:class:`MessagePages` is a mixin of :class:`~letta_widgets.widgets.browser.ConversationBrowser`
(the widget provides the client, ``agent_id``, ``selected``, ``info`` and ``_what`` /
``_target``). Pages hold at most :data:`PAGE_LIMIT` messages and never split a group of
Letta messages sharing one id; a text or type filter scans server pages until a page is full.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from letta_client import AsyncLetta

from letta_widgets.errors import InvalidRequest, NotFound, sdk_errors
from letta_widgets.letta.paging import (
    cursor_key,
    older_messages,
    oldest_first,
    server_key,
    whole_groups,
)
from letta_widgets.render import compaction_summary, message_text
from letta_widgets.widgets.transcript import item_key, transcript_items

__all__ = ["PAGE_LIMIT", "MessagePages"]

PAGE_LIMIT = 100
"""Most messages the message pane receives in one page."""
SCAN_PAGE = 500
"""Messages fetched per request while a text/type filter scans a conversation."""
SCAN_MAX = 5000
"""Most messages one filtered page request scans before answering (it can continue)."""
RAW_CACHE = 3000
"""Raw messages kept for the details view (the DOM holds far fewer)."""
RAW_JSON_LIMIT = 200_000
"""Characters of raw JSON shown in the details view."""
DATE_CACHE = 50_000
"""Message dates kept to check older pages against their cursor (:mod:`..letta.paging`)."""
DEFAULT = "default"
"""The id the widget uses for the agent's default conversation."""


def is_summary(msg: Mapping[str, Any]) -> bool:
    """A compaction summary (see :func:`letta_widgets.render.compaction_summary`)."""
    return compaction_summary(msg) is not None


def _effective_type(msg: Mapping[str, Any]) -> str:
    """The message type the type filter sees (summaries stored as user messages count as
    summaries)."""
    return "summary_message" if is_summary(msg) else str(msg.get("message_type"))


class MessagePages:
    """Message pages, in-context marks and details of the browser's conversations."""

    # provided by the widget
    _aclient: AsyncLetta
    _base_url: str | None
    agent_id: str
    selected: str
    info: dict[str, Any]
    _raw: OrderedDict[str, dict[str, Any]]
    _returns: OrderedDict[str, dict[str, Any]]
    _dates: dict[str, Any]
    _in_context: dict[str, set[str]]
    _what: Callable[[str], str]
    _target: Callable[[str], dict[str, Any]]

    async def _list_raw(self, cid: str, **kwargs: Any) -> list[dict[str, Any]]:
        with sdk_errors(base_url=self._base_url, what=self._what(cid)):
            resp = await self._aclient.conversations.messages.with_raw_response.list(
                cid, **kwargs, **self._target(cid)
            )
        page = json.loads(resp.http_response.content)
        if isinstance(page, dict):
            page = page.get("items") or page.get("messages") or []
        return page

    async def _context_ids(self, cid: str, *, fresh: bool = False) -> set[str]:
        if not fresh and cid in self._in_context:
            return self._in_context[cid]
        if cid == DEFAULT:
            with sdk_errors(base_url=self._base_url, what=f"agent {self.agent_id}"):
                agent = await self._aclient.agents.retrieve(self.agent_id)
            ids = set(agent.message_ids or [])
        else:
            with sdk_errors(base_url=self._base_url, what=self._what(cid)):
                conv = await self._aclient.conversations.retrieve(cid)
            ids = set(conv.in_context_message_ids or [])
        self._in_context[cid] = ids
        return ids

    async def _messages(
        self,
        cid: str,
        *,
        before: str | None = None,
        after: str | None = None,
        text: str | None = None,
        types: list[str] | None = None,
    ) -> dict[str, Any]:
        if not cid:
            raise InvalidRequest("no conversation is selected", "pick one in the list")
        try:
            in_context = await self._context_ids(cid)
        except NotFound:
            self._mark_missing(cid)
            raise
        newer = after is not None and before is None
        cursor = after if newer else before
        wanted = set(types or [])
        if "tool_call_message" in wanted:
            wanted.add("tool_return_message")
        needle = (text or "").strip().lower()

        def keep(m: dict[str, Any]) -> bool:
            if wanted and _effective_type(m) not in wanted:
                return False
            return not needle or needle in message_text(m).lower()

        filtered = bool(wanted or needle)
        fetch = SCAN_PAGE if filtered else PAGE_LIMIT
        collected: list[dict[str, Any]] = []
        start: str | None = None
        scanned = 0
        more = True
        while True:
            try:
                page = await self._page(cid, newer=newer, cursor=cursor, limit=fetch)
            except NotFound:
                self._mark_missing(cid)
                raise
            kept, nxt, more = whole_groups(page, fetch, cap=True)
            if start is None and kept:
                start = kept[0].get("id")
            scanned += len(kept)
            collected += [m for m in kept if keep(m)] if filtered else kept
            cursor = nxt or cursor
            if not filtered or not more or len(collected) >= PAGE_LIMIT or scanned >= SCAN_MAX:
                break
        if len(collected) > PAGE_LIMIT:
            collected, cursor, _ = whole_groups(collected, PAGE_LIMIT, cap=True)
            more = True
        ordered = collected if newer else oldest_first(collected)
        items = self._items(ordered, in_context)
        return {
            "conversation_id": cid,
            "direction": "newer" if newer else "older",
            "items": items,
            "cursor": cursor,
            "start": start,
            "more": more,
            "scanned": scanned,
            "filtered": filtered,
        }

    async def _around(self, cid: str, message_id: str) -> dict[str, Any]:
        """A page with ``message_id`` in it: up to half a page older, the rest from it on.

        What a search hit opens: the message, what led to it and what followed, with
        cursors to page further both ways.
        """
        if not cid:
            raise InvalidRequest("no conversation is selected", "pick one in the list")
        try:
            in_context = await self._context_ids(cid)
            older, _, more_older = whole_groups(
                await self._page(cid, newer=False, cursor=message_id, limit=PAGE_LIMIT // 2),
                PAGE_LIMIT // 2,
                cap=True,
            )
            start = older[0].get("id") if older else None  # the message just before it
            newer, cursor, more_newer = whole_groups(
                await self._page(cid, newer=True, cursor=start, limit=PAGE_LIMIT),
                PAGE_LIMIT,
                cap=True,
            )
        except NotFound:
            self._mark_missing(cid)
            raise
        if not any(m.get("id") == message_id for m in newer):
            raise NotFound(
                f"message {message_id} is not in {self._what(cid)}",
                "it may have been deleted; search again",
            )
        items = self._items([*oldest_first(older), *newer], in_context)
        return {
            "conversation_id": cid,
            "direction": "around",
            "items": items,
            "anchor": message_id,
            "older_cursor": older[-1].get("id") if older else None,
            "newer_cursor": cursor,
            "more_older": more_older,
            "more": more_newer,
            "scanned": len(older) + len(newer),
            "filtered": False,
        }

    async def _page(
        self, cid: str, *, newer: bool, cursor: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """One page from ``cursor`` (None: the newest): newer ones oldest first, else newest first.

        Older pages go through :func:`letta_widgets.letta.paging.older_messages`, which knows how
        this server reads cursors; the dates of every message seen let it check the answer.
        """
        if newer:
            key = cursor_key(self._base_url, "asc", "newer")
            at = {key: cursor} if cursor else {}
            page = await self._list_raw(cid, order="asc", limit=limit, **at)
        elif not cursor:
            page = await self._list_raw(cid, order="desc", limit=limit)
        else:

            async def list_page(**kwargs: Any) -> list[dict[str, Any]]:
                return await self._list_raw(cid, **kwargs)

            held = {"id": cursor, "date": self._dates.get(cursor)}
            server = server_key(self._base_url, cid)
            page = await older_messages(list_page, server, held, limit=limit)
        if len(self._dates) > DATE_CACHE:
            for old in list(self._dates)[: DATE_CACHE // 2]:
                del self._dates[old]
        self._dates.update((m.get("id"), m.get("date")) for m in page if m.get("id"))
        return page

    def _items(self, msgs: list[dict[str, Any]], in_context: set[str]) -> list[dict[str, Any]]:
        for m in msgs:
            key = item_key(m)
            self._raw[key] = m
            self._raw.move_to_end(key)
            if m.get("message_type") == "tool_return_message" and m.get("tool_call_id"):
                self._returns[str(m["tool_call_id"])] = m
        while len(self._raw) > RAW_CACHE:
            self._raw.popitem(last=False)
        while len(self._returns) > RAW_CACHE:
            self._returns.popitem(last=False)
        by_key = {item_key(m): m for m in msgs}
        items = transcript_items(msgs)
        for item in items:
            msg = by_key.get(item["key"], {})
            mid = msg.get("id")
            item["id"] = mid
            item["mtype"] = msg.get("message_type")
            item["in_context"] = bool(mid) and mid in in_context
            item["date"] = msg.get("date")
            item["boundary"] = is_summary(msg)
        return items

    def _mark_missing(self, cid: str) -> None:
        if self.selected == cid:
            self.info = {**self.info, "id": cid, "missing": True}

    async def _details(self, key: str) -> dict[str, Any]:
        msg = self._raw.get(key)
        if msg is None:
            raise NotFound(
                "that message is no longer loaded", "scroll to it again or use selected_frame()"
            )
        related = [msg]
        if msg.get("message_type") == "tool_call_message":
            calls = msg.get("tool_calls") or ([msg["tool_call"]] if msg.get("tool_call") else [])
            for call in calls:
                ret = self._returns.get(str((call or {}).get("tool_call_id")))
                if ret is not None:
                    related.append(ret)
        raw = json.dumps(related if len(related) > 1 else msg, indent=2, ensure_ascii=False)
        truncated = max(0, len(raw) - RAW_JSON_LIMIT)
        mid = msg.get("id")
        in_context = self._in_context.get(self.selected, set())
        return {
            "key": key,
            "fields": [
                ["message id", mid],
                ["type", msg.get("message_type")],
                ["date", msg.get("date")],
                ["run id", msg.get("run_id")],
                ["step id", msg.get("step_id")],
                ["otid", msg.get("otid")],
                ["sender id", msg.get("sender_id")],
                ["seq id", msg.get("seq_id")],
                ["in context", "yes" if mid in in_context else "no (evicted)"],
                *[["tool return id", r.get("id")] for r in related[1:]],
            ],
            "raw": raw[:RAW_JSON_LIMIT],
            "raw_truncated": truncated,
            **self._fork_point(mid, in_context),
        }

    def _fork_point(self, mid: str | None, in_context: set[str]) -> dict[str, Any]:
        """Whether the message can be a fork point, and why not.

        A fork copies the source's in-context messages up to the fork point (SDK 1.12.1
        ``conversations.fork``), so a message compaction evicted cannot be one: the server
        answers 404 for it.
        """
        if not self.selected or not mid:
            return {"can_fork": False, "fork_note": ""}
        if in_context and mid not in in_context:
            return {
                "can_fork": False,
                "fork_note": "Fork is not offered here: this message left the context window "
                "(compacted away), and a fork copies the context window. Fork at a message "
                "that is still in context.",
            }
        return {"can_fork": True, "fork_note": ""}
