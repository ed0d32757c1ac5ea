"""CompareView: A/B/n comparison of Letta conversations side by side.

One prompt goes to every variant at once; each column streams through the one turn
engine (:class:`letta_widgets.stream.TurnEngine`) on the toolkit's worker loop, all
columns concurrently (``asyncio.gather``), so a round takes as long as its slowest
variant. Token deltas reach the front-end as coalesced custom messages (one stream of
at most ``FLUSH_HZ`` messages a second for all columns together, each op tagged with
its column); finished messages are rendered by :mod:`letta_widgets.render` into the
synced ``columns`` snapshot. After a round: a word-level diff of the answers and vote
buttons. ``cmp.results`` is a DataFrame (:data:`letta_widgets.compare_stats.RESULT_COLUMNS`),
``cmp.summary()`` the per-variant medians and win rates.

Variants
--------
* an existing conversation: ``"conv-…"`` or ``Variant(conversation_id="conv-…")``;
* a new conversation on an agent: ``Variant(agent_id="agent-…")``;
* a fork of a conversation at a message (identical history, the fairest A/B):
  ``Variant(fork_of="conv-…", at="message-…")``;
* each with an optional per-request ``model`` (``override_model``) and ``system``
  (``override_system``); mixing kinds is fine.

``CompareView.fork(client, conv, n=2, models=[...])``, ``CompareView.new(client, agent,
models=[...])`` and ``CompareView.from_history(client, [conv_a, conv_b])`` build the
common cases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import traitlets as t
from letta_client import AsyncLetta, Letta

from letta_widgets import compare_stats as cs
from letta_widgets._loop import Job
from letta_widgets.client import async_twin, base_url_of
from letta_widgets.errors import (
    LettaWidgetsError,
    RequestTimedOut,
    sdk_errors,
    translate,
)
from letta_widgets.stream import Turn, TurnEngine
from letta_widgets.widgets.base import bundle
from letta_widgets.widgets.live import FLUSH_HZ, TurnWidget
from letta_widgets.widgets.transcript import transcript_items

__all__ = ["FLUSH_HZ", "CompareView", "Round", "Variant"]

MEMORY_TOOLS = frozenset(
    {
        "memory_insert",
        "memory_replace",
        "memory_rethink",
        "memory_apply_patch",
        "memory",
        "core_memory_append",
        "core_memory_replace",
    }
)
"""Tools that edit a memory block (any tool whose name contains ``memory`` also counts)."""


@dataclass
class Variant:
    """One column of a comparison.

    Exactly one of ``conversation_id`` (an existing conversation), ``fork_of`` (fork
    that conversation, at message ``at`` or its latest message) or ``agent_id`` alone
    (a new conversation on the agent). ``model`` / ``system`` are per-request
    overrides (``override_model`` / ``override_system``). ``headers`` are extra HTTP
    headers for this variant's requests (never synced to the front-end).
    """

    conversation_id: str | None = None
    agent_id: str | None = None
    fork_of: str | None = None
    at: str | None = None
    model: str | None = None
    system: str | None = None
    label: str | None = None
    headers: Mapping[str, str] | None = None

    @property
    def kind(self) -> str:
        """``"fork"``, ``"conversation"`` or ``"new"``."""
        if self.fork_of:
            return "fork"
        if self.conversation_id:
            return "conversation"
        return "new"

    @classmethod
    def coerce(cls, spec: Any) -> Variant:
        """A Variant from a Variant, a conversation id string, or a dict of fields."""
        if isinstance(spec, Variant):
            return replace(spec)
        if isinstance(spec, str):
            return cls(conversation_id=spec)
        if isinstance(spec, Mapping):
            unknown = sorted(set(spec) - set(cls.__dataclass_fields__))
            if unknown:
                raise TypeError(f"unknown variant field(s): {', '.join(unknown)}")
            return cls(**spec)
        raise TypeError(f"a variant is a Variant, a conversation id or a dict, not {spec!r}")


@dataclass
class _Resolved:
    """A variant after construction: its conversation and how to make fresh copies."""

    spec: Variant
    label: str
    conversation_id: str
    agent_id: str | None
    base_conversation: str | None  # fork this (at base_at) for fresh rounds
    base_at: str | None


@dataclass
class _Cell:
    label: str
    conversation_id: str | None = None
    model: str | None = None
    status: str = "waiting"
    turn: Turn | None = None
    error: BaseException | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    text: str | None = None
    blocks_changed: list[str] = field(default_factory=list)
    history: dict[str, Any] | None = None
    gap: bool = False


@dataclass
class Round:
    """One prompt sent to every variant (what :meth:`CompareView.send` returns)."""

    prompt_id: str
    index: int
    prompt: str
    repeat: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    total_s: float | None = None
    vote: str | None = None
    note: str | None = None
    notice: str = ""
    diffs: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    stopped: bool = False
    _cells: list[_Cell] = field(default_factory=list, repr=False)

    @property
    def turns(self) -> dict[str, Turn | None]:
        """Each variant's Turn (``None`` when it failed before streaming)."""
        return {c.label: c.turn for c in self._cells}

    @property
    def texts(self) -> dict[str, str | None]:
        """Each variant's answer text."""
        return {c.label: c.text for c in self._cells}

    @property
    def errors(self) -> dict[str, LettaWidgetsError | None]:
        """Each variant's error (``None`` when it succeeded)."""
        return {c.label: c.error for c in self._cells}  # type: ignore[misc]

    def rows(self) -> list[dict[str, Any]]:
        """This round's rows of the results frame."""
        return [_row(self, c) for c in self._cells]

    def frame(self) -> pd.DataFrame:
        """This round in the ``CompareView.results`` schema."""
        return cs.results_frame(self.rows())

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{c.label}={'error' if c.error else (c.turn.stop_reason if c.turn else c.status)}"
            for c in self._cells
        )
        return f"Round({self.prompt_id!r}, prompt={self.prompt[:40]!r}, {parts})"


def _usage(turn: Turn | None) -> dict[str, Any]:
    return dict(turn.usage or {}) if turn is not None else {}


def _row(rnd: Round, cell: _Cell) -> dict[str, Any]:
    turn = cell.turn
    usage = _usage(turn)
    hist = cell.history or {}
    row: dict[str, Any] = {
        "prompt_id": rnd.prompt_id,
        "round": rnd.index,
        "repeat": rnd.repeat,
        "prompt": rnd.prompt,
        "variant": cell.label,
        "conversation_id": cell.conversation_id,
        "model": cell.model,
        "vote": rnd.vote,
        "note": rnd.note,
        "gap": cell.gap,
        "started_at": rnd.started_at,
        "text": cell.text,
        "error": str(cell.error) if cell.error is not None else None,
        "blocks_changed": ",".join(cell.blocks_changed) or None,
    }
    if turn is not None:
        row.update(
            run_id=turn.run_id,
            ttft_s=turn.ttft_s,
            total_s=turn.total_s,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            total_tokens=usage.get("total_tokens"),
            steps=usage.get("step_count"),
            tool_calls=len(turn.tool_calls),
            stop_reason=turn.stop_reason,
        )
    else:
        row.update({k: v for k, v in hist.items() if k in cs.RESULT_DTYPES and k not in row})
        if hist.get("conversation_id"):
            row["conversation_id"] = hist["conversation_id"]
    return row


class CompareView(TurnWidget):
    """Send one prompt to several conversations (variants) at once, side by side.

    ``CompareView(client, variants=["conv-a", "conv-b"])``, or the constructors
    :meth:`fork`, :meth:`new` and :meth:`from_history`. ``cmp.send("…")`` streams a
    round into every column concurrently and returns a :class:`Round`;
    ``cmp.run(prompts, repeats=1, fresh=True)`` runs a batch with a progress bar;
    ``cmp.vote(prompt_id, "A")`` records a vote (or click the vote buttons);
    ``cmp.results`` / ``cmp.summary()`` give the numbers. Stop stops every column
    and cancels the runs on the server.
    """

    _busy_message = (
        "a round is already streaming in this view",
        "wait for it to finish or press Stop before sending again",
    )
    _esm = bundle("common.js", "compare.js")
    _css = bundle("messages.css", "common.css", "compare.css")

    variants = t.List(
        t.Dict(), help="The columns: label, kind, conversation_id, model, system."
    ).tag(sync=True)
    columns = t.List(
        t.Dict(),
        help="The shown round's columns: label, status, sanitized items, metrics, error.",
    ).tag(sync=True)
    round = t.Dict(
        help="The shown round: prompt_id, index, prompt, vote, note, diffs, notice, done."
    ).tag(sync=True)
    round_count = t.Int(0, help="How many rounds this view holds.").tag(sync=True)
    tally = t.Dict(help="Votes so far: label (or tie / all_bad) -> count.").tag(sync=True)
    status = t.Enum(
        ["idle", "streaming", "done", "stopped", "error"], "idle", help="What the view is doing."
    ).tag(sync=True)
    status_text = t.Unicode("", help="The status line.").tag(sync=True)
    readonly = t.Bool(False, help="History only (from_history): no prompt box.").tag(sync=True)
    placeholder = t.Unicode("Prompt for every variant…  (Enter sends, Shift+Enter: new line)").tag(
        sync=True
    )
    height = t.Unicode("360px", help="CSS max height of each column's transcript.").tag(sync=True)

    def __init__(
        self,
        client: Letta | AsyncLetta,
        variants: Sequence[Any] = (),
        *,
        labels: Sequence[str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._client = client
        self._base_url = base_url_of(client)
        self.timeout = timeout
        """Seconds a variant's turn may take before it is cancelled (``None``: no limit)."""
        self._rounds: list[Round] = []
        self._shown: int | None = None
        specs = [Variant.coerce(v) for v in variants]
        if not specs and not self.readonly:
            raise TypeError("CompareView needs at least one variant")
        names = list(labels) if labels else [s.label or "" for s in specs]
        defaults = cs.default_labels(len(specs))
        if len(names) != len(specs):
            raise ValueError(f"{len(names)} labels for {len(specs)} variants")
        names = [n or d for n, d in zip(names, defaults, strict=True)]
        if len(set(names)) != len(names):
            raise ValueError(f"variant labels must be distinct: {names}")
        bad = [n for n in names if n in cs.SPECIAL_VOTES]
        if bad:
            raise ValueError(f"{bad} cannot be a variant label (reserved for votes)")
        self._variants = [self._resolve(s, n) for s, n in zip(specs, names, strict=True)]
        self.variants = [self._variant_info(v) for v in self._variants]
        self.columns = [self._column_info(_Cell(label=v.label)) for v in self._variants]

    # ------------------------------------------------------------- constructors

    @classmethod
    def fork(
        cls,
        client: Letta | AsyncLetta,
        conversation_id: str,
        n: int = 2,
        *,
        models: Sequence[str | None] | None = None,
        systems: Sequence[str | None] | None = None,
        at: str | None = None,
        agent_id: str | None = None,
        **kwargs: Any,
    ) -> CompareView:
        """``n`` forks of one conversation at one message (its latest by default).

        Every column starts from the identical history; ``models`` / ``systems`` give a
        per-column ``override_model`` / ``override_system`` (``n`` grows to match).
        """
        n = max(n, len(models or ()), len(systems or ()))
        if at is None:
            at = _latest_message_id(client, conversation_id, agent_id)
        variants = [
            Variant(
                fork_of=conversation_id,
                at=at,
                agent_id=agent_id,
                model=_nth(models, i),
                system=_nth(systems, i),
            )
            for i in range(n)
        ]
        return cls(client, variants, **kwargs)

    @classmethod
    def new(
        cls,
        client: Letta | AsyncLetta,
        agent_id: str,
        n: int = 2,
        *,
        models: Sequence[str | None] | None = None,
        systems: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> CompareView:
        """``n`` new conversations on one agent (per-column ``models`` / ``systems``)."""
        n = max(n, len(models or ()), len(systems or ()))
        variants = [
            Variant(agent_id=agent_id, model=_nth(models, i), system=_nth(systems, i))
            for i in range(n)
        ]
        return cls(client, variants, **kwargs)

    @classmethod
    def from_history(
        cls,
        client: Letta | AsyncLetta,
        conversation_ids: Sequence[str],
        *,
        labels: Sequence[str] | None = None,
        agent_id: str | None = None,
        **kwargs: Any,
    ) -> CompareView:
        """Compare what already happened: existing conversations aligned turn by turn.

        Turns are matched by their user prompt (unmatched turns show as gaps); the view
        and ``results`` are the same as for live rounds, and nothing is sent.
        """
        from letta_widgets.frames import messages_frame

        sync = client if isinstance(client, Letta) else None
        if sync is None:
            raise TypeError("from_history needs the synchronous client (lw.connect())")
        frames = [
            messages_frame(
                sync, cid, agent_id=agent_id if cid == "default" else None, include_raw=True
            )
            for cid in conversation_ids
        ]
        view = cls(
            client,
            [Variant(conversation_id=cid, agent_id=agent_id) for cid in conversation_ids],
            labels=labels,
            readonly=True,
            **kwargs,
        )
        view._load_history(frames)
        return view

    # ------------------------------------------------------------------ python API

    def send(self, prompt: str, *, fresh: bool = False) -> Round:
        """Send ``prompt`` to every variant at once; stream; return the :class:`Round`.

        Blocks the cell while the columns update live. ``fresh=True`` runs the round in
        fresh forks (each variant's starting point), so it sees no earlier round. A
        failing variant shows its error in its column (``round.errors``); the others
        finish. Stop (button, :meth:`stop`, or kernel Interrupt) ends every column and
        cancels the server runs; the partial round is returned.
        """
        job = self._start(self._round(prompt, fresh=fresh), context=self._last_msg_context)
        return self._wait(job, self._stopped_round)

    async def asend(self, prompt: str, *, fresh: bool = False) -> Round:
        """Like :meth:`send`, awaitable (``await cmp.asend("…")``)."""
        job = self._start(self._round(prompt, fresh=fresh))
        return await self._await(job, self._stopped_round)

    def start(self, prompt: str, *, fresh: bool = False) -> Job:
        """Start a round and return at once (what the Send button does)."""
        return self._start(self._round(prompt, fresh=fresh))

    def run(
        self,
        prompts: str | Iterable[str],
        repeats: int = 1,
        fresh: bool = True,
        *,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Send each prompt (``repeats`` times) to every variant; return the new rows.

        With ``fresh=True`` (default) every round runs in fresh forks of each variant's
        starting point, so prompts do not contaminate each other. A tqdm progress bar
        counts rounds. Results accumulate in :attr:`results`; Stop ends the batch after
        cancelling the current round.
        """
        todo = self._batch(prompts, repeats)
        first = len(self._rounds)
        bar = _progress(len(todo), progress)
        try:
            for prompt, rep in todo:
                job = self._start(
                    self._round(prompt, fresh=fresh, repeat=rep), context=self._last_msg_context
                )
                try:
                    job.result()
                except concurrent.futures.CancelledError:
                    job.wait_finished(30)
                    break
                finally:
                    bar.update(1)
                if self._stop_requested:
                    break
        finally:
            bar.close()
        return self._frame(self._rounds[first:])

    async def arun(
        self,
        prompts: str | Iterable[str],
        repeats: int = 1,
        fresh: bool = True,
        *,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Like :meth:`run`, awaitable."""
        todo = self._batch(prompts, repeats)
        first = len(self._rounds)
        bar = _progress(len(todo), progress)
        try:
            for prompt, rep in todo:
                job = self._start(self._round(prompt, fresh=fresh, repeat=rep))
                try:
                    await asyncio.wrap_future(job.future)
                except asyncio.CancelledError:
                    if not self._stop_requested:
                        raise
                    while not job.done():
                        await asyncio.sleep(0.01)
                    break
                finally:
                    bar.update(1)
                if self._stop_requested:
                    break
        finally:
            bar.close()
        return self._frame(self._rounds[first:])

    def vote(self, *args: str, note: str | None = None) -> None:
        """Record a vote: ``cmp.vote("A")`` for the shown round, ``cmp.vote(prompt_id, "A")``.

        The choice is a variant label, ``"tie"`` or ``"all_bad"``; ``None`` clears it.
        """
        if len(args) == 1:
            if self._shown is None:
                raise ValueError("no round to vote on yet: send a prompt first")
            rnd, choice = self._rounds[self._shown], args[0]
        elif len(args) == 2:
            rnd, choice = self._round_by_id(args[0]), args[1]
        else:
            raise TypeError("vote(choice) or vote(prompt_id, choice)")
        choices = [v.label for v in self._variants] + list(cs.SPECIAL_VOTES)
        if choice == "all bad":
            choice = "all_bad"
        if choice is not None and choice not in choices:
            raise ValueError(f"unknown vote {choice!r}: choose one of {choices}")
        rnd.vote = choice
        if note is not None:
            rnd.note = note or None
        self._update_tally()
        if self._shown == rnd.index:
            self.round = self._round_info(rnd)

    def show_round(self, index: int) -> None:
        """Show round ``index`` (negative counts from the end) in the widget."""
        if not self._rounds:
            return
        index = range(len(self._rounds))[index]
        self._show(self._rounds[index])

    @property
    def rounds(self) -> list[Round]:
        """Every round so far, oldest first."""
        return list(self._rounds)

    @property
    def results(self) -> pd.DataFrame:
        """One row per (prompt, variant); columns: :data:`compare_stats.RESULT_COLUMNS`."""
        return self._frame(self._rounds)

    def summary(self) -> pd.DataFrame:
        """Per variant: medians of the metrics, and win rate with a 95 % Wilson interval."""
        return cs.summarize(self.results, [v.label for v in self._variants])

    def to_parquet(self, path: Any, **kwargs: Any) -> None:
        """Save :attr:`results` as Parquet (needs pyarrow)."""
        self.results.to_parquet(path, **kwargs)

    def to_csv(self, path: Any, **kwargs: Any) -> None:
        """Save :attr:`results` as CSV."""
        kwargs.setdefault("index", False)
        self.results.to_csv(path, **kwargs)

    @property
    def conversation_ids(self) -> dict[str, str]:
        """Each variant's own conversation (fresh rounds use temporary forks of it)."""
        return {v.label: v.conversation_id for v in self._variants}

    # --------------------------------------------------------------- front-end msgs

    def _on_send(self, content: dict[str, Any]) -> None:
        text = str(content.get("text", "")).strip()
        if text and not self.readonly:
            self.start(text, fresh=bool(content.get("fresh")))

    def _on_stop(self, _content: dict[str, Any]) -> None:
        self.stop()

    def _on_vote(self, content: dict[str, Any]) -> None:
        prompt_id = str(content.get("prompt_id") or "")
        choice = content.get("choice")
        note = content.get("note")
        self.vote(prompt_id, choice, note=None if note is None else str(note))

    def _on_goto(self, content: dict[str, Any]) -> None:
        if not self.busy:
            self.show_round(int(content.get("index", -1)))

    # ------------------------------------------------------------------ internals

    def _resolve(self, spec: Variant, label: str) -> _Resolved:
        """Create the variant's conversation (fork / new) and remember its base."""
        client = self._client
        sync = client if isinstance(client, Letta) else None
        kind = spec.kind
        if kind in ("fork", "conversation"):
            source = spec.fork_of or spec.conversation_id or ""
            agent_id = spec.agent_id
            if sync is not None and source != "default" and agent_id is None:
                with sdk_errors(base_url=self._base_url, what=f"conversation {source}"):
                    agent_id = sync.conversations.retrieve(source).agent_id
            if self.readonly:
                return _Resolved(spec, label, source, agent_id, None, None)
            at = spec.at or _latest_message_id(client, source, agent_id)
            if kind == "conversation":
                return _Resolved(spec, label, source, agent_id, source, at)
            conv = _call(
                client,
                lambda c: c.conversations.fork(source, **_fork_args(source, at, agent_id)),
                self._base_url,
                f"conversation {source}",
            )
            return _Resolved(spec, label, conv.id, agent_id or conv.agent_id, source, at)
        if not spec.agent_id:
            raise TypeError("a variant needs conversation_id=, fork_of= or agent_id=")
        conv = _call(
            client,
            lambda c: c.conversations.create(agent_id=spec.agent_id),
            self._base_url,
            f"agent {spec.agent_id}",
        )
        return _Resolved(spec, label, conv.id, spec.agent_id, None, None)

    @staticmethod
    def _variant_info(v: _Resolved) -> dict[str, Any]:
        system = v.spec.system or ""
        return {
            "label": v.label,
            "kind": v.spec.kind,
            "conversation_id": v.conversation_id,
            "agent_id": v.agent_id or "",
            "model": v.spec.model or "",
            "system": system if len(system) <= 200 else system[:199] + "…",
        }

    def _check_can_start(self) -> None:
        if self.readonly:
            raise LettaWidgetsError(
                "this view compares existing history and sends nothing",
                "build a live view with CompareView.fork(...) or CompareView(client, [...])",
            )

    @staticmethod
    def _batch(prompts: str | Iterable[str], repeats: int) -> list[tuple[str, int]]:
        items = [prompts] if isinstance(prompts, str) else list(prompts)
        if repeats < 1:
            raise ValueError("repeats must be at least 1")
        return [(str(p), r) for p in items for r in range(repeats)]

    def _frame(self, rounds: Sequence[Round]) -> pd.DataFrame:
        return cs.results_frame([row for rnd in rounds for row in rnd.rows()])

    def _round_by_id(self, prompt_id: str) -> Round:
        for rnd in self._rounds:
            if rnd.prompt_id == prompt_id:
                return rnd
        raise KeyError(f"no round {prompt_id!r} in this view")

    def _new_round(self, prompt: str, repeat: int) -> Round:
        index = len(self._rounds)
        rnd = Round(
            prompt_id=f"p{index:04d}-{uuid.uuid4().hex[:6]}",
            index=index,
            prompt=prompt,
            repeat=repeat,
        )
        rnd._cells = [
            _Cell(label=v.label, conversation_id=v.conversation_id, model=v.spec.model)
            for v in self._variants
        ]
        self._rounds.append(rnd)
        self.round_count = len(self._rounds)
        return rnd

    async def _round(self, prompt: str, *, fresh: bool, repeat: int = 0) -> Round:
        """One round: every variant concurrently on the worker loop."""
        self.clear_error()
        rnd = self._new_round(prompt, repeat)
        self._live.clear()
        self._show(rnd)
        self._live.push([None, "reset"])
        self.status = "streaming"
        self.status_text = f"round {rnd.index + 1} · streaming into {len(self._variants)} columns…"
        t0 = time.perf_counter()
        tasks: list[asyncio.Future[None]] = []
        try:
            before = await self._blocks()
            tasks = [
                asyncio.ensure_future(self._column(rnd, i, prompt, fresh))
                for i in range(len(self._variants))
            ]
            await asyncio.gather(*tasks)
            after = await self._blocks() if before is not None else None
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for i, cell in enumerate(rnd._cells):
                if cell.status in ("waiting", "preparing"):  # stopped before it streamed
                    cell.status = "stopped"
                    self._finish_cell(rnd, i)
            rnd.stopped = True
            self._end_round(rnd, time.perf_counter() - t0, None, None)
            raise
        except Exception as exc:  # a bug: say so in the widget instead of hanging in "streaming"
            self.show_error(exc)
            self._end_round(rnd, time.perf_counter() - t0, None, None)
            self.status = "error"
            raise
        self._end_round(rnd, time.perf_counter() - t0, before, after)
        return rnd

    async def _column(self, rnd: Round, i: int, prompt: str, fresh: bool) -> None:
        variant = self._variants[i]
        cell = rnd._cells[i]
        engine: TurnEngine | None = None
        try:
            cell.status = "preparing" if fresh else "streaming"
            conv_id = await self._fresh_conversation(variant) if fresh else variant.conversation_id
            cell.conversation_id = conv_id
            cell.status = "streaming"
            self._sync_cell(rnd, i)
            engine = TurnEngine(
                self._client,
                conv_id,
                agent_id=variant.agent_id,
                extra_headers=variant.spec.headers,
            )
            listener = self._live.listener(i, when=lambda: self._shown == rnd.index)
            call = _engine_run(engine, prompt, variant.spec, listener=listener)
            if self.timeout:
                cell.turn = await asyncio.wait_for(call, self.timeout)
            else:
                cell.turn = await call
            cell.status = "done"
        except asyncio.CancelledError:
            cell.turn = engine.current if engine is not None else None
            cell.status = "stopped"
            self._finish_cell(rnd, i)
            raise
        except asyncio.TimeoutError:
            cell.turn = engine.current if engine is not None else None
            cell.error = RequestTimedOut(
                f"variant {variant.label} did not finish within {self.timeout:g} s",
                "its run was cancelled on the server; raise CompareView(timeout=...) "
                "or check the server",
                url=self._base_url,
            )
            cell.status = "error"
        except LettaWidgetsError as err:
            cell.turn = err.turn or (engine.current if engine is not None else None)
            cell.error = err
            cell.status = "error"
        except Exception as exc:  # a bug or an unexpected SDK failure: show it in the column
            cell.turn = engine.current if engine is not None else None
            cell.error = translate(exc, base_url=self._base_url)
            cell.status = "error"
        self._finish_cell(rnd, i)

    async def _fresh_conversation(self, v: _Resolved) -> str:
        """A new copy of the variant's starting point (fork at its base, or a new conv)."""
        aclient = async_twin(self._client)
        if v.base_conversation:
            what = f"conversation {v.base_conversation}"
            with sdk_errors(base_url=self._base_url, what=what):
                conv = await aclient.conversations.fork(
                    v.base_conversation,
                    **_fork_args(v.base_conversation, v.base_at, v.agent_id),
                    hidden=True,
                )
            return conv.id
        with sdk_errors(base_url=self._base_url, what=f"agent {v.agent_id}"):
            conv = await aclient.conversations.create(agent_id=v.agent_id or "")
        return conv.id

    async def _blocks(self) -> dict[str, dict[str, str]] | None:
        """Memory block values of every agent involved: agent -> label -> value."""
        agents = sorted({v.agent_id for v in self._variants if v.agent_id})
        if not agents:
            return None

        async def one(agent_id: str) -> dict[str, str]:
            page = await async_twin(self._client).agents.blocks.list(agent_id)
            blocks = getattr(page, "items", page)
            return {str(b.label): str(b.value) for b in blocks}

        try:
            got = await asyncio.gather(*(one(a) for a in agents))
        except Exception:  # memory notice is best effort; tool calls still tell
            return None
        return dict(zip(agents, got, strict=True))

    def _finish_cell(self, rnd: Round, i: int) -> None:
        """A column's turn ended: render its messages, sync it, clear its live view."""
        cell = rnd._cells[i]
        turn = cell.turn
        if turn is not None:
            msgs = [m for m in turn.messages if m.get("message_type") != "user_message"]
            cell.items = transcript_items(msgs)
            cell.text = turn.assistant_text or None
        self._sync_cell(rnd, i)
        if self._shown == rnd.index:
            self._live.push([i, "reset"])  # the column's last deltas and its reset: one message

    def _sync_cell(self, rnd: Round, i: int) -> None:
        if self._shown != rnd.index:
            return
        cols = list(self.columns)
        while len(cols) <= i:
            cols.append({})
        cols[i] = self._column_info(rnd._cells[i])
        self.columns = cols

    def _end_round(
        self,
        rnd: Round,
        took: float,
        before: dict[str, dict[str, str]] | None,
        after: dict[str, dict[str, str]] | None,
    ) -> None:
        rnd.total_s = took
        rnd.done = True
        self._memory_notice(rnd, before, after)
        self._diff(rnd)
        self._show(rnd)
        failed = [c.label for c in rnd._cells if c.error is not None]
        slowest = max(
            (c for c in rnd._cells if c.turn is not None and c.turn.total_s is not None),
            key=lambda c: c.turn.total_s,  # type: ignore[union-attr]
            default=None,
        )
        slow = f" (slowest: {slowest.label})" if slowest is not None and len(rnd._cells) > 1 else ""
        if rnd.stopped:
            self.status_text = f"round {rnd.index + 1} · stopped after {took:.1f} s"
            self.status = "stopped"
        elif failed:
            self.status_text = f"round {rnd.index + 1} · {took:.1f} s · failed: {', '.join(failed)}"
            self.status = "error" if len(failed) == len(rnd._cells) else "done"
        else:
            self.status_text = f"round {rnd.index + 1} · done in {took:.1f} s{slow}"
            self.status = "done"

    def _memory_notice(
        self,
        rnd: Round,
        before: dict[str, dict[str, str]] | None,
        after: dict[str, dict[str, str]] | None,
    ) -> None:
        """Say so when a variant's turn changed a memory block shared by the agent."""
        changed: dict[str, set[str]] = {}
        if before is not None and after is not None:
            for agent_id, blocks in after.items():
                old = before.get(agent_id, {})
                labels = {k for k, v in blocks.items() if old.get(k) != v}
                labels |= set(old) - set(blocks)
                if labels:
                    changed[agent_id] = labels
        editors: list[str] = []
        variants = {v.label: v for v in self._variants}
        for cell in rnd._cells:
            if cell.turn is None:
                continue
            agent_id = variants[cell.label].agent_id or ""
            edited = [
                c
                for c in cell.turn.tool_calls
                if c.get("status") == "success"
                and ((c.get("name") or "") in MEMORY_TOOLS or "memory" in (c.get("name") or ""))
            ]
            if not edited:
                continue
            named = {
                str(c["arguments"].get("label"))
                for c in edited
                if isinstance(c.get("arguments"), dict) and c["arguments"].get("label")
            }
            seen = changed.get(agent_id)
            labels = (named & seen) or seen if seen is not None else named
            if before is not None and after is not None and not seen:
                continue  # the tool ran but no block actually changed
            cell.blocks_changed = sorted(labels or named)
            tools = sorted({str(c.get("name")) for c in edited})
            blocks = ", ".join(f"'{b}'" for b in cell.blocks_changed) or "a block"
            editors.append(f"{cell.label}'s turn changed memory {blocks} ({', '.join(tools)})")
        if editors:
            rnd.notice = (
                "Shared memory changed: "
                + "; ".join(editors)
                + ". Memory blocks are shared by every conversation of the agent: new forks "
                "and new conversations (every fresh round) start from the new value, and the "
                "other variants' conversations see it after a recompile."
            )
        elif changed:
            labels = sorted({b for v in changed.values() for b in v})
            rnd.notice = (
                f"Shared memory changed during this round (block(s) {', '.join(labels)}), "
                "though no variant called a memory tool: another client may have edited it. "
                "The variants may see different memory from now on."
            )

    def _diff(self, rnd: Round) -> None:
        """Word-level diffs of the answers: each variant against the first that answered."""
        answered = [c for c in rnd._cells if c.text]
        rnd.diffs = []
        if len(answered) < 2:
            return
        base = answered[0]
        for other in answered[1:]:
            ops = cs.word_diff(base.text or "", other.text or "")
            rnd.diffs.append(
                {
                    "a": base.label,
                    "b": other.label,
                    "similarity": round(cs.diff_similarity(ops), 3),
                    "ops": ops,
                }
            )

    def _update_tally(self) -> None:
        tally: dict[str, int] = {}
        for rnd in self._rounds:
            if rnd.vote:
                tally[rnd.vote] = tally.get(rnd.vote, 0) + 1
        self.tally = tally

    def _show(self, rnd: Round) -> None:
        self._shown = rnd.index
        self.columns = [self._column_info(c) for c in rnd._cells]
        self.round = self._round_info(rnd)

    def _round_info(self, rnd: Round) -> dict[str, Any]:
        return {
            "prompt_id": rnd.prompt_id,
            "index": rnd.index,
            "prompt": rnd.prompt,
            "repeat": rnd.repeat,
            "vote": rnd.vote or "",
            "note": rnd.note or "",
            "diffs": rnd.diffs,
            "notice": rnd.notice,
            "done": rnd.done,
            "total_s": rnd.total_s,
        }

    def _column_info(self, cell: _Cell) -> dict[str, Any]:
        turn = cell.turn
        usage = _usage(turn)
        hist = cell.history or {}
        metrics = {
            "ttft_s": turn.ttft_s if turn is not None else hist.get("ttft_s"),
            "total_s": turn.total_s if turn is not None else hist.get("total_s"),
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "total_tokens": usage.get("total_tokens"),
            "steps": usage.get("step_count") if turn is not None else hist.get("steps"),
            "tool_calls": len(turn.tool_calls) if turn is not None else hist.get("tool_calls"),
            "stop_reason": turn.stop_reason if turn is not None else None,
            "run_id": turn.run_id if turn is not None else hist.get("run_id"),
        }
        return {
            "label": cell.label,
            "conversation_id": cell.conversation_id or "",
            "model": cell.model or "",
            "status": "gap" if cell.gap else cell.status,
            "items": cell.items,
            "metrics": {k: _plain(v) for k, v in metrics.items()},
            "error": str(cell.error) if cell.error is not None else "",
            "note": _column_note(cell),
        }

    def _stopped_round(self) -> Round:
        return self._rounds[-1] if self._rounds else Round("none", -1, "", stopped=True)

    def _load_history(self, frames: Sequence[pd.DataFrame]) -> None:
        """Fill the rounds from aligned existing conversations (``from_history``)."""
        slots = cs.align_history(frames)
        for index, slot in enumerate(slots):
            prompt = next(t.prompt for t in slot if t is not None)
            rnd = Round(prompt_id=f"h{index:04d}", index=index, prompt=prompt, done=True)
            for v, turn in zip(self._variants, slot, strict=True):
                cell = _Cell(label=v.label, conversation_id=v.conversation_id, gap=turn is None)
                if turn is not None:
                    cell.history = turn.row
                    cell.text = turn.row.get("text")
                    cell.status = "error" if turn.row.get("error") else "done"
                    msgs = [_history_message(r) for r in turn.messages[1:]]
                    cell.items = transcript_items(msgs)
                    if turn.row.get("started_at") is not None:
                        rnd.started_at = pd.Timestamp(turn.row["started_at"]).to_pydatetime()
                rnd._cells.append(cell)
            self._diff(rnd)
            self._rounds.append(rnd)
        self.round_count = len(self._rounds)
        if self._rounds:
            self._show(self._rounds[0])
        self.status_text = (
            f"{len(self._rounds)} aligned turns from {len(self._variants)} conversations"
        )


# --------------------------------------------------------------------------- helpers


def _engine_run(
    engine: TurnEngine, prompt: str, spec: Variant, *, listener: Any
) -> Coroutine[Any, Any, Turn]:
    """The one streaming path: ``engine.run`` with the variant's overrides and headers."""
    return engine.run(
        prompt,
        listener=listener,
        override_model=spec.model,
        override_system=spec.system,
        extra_headers=dict(spec.headers or {}) or None,
    )


def _history_message(rec: Mapping[str, Any]) -> dict[str, Any]:
    raw = rec.get("raw")
    if isinstance(raw, dict):
        return raw
    out = {}
    for k, v in rec.items():
        if isinstance(v, (list, dict)) or not pd.isna(v):
            out[k] = v.isoformat() if isinstance(v, pd.Timestamp) else v
    if "text" in out and out.get("message_type") in ("assistant_message", "user_message"):
        out.setdefault("content", out["text"])
    if out.get("message_type") in ("reasoning_message", "hidden_reasoning_message"):
        out.setdefault("reasoning", out.get("text"))
    return out


def _column_note(cell: _Cell) -> str:
    """A hint under a column whose turn needs the user (an approval request)."""
    turn = cell.turn
    if turn is not None and turn.stop_reason == "requires_approval":
        return (
            "A tool call waits for approval: approve or deny it in a ChatCell on "
            f"{cell.conversation_id} (this conversation refuses new messages until then)."
        )
    return ""


def _plain(v: Any) -> Any:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return v


def _nth(values: Sequence[Any] | None, i: int) -> Any:
    return values[i] if values and i < len(values) else None


def _fork_args(source: str, at: str | None, agent_id: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if at:
        args["message_id"] = at
    if source == "default" and agent_id:
        args["agent_id"] = agent_id
    return args


def _call(client: Letta | AsyncLetta, fn: Any, base_url: str, what: str) -> Any:
    """Run one SDK call with the sync client (constructors are synchronous)."""
    if not isinstance(client, Letta):
        raise TypeError("CompareView needs the synchronous client (lw.connect())")
    with sdk_errors(base_url=base_url, what=what):
        return fn(client)


def _latest_message_id(
    client: Letta | AsyncLetta, conversation_id: str, agent_id: str | None
) -> str | None:
    """The newest message of a conversation (forks at it are identical)."""

    def latest(c: Letta) -> str | None:
        kwargs: dict[str, Any] = {"limit": 1, "order": "desc"}
        if conversation_id == "default" and agent_id:
            kwargs["agent_id"] = agent_id
        page = c.conversations.messages.list(conversation_id, **kwargs)
        items = list(getattr(page, "items", page))
        return items[0].id if items else None

    return _call(client, latest, base_url_of(client), f"conversation {conversation_id}")


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compare", unit="round")


class _NoBar:
    def update(self, _n: int) -> None:
        pass

    def close(self) -> None:
        pass
