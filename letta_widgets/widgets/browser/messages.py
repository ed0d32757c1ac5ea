"""The message pane: pages of one conversation's messages, and message details.

Pages hold at most :data:`PAGE_LIMIT` messages and never split a group of Letta messages
sharing one id; a text or type filter scans server pages until a page is full.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from letta_widgets.errors import InvalidRequest, NotFound, sdk_errors
from letta_widgets.letta.conversation import DEFAULT
from letta_widgets.letta.paging import (
    cursor_key,
    older_messages,
    oldest_first,
    server_key,
    whole_groups,
)
from letta_widgets.render import compaction_summary, message_text
from letta_widgets.widgets.browser.session import BrowserSession
from letta_widgets.widgets.transcript import item_key, transcript_items

__all__ = ["PAGE_LIMIT", "MessagePane", "is_summary"]

PAGE_LIMIT = 100
"""Most messages the message pane receives in one page."""
SCAN_PAGE = 500
"""Messages fetched per request while a text/type filter scans a conversation."""
SCAN_MAX = 5000
"""Most messages one filtered page request scans before answering (it can continue)."""
RAW_JSON_LIMIT = 200_000
"""Characters of raw JSON shown in the details view."""


def is_summary(msg: Mapping[str, Any]) -> bool:
    """A compaction summary (see :func:`letta_widgets.render.compaction_summary`)."""
    return compaction_summary(msg) is not None


def _effective_type(msg: Mapping[str, Any]) -> str:
    """The message type the type filter sees (summaries stored as user messages count as
    summaries)."""
    return "summary_message" if is_summary(msg) else str(msg.get("message_type"))


class MessagePane:
    """Message pages, in-context marks and details of the browser's conversations."""

    def __init__(self, session: BrowserSession, on_missing: Callable[[str], None]) -> None:
        self.s = session
        self.cache = session.cache
        self.on_missing = on_missing
        """Called with a conversation id the server no longer has."""

    async def list_raw(self, cid: str, **kwargs: Any) -> list[dict[str, Any]]:
        """One page of message dicts straight from the server (no SDK objects built)."""
        with sdk_errors(base_url=self.s.base_url, what=self.s.describe(cid)):
            resp = await self.s.aclient.conversations.messages.with_raw_response.list(
                cid, **kwargs, **self.s.sdk_kwargs(cid)
            )
        page = json.loads(resp.http_response.content)
        if isinstance(page, dict):
            page = page.get("items") or page.get("messages") or []
        return page

    async def context_ids(self, cid: str, *, fresh: bool = False) -> set[str]:
        """The conversation's in-context message ids (cached; ``fresh``: asked again)."""
        if not fresh and cid in self.cache.in_context:
            return self.cache.in_context[cid]
        if cid == DEFAULT:
            with sdk_errors(base_url=self.s.base_url, what=f"agent {self.s.agent_id}"):
                agent = await self.s.aclient.agents.retrieve(self.s.agent_id)
            ids = set(agent.message_ids or [])
        else:
            with sdk_errors(base_url=self.s.base_url, what=self.s.describe(cid)):
                conv = await self.s.aclient.conversations.retrieve(cid)
            ids = set(conv.in_context_message_ids or [])
        self.cache.in_context[cid] = ids
        return ids

    async def page_of(
        self,
        cid: str,
        *,
        before: str | None = None,
        after: str | None = None,
        text: str | None = None,
        types: list[str] | None = None,
    ) -> dict[str, Any]:
        """One page of ``cid``: the newest, or older/newer than a cursor, maybe filtered."""
        if not cid:
            raise InvalidRequest("no conversation is selected", "pick one in the list")
        try:
            in_context = await self.context_ids(cid)
        except NotFound:
            self.on_missing(cid)
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
                page = await self.fetch(cid, newer=newer, cursor=cursor, limit=fetch)
            except NotFound:
                self.on_missing(cid)
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
        items = self.items(ordered, in_context)
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

    async def around(self, cid: str, message_id: str) -> dict[str, Any]:
        """A page with ``message_id`` in it: up to half a page older, the rest from it on.

        What a search hit opens: the message, what led to it and what followed, with
        cursors to page further both ways.
        """
        if not cid:
            raise InvalidRequest("no conversation is selected", "pick one in the list")
        try:
            in_context = await self.context_ids(cid)
            older, _, more_older = whole_groups(
                await self.fetch(cid, newer=False, cursor=message_id, limit=PAGE_LIMIT // 2),
                PAGE_LIMIT // 2,
                cap=True,
            )
            start = older[0].get("id") if older else None  # the message just before it
            newer, cursor, more_newer = whole_groups(
                await self.fetch(cid, newer=True, cursor=start, limit=PAGE_LIMIT),
                PAGE_LIMIT,
                cap=True,
            )
        except NotFound:
            self.on_missing(cid)
            raise
        if not any(m.get("id") == message_id for m in newer):
            raise NotFound(
                f"message {message_id} is not in {self.s.describe(cid)}",
                "it may have been deleted; search again",
            )
        items = self.items([*oldest_first(older), *newer], in_context)
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

    async def fetch(
        self, cid: str, *, newer: bool, cursor: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """One page from ``cursor`` (None: the newest): newer ones oldest first, else newest first.

        Older pages go through :func:`letta_widgets.letta.paging.older_messages`, which knows how
        this server reads cursors; the dates of every message seen let it check the answer.
        """
        if newer:
            key = cursor_key(self.s.base_url, "asc", "newer")
            at = {key: cursor} if cursor else {}
            page = await self.list_raw(cid, order="asc", limit=limit, **at)
        elif not cursor:
            page = await self.list_raw(cid, order="desc", limit=limit)
        else:

            async def list_page(**kwargs: Any) -> list[dict[str, Any]]:
                return await self.list_raw(cid, **kwargs)

            held = {"id": cursor, "date": self.cache.dates.get(cursor)}
            server = server_key(self.s.base_url, cid)
            page = await older_messages(list_page, server, held, limit=limit)
        self.cache.remember_page(page)
        return page

    def items(self, msgs: list[dict[str, Any]], in_context: set[str]) -> list[dict[str, Any]]:
        """Transcript items of ``msgs`` for the pane (in-context marks, summaries as bounds)."""
        self.cache.remember_shown(msgs)
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

    async def details(self, key: str) -> dict[str, Any]:
        """Ids, run, step, dates, raw JSON and fork point of a shown message (by item key)."""
        msg = self.cache.raw.get(key)
        if msg is None:
            raise NotFound(
                "that message is no longer loaded", "scroll to it again or use selected_frame()"
            )
        related = [msg]
        if msg.get("message_type") == "tool_call_message":
            calls = msg.get("tool_calls") or ([msg["tool_call"]] if msg.get("tool_call") else [])
            for call in calls:
                ret = self.cache.returns.get(str((call or {}).get("tool_call_id")))
                if ret is not None:
                    related.append(ret)
        raw = json.dumps(related if len(related) > 1 else msg, indent=2, ensure_ascii=False)
        truncated = max(0, len(raw) - RAW_JSON_LIMIT)
        mid = msg.get("id")
        in_context = self.cache.in_context.get(self.s.selected, set())
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
            **self.fork_point(mid, in_context),
        }

    def fork_point(self, mid: str | None, in_context: set[str]) -> dict[str, Any]:
        """Whether the message can be a fork point, and why not.

        A fork copies the source's in-context messages up to the fork point (SDK 1.12.1
        ``conversations.fork``), so a message compaction evicted cannot be one: the server
        answers 404 for it.
        """
        if not self.s.selected or not mid:
            return {"can_fork": False, "fork_note": ""}
        if in_context and mid not in in_context:
            return {
                "can_fork": False,
                "fork_note": "Fork is not offered here: this message left the context window "
                "(compacted away), and a fork copies the context window. Fork at a message "
                "that is still in context.",
            }
        return {"can_fork": True, "fork_note": ""}
