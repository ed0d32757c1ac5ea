"""ConversationBrowser: an agent's conversations, their messages, and its shared memory.

Layout: an agent picker (when no agent is given), then three panes: the conversation
list (newest activity first, infinite scroll), the message pane of the selected
conversation (rendered by :mod:`letta_widgets.render`, the one renderer; newest page
first, older pages on scroll up, at most :data:`PAGE_LIMIT` messages a page and at most
a few pages in the DOM) and the shared memory panel (blocks, changes since the last
look, and whether the selected conversation still runs on an older compiled copy).

How the halves talk (``shared/style.md`` H3, H5, H6):

* Traits hold the compact state a re-opened view needs: ``agent_id``, ``selected``,
  ``info`` (the selected conversation's header), ``blocks`` and ``generation`` (bumped
  when the views must reload their pages).
* Pages (agents, conversations, messages), per-row statistics, message details and
  actions are RPC: the front-end sends ``{"kind": "rpc", "id", "method", "params"}``;
  the request runs on the toolkit's worker loop (:mod:`letta_widgets._loop`), so the
  kernel stays idle, and is always answered ``{"kind": "reply", "id", "result"}`` or
  ``{"kind": "reply", "id", "error"}``, even when it fails.
* Every Python method mirrors a UI action (``select``, ``refresh``, ``fork``, ...), and
  the ``*_page`` methods return exactly what the front-end receives (for tests).
* The conversation list is never a trait: each RPC reply carries one page of
  :data:`CONVERSATION_PAGE` rows (a few hundred bytes each), so widget state saved into
  the notebook does not grow with the number of conversations. The view keeps the rows'
  data (cheap) and puts only the rows near its viewport into the DOM (windowed).

Agent text reaches the DOM only as HTML sanitized by the renderer (then scrubbed again
by ``lwSafeFragment``) or as ``textContent``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Literal

import ipywidgets
import traitlets as t
from letta_client import AsyncLetta, Letta

from letta_widgets._loop import WorkerLoop
from letta_widgets.client import async_twin, base_url_of
from letta_widgets.errors import InvalidRequest, LettaWidgetsError, NotFound, sdk_errors, translate
from letta_widgets.paging import oldest_first
from letta_widgets.render import compaction_summary, message_text
from letta_widgets.widgets.base import LettaWidget, bundle
from letta_widgets.widgets.browser_lineage import LineageStore
from letta_widgets.widgets.browser_memory import MemoryDiff, diff_memory
from letta_widgets.widgets.transcript import item_key, transcript_items

__all__ = ["CONVERSATION_PAGE", "PAGE_LIMIT", "ConversationBrowser"]

PAGE_LIMIT = 100
"""Most messages the message pane receives in one page."""
CONVERSATION_PAGE = 50
"""Conversations per list page."""
AGENT_PAGE = 50
"""Agents per picker page."""
SCAN_PAGE = 500
"""Messages fetched per request while a text/type filter scans a conversation."""
SCAN_MAX = 5000
"""Most messages one filtered page request scans before answering (it can continue)."""
COUNT_PAGE = 1000
"""Page size used to count a conversation's messages."""
RAW_CACHE = 3000
"""Raw messages kept for the details view (the DOM holds far fewer)."""
RAW_JSON_LIMIT = 200_000
"""Characters of raw JSON shown in the details view."""
STATS_CONCURRENCY = 4
"""Conversations whose statistics are fetched at once."""

DEFAULT = "default"
_TITLE_CHARS = 160

Archived = Literal["unarchived", "archived", "all"]


def _cut(page: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None, bool]:
    """Keep whole id groups of a page (in fetch order), at most ``limit`` messages.

    Returns (kept, cursor for the next page in the same direction, more?). A full page
    may end inside a group of Letta messages sharing one id (reasoning + reply): that
    trailing group is dropped and comes again, whole, with the next page.
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
    if len(kept) > limit:
        i = limit
        while i > 0 and kept[i - 1].get("id") == kept[i].get("id"):
            i -= 1
        kept = kept[:i] if i > 0 else kept[:limit]
        more = True
    return kept, kept[-1].get("id"), more


def _is_summary(msg: Mapping[str, Any]) -> bool:
    """A compaction summary (see :func:`letta_widgets.render.compaction_summary`)."""
    return compaction_summary(msg) is not None


def _effective_type(msg: Mapping[str, Any]) -> str:
    """The message type the type filter sees (summaries stored as user messages count as
    summaries)."""
    return "summary_message" if _is_summary(msg) else str(msg.get("message_type"))


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


def _short(text: str, n: int = _TITLE_CHARS) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


class ConversationBrowser(LettaWidget):
    """Browse an agent's conversations, read their messages, and watch shared memory.

    ``ConversationBrowser(client)`` opens an agent picker; ``ConversationBrowser(client,
    agent_id)`` opens the agent. ``browser.select("conv-…")`` shows a conversation
    (``"default"`` is the agent's default thread), ``browser.selected`` is the shown id,
    ``browser.refresh()`` reloads everything, ``browser.selected_frame()`` returns the
    selected conversation as a DataFrame. Actions: :meth:`new_conversation`,
    :meth:`fork`, :meth:`set_summary`, :meth:`archive`, :meth:`delete`,
    :meth:`recompile`, :meth:`open_chat`.
    """

    _esm = bundle("common.js", "browser.js")
    _css = bundle("messages.css", "common.css", "browser.css")

    agent_id = t.Unicode("", help="The agent being browsed ('' shows the agent picker).").tag(
        sync=True
    )
    agent_name = t.Unicode("", help="The agent's name.").tag(sync=True)
    selected = t.Unicode(
        "", help="The selected conversation: 'conv-…', 'default' (the agent's thread) or ''."
    ).tag(sync=True)
    info = t.Dict(help="The selected conversation's header: dates, context, staleness.").tag(
        sync=True
    )
    blocks = t.List(
        t.Dict(), help="The agent's memory blocks: label, value, chars, limit, changed."
    ).tag(sync=True)
    memory_checked_at = t.Unicode("", help="When the memory blocks were last read (UTC).").tag(
        sync=True
    )
    generation = t.Int(0, help="Bumped when the views must reload their pages.").tag(sync=True)
    status_text = t.Unicode("", help="The status line.").tag(sync=True)
    height = t.Unicode("560px", help="CSS height of the panes.").tag(sync=True)

    def __init__(
        self,
        client: Letta | AsyncLetta,
        agent_id: str | None = None,
        *,
        lineage_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._client = client
        self._aclient = async_twin(client)
        self._base_url = base_url_of(client)
        self.lineage = LineageStore(lineage_path)
        """Where forks made here are recorded (the server keeps no parent link)."""
        self._raw: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._returns: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._in_context: dict[str, set[str]] = {}
        self._system: dict[str, tuple[str | None, str]] = {}
        self._counts: dict[str, tuple[Any, int]] = {}
        self._block_values: list[dict[str, Any]] = []
        self._seen_blocks: dict[str, str] | None = None
        self._pinned: list[dict[str, Any]] = []
        self._chat_box = ipywidgets.VBox()
        self._box = ipywidgets.VBox([self, self._chat_box])
        self.chat: Any = None
        """The ChatCell opened below the browser (``open_chat``), if any."""
        self.observe(self._watch_agent, names=["agent_id"])
        self.observe(self._watch_selected, names=["selected"])
        if agent_id:
            self._loading_agent = True
            try:
                self.agent_id = agent_id
                self._run(self._load_agent())
            finally:
                self._loading_agent = False

    _loading_agent = False

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Shown with a box below it where open_chat() puts the ChatCell.
        return self._box._repr_mimebundle_(**kwargs)

    # ================================================================== python API

    def select(self, conversation_id: str) -> dict[str, Any]:
        """Show ``conversation_id`` (``"default"``: the agent's default thread).

        Returns the header the widget shows (``browser.info``). Raises
        :class:`~letta_widgets.NotFound` for an unknown or deleted conversation.
        """
        self._require_agent()
        info = self._run(self._load_info(conversation_id, raise_errors=True))
        self.selected = conversation_id
        return info

    def refresh(self) -> None:
        """Reload memory, the selected conversation and every page the views show."""
        self._require_agent()
        self._run(self._refresh())

    def conversations_page(
        self,
        *,
        search: str | None = None,
        archived: Archived = "unarchived",
        after: str | None = None,
    ) -> dict[str, Any]:
        """One page of the conversation list, as the front-end receives it."""
        return self._run(self._conversations(search=search, archived=archived, after=after))

    def messages_page(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        text: str | None = None,
        types: Sequence[str] | None = None,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of the selected conversation's messages, as the front-end receives it.

        No cursor: the newest page. ``before``: the page older than that message id;
        ``after``: the page newer than it. ``text`` / ``types`` filter (server pages are
        scanned until a page is full). ``result["items"]`` are oldest first.
        """
        cid = conversation_id or self._require_selected()
        return self._run(
            self._messages(cid, before=before, after=after, text=text, types=list(types or []))
        )

    def agents_page(self, *, query: str | None = None, after: str | None = None) -> dict[str, Any]:
        """One page of the agent picker (``query`` searches names)."""
        return self._run(self._agents(query=query, after=after))

    def stats(self, conversation_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Per conversation: message count, first user message, stale memory blocks."""
        return self._run(self._stats(list(conversation_ids)))

    def details(self, key: str) -> dict[str, Any]:
        """Ids, run, step, dates and raw JSON of a message shown in the pane (by item key)."""
        return self._run(self._details(key))

    def stale(self, conversation_id: str | None = None) -> MemoryDiff:
        """How the conversation's compiled memory differs from the current blocks."""
        cid = conversation_id or self._require_selected()
        return self._run(self._stale(cid))

    @property
    def memory(self) -> dict[str, str]:
        """The agent's memory blocks as ``{label: value}`` (as last read)."""
        return {b["label"]: b["value"] for b in self.blocks}

    def new_conversation(self, summary: str | None = None) -> str:
        """Create a conversation on the agent, select it and return its id."""
        return self._run(self._action("new", {"summary": summary}))["id"]

    def fork(self, message_id: str | None = None, conversation_id: str | None = None) -> str:
        """Fork the conversation (at ``message_id``: history up to it), select the fork.

        The lineage is recorded in :attr:`lineage` and shown as a tree in the list.
        """
        params = {"message_id": message_id, "conversation_id": conversation_id}
        return self._run(self._action("fork", params))["id"]

    def set_summary(self, summary: str, conversation_id: str | None = None) -> None:
        """Edit the conversation's summary (its title in the list)."""
        params = {"summary": summary, "conversation_id": conversation_id}
        self._run(self._action("summary", params))

    def archive(self, conversation_id: str | None = None, *, archived: bool = True) -> None:
        """Archive (or with ``archived=False`` unarchive) the conversation."""
        params = {"archived": archived, "conversation_id": conversation_id}
        self._run(self._action("archive", params))

    def unarchive(self, conversation_id: str | None = None) -> None:
        """Unarchive the conversation."""
        self.archive(conversation_id, archived=False)

    def delete(self, conversation_id: str | None = None) -> None:
        """Delete the conversation (the UI asks for confirmation first)."""
        self._run(self._action("delete", {"conversation_id": conversation_id}))

    def recompile(self, conversation_id: str | None = None) -> None:
        """Recompile the conversation's system message from the current memory blocks."""
        self._run(self._action("recompile", {"conversation_id": conversation_id}))

    def refresh_memory(self) -> list[dict[str, Any]]:
        """Re-read the memory blocks; changed blocks are highlighted until the next read."""
        self._require_agent()
        return self._run(self._load_blocks())

    def open_chat(self, conversation_id: str | None = None, history: int = 20) -> Any:
        """Open a :class:`~letta_widgets.widgets.chat.ChatCell` on the conversation below
        the browser and return it; memory and the list refresh after each of its turns."""
        cid = conversation_id or self._require_selected()
        chat = self._make_chat(cid, history)
        self._chat_box.children = (chat,)
        return chat

    def selected_frame(self, **kwargs: Any) -> Any:
        """The selected conversation as a DataFrame (:func:`letta_widgets.frames.messages_frame`).

        Keyword arguments go to ``messages_frame`` (``include_raw=True``, ``limit=``...).
        """
        from letta_widgets.frames import messages_frame

        cid = self._require_selected()
        client = self._client if isinstance(self._client, Letta) else None
        if client is None:
            raise TypeError("selected_frame() needs a synchronous letta_client.Letta")
        if cid == DEFAULT:
            kwargs.setdefault("agent_id", self.agent_id)
        return messages_frame(client, cid, **kwargs)

    # ============================================================ front-end messages

    def _on_rpc(self, content: dict[str, Any]) -> None:
        """``{"id", "method", "params"}`` -> a job on the worker loop -> one reply."""
        rid = content.get("id")
        method = str(content.get("method", ""))
        params = content.get("params") or {}
        handlers: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]] = {
            "agents": lambda p: self._agents(query=p.get("query"), after=p.get("after")),
            "conversations": lambda p: self._conversations(
                search=p.get("search"),
                archived=p.get("archived") or "unarchived",
                after=p.get("after"),
            ),
            "stats": lambda p: self._stats(
                [str(i) for i in p.get("ids") or []], memory_only=bool(p.get("memory_only"))
            ),
            "messages": lambda p: self._messages(
                str(p.get("conversation_id") or ""),
                before=p.get("before"),
                after=p.get("after"),
                text=p.get("text"),
                types=[str(x) for x in p.get("types") or []],
            ),
            "details": lambda p: self._details(str(p.get("key", ""))),
            "action": lambda p: self._action(str(p.get("name", "")), p),
        }

        async def answer() -> None:
            try:
                handler = handlers.get(method)
                if handler is None:
                    raise InvalidRequest(f"unknown request {method!r}", "reload the widget")
                result = await handler(params if isinstance(params, dict) else {})
                self.send_custom({"kind": "reply", "id": rid, "result": result})
            except asyncio.CancelledError:
                self.send_custom({"kind": "reply", "id": rid, "error": "cancelled"})
                raise
            except Exception as exc:  # always answer (H6), with a sentence for people
                err = translate(exc, base_url=self._base_url)
                self.send_custom({"kind": "reply", "id": rid, "error": str(err)})

        WorkerLoop.get().submit(answer(), context=self._last_msg_context)

    def _on_open_chat(self, content: dict[str, Any]) -> None:
        self.open_chat(str(content.get("conversation_id") or "") or None)

    # ================================================================== internals

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return WorkerLoop.get().submit(coro, context=self._last_msg_context).result()

    def _require_agent(self) -> str:
        if not self.agent_id:
            raise InvalidRequest(
                "no agent is selected", "pick one in the widget or set browser.agent_id"
            )
        return self.agent_id

    def _require_selected(self) -> str:
        if not self.selected:
            raise InvalidRequest(
                "no conversation is selected", "call browser.select(conversation_id) first"
            )
        return self.selected

    def _target(self, cid: str) -> dict[str, Any]:
        return {"agent_id": self.agent_id} if cid == DEFAULT else {}

    def _what(self, cid: str) -> str:
        if cid == DEFAULT:
            return f"the default conversation of agent {self.agent_id}"
        return f"conversation {cid}"

    def _watch_agent(self, change: Any) -> None:
        self.selected = ""
        self.info = {}
        self.blocks = []
        self._block_values = []
        self._seen_blocks = None
        self._pinned = []
        self._in_context.clear()
        self._system.clear()
        self._counts.clear()
        self.agent_name = ""
        self.generation += 1
        if change.new and not self._loading_agent:
            WorkerLoop.get().submit(self._load_agent_shown(), context=self._last_msg_context)

    def _watch_selected(self, change: Any) -> None:
        new = change.new
        if not new:
            self.info = {}
            return
        if self.info.get("id") == new:
            return  # select() loaded it already
        WorkerLoop.get().submit(self._load_info(new), context=self._last_msg_context)

    async def _load_agent_shown(self) -> None:
        try:
            await self._load_agent()
        except Exception as exc:
            self.show_error(exc)

    async def _load_agent(self) -> None:
        agent_id = self.agent_id
        with sdk_errors(base_url=self._base_url, what=f"agent {agent_id}"):
            agent = await self._aclient.agents.retrieve(agent_id)
        if agent_id != self.agent_id:
            return
        self.agent_name = agent.name or agent_id
        await self._load_blocks()

    async def _load_blocks(self) -> list[dict[str, Any]]:
        agent_id = self.agent_id
        with sdk_errors(base_url=self._base_url, what=f"the memory blocks of agent {agent_id}"):
            page = await self._aclient.agents.blocks.list(agent_id, limit=1000)
        raw = [b.to_dict(mode="json") for b in page.items]
        if agent_id != self.agent_id:
            return self.blocks
        seen = self._seen_blocks
        out = []
        for b in sorted(raw, key=lambda b: str(b.get("label"))):
            label = str(b.get("label"))
            value = str(b.get("value") or "")
            changed = seen is not None and seen.get(label) != value
            out.append(
                {
                    "label": label,
                    "value": value,
                    "chars": len(value),
                    "limit": b.get("limit"),
                    "read_only": bool(b.get("read_only")),
                    "description": str(b.get("description") or ""),
                    "changed": changed,
                    "new": seen is not None and label not in seen,
                    "previous": _short(seen.get(label, ""), 400) if changed and seen else "",
                }
            )
        self._seen_blocks = {b["label"]: b["value"] for b in out}
        self._block_values = raw
        self.blocks = out
        self.memory_checked_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        return out

    async def _refresh(self) -> None:
        self.clear_error()
        self._in_context.clear()
        self._system.clear()
        self._counts.pop(DEFAULT, None)  # no activity stamp to tell it changed
        await self._load_blocks()
        if self.selected:
            await self._load_info(self.selected)
        self.generation += 1

    # ---------------------------------------------------------------- pages

    async def _agents(self, *, query: str | None, after: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"limit": AGENT_PAGE}
        if after:
            kwargs["after"] = after
        if query:
            kwargs["query_text"] = query
        with sdk_errors(base_url=self._base_url, what="the agents"):
            resp = await self._aclient.agents.with_raw_response.list(**kwargs)
        page = json.loads(resp.http_response.content)
        if isinstance(page, dict):  # a page object on some servers
            page = page.get("items") or page.get("data") or []
        needle = (query or "").strip().lower()
        rows = [
            {
                "id": a.get("id"),
                "name": a.get("name") or a.get("id"),
                "created_at": a.get("created_at"),
                "description": _short(a.get("description") or "", 120),
            }
            for a in page
            if not needle
            or needle in str(a.get("name") or "").lower()
            or needle in str(a.get("id") or "").lower()
        ]
        nxt = page[-1].get("id") if len(page) >= AGENT_PAGE else None
        return {"rows": rows, "next": nxt}

    def _row(
        self, conv: Mapping[str, Any], links: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, Any]:
        cid = str(conv.get("id"))
        links = self.lineage.all() if links is None else links
        link = links.get(cid)
        summary = conv.get("summary")
        row: dict[str, Any] = {
            "id": cid,
            "title": _short(summary) if summary else "",
            "summary": summary or "",
            "created_at": conv.get("created_at"),
            "last_message_at": conv.get("last_message_at"),
            "archived": conv.get("archived"),
            "parent": link.get("parent") if link else None,
            "fork_message_id": link.get("message_id") if link else None,
            "depth": _depth(cid, links) if link else 0,
            "is_default": cid == DEFAULT,
        }
        cached = self._cached_stats(cid, conv.get("last_message_at"))
        if cached:
            row.update(cached)
        return row

    def _default_row(self) -> dict[str, Any]:
        row = self._row({"id": DEFAULT, "summary": None})
        row["title"] = "Default conversation"
        row["summary"] = ""
        return row

    async def _conversations(
        self, *, search: str | None, archived: str, after: str | None
    ) -> dict[str, Any]:
        agent_id = self._require_agent()
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
        with sdk_errors(base_url=self._base_url, what=f"the conversations of agent {agent_id}"):
            resp = await self._aclient.conversations.with_raw_response.list(**kwargs)
        page = json.loads(resp.http_response.content)
        nxt = page[-1].get("id") if len(page) >= CONVERSATION_PAGE else None
        if archived != "all":  # servers that ignore archive_status but report `archived`
            want = archived == "archived"
            page = [c for c in page if c.get("archived") is None or bool(c["archived"]) == want]
        needle = (search or "").lower()
        if needle:  # servers that ignore summary_search
            page = [c for c in page if needle in str(c.get("summary") or "").lower()]
        links = self.lineage.all()  # one read of the lineage file per page
        rows = [self._row(c, links) for c in page]
        if after is None and agent_id == self.agent_id:
            pinned = [self._row(p, links) for p in self._pinned if not needle]
            head = [self._default_row()] if not needle and archived != "archived" else []
            seen = {r["id"] for r in rows}
            rows = [*head, *[p for p in pinned if p["id"] not in seen], *rows]
        return {"rows": rows, "next": nxt, "agent_id": agent_id}

    def _cached_stats(self, cid: str, stamp: Any) -> dict[str, Any] | None:
        count = self._counts.get(cid)
        system = self._system.get(cid)
        if count is None or system is None or count[0] != stamp:
            return None
        return self._stats_row(cid, system, count[1])

    def _stats_row(self, cid: str, system: tuple[str | None, str], count: int) -> dict[str, Any]:
        diff = diff_memory(system[0], self._block_values) if system[0] is not None else None
        return {
            "id": cid,
            "count": count,
            "first_user": _short(system[1]),
            "stale": bool(diff and diff.stale),
            "stale_known": bool(diff and diff.known),
            "stale_labels": diff.labels if diff else [],
        }

    async def _stats(self, ids: list[str], *, memory_only: bool = False) -> list[dict[str, Any]]:
        """Per-row statistics; ``memory_only``: memory changed, reuse known counts."""
        sem = asyncio.Semaphore(STATS_CONCURRENCY)

        async def one(cid: str) -> dict[str, Any]:
            async with sem:
                try:
                    system = await self._system_message(cid)
                    known = self._counts.get(cid) if memory_only else None
                    count = known[1] if known is not None else await self._count(cid)
                    return self._stats_row(cid, system, count)
                except Exception as exc:
                    return {"id": cid, "error": str(translate(exc, base_url=self._base_url))}

        if not self._block_values and self.agent_id:
            await self._load_blocks()
        return list(await asyncio.gather(*(one(c) for c in ids[:200])))

    async def _list_raw(self, cid: str, **kwargs: Any) -> list[dict[str, Any]]:
        with sdk_errors(base_url=self._base_url, what=self._what(cid)):
            resp = await self._aclient.conversations.messages.with_raw_response.list(
                cid, **kwargs, **self._target(cid)
            )
        page = json.loads(resp.http_response.content)
        if isinstance(page, dict):
            page = page.get("items") or page.get("messages") or []
        return page

    async def _system_message(self, cid: str) -> tuple[str | None, str]:
        """(compiled system message text or None, first user message text), cached."""
        cached = self._system.get(cid)
        if cached is not None:
            return cached
        page = await self._list_raw(cid, order="asc", limit=10)
        system = next((m for m in page[:2] if m.get("message_type") == "system_message"), None)
        user = next(
            (m for m in page if m.get("message_type") == "user_message" and not _is_summary(m)),
            None,
        )
        result = (
            message_text(system) if system is not None else None,
            message_text(user) if user is not None else "",
        )
        self._system[cid] = result
        return result

    async def _count(self, cid: str) -> int:
        """How many Letta messages the conversation has (paged; cached until it changes)."""
        stamp = await self._activity_stamp(cid)
        cached = self._counts.get(cid)
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
                page = await self._list_raw(cid, **kwargs)
            except InvalidRequest:
                if after is None and size > 50:
                    size //= 2
                    continue
                raise
            kept, cursor, more = _cut(page, size)
            total += len(kept)
            if not more or cursor is None or cursor == after:
                break
            after = cursor
        self._counts[cid] = (stamp, total)
        return total

    async def _activity_stamp(self, cid: str) -> Any:
        if cid == DEFAULT:
            return None
        with sdk_errors(base_url=self._base_url, what=self._what(cid)):
            conv = await self._aclient.conversations.retrieve(cid)
        data = conv.to_dict(mode="json")
        self._in_context[cid] = set(data.get("in_context_message_ids") or [])
        return data.get("last_message_at")

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
        order = "asc" if newer else "desc"
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
            kwargs: dict[str, Any] = {"order": order, "limit": fetch}
            if cursor:
                kwargs["after" if newer else "before"] = cursor
            try:
                page = await self._list_raw(cid, **kwargs)
            except NotFound:
                self._mark_missing(cid)
                raise
            kept, nxt, more = _cut(page, fetch)
            if start is None and kept:
                start = kept[0].get("id")
            scanned += len(kept)
            collected += [m for m in kept if keep(m)] if filtered else kept
            cursor = nxt or cursor
            if not filtered or not more or len(collected) >= PAGE_LIMIT or scanned >= SCAN_MAX:
                break
        if len(collected) > PAGE_LIMIT:
            collected, cursor, _ = _cut(collected, PAGE_LIMIT)
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
            item["boundary"] = _is_summary(msg)
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
            "can_fork": self.selected != "" and bool(mid),
        }

    # ---------------------------------------------------------------- info, staleness

    async def _stale(self, cid: str) -> MemoryDiff:
        if not self._block_values:
            await self._load_blocks()
        system = await self._system_message(cid)
        if system[0] is None:
            return MemoryDiff(known=False)
        return diff_memory(system[0], self._block_values)

    async def _load_info(self, cid: str, *, raise_errors: bool = False) -> dict[str, Any]:
        try:
            info = await self._info(cid)
        except LettaWidgetsError as err:
            info = {"id": cid, "missing": isinstance(err, NotFound), "error": str(err)}
            if raise_errors:
                raise
            self.show_error(err)
        if self.selected in ("", cid) or raise_errors:
            self.info = info
        return info

    async def _info(self, cid: str) -> dict[str, Any]:
        self._require_agent()
        self._system.pop(cid, None)
        if cid == DEFAULT:
            with sdk_errors(base_url=self._base_url, what=f"agent {self.agent_id}"):
                agent = await self._aclient.agents.retrieve(self.agent_id)
            data: dict[str, Any] = {
                "id": DEFAULT,
                "summary": "",
                "created_at": agent.created_at.isoformat() if agent.created_at else None,
                "last_message_at": None,
            }
            in_context = set(agent.message_ids or [])
        else:
            with sdk_errors(base_url=self._base_url, what=self._what(cid)):
                conv = await self._aclient.conversations.retrieve(cid)
            data = conv.to_dict(mode="json")
            if data.get("agent_id") and data["agent_id"] != self.agent_id:
                raise InvalidRequest(
                    f"conversation {cid} belongs to agent {data['agent_id']}",
                    f"open it with ConversationBrowser(client, {data['agent_id']!r})",
                )
            in_context = set(data.get("in_context_message_ids") or [])
        self._in_context[cid] = in_context
        diff = await self._stale(cid)
        link = self.lineage.parent_of(cid)
        return {
            "id": cid,
            "is_default": cid == DEFAULT,
            "summary": data.get("summary") or "",
            "title": _short(data.get("summary") or "")
            if cid != DEFAULT
            else "Default conversation",
            "first_user": _short(self._system.get(cid, (None, ""))[1]),
            "created_at": data.get("created_at"),
            "last_message_at": data.get("last_message_at"),
            "archived": data.get("archived"),
            "in_context_count": len(in_context),
            "stale": diff.as_dict(),
            "parent": link.get("parent") if link else None,
            "fork_message_id": link.get("message_id") if link else None,
            "children": self.lineage.children_of(cid),
            "chain": self.lineage.chain(cid),
            "missing": False,
            "loaded_at": time.time(),
        }

    # ---------------------------------------------------------------- actions

    async def _action(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        agent_id = self._require_agent()
        cid = str(params.get("conversation_id") or "") or self.selected
        self.clear_error()
        self.status_text = ""
        try:
            result = await self._do_action(name, cid, agent_id, params)
        except Exception as exc:
            err = translate(exc, base_url=self._base_url, what=self._what(cid) if cid else None)
            if isinstance(err, NotFound) and cid:
                self._mark_missing(cid)
            self.show_error(err)
            raise err from exc
        return result

    async def _do_action(
        self, name: str, cid: str, agent_id: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        conv = self._aclient.conversations
        base = self._base_url
        if name == "new":
            kwargs: dict[str, Any] = {"agent_id": agent_id}
            if params.get("summary"):
                kwargs["summary"] = str(params["summary"])
            with sdk_errors(base_url=base, what=f"agent {agent_id}"):
                created = await conv.create(**kwargs)
            data = created.to_dict(mode="json")
            self._pinned.insert(0, data)
            await self._select_after_action(created.id)
            return {"id": created.id}
        if name == "refresh":
            await self._refresh()
            return {}
        if name == "refresh_memory":
            await self._load_blocks()
            if self.selected:
                await self._load_info(self.selected)
            return {}
        if not cid:
            raise InvalidRequest("no conversation is selected", "pick one in the list first")
        what = self._what(cid)
        if name == "fork":
            message_id = params.get("message_id") or None
            kwargs = {**self._target(cid)}
            if message_id:
                kwargs["message_id"] = str(message_id)
            with sdk_errors(base_url=base, what=what):
                forked = await conv.fork(cid, **kwargs)
            self.lineage.record(forked.id, cid, message_id=message_id, agent_id=agent_id)
            if message_id:  # some servers ignore the fork point and copy everything: say so
                newest = await self._list_raw(forked.id, order="desc", limit=1)
                if newest and newest[0].get("id") != message_id:
                    self.status_text = (
                        "this server ignored the fork point: the fork has the whole history"
                    )
            self._pinned.insert(0, forked.to_dict(mode="json"))
            await self._select_after_action(forked.id)
            return {"id": forked.id, "parent": cid}
        if name == "recompile":
            with sdk_errors(base_url=base, what=what):
                await conv.recompile(cid, **self._target(cid))
            self._system.pop(cid, None)
            self._counts.pop(cid, None)
            await self._load_blocks()
            await self._load_info(cid)
            self.generation += 1
            return {"id": cid}
        if cid == DEFAULT:
            raise InvalidRequest(
                f"the default conversation cannot be {name}d",
                "fork it to get a conversation you can edit, archive or delete",
            )
        if name == "summary":
            with sdk_errors(base_url=base, what=what):
                await conv.update(cid, summary=str(params.get("summary") or ""))
        elif name == "archive":
            archived = bool(params.get("archived", True))
            with sdk_errors(base_url=base, what=what):
                updated = await conv.update(cid, archived=archived)
            if getattr(updated, "archived", None) is None:
                self.status_text = "this server does not keep an archived flag"
        elif name == "delete":
            with sdk_errors(base_url=base, what=what):
                await conv.delete(cid)
            self._pinned = [p for p in self._pinned if p.get("id") != cid]
            self._in_context.pop(cid, None)
            self._system.pop(cid, None)
            self._counts.pop(cid, None)
            if self.selected == cid:
                self.selected = ""
            self.generation += 1
            return {"id": cid, "deleted": True}
        else:
            raise InvalidRequest(f"unknown action {name!r}", "reload the widget")
        self._pinned = [p for p in self._pinned if p.get("id") != cid]
        if self.selected == cid:
            await self._load_info(cid)
        self.generation += 1
        return {"id": cid}

    async def _select_after_action(self, cid: str) -> None:
        self._counts.pop(cid, None)
        info = await self._info(cid)
        self.info = info
        self.selected = cid
        await self._load_blocks()
        self.generation += 1

    # ---------------------------------------------------------------- chat

    def _make_chat(self, cid: str, history: int) -> Any:
        from letta_widgets.widgets.chat import ChatCell

        if self.chat is not None:
            self.chat.unobserve(self._chat_status, names=["status"])
        chat = ChatCell(
            self._client,
            conversation_id=cid,
            agent_id=self.agent_id if cid == DEFAULT else None,
            history=history,
        )
        chat.observe(self._chat_status, names=["status"])
        self.chat = chat
        return chat

    def _chat_status(self, change: Any) -> None:
        if change.new in ("done", "stopped", "error"):
            WorkerLoop.get().submit(self._after_turn())

    async def _after_turn(self) -> None:
        try:
            self._in_context.clear()
            self._system.clear()
            self._counts.pop(DEFAULT, None)
            await self._load_blocks()
            if self.selected:
                await self._load_info(self.selected)
            self.generation += 1
        except Exception as exc:
            self.show_error(exc)
