"""ConversationBrowser: an agent's conversations, their messages, and its shared memory.

Layout: an agent picker (when no agent is given), then three panes: the conversation
list (newest activity first, infinite scroll), the message pane of the selected
conversation (rendered by :mod:`letta_widgets.render`, the one renderer; newest page
first, older pages on scroll up, at most :data:`PAGE_LIMIT` messages a page and at most
a few pages in the DOM) and the shared memory panel (blocks, changes since the last
look, and whether the selected conversation still runs on an older compiled copy).

Modules, one job each: this one is the widget (traits, Python API, RPC, memory, the
selected conversation's header, actions) and delegates the rest to its panes, plain
classes that share one :class:`~.session.BrowserSession`: :class:`~.conversations.ConversationList`
(the agent picker, the list's pages and per-row statistics), :class:`~.messages.MessagePane`
(pages and details) and :class:`~.search.MessageSearch`; :mod:`.memory` compares compiled
memory with the current blocks, :mod:`.lineage` records forks, and :class:`~.cache.BrowserCache`
is the one place that forgets what the server said.

How the halves talk (ARCHITECTURE.md, "Python and the front-end"):

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
import os
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets
import traitlets as t
from letta_client import AsyncLetta, Letta

from letta_widgets._loop import WorkerLoop
from letta_widgets.branches import fork_at
from letta_widgets.client import async_twin, base_url_of, sync_twin
from letta_widgets.errors import InvalidRequest, LettaWidgetsError, NotFound, sdk_errors, translate
from letta_widgets.letta.conversation import DEFAULT
from letta_widgets.lineage import LineageStore
from letta_widgets.transcripts import export_transcript, transcript_download
from letta_widgets.widgets.base import LettaWidget, RpcMethod, bundle
from letta_widgets.widgets.browser.cache import SystemInfo
from letta_widgets.widgets.browser.conversations import (
    CONVERSATION_PAGE,
    Archived,
    ConversationList,
    conversation_fields,
    short_title,
)
from letta_widgets.widgets.browser.memory import MemoryDiff, MemoryPane
from letta_widgets.widgets.browser.messages import PAGE_LIMIT, MessagePane
from letta_widgets.widgets.browser.search import MessageSearch
from letta_widgets.widgets.browser.session import BrowserSession
from letta_widgets.widgets.saved import items_html, plain_block

__all__ = ["CONVERSATION_PAGE", "PAGE_LIMIT", "ConversationBrowser"]


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

    _esm = bundle(
        "common.js",
        "browser_window.js",
        "browser_agents.js",
        "browser_list.js",
        "browser_memory.js",
        "browser_search.js",
        "browser_messages.js",
        "browser_details.js",
        "browser_header.js",
        "browser.js",
    )
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

    _saved_traits = ("selected", "info", "blocks")

    def __init__(
        self,
        client: Letta | AsyncLetta,
        agent_id: str | None = None,
        *,
        lineage_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._client = sync_twin(client)
        self._aclient = async_twin(client)
        self._base_url = base_url_of(client)
        self.lineage = LineageStore(lineage_path, server=self._base_url)
        """Where forks made here are recorded (the server keeps no parent link)."""
        self._session = BrowserSession(
            self._aclient, self._base_url, self.lineage, lambda: (self.agent_id, self.selected)
        )
        self._cache = self._session.cache
        self._pane = MessagePane(self._session, on_missing=self._mark_missing)
        self._list = ConversationList(self._session, self._pane, load_blocks=self._load_blocks)
        self._finder = MessageSearch(self._session, self._pane)
        self._memory = MemoryPane(self._session)
        self._saved_page: tuple[str, list[dict[str, Any]]] | None = None  # the fallback's
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

    def _view_bundle(self, **kwargs: Any) -> Any:
        # Shown with a box below it where open_chat() puts the ChatCell.
        return self._box._repr_mimebundle_(**kwargs)

    def _saved_html(self) -> str | None:
        facts = [f"agent {self.agent_name or self.agent_id}" if self.agent_id else "no agent"]
        body = ""
        if self.selected:
            title = str(self.info.get("title") or self.selected)
            facts.append(f"conversation {title} ({self.selected})")
            page = self._saved_page
            if page is not None and page[0] == self.selected:
                items, left_out = items_html(page[1])
                more = f'<p class="lw-saved-note">{left_out} more.</p>' if left_out else ""
                body += items + more
        for block in self.blocks:
            body += plain_block(f"memory: {block.get('label')}", str(block.get("value") or ""))
        return self._fallback("Letta conversation browser", facts, body)

    async def _page(self, conversation_id: str, **kwargs: Any) -> dict[str, Any]:
        """A page of messages (``MessagePane.page_of``); the selected conversation's newest
        unfiltered page is kept for the outputs' fallback."""
        result = await self._pane.page_of(conversation_id, **kwargs)
        if conversation_id == self.selected and not any(kwargs.values()):
            self._saved_page = (conversation_id, list(result.get("items") or []))
            self._refresh_saved()
        return result

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
        return self._run(self._list.page(search=search, archived=archived, after=after))

    def messages_page(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        text: str | None = None,
        types: Sequence[str] | None = None,
        conversation_id: str | None = None,
        around: str | None = None,
    ) -> dict[str, Any]:
        """One page of the selected conversation's messages, as the front-end receives it.

        No cursor: the newest page. ``before``: the page older than that message id;
        ``after``: the page newer than it; ``around``: the page holding that message (what a
        search hit opens). ``text`` / ``types`` filter (server pages are scanned until a page
        is full). ``result["items"]`` are oldest first.
        """
        cid = conversation_id or self._require_selected()
        if around:
            return self._run(self._pane.around(cid, around))
        return self._run(
            self._page(cid, before=before, after=after, text=text, types=list(types or []))
        )

    def search_messages(self, query: str) -> dict[str, Any]:
        """Messages matching ``query`` in all of the agent's conversations.

        Uses the server's message search (Letta Cloud); a server without one gets a scan
        of the selected conversation instead. ``result["mode"]`` says which (``"server"``
        or ``"scan"``), ``result["note"]`` says it in words, ``result["hits"]`` hold
        ``conversation_id``, ``message_id``, ``message_type``, ``date`` and a ``snippet``.
        Open a hit with ``select(hit["conversation_id"])`` and
        ``messages_page(around=hit["message_id"])``.
        """
        return self._run(self._finder.search(query))

    def agents_page(self, *, query: str | None = None, after: str | None = None) -> dict[str, Any]:
        """One page of the agent picker (``query`` searches names)."""
        return self._run(self._list.agents(query=query, after=after))

    def stats(self, conversation_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Per conversation: message count, first user message, stale memory blocks."""
        return self._run(self._list.stats(list(conversation_ids)))

    def details(self, key: str) -> dict[str, Any]:
        """Ids, run, step, dates and raw JSON of a message shown in the pane (by item key)."""
        return self._run(self._pane.details(key))

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

    def export(self, path: str | os.PathLike[str], conversation_id: str | None = None) -> Path:
        """Write the selected conversation (or ``conversation_id``) to ``path``: Markdown
        (``.md``) or one self-contained HTML page (``.html``), as the Export buttons do."""
        cid = conversation_id or self._require_selected()
        return export_transcript(
            self._client, cid, path, agent_id=self.agent_id or None, title=self._title_of(cid)
        )

    # ============================================================ front-end messages

    def _rpc_methods(self) -> Mapping[str, RpcMethod]:
        """Pages, statistics, search, details and actions, answered on the worker loop."""
        return {
            "agents": lambda p: self._list.agents(query=p.get("query"), after=p.get("after")),
            "conversations": lambda p: self._list.page(
                search=p.get("search"),
                archived=p.get("archived") or "unarchived",
                after=p.get("after"),
            ),
            "stats": lambda p: self._list.stats(
                [str(i) for i in p.get("ids") or []], memory_only=bool(p.get("memory_only"))
            ),
            "messages": lambda p: (
                self._pane.around(str(p.get("conversation_id") or ""), str(p["around"]))
                if p.get("around")
                else self._page(
                    str(p.get("conversation_id") or ""),
                    before=p.get("before"),
                    after=p.get("after"),
                    text=p.get("text"),
                    types=[str(x) for x in p.get("types") or []],
                )
            ),
            "search": lambda p: self._finder.search(str(p.get("query") or "")),
            "details": lambda p: self._pane.details(str(p.get("key", ""))),
            "action": lambda p: self._action(str(p.get("name", "")), p),
            "export": lambda p: transcript_download(
                self._client,
                str(p.get("conversation_id") or self._require_selected()),
                str(p.get("format") or "md"),
                agent_id=self.agent_id or None,
                title=self._title_of(str(p.get("conversation_id") or self.selected)),
            ),
        }

    def _on_open_chat(self, content: dict[str, Any]) -> None:
        self.open_chat(str(content.get("conversation_id") or "") or None)

    # ================================================================== internals

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return WorkerLoop.get().submit(coro, context=self._last_msg_context).result()

    def _title_of(self, cid: str) -> str | None:
        """A transcript's title: the selected conversation's summary, if it has one."""
        return (self.info.get("title") or None) if cid == self.selected else None

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

    def _mark_missing(self, cid: str) -> None:
        """The server no longer has ``cid``: the header says so."""
        if self.selected == cid:
            self.info = {**self.info, "id": cid, "missing": True}

    def _watch_agent(self, change: Any) -> None:
        self.selected = ""
        self.info = {}
        self.blocks = []
        self._cache.agent_changed()
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
        self._cache.agent_model = getattr(agent, "model", None)
        await self._load_blocks()

    async def _load_blocks(self) -> list[dict[str, Any]]:
        rows = await self._memory.load()
        if rows is None:  # another agent was chosen meanwhile
            return self.blocks
        self.blocks = rows
        self.memory_checked_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        return rows

    async def _refresh(self) -> None:
        self.clear_error()
        self._cache.memory_changed()
        await self._load_blocks()
        if self.selected:
            await self._load_info(self.selected)
        self.generation += 1

    # ---------------------------------------------------------------- info, staleness

    async def _stale(self, cid: str) -> MemoryDiff:
        if not self._cache.blocks:
            await self._load_blocks()
        system = await self._list.system_message(cid)
        return self._memory.stale(system.text, system.compiled_at)

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
        self._cache.header_reloaded(cid)
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
            with sdk_errors(base_url=self._base_url, what=self._session.describe(cid)):
                conv = await self._aclient.conversations.retrieve(cid)
            data = conv.to_dict(mode="json")
            if data.get("agent_id") and data["agent_id"] != self.agent_id:
                raise InvalidRequest(
                    f"conversation {cid} belongs to agent {data['agent_id']}",
                    f"open it with ConversationBrowser(client, {data['agent_id']!r})",
                )
            in_context = set(data.get("in_context_message_ids") or [])
        self._cache.in_context[cid] = in_context
        diff = await self._stale(cid)
        children = await self._living(self.lineage.children_of(cid))
        link = self.lineage.parent_of(cid)
        return {
            "id": cid,
            "is_default": cid == DEFAULT,
            "summary": data.get("summary") or "",
            "title": short_title(data.get("summary") or "")
            if cid != DEFAULT
            else "Default conversation",
            "first_user": short_title(self._cache.system.get(cid, SystemInfo(None, "")).first_user),
            **conversation_fields(data, self._cache.agent_model),
            "in_context_count": len(in_context),
            "stale": diff.as_dict(details=True),
            "parent": link.get("parent") if link else None,
            "fork_message_id": link.get("message_id") if link else None,
            "children": children,
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
            err = translate(
                exc, base_url=self._base_url, what=self._session.describe(cid) if cid else None
            )
            if isinstance(err, NotFound) and cid:
                self._mark_missing(cid)
            self.show_error(err)
            raise err from None  # the SDK's error adds nothing to ours (still err.__context__)
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
            self._cache.pin(data)
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
        what = self._session.describe(cid)
        if name == "fork":
            message_id = params.get("message_id") or None
            ref = self._session.ref(cid)
            if message_id:
                point = self._cache.message(str(message_id)) or {"id": str(message_id)}
                forked = await fork_at(
                    self._aclient, ref, point, lineage=self.lineage, base_url=base
                )
            else:
                with sdk_errors(base_url=base, what=what):
                    forked = await conv.fork(cid, **ref.sdk_kwargs())
                self.lineage.record(forked.id, cid, message_id=None, agent_id=agent_id)
            self._cache.pin(forked.to_dict(mode="json"))
            await self._select_after_action(forked.id)
            return {"id": forked.id, "parent": cid}
        if name == "recompile":
            with sdk_errors(base_url=base, what=what):
                await conv.recompile(cid, **self._session.sdk_kwargs(cid))
            self._cache.conversation_changed(cid)
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
            self.lineage.forget([cid])
            self._cache.conversation_gone(cid)
            if self.selected == cid:
                self.selected = ""
            self.generation += 1
            return {"id": cid, "deleted": True}
        else:
            raise InvalidRequest(f"unknown action {name!r}", "reload the widget")
        self._cache.conversation_changed(cid)
        if self.selected == cid:
            await self._load_info(cid)
        self.generation += 1
        return {"id": cid}

    async def _living(self, ids: list[str]) -> list[str]:
        """``ids`` without the conversations that are gone (their lineage links dropped)."""
        alive = await asyncio.gather(*(self._exists(c) for c in ids[:50]))
        gone = [c for c, ok in zip(ids, alive, strict=False) if not ok]
        self.lineage.forget(gone)
        return [c for c in ids if c not in gone]

    async def _exists(self, cid: str) -> bool:
        """Whether the conversation is still there (a 404 may be about something in it)."""
        try:
            await self._pane.context_ids(cid, fresh=True)
        except NotFound:
            return False
        return True

    async def _select_after_action(self, cid: str) -> None:
        self._cache.conversation_made(cid)
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
            self._cache.memory_changed()
            await self._load_blocks()
            if self.selected:
                await self._load_info(self.selected)
            self.generation += 1
        except Exception as exc:
            self.show_error(exc)
