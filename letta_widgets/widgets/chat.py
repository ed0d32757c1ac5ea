"""ChatCell: a streaming chat with one Letta conversation, in a notebook cell.

The stream runs on the toolkit's worker loop (:mod:`letta_widgets._loop`) through
the one turn engine (:mod:`letta_widgets.stream`). Token deltas reach the front-end
as coalesced custom messages (:class:`~letta_widgets.widgets.live.LiveOps`); finished messages are
rendered by :mod:`letta_widgets.render` into the compact ``items`` snapshot, so a
re-opened output or a second view shows the whole transcript.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any

import traitlets as t
from letta_client import AsyncLetta, Letta

from letta_widgets._loop import Job
from letta_widgets.branches import (
    BranchPoint,
    branch_points,
    find_message,
    fork_at,
    fork_point_ignored,
)
from letta_widgets.client import async_twin, base_url_of, connect, sync_twin
from letta_widgets.errors import (
    ConversationBusy,
    ForkPointIgnored,
    LettaWidgetsError,
    images_refused,
    sdk_errors,
)
from letta_widgets.letta.conversation import DEFAULT, ConversationRef
from letta_widgets.letta.images import (
    Attachment,
    ImageSource,
    attachment,
    display_name,
    image_parts_of,
    user_content,
    written_text,
)
from letta_widgets.letta.paging import ListPage, older_page, oldest_first, server_key, whole_groups
from letta_widgets.lineage import LineageStore
from letta_widgets.render import message_text
from letta_widgets.stream import Turn, TurnEngine, TurnEvent
from letta_widgets.transcripts import export_transcript, transcript_download
from letta_widgets.widgets.base import RpcMethod, bundle
from letta_widgets.widgets.browser.memory import diff_memory
from letta_widgets.widgets.live import TurnWidget
from letta_widgets.widgets.outcome import Outcome
from letta_widgets.widgets.saved import items_html
from letta_widgets.widgets.transcript import transcript_items, usage_item, user_item

__all__ = ["ChatCell", "ask", "check_target"]

_MEMORY_TOOLS = ("memory_", "core_memory")
"""Tool name prefixes that edit the agent's memory blocks."""
_STAGED_BYTES = 64 * 1024 * 1024
"""The most image bytes the front-end may stage for the next send (the oldest go first)."""


class ChatCell(TurnWidget):
    """A streaming chat cell bound to one conversation.

    ``ChatCell(client, conversation_id="conv-…")`` opens an existing conversation;
    ``ChatCell(client, agent_id="agent-…")`` creates a new conversation on the agent;
    ``conversation_id="default"`` with ``agent_id`` uses the agent's default thread.
    ``chat.send("Hello")`` streams a turn into the widget and returns the
    :class:`~letta_widgets.stream.Turn`; ``await chat.asend("Hello")`` is the same,
    awaitable; ``chat.send("what is this?", images=["cat.png"])`` sends images with the
    text (also attached in the widget: the button, paste, or dropped files). Stop (the
    button or :meth:`stop`) cancels the run on the server too.

    Branches: :meth:`edit` an earlier user message or :meth:`regenerate` the last answer
    (each a fork before that message, recorded in ``lineage_path`` as the browser records its
    forks; the old branch stays), :meth:`branches` lists where the history has siblings and
    :meth:`switch` shows another conversation (a sibling) in the cell.
    """

    _busy_message = (
        "a turn is already streaming in this cell",
        "wait for it to finish or press Stop before sending again",
    )
    _esm = bundle("common.js", "chat_attach.js", "chat.js")
    _css = bundle("messages.css", "common.css", "chat.css")

    conversation_id = t.Unicode("", help="The Letta conversation this cell talks to.").tag(
        sync=True
    )
    agent_id = t.Unicode("", help="The agent the conversation belongs to.").tag(sync=True)
    items = t.List(t.Dict(), help="Finished messages as sanitized HTML cards, oldest first.").tag(
        sync=True
    )
    status = t.Enum(
        ["idle", "loading", "streaming", "done", "stopped", "error"],
        "idle",
        help="What the cell is doing.",
    ).tag(sync=True)
    status_text = t.Unicode("", help="The status line under the transcript.").tag(sync=True)
    has_older = t.Bool(False, help="Whether older messages can be loaded.").tag(sync=True)
    can_attach = t.Bool(False, help="A run started elsewhere is active: offer Attach.").tag(
        sync=True
    )
    branch_nav = t.List(
        t.Dict(), help="Sibling branches in the shown history: {point, ids, index} each."
    ).tag(sync=True)
    branch_note = t.Unicode(
        "", help="Why edit and regenerate are not offered here ('' when they are)."
    ).tag(sync=True)
    memory_notice = t.Unicode(
        "", help="Why the conversation's compiled memory is older than the blocks ('' if not)."
    ).tag(sync=True)
    placeholder = t.Unicode("Message the agent…  (Enter sends, Shift+Enter: new line)").tag(
        sync=True
    )
    height = t.Unicode("460px", help="CSS height of the transcript area.").tag(sync=True)

    _saved_traits = ("items",)

    def __init__(
        self,
        client: Letta | AsyncLetta,
        conversation_id: str | None = None,
        agent_id: str | None = None,
        history: int = 20,
        lineage_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not conversation_id and not agent_id:
            raise TypeError("ChatCell needs conversation_id=… or agent_id=…")
        self._given = client  # the turn engine streams with the client it was given
        self._client = sync_twin(client)
        self._base_url = base_url_of(client)
        self._history = max(0, int(history))
        self._oldest: dict[str, Any] | None = None  # the oldest message shown: older pages' cursor
        self._answered: set[str] = set()
        self._in_context: set[str] | None = None  # None: the server did not say
        self._sent_otids: dict[str, str] = {}  # local item key -> the otid it was sent with
        self.lineage = LineageStore(lineage_path, server=self._base_url)
        """Where edits and regenerations record their forks (shared with the browser)."""
        self._staged: dict[str, Attachment] = {}  # images the front-end sent for its next send
        self.last_turn: Turn | None = None
        """The most recent turn (also after Stop or an error)."""
        if not conversation_id:
            conversation_id = self._create_conversation(agent_id or "")
        self._open(conversation_id, agent_id)

    # ------------------------------------------------------------------ python API

    def send(
        self,
        text: str = "",
        *,
        images: Iterable[ImageSource] = (),
        override_model: str | None = None,
    ) -> Turn:
        """Send ``text`` (and ``images``), stream the reply into the widget, return the Turn.

        ``images``: paths or bytes of PNG, JPEG, GIF or WebP images, 5 MB each at most (the
        kind is read from the bytes). If one is not, or cannot be read,
        :class:`~letta_widgets.errors.ImageRefused` names it and nothing is sent.
        Blocks the cell while the widget updates live. Stop (button or kernel
        Interrupt) ends the turn early and cancels the run on the server; the
        partial turn is returned with ``stop_reason == "cancelled"``.
        Raises a :class:`~letta_widgets.LettaWidgetsError` when the turn fails.
        """
        turn = self._turn(text, _image_parts(images), override_model=override_model)
        job = self._start(turn, context=self._last_msg_context)
        return self._wait(job, self._stopped_turn)

    async def asend(
        self,
        text: str = "",
        *,
        images: Iterable[ImageSource] = (),
        override_model: str | None = None,
    ) -> Turn:
        """Like :meth:`send`, awaitable (``await chat.asend("…")`` in a cell)."""
        job = self._start(self._turn(text, _image_parts(images), override_model=override_model))
        return await self._await(job, self._stopped_turn)

    def start(
        self,
        text: str = "",
        *,
        images: Iterable[ImageSource | Attachment] = (),
        override_model: str | None = None,
    ) -> Job:
        """Start a turn and return at once (what the Send button does)."""
        return self._start(self._turn(text, _image_parts(images), override_model=override_model))

    def attach(self) -> Turn:
        """Follow a run that another client started on this conversation to its end."""
        job = self._start(
            self._run_engine(lambda listener: self._engine.attach(listener=listener)),
            context=self._last_msg_context,
        )
        return self._wait(job, self._stopped_turn)

    def approve(
        self, tool_call_id: str | None = None, *, approve: bool = True, reason: str | None = None
    ) -> Turn:
        """Answer the pending approval request (the first one when no id is given)."""
        pending = [
            i for item in self.items if item.get("pending") for i in item.get("tool_call_ids", [])
        ]
        call_id = tool_call_id or (pending[0] if pending else None)
        if call_id is None:
            raise LettaWidgetsError("no approval request is pending", "nothing to approve")
        job = self._start(self._approval(call_id, approve, reason), context=self._last_msg_context)
        return self._wait(job, self._stopped_turn)

    def recompile(self) -> None:
        """Compile the agent's current memory blocks into this conversation's system prompt
        (what the notice's Recompile button does)."""
        with sdk_errors(base_url=self._base_url, what=self._engine.describe()):
            self._client.conversations.recompile(
                self.conversation_id, **self._engine.ref.sdk_kwargs()
            )
        self._check_memory()

    def load_older(self) -> int:
        """Load the next page of older messages; return how many were added."""
        return self._start(self._older()).result()

    def edit(self, message_id: str, text: str) -> Turn:
        """Send ``text`` in place of the user message ``message_id``: fork the conversation at
        the message before it, show the fork and stream the new turn there (the old branch
        stays). Raises :class:`~letta_widgets.ForkPointIgnored` on a server whose forks
        ignore the fork point (letta 0.16.8), without changing anything."""
        job = self._start(self._branch_turn(_user_message(message_id), text))
        return self._wait(job, self._stopped_turn)

    async def aedit(self, message_id: str, text: str) -> Turn:
        """Like :meth:`edit`, awaitable."""
        job = self._start(self._branch_turn(_user_message(message_id), text))
        return await self._await(job, self._stopped_turn)

    def regenerate(self) -> Turn:
        """Answer the last user message again, in a fork before it (the old answer stays in
        the old branch); like :meth:`edit` with the same text."""
        job = self._start(self._branch_turn(_user_message(None), None))
        return self._wait(job, self._stopped_turn)

    async def aregenerate(self) -> Turn:
        """Like :meth:`regenerate`, awaitable."""
        job = self._start(self._branch_turn(_user_message(None), None))
        return await self._await(job, self._stopped_turn)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write this conversation to ``path``: Markdown (``.md``) or one self-contained HTML
        page (``.html``), as the Export buttons do."""
        return export_transcript(
            self._client, self.conversation_id, path, agent_id=self.agent_id or None
        )

    def branches(self) -> list[BranchPoint]:
        """Where the shown history has sibling branches (edits, regenerations, forks made at
        one message), oldest point first, each with the siblings and the one shown."""
        return self._branch_points()

    def switch(self, conversation_id: str) -> list[BranchPoint]:
        """Show ``conversation_id`` (a sibling branch, or any conversation) in this cell and
        return its :meth:`branches`."""
        self._wait(self._start(self._switch(conversation_id)), lambda: None)
        return self._branch_points()

    # --------------------------------------------------------------- front-end msgs

    def _saved_html(self) -> str | None:
        body, left_out = items_html(self.items)
        facts = [f"conversation {self.conversation_id}"]
        if self.agent_id:
            facts.append(f"agent {self.agent_id}")
        return self._fallback(
            "Chat with a Letta agent",
            facts,
            body or '<p class="lw-saved-note">No messages yet.</p>',
            left_out,
        )

    def _rpc_methods(self) -> Mapping[str, RpcMethod]:
        """The Export buttons' download."""
        return {
            "export": lambda p: transcript_download(
                self._client,
                self.conversation_id,
                str(p.get("format") or "md"),
                agent_id=self.agent_id or None,
            )
        }

    def _on_image(self, content: dict[str, Any]) -> None:
        """``{"kind": "image", "id", "name"}`` with the file as the message's one buffer: an
        image for the front-end's next send. One comm message per image, because Jupyter
        Server's websocket refuses a message over 10 MiB (tornado's default limit)."""
        buffers = content["buffers"]
        if not buffers:
            return
        self._staged[str(content.get("id"))] = attachment(buffers[0], name=content.get("name"))
        while sum(len(a.data) for a in self._staged.values()) > _STAGED_BYTES:
            self._staged.pop(next(iter(self._staged)))

    def _on_send(self, content: dict[str, Any]) -> None:
        """``{"kind": "send", "text", "images": [{"id", "name"}, …]}`` (the images staged
        before by ``image`` messages); they are checked again here (the browser's check is
        quick feedback, not trusted)."""
        text = str(content.get("text", "")).strip()
        wanted = content.get("images")
        found = []
        for n, img in enumerate(wanted if isinstance(wanted, list) else [], 1):
            img = img if isinstance(img, dict) else {}
            lost = Attachment(display_name(img.get("name"), n), unreadable="it did not arrive")
            found.append(self._staged.pop(str(img.get("id")), lost))
        self._staged.clear()
        if text or found:
            self.start(text, images=found)

    def _on_stop(self, _content: dict[str, Any]) -> None:
        self.stop()

    def _on_older(self, _content: dict[str, Any]) -> None:
        if not self.busy and self.has_older:
            self._start(self._older())

    def _on_approve(self, content: dict[str, Any]) -> None:
        self._start(
            self._approval(
                str(content.get("tool_call_id")),
                bool(content.get("approve")),
                content.get("reason") or None,
            )
        )

    def _on_recompile(self, _content: dict[str, Any]) -> None:
        try:
            self.recompile()
        except LettaWidgetsError as err:
            self.show_error(err)

    def _on_edit(self, content: dict[str, Any]) -> None:
        text = str(content.get("text", "")).strip()
        key = str(content.get("key", "")).split("|", 1)[0]
        if text and key:
            match = _sent_message(self._sent_otids[key]) if key in self._sent_otids else None
            self._start(self._branch_turn(match or _user_message(key), text))

    def _on_regenerate(self, _content: dict[str, Any]) -> None:
        self._start(self._branch_turn(_user_message(None), None))

    def _on_switch(self, content: dict[str, Any]) -> None:
        cid = str(content.get("conversation_id") or "")
        if cid:
            self._start(self._switch(cid))

    def _on_attach(self, _content: dict[str, Any]) -> None:
        self._start(self._run_engine(lambda listener: self._engine.attach(listener=listener)))

    # ------------------------------------------------------------------ internals

    def _open(self, conversation_id: str, agent_id: str | None = None) -> None:
        """Show ``conversation_id``: its latest messages, memory notice and branches."""
        if not ConversationRef(conversation_id).is_default:
            agent_id = self._check_conversation(conversation_id) or agent_id
        self._engine = TurnEngine(self._given, conversation_id, agent_id=agent_id)
        self._oldest = None
        self._answered = set()
        self._sent_otids = {}
        self.conversation_id = conversation_id
        self.agent_id = agent_id or ""
        self.memory_notice = ""
        self.has_older = False
        self.items = []
        self._load_latest()
        self._check_memory()
        self._show_branches()

    def _branch_points(self) -> list[BranchPoint]:
        shown = [str(item["key"]).split("|", 1)[0] for item in self.items]
        points = branch_points(self.lineage, self.conversation_id, shown)
        order = {mid: n for n, mid in enumerate(shown)}
        return sorted(points, key=lambda p: order.get(p.message_id, 0))

    def _show_branches(self) -> None:
        self.branch_nav = [p.as_dict() for p in self._branch_points()]
        if fork_point_ignored(self._base_url):
            self.branch_note = (
                "This server forks whole conversations (it ignores the fork point), so "
                "edit and regenerate are not offered here."
            )

    async def _switch(self, conversation_id: str) -> None:
        self.clear_error()
        self.status_text = "opening the branch…"
        try:
            await asyncio.to_thread(self._open, conversation_id)
        except LettaWidgetsError as err:
            self.show_error(err)
            self.status_text = ""
            raise
        self.status_text = ""
        self.status = "idle"

    async def _branch_turn(
        self, match: Callable[[Mapping[str, Any]], bool], text: str | None
    ) -> Turn:
        """Fork before the newest user message ``match`` accepts, show the fork and send
        ``text`` there (the message's own text when ``None``) with the message's images."""
        self.clear_error()
        self.status_text = "forking before that message…"
        aclient = async_twin(self._client)
        list_page = self._page_lister(aclient)

        try:
            with sdk_errors(base_url=self._base_url, what=self._engine.describe()):
                target, before = await find_message(
                    list_page, server_key(self._base_url, self.conversation_id), match
                )
            if before is None:
                raise LettaWidgetsError(
                    "nothing comes before that message to fork at",
                    "start a new conversation on the agent instead",
                )
            fork = await fork_at(
                aclient, self._engine.ref, before, lineage=self.lineage, base_url=self._base_url
            )
            await asyncio.to_thread(self._open, fork.id)
        except LettaWidgetsError as err:
            self._show_branches()
            self.show_error(err)
            self.status_text = "nothing was changed" if isinstance(err, ForkPointIgnored) else ""
            raise
        said = text if text is not None else written_text(target.get("content"))
        images = image_parts_of(target.get("content"))  # an edit keeps the message's images
        return await self._turn(said, images, override_model=None)

    def _page_lister(self, aclient: AsyncLetta) -> ListPage:
        """``await list_page(order=…, limit=…, after=…)``: a page of this conversation's
        messages as dicts (what the paging helpers take)."""

        async def list_page(**kwargs: Any) -> list[dict[str, Any]]:
            page = await aclient.conversations.messages.list(
                self.conversation_id, **kwargs, **self._engine.ref.sdk_kwargs()
            )
            return [m.to_dict(mode="json") for m in page.items]

        return list_page

    def _check_conversation(self, conversation_id: str) -> str | None:
        """Fail early (NotFound naming the id); learn the agent and the in-context ids."""
        with sdk_errors(base_url=self._base_url, what=f"conversation {conversation_id}"):
            conv = self._client.conversations.retrieve(conversation_id)
        self._in_context = set(conv.in_context_message_ids or []) or None
        return conv.agent_id

    def _create_conversation(self, agent_id: str) -> str:
        with sdk_errors(base_url=self._base_url, what=f"agent {agent_id}"):
            conv = self._client.conversations.create(agent_id=agent_id)
        return conv.id

    def _load_latest(self) -> None:
        """The last ``history`` messages (synchronously, at construction)."""
        if self._history == 0:
            return
        with sdk_errors(base_url=self._base_url, what=self._engine.describe()):
            page = self._client.conversations.messages.list(
                self.conversation_id,
                limit=self._history,
                order="desc",
                **self._engine.ref.sdk_kwargs(),
            )
        msgs = [m.to_dict(mode="json") for m in page.items]
        kept, _, self.has_older = whole_groups(msgs, self._history)
        self._oldest = kept[-1] if kept else None
        self.items = self._marked(transcript_items(oldest_first(kept), answered=self._answered))

    async def _turn(
        self, text: str, parts: list[dict[str, Any]], *, override_model: str | None
    ) -> Turn:
        key, otid = f"local-{time.time_ns()}", str(uuid.uuid4())
        self._sent_otids[key] = otid  # how an edit finds this message before it is reloaded
        self.items = [*self.items, user_item(text, key=key, parts=parts)]
        message = [{"role": "user", "content": user_content(text, parts)}] if parts else text
        return await self._run_engine(
            lambda listener: self._engine.run(
                message, listener=listener, override_model=override_model, otid=otid
            )
        )

    async def _approval(self, tool_call_id: str, approve: bool, reason: str | None) -> Turn:
        self.items = [
            {**item, "pending": False} if tool_call_id in item.get("tool_call_ids", []) else item
            for item in self.items
        ]
        return await self._run_engine(
            lambda listener: self._engine.approve(
                tool_call_id, approve=approve, reason=reason, listener=listener
            )
        )

    async def _run_engine(self, call: Callable[[Any], Coroutine[Any, Any, Turn]]) -> Turn:
        """Run one engine call with the live view, status line and error handling."""
        self.clear_error()
        self.can_attach = False
        self.status = "streaming"
        self.status_text = "streaming…"
        self._live.clear()
        self._live.push({"op": "reset"})
        live = self._live.listener()

        def listener(turn: Turn, event: TurnEvent) -> None:
            if event.kind == "reconnect":
                self.status_text = f"connection dropped, resuming… (attempt {turn.reconnects})"
            elif event.kind == "retry":
                tries = f"{turn.retries}/{self._engine.max_run_retries}"
                self.status_text = f"the run failed (retryable); sending again ({tries})…"
            elif event.kind == "event" and event.text == "retry_message" and turn.events:
                said = turn.events[-1]  # Letta Cloud retries the model itself and says so
                tries = f"{said.get('attempt', '?')}/{said.get('max_attempts', '?')}"
                self.status_text = f"the server is retrying the model ({tries})…"
            live(turn, event)

        try:
            turn = await call(listener)
        except (Exception, asyncio.CancelledError) as exc:
            outcome = Outcome.of(self._engine, exc, base_url=self._base_url)
            self._finish(outcome)
            err = outcome.error
            if err is not None:
                self.show_error(err)
                self.can_attach = isinstance(err, ConversationBusy) and err.status == 409
                if err is not exc:
                    raise err from exc
            raise
        self._finish(Outcome.done(turn))
        if turn.compactions:
            await self._refresh_context()
        if any(
            str(c.get("name") or "").startswith(("memory_", "core_memory")) for c in turn.tool_calls
        ):
            await asyncio.to_thread(self._check_memory)
        return turn

    def _finish(self, outcome: Outcome) -> None:
        turn = self.last_turn = outcome.turn
        new_items: list[dict[str, Any]] = []
        if turn is not None:
            new_items = transcript_items(turn.messages, answered=self._answered)
            key = turn.run_id or turn.otid or f"turn-{time.time_ns()}"
            info = {"stop_reason": turn.stop_reason, "ttft_s": turn.ttft_s, "total_s": turn.total_s}
            new_items.append(usage_item(key, turn.usage, **info))
        self.items = [*self.items, *new_items]
        self._live.push({"op": "reset"})  # the last deltas and the reset: one message
        self.status_text = outcome.status_line()
        self.status = outcome.status  # type: ignore[assignment]

    async def _older(self) -> int:
        if self._oldest is None:
            self.has_older = False
            return 0
        self.status_text = "loading older messages…"
        aclient = async_twin(self._client)
        list_page = self._page_lister(aclient)

        shown = {str(item["key"]).split("|", 1)[0] for item in self.items}
        try:
            with sdk_errors(base_url=self._base_url, what=self._engine.describe()):
                msgs, oldest, more = await older_page(
                    list_page,
                    server_key(self._base_url, self.conversation_id),
                    self._oldest,
                    limit=max(self._history, 20),
                    newer_ids=shown,
                )
        except LettaWidgetsError as err:
            self.show_error(err)
            self.status_text = ""
            return 0
        known = {item["key"] for item in self.items}
        older = [
            i
            for i in transcript_items(oldest_first(msgs), answered=self._answered)
            if i["key"] not in known
        ]
        older = self._marked(older)
        self._oldest = oldest or self._oldest
        self.items = [*older, *self.items]
        self.has_older = more
        self.status_text = ""
        self._show_branches()
        return len(older)

    def _check_memory(self) -> None:
        """Say so when the conversation runs on an older copy of the agent's memory.

        A conversation keeps the blocks as compiled into its system prompt; a memory edit
        (here or in another conversation) changes the blocks only, as on the real server.
        The agent's default conversation is recompiled on every change: never stale.
        """
        if self._engine.ref.is_default or not self.agent_id:
            return
        try:
            with sdk_errors(base_url=self._base_url, what=self._engine.describe()):
                blocks = self._client.agents.blocks.list(self.agent_id, limit=1000).items
                first = self._client.conversations.messages.list(
                    self.conversation_id, order="asc", limit=1
                ).items
        except LettaWidgetsError:
            return  # a hint, not worth an error banner
        system = next((m for m in first if m.message_type == "system_message"), None)
        diff = diff_memory(
            message_text(system) if system is not None else None,
            [b.to_dict(mode="json") for b in blocks],
        )
        self.memory_notice = (
            f"This conversation's system prompt has an older copy of memory "
            f"({', '.join(diff.labels)} changed since). The agent still knows what it learned "
            "in this conversation; Recompile to give it the current blocks."
            if diff.stale
            else ""
        )

    def _marked(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``items`` with ``evicted`` set on messages no longer in the context window."""
        ctx = self._in_context
        if ctx is None:
            return items
        for item in items:
            mid = str(item["key"]).split("|", 1)[0]
            item["evicted"] = mid.startswith("message-") and mid not in ctx
        return items

    async def _refresh_context(self) -> None:
        """After a compaction: which shown messages the agent still sees."""
        aclient = async_twin(self._client)
        try:
            with sdk_errors(base_url=self._base_url, what=self._engine.describe()):
                if self._engine.ref.is_default:
                    ids = (await aclient.agents.retrieve(self.agent_id)).message_ids
                else:
                    conv = await aclient.conversations.retrieve(self.conversation_id)
                    ids = conv.in_context_message_ids
        except LettaWidgetsError as err:
            self.show_error(err)
            return
        self._in_context = set(ids or []) or None
        self.items = self._marked([dict(i) for i in self.items])

    def _stopped_turn(self) -> Turn:
        turn = self.last_turn or self._engine.current
        if turn is None:
            turn = Turn(conversation_id=self.conversation_id, stop_reason="cancelled")
        turn.stop_reason = turn.stop_reason or "cancelled"
        return turn


def check_target(target: str, *, what: str = "ask()") -> str:
    """``target`` if it names a conversation (``conv-…``, ``default``) or an agent
    (``agent-…``: its default conversation); else ``ValueError`` saying what is needed."""
    if not isinstance(target, str) or not (
        target.startswith(("conv-", "agent-")) or target == DEFAULT
    ):
        raise ValueError(
            f"{what} needs a conversation id (conv-…) or an agent id (agent-…), not {target!r}"
        )
    return target


def ask(
    target: str,
    text: str,
    *,
    client: Letta | AsyncLetta | None = None,
    model: str | None = None,
    history: int = 0,
) -> ChatCell:
    """Send ``text`` to a conversation and return a :class:`ChatCell` streaming the reply.

    The function form of the ``%%letta`` cell magic, for front-ends without IPython magics
    (marimo) and for code: ``lw.ask("conv-…", "Summarize our conversation so far.")`` as a
    cell's last line shows the cell. ``target`` is a conversation id (``conv-…``) or an agent
    id (``agent-…``: the agent's default conversation); ``client`` defaults to
    :func:`~letta_widgets.connect` (``LETTA_BASE_URL``, ``LETTA_API_KEY``); ``model`` is an
    ``override_model`` for this turn; ``history`` earlier messages are shown above it.

    The turn starts without blocking (as a Send click does), so Stop works at once and the
    kernel stays free; ``chat.wait()`` blocks until it ends and returns the
    :class:`~letta_widgets.stream.Turn` (``chat.last_turn`` holds it afterwards).
    """
    check_target(target)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("ask(): the message is empty; pass the text to send")
    if client is not None and not isinstance(client, Letta | AsyncLetta):
        raise TypeError(
            f"ask(client=…) takes a letta_client.Letta or AsyncLetta, not {type(client).__name__}"
        )
    client = client or connect()
    if target.startswith("agent-"):
        chat = ChatCell(client, conversation_id=DEFAULT, agent_id=target, history=history)
    else:
        chat = ChatCell(client, conversation_id=target, history=history)
    chat.start(text.strip(), override_model=model)
    return chat


def _user_message(message_id: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """Accepts the user message ``message_id`` (any user message when ``None``)."""

    def match(msg: Mapping[str, Any]) -> bool:
        mine = message_id is None or msg.get("id") == message_id
        return mine and msg.get("message_type") == "user_message"

    return match


def _sent_message(otid: str) -> Callable[[Mapping[str, Any]], bool]:
    """Accepts the user message sent with ``otid`` (its id is not known until reloaded)."""
    return lambda msg: msg.get("message_type") == "user_message" and msg.get("otid") == otid


def _image_parts(images: Iterable[ImageSource | Attachment]) -> list[dict[str, Any]]:
    """The content parts of ``images`` (paths, bytes or :class:`Attachment`); when one may
    not be sent, :class:`~letta_widgets.errors.ImageRefused` naming every such image."""
    if isinstance(images, str | bytes | bytearray | memoryview | os.PathLike):
        images = [images]  # one image, not its characters
    found = [
        img if isinstance(img, Attachment) else attachment(img, index=n)
        for n, img in enumerate(images, 1)
    ]
    problems = [p for p in (a.problem() for a in found) if p]
    if problems:
        raise images_refused(problems)
    return [a.part() for a in found]
