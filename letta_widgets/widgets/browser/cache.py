"""What the browser remembers between requests, and the one place that forgets it.

Every pane reads and writes :class:`BrowserCache`; only its methods drop entries, each named
for the event that makes them stale (:meth:`~BrowserCache.agent_changed`,
:meth:`~BrowserCache.memory_changed`, :meth:`~BrowserCache.conversation_changed`,
:meth:`~BrowserCache.conversation_gone`), so no pane clears another's data by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from letta_widgets.letta.conversation import DEFAULT
from letta_widgets.widgets.transcript import item_key

__all__ = ["DATE_CACHE", "RAW_CACHE", "BrowserCache", "SystemInfo"]

RAW_CACHE = 3000
"""Raw messages kept for the details view (the DOM holds far fewer)."""
DATE_CACHE = 50_000
"""Message dates kept to check older pages against their cursor (:mod:`...letta.paging`)."""


class SystemInfo(NamedTuple):
    """What a conversation's first messages tell: its compiled system prompt (``None``: not
    found), its first user message, and when the system prompt was compiled (its date)."""

    text: str | None
    first_user: str
    compiled_at: str | None = None


@dataclass
class BrowserCache:
    """Per-browser memory of the server's answers (bounded where it could grow)."""

    raw: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    """Shown messages by item key (for the details view)."""
    returns: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    """Tool returns by tool_call_id (shown with their call in the details view)."""
    dates: dict[str, Any] = field(default_factory=dict)
    """Message id -> date, to check older pages against their cursor."""
    in_context: dict[str, set[str]] = field(default_factory=dict)
    """Conversation -> its in-context message ids."""
    system: dict[str, SystemInfo] = field(default_factory=dict)
    """Conversation -> its first messages (compiled memory, first user message)."""
    counts: dict[str, tuple[Any, int]] = field(default_factory=dict)
    """Conversation -> (activity stamp, message count)."""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    """The agent's memory blocks as the server sent them (last load)."""
    seen_blocks: dict[str, str] | None = None
    """Block label -> value when the view last showed them (to mark changes)."""
    pinned: list[dict[str, Any]] = field(default_factory=list)
    """Conversations made here, shown first until the list's own pages have them."""
    agent_model: str | None = None
    """The agent's model handle (rows show conversations that override it)."""

    def message(self, message_id: str) -> dict[str, Any] | None:
        """A shown message by id (the first of its group), if it is still kept."""
        return next((m for m in self.raw.values() if m.get("id") == message_id), None)

    # ------------------------------------------------------------------ learning

    def remember_page(self, page: Iterable[dict[str, Any]]) -> None:
        """Keep a fetched page's message dates (bounded)."""
        if len(self.dates) > DATE_CACHE:
            for old in list(self.dates)[: DATE_CACHE // 2]:
                del self.dates[old]
        self.dates.update((m.get("id"), m.get("date")) for m in page if m.get("id"))

    def remember_shown(self, msgs: Iterable[dict[str, Any]]) -> None:
        """Keep shown messages (and tool returns) for the details view (bounded)."""
        for m in msgs:
            key = item_key(m)
            self.raw[key] = m
            self.raw.move_to_end(key)
            if m.get("message_type") == "tool_return_message" and m.get("tool_call_id"):
                self.returns[str(m["tool_call_id"])] = m
        while len(self.raw) > RAW_CACHE:
            self.raw.popitem(last=False)
        while len(self.returns) > RAW_CACHE:
            self.returns.popitem(last=False)

    def pin(self, conversation: dict[str, Any]) -> None:
        """Show a conversation made here at the top of the list."""
        self.pinned.insert(0, conversation)

    # ------------------------------------------------------------------ forgetting

    def agent_changed(self) -> None:
        """Another agent is shown: nothing of the last one applies."""
        self.blocks, self.seen_blocks, self.pinned, self.agent_model = [], None, [], None
        self.in_context.clear()
        self.system.clear()
        self.counts.clear()

    def memory_changed(self) -> None:
        """The agent's memory (or the conversations' contexts) may have changed: a turn ran,
        or the user asked to refresh. The default thread has no activity stamp to tell."""
        self.in_context.clear()
        self.system.clear()
        self.counts.pop(DEFAULT, None)

    def header_reloaded(self, cid: str) -> None:
        """The header of ``cid`` is loaded again: read its system message afresh."""
        self.system.pop(cid, None)

    def conversation_made(self, cid: str) -> None:
        """``cid`` was just made here (new, fork): count its messages afresh."""
        self.counts.pop(cid, None)

    def conversation_changed(self, cid: str) -> None:
        """``cid`` was edited here (recompiled, renamed, archived): its rows are stale."""
        self.system.pop(cid, None)
        self.counts.pop(cid, None)
        self.pinned = [p for p in self.pinned if p.get("id") != cid]

    def conversation_gone(self, cid: str) -> None:
        """``cid`` was deleted."""
        self.conversation_changed(cid)
        self.in_context.pop(cid, None)
