"""The conversation list: the agent picker, pages of an agent's conversations, row statistics.

A page is :data:`CONVERSATION_PAGE` rows, newest activity first, the default conversation (and
conversations made here) on the first; statistics (message count, first user message,
stale memory) are fetched only for the rows the view shows, and cached until the
conversation's activity stamp changes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from letta_widgets.errors import InvalidRequest, sdk_errors, translate
from letta_widgets.letta.conversation import DEFAULT
from letta_widgets.letta.paging import whole_groups
from letta_widgets.render import message_text
from letta_widgets.widgets.browser.cache import SystemInfo
from letta_widgets.widgets.browser.memory import diff_memory
from letta_widgets.widgets.browser.messages import MessagePane, is_summary
from letta_widgets.widgets.browser.session import BrowserSession

__all__ = [
    "CONVERSATION_PAGE",
    "Archived",
    "ConversationList",
    "conversation_fields",
    "is_greeting",
    "short_title",
]

CONVERSATION_PAGE = 50
"""Conversations per list page."""
AGENT_PAGE = 50
"""Agents per picker page."""
COUNT_PAGE = 1000
"""Page size used to count a conversation's messages."""
STATS_CONCURRENCY = 4
"""Conversations whose statistics are fetched at once."""

_TITLE_CHARS = 160

Archived = Literal["unarchived", "archived", "all"]
"""The archive filter of the conversation list."""


def _depth(cid: str, links: Mapping[str, Mapping[str, Any]], limit: int = 50) -> int:
    """How many recorded ancestors ``cid`` has (cycles and depth bounded)."""
    seen = {cid}
    node = cid
    while len(seen) <= limit:
        parent = (links.get(node) or {}).get("parent")
        if not parent or parent in seen:
            break
        seen.add(parent)
        node = parent
    return len(seen) - 1


_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening)|yo)\b"
    r"[\s\w,]{0,12}[!.?]*\s*$",
    re.IGNORECASE,
)


def is_greeting(text: str) -> bool:
    """A short hello ("Hi there!", "Hello, agent.") that says nothing about the conversation."""
    return bool(_GREETING.match(str(text or "")))


def short_title(text: str, n: int = _TITLE_CHARS) -> str:
    """``text`` on one line, cut to ``n`` characters (with an ellipsis)."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def conversation_fields(conv: Mapping[str, Any], agent_model: str | None) -> dict[str, Any]:
    """What a row and the header show of a conversation object (null where a server has none).

    Letta Cloud's conversations carry ``description``, their own ``model`` (overriding the
    agent's), ``context_window_limit``, ``updated_at`` and ``archived_at``; letta 0.16.8's
    carry ``model`` and ``updated_at`` only.
    """
    model = conv.get("model") or None
    return {
        "created_at": conv.get("created_at"),
        "updated_at": conv.get("updated_at"),
        "last_message_at": conv.get("last_message_at"),
        "archived": conv.get("archived"),
        "archived_at": conv.get("archived_at"),
        "description": short_title(conv.get("description") or "", 300),
        "model": model,
        "agent_model": agent_model,
        "model_override": bool(model and agent_model and model != agent_model),
        "context_window_limit": conv.get("context_window_limit"),
    }


class ConversationList:
    """Agent picker pages, conversation list pages and per-row statistics."""

    def __init__(
        self,
        session: BrowserSession,
        messages: MessagePane,
        load_blocks: Callable[[], Awaitable[list[dict[str, Any]]]],
    ) -> None:
        self.s = session
        self.cache = session.cache
        self.messages = messages
        self.load_blocks = load_blocks
        """Loads the agent's memory blocks into the cache (and the widget's ``blocks``)."""

    async def agents(self, *, query: str | None, after: str | None) -> dict[str, Any]:
        """One page of the agent picker (``query`` searches names)."""
        kwargs: dict[str, Any] = {"limit": AGENT_PAGE}
        if after:
            kwargs["after"] = after
        if query:
            kwargs["query_text"] = query
        with sdk_errors(base_url=self.s.base_url, what="the agents"):
            resp = await self.s.aclient.agents.with_raw_response.list(**kwargs)
        page = json.loads(resp.http_response.content)
        if isinstance(page, dict):  # a page object on some servers
            page = page.get("items") or page.get("data") or []
        needle = (query or "").strip().lower()
        rows = [
            {
                "id": a.get("id"),
                "name": a.get("name") or a.get("id"),
                "created_at": a.get("created_at"),
                "description": short_title(a.get("description") or "", 120),
            }
            for a in page
            if not needle
            or needle in str(a.get("name") or "").lower()
            or needle in str(a.get("id") or "").lower()
        ]
        nxt = page[-1].get("id") if len(page) >= AGENT_PAGE else None
        return {"rows": rows, "next": nxt}

    def row(
        self, conv: Mapping[str, Any], links: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, Any]:
        """One list row of a conversation (its lineage and cached statistics included)."""
        cid = str(conv.get("id"))
        links = self.s.lineage.all() if links is None else links
        link = links.get(cid)
        summary = conv.get("summary")
        row: dict[str, Any] = {
            "id": cid,
            "title": short_title(summary) if summary else "",
            "summary": summary or "",
            **conversation_fields(conv, self.cache.agent_model),
            "parent": link.get("parent") if link else None,
            "fork_message_id": link.get("message_id") if link else None,
            "depth": _depth(cid, links) if link else 0,
            "is_default": cid == DEFAULT,
        }
        cached = self.cached_stats(cid, conv.get("last_message_at"))
        if cached:
            row.update(cached)
        return row

    def default_row(self) -> dict[str, Any]:
        """The row of the agent's default conversation."""
        row = self.row({"id": DEFAULT, "summary": None})
        row["title"] = "Default conversation"
        row["summary"] = ""
        return row

    async def page(self, *, search: str | None, archived: str, after: str | None) -> dict[str, Any]:
        """One page of the conversation list: newest activity first, made-here ones pinned."""
        agent_id = self.s.require_agent()
        if archived not in ("unarchived", "archived", "all"):
            raise InvalidRequest(
                f"unknown archive filter {archived!r}", "use unarchived/archived/all"
            )
        kwargs: dict[str, Any] = {
            "agent_id": agent_id,
            "limit": CONVERSATION_PAGE,
            "order": "desc",
            "order_by": "last_message_at",
            "archive_status": archived,
        }
        if search:
            kwargs["summary_search"] = search
        if after:
            kwargs["after"] = after
        with sdk_errors(base_url=self.s.base_url, what=f"the conversations of agent {agent_id}"):
            resp = await self.s.aclient.conversations.with_raw_response.list(**kwargs)
        page = json.loads(resp.http_response.content)
        nxt = page[-1].get("id") if len(page) >= CONVERSATION_PAGE else None
        if archived != "all":  # servers that ignore archive_status but report `archived`
            want = archived == "archived"
            page = [c for c in page if c.get("archived") is None or bool(c["archived"]) == want]
        needle = (search or "").lower()
        if needle:  # servers that ignore summary_search
            page = [c for c in page if needle in str(c.get("summary") or "").lower()]
        links = self.s.lineage.all()  # one read of the lineage file per page
        rows = [self.row(c, links) for c in page]
        if after is None and agent_id == self.s.agent_id:
            pinned = [self.row(p, links) for p in self.cache.pinned if not needle]
            head = [self.default_row()] if not needle and archived != "archived" else []
            seen = {r["id"] for r in rows}
            rows = [*head, *[p for p in pinned if p["id"] not in seen], *rows]
        return {"rows": rows, "next": nxt, "agent_id": agent_id}

    def cached_stats(self, cid: str, stamp: Any) -> dict[str, Any] | None:
        """The row statistics known for ``cid`` at activity ``stamp`` (None: fetch them)."""
        count = self.cache.counts.get(cid)
        system = self.cache.system.get(cid)
        if count is None or system is None or count[0] != stamp:
            return None
        return self.stats_row(cid, system, count[1])

    def stats_row(self, cid: str, system: SystemInfo, count: int) -> dict[str, Any]:
        """The statistics of one row: count, first user message, stale memory."""
        diff = diff_memory(system[0], self.cache.blocks) if system[0] is not None else None
        return {
            "id": cid,
            "count": count,
            "first_user": short_title(system[1]),
            "stale": bool(diff and diff.stale),
            "stale_known": bool(diff and diff.known),
            "stale_labels": diff.labels if diff else [],
        }

    async def stats(self, ids: list[str], *, memory_only: bool = False) -> list[dict[str, Any]]:
        """Per-row statistics; ``memory_only``: memory changed, reuse known counts."""
        sem = asyncio.Semaphore(STATS_CONCURRENCY)

        async def one(cid: str) -> dict[str, Any]:
            async with sem:
                try:
                    system = await self.system_message(cid)
                    known = self.cache.counts.get(cid) if memory_only else None
                    count = known[1] if known is not None else await self.count(cid)
                    return self.stats_row(cid, system, count)
                except Exception as exc:
                    return {"id": cid, "error": str(translate(exc, base_url=self.s.base_url))}

        if not self.cache.blocks and self.s.agent_id:
            await self.load_blocks()
        return list(await asyncio.gather(*(one(c) for c in ids[:200])))

    async def system_message(self, cid: str) -> SystemInfo:
        """The conversation's compiled system prompt and first user message, cached."""
        cached = self.cache.system.get(cid)
        if cached is not None:
            return cached
        page = await self.messages.list_raw(cid, order="asc", limit=10)
        system = next((m for m in page[:2] if m.get("message_type") == "system_message"), None)
        users = [m for m in page if m.get("message_type") == "user_message" and not is_summary(m)]
        user = next((m for m in users if not is_greeting(message_text(m))), None)
        user = user or (users[0] if users else None)
        result = SystemInfo(
            message_text(system) if system is not None else None,
            message_text(user) if user is not None else "",
            system.get("date") if system is not None else None,
        )
        self.cache.system[cid] = result
        return result

    async def count(self, cid: str) -> int:
        """How many Letta messages the conversation has (paged; cached until it changes)."""
        stamp = await self.activity_stamp(cid)
        cached = self.cache.counts.get(cid)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        total = 0
        after: str | None = None
        size = COUNT_PAGE
        while True:
            kwargs: dict[str, Any] = {"order": "asc", "limit": size}
            if after:
                kwargs["after"] = after
            try:
                page = await self.messages.list_raw(cid, **kwargs)
            except InvalidRequest:
                if after is None and size > 50:
                    size //= 2
                    continue
                raise
            kept, cursor, more = whole_groups(page, size, cap=True)
            total += len(kept)
            if not more or cursor is None or cursor == after:
                break
            after = cursor
        self.cache.counts[cid] = (stamp, total)
        return total

    async def activity_stamp(self, cid: str) -> Any:
        """When ``cid`` last changed (its in-context ids are remembered on the way)."""
        if cid == DEFAULT:
            return None
        with sdk_errors(base_url=self.s.base_url, what=self.s.describe(cid)):
            conv = await self.s.aclient.conversations.retrieve(cid)
        data = conv.to_dict(mode="json")
        self.cache.in_context[cid] = set(data.get("in_context_message_ids") or [])
        return data.get("last_message_at")
