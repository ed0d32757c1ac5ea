"""Domain operations: agents, memory, conversations, system-message compilation, paging.

Memory behaves as on the real server: a conversation's system message holds the blocks as
compiled when it was created, forked or last recompiled; the agent's default conversation
is recompiled whenever the blocks changed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import script
from .errors import bad_request, invalid_id, not_found
from .ids import is_valid_id, new_id, now
from .profiles import DEFAULT_PROFILE, TRAITS, Traits, check_profile
from .serialize import BASE_SYSTEM, DEFAULT_TOOLS, letta_messages_from, render_letta
from .storage import Store, StoredMessage
from .storage import text_of as _text

__all__ = ["Compaction", "Config", "Service"]

DEFAULT_TOOL_NAMES = ("conversation_search", "memory_insert", "memory_replace", "send_email")


@dataclass
class Config:
    """Server settings (command line, overridable per request for the delays)."""

    token_delay_ms: int = 0
    step_delay_ms: int = 0
    slow_token_delay_ms: int = 250
    tool_call_deltas: bool = True
    """With stream_tokens, stream tool calls as argument deltas like the real server."""
    keepalive_ms: int = 20000
    """A ping after this long without an event (the real server's keepalive, 20 s)."""
    context_messages: int = 120
    """Compact a conversation once it holds more in-context messages than this."""
    keep_after_compaction: float = 0.3
    """Fraction of the in-context messages a compaction keeps."""
    profile: str = DEFAULT_PROFILE
    """The API generation to behave like (:mod:`.profiles`): ``cloud`` or ``letta-0.16``."""

    def __post_init__(self) -> None:
        check_profile(self.profile)

    @property
    def cloud(self) -> bool:
        """True for the ``cloud`` profile."""
        return self.profile == "cloud"

    @property
    def traits(self) -> Traits:
        """What this profile does where the API generations differ."""
        return TRAITS[self.profile]


class Service:
    """Operations over a :class:`Store`."""

    def __init__(self, store: Store, config: Config | None = None) -> None:
        self.store = store
        self.config = config or Config()
        summaries = self.config.traits.summary_message_in_lists
        self.store.render = functools.partial(render_letta, summary_messages=summaries)
        self.store.rerender_for(self.config.profile, roles=("summary",))

    # ------------------------------------------------------------------ agents
    def create_agent(self, body: dict[str, Any], when: float | None = None) -> dict[str, Any]:
        """Create an agent with its memory blocks (``memory_blocks``) and default tools."""
        t = when if when is not None else now()
        agent_id = new_id("agent")
        name = body.get("name") or f"agent-{agent_id[6:14]}"
        tools = list(DEFAULT_TOOL_NAMES)
        for extra in body.get("tools") or []:
            if isinstance(extra, str) and extra in DEFAULT_TOOLS and extra not in tools:
                tools.append(extra)
        data = {
            "agent_type": body.get("agent_type") or "letta_v1_agent",
            "model": body.get("model") or "openai/gpt-4o-mini",
            "embedding": body.get("embedding") or "openai/text-embedding-3-small",
            "context_window": body.get("context_window_limit") or 30000,
            "system": body.get("system") or BASE_SYSTEM,
            "description": body.get("description"),
            "tags": body.get("tags") or [],
            "metadata": body.get("metadata"),
            "tools": [[n, new_id("tool")] for n in tools],
        }
        with self.store.transaction():
            self.store.put_agent(agent_id, name, t, t, data)
            for blk in body.get("memory_blocks") or []:
                self.store.put_block(
                    new_id("block"),
                    agent_id,
                    blk["label"],
                    blk.get("value", ""),
                    t,
                    {
                        "description": blk.get("description"),
                        "limit": blk.get("limit") or 100000,
                        "read_only": bool(blk.get("read_only", False)),
                        "metadata": blk.get("metadata") or {},
                    },
                )
        agent = self.store.get_agent(agent_id)
        assert agent is not None
        return agent

    def agent(
        self, agent_id: str, *, param: str = "agent_id", validate: bool = True
    ) -> dict[str, Any]:
        """An agent or 404 (422 when a path id is malformed; query ids are not validated)."""
        if validate and not is_valid_id("agent", agent_id):
            raise invalid_id(param, agent_id, "agent")
        a = self.store.get_agent(agent_id)
        if not a:
            raise not_found(f"Agent not found with id='{agent_id}'")
        return a

    def set_block(
        self, agent_id: str, label: str, value: str, when: float | None = None
    ) -> dict[str, Any]:
        """Change a block's value (visible at once through the blocks API)."""
        blk = self.store.block(agent_id, label)
        if not blk:
            raise not_found(f"Block with label '{label}' not found on agent '{agent_id}'")
        self.store.set_block_value(agent_id, label, value, now() if when is None else when)
        default = self.store.get_conversation(f"default-{agent_id}")
        if default is not None:  # the agent's default thread always sees current memory
            self.recompile(default)
        out = self.store.block(agent_id, label)
        assert out is not None
        return out

    # ------------------------------------------------------------------ conversations
    def _system_message(
        self, agent: dict[str, Any], conv_id: str, when: float, previous: int = 0
    ) -> StoredMessage:
        from .serialize import compile_system

        text = compile_system(
            agent.get("system", BASE_SYSTEM),
            self.store.blocks(agent["id"]),
            agent["id"],
            None if conv_id.startswith("default-") else conv_id,
            when,
            previous,
        )
        return StoredMessage(
            new_id("message"), "system", when, {"content": text}, agent_id=agent["id"]
        )

    def create_conversation(
        self,
        agent_id: str,
        *,
        summary: str | None = None,
        model: str | None = None,
        data: dict[str, Any] | None = None,
        when: float | None = None,
        is_default: bool = False,
        conv_id: str | None = None,
    ) -> dict[str, Any]:
        """A new conversation with a freshly compiled system message."""
        agent = self.agent(agent_id, validate=False)
        t = when if when is not None else now()
        cid = conv_id or new_id("conv")
        system = self._system_message(agent, cid, t)
        with self.store.transaction():
            self.store.put_conversation(
                {
                    "id": cid,
                    "agent_id": agent_id,
                    "is_default": is_default,
                    "summary": summary,
                    "created_at": t,
                    "updated_at": t,
                    "model": model,
                    "system_message_id": system.id,
                    "compiled_at": t,
                    "data": data or {},
                }
            )
            self.store.append(cid, [system])
        conv = self.store.get_conversation(cid)
        assert conv is not None
        return conv

    def conversation(
        self, conv_id: str, agent_id: str | None = None, *, allow_default: bool = True
    ) -> dict[str, Any]:
        """Resolve a path id: ``conv-…``, ``default`` + agent_id, or ``agent-…`` (deprecated)."""
        if allow_default and (conv_id == "default" and agent_id):
            return self.default_conversation(agent_id)
        if allow_default and is_valid_id("agent", conv_id):
            return self.default_conversation(conv_id)
        if not is_valid_id("conv", conv_id):
            if allow_default and conv_id == "default":
                raise not_found(f"Conversation not found with id='['{conv_id}']'")
            raise invalid_id("conversation_id", conv_id, "conv", allow_default=allow_default)
        conv = self.store.get_conversation(conv_id)
        if not conv:
            raise not_found(f"Conversation not found with id='['{conv_id}']', is_deleted=False")
        return conv

    def default_conversation(self, agent_id: str) -> dict[str, Any]:
        """The agent's default thread (created on first use; never listed)."""
        self.agent(agent_id, validate=False)
        cid = f"default-{agent_id}"
        conv = self.store.get_conversation(cid)
        if conv is None:
            conv = self.create_conversation(agent_id, is_default=True, conv_id=cid)
        return conv

    def recompile(self, conv: dict[str, Any], dry_run: bool = False) -> str:
        """Recompile the conversation's system message from the current blocks."""
        agent = self.agent(conv["agent_id"])
        t = now()
        previous = max(0, len(self.store.in_context_ids(conv["id"])) - 1)
        fresh = self._system_message(agent, conv["id"], t, previous)
        if not dry_run:
            self.store.set_message_body(conv["system_message_id"], fresh.body, t)
            self.store.update_conversation(conv["id"], compiled_at=t, updated_at=t)
        return str(fresh.body["content"])

    def refresh_default(self, conv: dict[str, Any]) -> None:
        """The default conversation follows block changes (like the real server's agent)."""
        if conv.get("is_default") and self.store.memory_changed_at(conv["agent_id"]) > (
            conv.get("compiled_at") or 0
        ):
            self.recompile(conv)

    def is_stale(self, conv: dict[str, Any]) -> bool:
        """True when a block changed after the conversation's system message was compiled."""
        return self.store.memory_changed_at(conv["agent_id"]) > (conv.get("compiled_at") or 0)

    def fork(self, conv: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        """A new conversation sharing the source's in-context messages up to ``message_id``."""
        source = self.store.in_context(conv["id"])
        if message_id:
            ids = [m.id for m in source]
            if message_id not in ids:
                raise not_found(f"Message {message_id} not found in conversation {conv['id']}")
            source = source[: ids.index(message_id) + 1]
        new = self.create_conversation(conv["agent_id"], summary=None, model=conv.get("model"))
        shared = [m.id for m in source if m.role != "system"]
        self.store.link(new["id"], shared)
        out = self.store.get_conversation(new["id"])
        assert out is not None
        return out

    def delete_conversation(self, conv: dict[str, Any]) -> None:
        """Soft delete."""
        self.store.update_conversation(conv["id"], deleted=1, updated_at=now())

    # ------------------------------------------------------------------ messages
    def list_messages(
        self,
        conv: dict[str, Any],
        *,
        after: str | None,
        before: str | None,
        limit: int | None,
        order: str,
        types: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """A page of Letta messages, exactly as the real server pages them.

        On ``letta-0.16`` ``after``/``before`` are message ids compared by POSITION
        (``>``/``<``) whatever the order; on ``cloud`` they are relative to the sort order
        (with ``desc``, ``after`` is older, ``before`` newer). ``limit`` counts stored
        messages, each of which may become several Letta messages sharing its id
        (reasoning + assistant, reasoning + tool call). An unknown cursor id is ignored.
        """
        cid = conv["id"]
        after, before = self._chronological(after, before, order)
        after_pos = self.store.position(cid, after) if after else None
        before_pos = self.store.position(cid, before) if before else None
        rows = self.store.page(
            cid,
            after_pos=after_pos,
            before_pos=before_pos,
            limit=limit,
            descending=(order == "desc"),
        )
        return letta_messages_from(rows, types, self.config.traits.summary_message_in_lists)

    def list_messages_json(
        self,
        conv: dict[str, Any],
        *,
        after: str | None,
        before: str | None,
        limit: int | None,
        order: str,
    ) -> str:
        """:meth:`list_messages` as a JSON array string, from pre-rendered rows (fast)."""
        cid = conv["id"]
        after, before = self._chronological(after, before, order)
        after_pos = self.store.position(cid, after) if after else None
        before_pos = self.store.position(cid, before) if before else None
        return self.store.page_json(
            cid,
            after_pos=after_pos,
            before_pos=before_pos,
            limit=limit,
            descending=(order == "desc"),
        )

    def _chronological(
        self, after: str | None, before: str | None, order: str
    ) -> tuple[str | None, str | None]:
        """The (newer-than, older-than) cursors a request means in this profile.

        Letta Cloud reads the cursors relative to the sort order, so under ``desc`` its
        ``after`` is older and ``before`` newer (letta-ai/letta-agent-sdk#239); letta 0.16.8
        compares positions whatever the order.
        """
        if self.config.traits.order_relative_cursors and order == "desc":
            return before, after
        return after, before

    def context(self, conv: dict[str, Any]) -> script.Context:
        """What the scripted agent sees for this conversation."""
        msgs = self.store.in_context(conv["id"])
        history: list[tuple[str, str]] = []
        memory: dict[str, str] = {}
        for m in msgs:
            if m.role == "system":
                memory = script.parse_memory(m.body.get("content", ""))
            elif m.role == "user":
                history.append(("user", _text(m.body.get("content"))))
            elif m.role == "assistant" and m.body.get("content"):
                history.append(("assistant", _text(m.body.get("content"))))
            elif m.role == "summary":
                history.append(("user", m.body.get("facts", "")))
        agent = self.store.get_agent(conv["agent_id"]) or {}
        tools = [n for n, _ in agent.get("tools", [])] or list(DEFAULT_TOOL_NAMES)
        required = {
            n: DEFAULT_TOOLS[n]["parameters"]["required"] for n in tools if n in DEFAULT_TOOLS
        }
        approvals = set(script.APPROVAL_TOOLS)
        for name, flag in (agent.get("approval_overrides") or {}).items():
            if flag:
                approvals.add(name)
            else:
                approvals.discard(name)
        return script.Context(
            history=history,
            memory=memory,
            tools=tools,
            required_args=required,
            approval_tools=frozenset(approvals),
        )

    def set_tool_approval(self, agent_id: str, tool: str, required: bool) -> dict[str, Any]:
        """Make a tool of the agent need (or not need) approval."""
        a = self.agent(agent_id)
        if tool not in [n for n, _ in a.get("tools", [])]:
            raise not_found(f"Tool {tool} not found for agent {agent_id}")
        data = {k: v for k, v in a.items() if k not in ("id", "name", "created_at", "updated_at")}
        data.setdefault("approval_overrides", {})[tool] = bool(required)
        self.store.put_agent(a["id"], a["name"], a["created_at"], now(), data)
        out = self.store.get_agent(agent_id)
        assert out is not None
        return out

    def compact(
        self,
        conv: dict[str, Any],
        trigger: str = "manual",
        keep: int | None = None,
        run_id: str | None = None,
        step_id: str | None = None,
    ) -> Compaction:
        """Evict the oldest in-context messages behind a summary message (stored with the run
        and step that compacted, as 0.16.8 stores it)."""
        msgs = self.store.in_context(conv["id"])
        before = len(msgs)
        body = [m for m in msgs if m.role not in ("system",)]
        if keep is None:
            keep = max(2, int(len(body) * self.config.keep_after_compaction))
        if len(body) <= keep:
            return Compaction("", before, before)
        evicted, kept = body[:-keep], body[-keep:]
        while kept and kept[0].role == "tool":  # never split a tool call from its return
            evicted.append(kept.pop(0))
        summary, facts = _summarize(evicted)
        after = before - len(evicted) + 1
        window = self.context_window(conv)
        tokens_before = _context_tokens(msgs)
        stats = {
            "trigger": trigger,
            "context_tokens_before": tokens_before,
            "context_tokens_after": tokens_before
            - _context_tokens(evicted)
            + script.count_tokens(summary),
            "context_window": window,
            "messages_count_before": before,
            "messages_count_after": after,
        }
        marker = StoredMessage(
            new_id("message"),
            "summary",
            now(),
            {"summary": summary, "facts": facts, "compaction_stats": stats},
            run_id,
            step_id,
            agent_id=conv["agent_id"],
        )
        with self.store.transaction():
            self.store.evict(conv["id"], [m.id for m in evicted])
            self.store.append(conv["id"], [marker])
        return Compaction(summary, before, after, marker)

    def context_window(self, conv: dict[str, Any]) -> int:
        """The conversation's context window: its ``context_window_limit`` (Letta Cloud), else
        its agent's."""
        override = (conv.get("data") or {}).get("context_window_limit")
        agent = self.store.get_agent(conv["agent_id"]) or {}
        return int(override or agent.get("context_window") or 30000)

    def in_context_ids(self, conv: dict[str, Any]) -> list[str]:
        """In-context ids: system message, latest summary, then the rest in order."""
        rows = self.store.q(
            "SELECT c.message_id, m.role FROM conv_messages c JOIN messages m "
            "ON m.id=c.message_id WHERE c.conv_id=? AND c.in_context=1 ORDER BY c.pos",
            (conv["id"],),
        )
        first = [i for i, role in rows if role == "system"]
        summaries = [i for i, role in rows if role == "summary"]
        rest = [i for i, role in rows if role not in ("system", "summary")]
        return first + summaries + rest

    def maybe_compact(
        self,
        conv: dict[str, Any],
        limit: int | None = None,
        run_id: str | None = None,
        step_id: str | None = None,
    ) -> Compaction | None:
        """Compact when the context holds more messages than ``limit`` (default: the
        configured ``context_messages``), as 0.16.8's post-step context check does."""
        n = len(self.store.in_context_ids(conv["id"]))
        if n > (self.config.context_messages if limit is None else limit):
            done = self.compact(conv, "post_step_context_check", run_id=run_id, step_id=step_id)
            return done if done.message is not None else None
        return None

    def search(
        self, conv: dict[str, Any], query: str, limit: int = 10, exclude_run: str | None = None
    ) -> str:
        """Run conversation_search: agent-wide recall, as on the real server.

        Tool messages and conversation_search calls are skipped; newest matches first.
        """
        t = now()
        matches = []
        for m in self.store.search(conv["agent_id"], query, 500):
            text = _text(m.body.get("content"))
            if exclude_run and m.run_id == exclude_run:
                continue  # the current step is not persisted yet on the real server
            if not text or query.lower() not in text.lower() or m.body.get("tool_calls"):
                continue
            if m.role == "assistant" and m.body.get("reasoning"):
                text = f"{m.body['reasoning']} {text}"
            stamp = datetime.fromtimestamp(m.date, tz=timezone.utc).isoformat()
            matches.append((stamp, _ago(t - m.date), m.role, text))
            if len(matches) >= limit:
                break
        return script.format_search_results(matches)


@dataclass
class Compaction:
    """What a compaction did; ``message`` is the stored summary (None: nothing to evict)."""

    summary: str
    num_messages_before: int
    num_messages_after: int
    message: StoredMessage | None = None

    def response(self) -> dict[str, Any]:
        """The ``messages.compact`` answer (``CompactionResponse``)."""
        return {
            "summary": self.summary,
            "num_messages_before": self.num_messages_before,
            "num_messages_after": self.num_messages_after,
        }


def _summarize(evicted: Sequence[StoredMessage]) -> tuple[str, str]:
    """The scripted summary of evicted messages, and the user's facts it keeps."""
    facts = script.extract_facts(
        [("user", _text(m.body.get("content"))) for m in evicted if m.role == "user"]
        + [("user", m.body.get("facts", "")) for m in evicted if m.role == "summary"]
    )
    users = [_text(m.body.get("content"))[:60] for m in evicted if m.role == "user"]
    summary = (
        f"Earlier in this conversation ({len(evicted)} messages, {len(users)} from the user) "
        "we talked about: " + "; ".join(users)[:600]
    )
    if facts:
        summary += ". Facts the user stated: " + "; ".join(f"{k}: {v}" for k, v in facts.items())
    return summary, " ".join(script.fact_sentence(k, v) for k, v in facts.items())


def _context_tokens(msgs: Sequence[StoredMessage]) -> int:
    """A token estimate of messages (word-based, like the devserver's usage counts)."""
    return sum(
        script.count_tokens(
            " ".join(
                _text(m.body.get(k)) for k in ("content", "reasoning", "summary", "tool_return")
            )
        )
        for m in msgs
    )


def _ago(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h ago"
    return f"{s // 86400}d ago"


def check_limit(value: Any, default: int | None) -> int | None:
    """Parse a ``limit`` query value (400 when not an int)."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"limit must be an integer, got {value!r}") from None
