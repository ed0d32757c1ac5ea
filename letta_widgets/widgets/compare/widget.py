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

The parts, one job each (this package): :mod:`.variants` (the Variant spec and its
conversations), :mod:`.rounds` (rounds, cells, results rows and the synced column / round
JSON), :mod:`.memory` (the shared-memory notice), :mod:`.history` (``from_history``'s
aligned rounds), :mod:`.feedback` (votes as step feedback) and
:mod:`letta_widgets.compare_stats` (the results schema, summaries, diffs, alignment).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
import uuid
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
import traitlets as t
from letta_client import AsyncLetta, Letta

from letta_widgets import compare_stats as cs
from letta_widgets._loop import Job, WorkerLoop
from letta_widgets.client import async_twin, base_url_of, sync_twin
from letta_widgets.errors import LettaWidgetsError, RequestTimedOut
from letta_widgets.judge import Judge, judge_round
from letta_widgets.letta_evals import (
    EVAL_COLUMNS,
    read_letta_evals_results,
    write_letta_evals_dataset,
)
from letta_widgets.stream import TurnEngine
from letta_widgets.widgets.base import bundle
from letta_widgets.widgets.compare.chart import chart_data, report_figure
from letta_widgets.widgets.compare.fallback import rounds_html
from letta_widgets.widgets.compare.feedback import load_feedback, save_feedback, vote_from_feedback
from letta_widgets.widgets.compare.history import history_frames, history_rounds, result_rounds
from letta_widgets.widgets.compare.memory import Blocks, agent_blocks, memory_notice
from letta_widgets.widgets.compare.rounds import (
    Cell,
    Round,
    answer_diffs,
    column_info,
    round_info,
    rounds_frame,
)
from letta_widgets.widgets.compare.variants import (
    Variant,
    fresh_conversation,
    latest_message_id,
    resolve_variant,
    run_options,
    spread_variants,
    variant_labels,
)
from letta_widgets.widgets.live import FLUSH_HZ, TurnWidget
from letta_widgets.widgets.outcome import Outcome
from letta_widgets.widgets.transcript import transcript_items

__all__ = ["FLUSH_HZ", "CompareView", "Round", "Variant"]

T = TypeVar("T")


class CompareView(TurnWidget):
    """Send one prompt to several conversations (variants) at once, side by side.

    ``CompareView(client, variants=["conv-a", "conv-b"])``, or the constructors
    :meth:`fork`, :meth:`new` and :meth:`from_history`. ``cmp.send("…")`` streams a
    round into every column concurrently and returns a :class:`Round`;
    ``cmp.run(prompts, repeats=1, fresh=True)`` runs a batch with a progress bar;
    ``cmp.vote(prompt_id, "A")`` records a vote (or click the vote buttons);
    ``cmp.results`` / ``cmp.summary()`` give the numbers. Stop stops every column
    and cancels the runs on the server.

    ``blind=True``: each round shows its columns as "Response 1 / 2 / …" in an order
    shuffled per round (from ``seed``; recorded in ``results.display_order``), and the
    labels are revealed once the round is voted on.
    """

    _busy_message = (
        "a round is already streaming in this view",
        "wait for it to finish or press Stop before sending again",
    )
    _esm = bundle("common.js", "compare.js")
    _css = bundle("messages.css", "common.css", "compare.css")
    _saved_traits = ("round", "tally")

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
    chart = t.Dict(help="Win rates and paired time differences with intervals (summary).").tag(
        sync=True
    )
    status = t.Enum(
        ["idle", "streaming", "done", "stopped", "error"], "idle", help="What the view is doing."
    ).tag(sync=True)
    status_text = t.Unicode("", help="The status line.").tag(sync=True)
    readonly = t.Bool(False, help="History only (from_history): no prompt box.").tag(sync=True)
    blind = t.Bool(False, help="Columns are 'Response n', shuffled per round, until voted.").tag(
        sync=True
    )
    placeholder = t.Unicode("Prompt for every variant…  (Enter sends, Shift+Enter: new line)").tag(
        sync=True
    )
    height = t.Unicode("360px", help="CSS max height of each column's transcript.").tag(sync=True)

    def __init__(
        self,
        client: Letta | AsyncLetta | None,
        variants: Sequence[Any] = (),
        *,
        labels: Sequence[str] | None = None,
        timeout: float | None = None,
        feedback: Literal["local", "server"] = "local",
        blind: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if feedback not in ("local", "server"):
            raise ValueError(f"feedback must be 'local' or 'server', not {feedback!r}")
        if blind and len(variants) < 2:
            raise ValueError(
                "blind=True needs at least two variants: with one there is nothing to hide"
            )
        self.blind = bool(blind)
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        """Seeds each blind round's column order (recorded in ``results.display_order``)."""
        if client is None and not self.readonly:
            raise TypeError("CompareView needs a client (lw.connect()) to send anything")
        # a results view (from_letta_evals) reads no server: no client
        self._client = sync_twin(client) if client is not None else None
        self._base_url = base_url_of(client) if client is not None else ""
        self._extra: pd.DataFrame | None = None  # columns a results view keeps (eval scores)
        self.timeout = timeout
        """Seconds a variant's turn may take before it is cancelled (``None``: no limit)."""
        self.feedback = feedback
        """``"server"``: every vote is saved at once as step feedback (see
        :meth:`save_feedback`); ``"local"``: votes stay in this view until saved."""
        self._rounds: list[Round] = []
        self._shown: int | None = None
        self._chart_at = 0.0
        specs = [Variant.coerce(v) for v in variants]
        if not specs and not self.readonly:
            raise TypeError("CompareView needs at least one variant")
        names = variant_labels(specs, labels)
        self._variants = [
            resolve_variant(client, s, n, readonly=self.readonly, base_url=self._base_url)
            for s, n in zip(specs, names, strict=True)
        ]
        self._models = _agent_models(self._client, self._variants) if client is not None else {}
        self.variants = [v.info() for v in self._variants]
        self.columns = [column_info(Cell(label=v.label)) for v in self._variants]

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
        if at is None:
            at = latest_message_id(client, conversation_id, agent_id)
        variants = spread_variants(
            n, models, systems, fork_of=conversation_id, at=at, agent_id=agent_id
        )
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
        return cls(client, spread_variants(n, models, systems, agent_id=agent_id), **kwargs)

    @classmethod
    def from_history(
        cls,
        client: Letta | AsyncLetta,
        conversation_ids: Sequence[str],
        *,
        labels: Sequence[str] | None = None,
        agent_id: str | None = None,
        feedback: bool = True,
        **kwargs: Any,
    ) -> CompareView:
        """Compare what already happened: existing conversations aligned turn by turn.

        Turns are matched by their user prompt (unmatched turns show as gaps); the view
        and ``results`` are the same as for live rounds, and nothing is sent. With
        ``feedback`` (default) votes and notes saved as step feedback
        (:meth:`save_feedback`) are read back into the rounds.
        """
        frames = history_frames(client, conversation_ids, agent_id)
        view = cls(
            client,
            [Variant(conversation_id=cid, agent_id=agent_id) for cid in conversation_ids],
            labels=labels,
            readonly=True,
            **kwargs,
        )
        view._load_history(frames)
        if feedback and view._rounds:
            view._run_now(view._read_feedback())
        return view

    @classmethod
    def from_letta_evals(cls, results_dir: Any, **kwargs: Any) -> CompareView:
        """A view of a letta-evals results directory: one column per model handle, rows
        aligned by sample id, its scores in ``results`` (``eval_score``, ``eval_grader``, …).
        Nothing is sent and no server is read; votes and the judge work as on any view."""
        frame = read_letta_evals_results(results_dir)
        labels = list(dict.fromkeys(frame["variant"].astype(str)))
        view = cls(
            None,
            [Variant(conversation_id=label) for label in labels],
            labels=labels,
            readonly=True,
            **kwargs,
        )
        view._rounds = result_rounds(frame, labels)
        view._extra = frame[["prompt_id", "variant", *EVAL_COLUMNS]]
        view.round_count = len(view._rounds)
        if view._rounds:
            view._show(view._rounds[0])
        view.status_text = f"{len(view._rounds)} samples from letta-evals, {len(labels)} models"
        view._draw_chart()
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
        with _progress(len(todo), progress) as bar:
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
        self._draw_chart()
        return rounds_frame(self._rounds[first:])

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
        with _progress(len(todo), progress) as bar:
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
        self._draw_chart()
        return rounds_frame(self._rounds[first:])

    def vote(self, *args: str, note: str | None = None) -> None:
        """Record a vote: ``cmp.vote("A")`` for the shown round, ``cmp.vote(prompt_id, "A")``.

        The choice is a variant label, ``"tie"`` or ``"all_bad"``; ``None`` clears it.
        With ``feedback="server"`` the vote is saved as step feedback before this returns.
        """
        if len(args) == 1:
            if self._shown is None:
                raise ValueError("no round to vote on yet: send a prompt first")
            rnd, choice = self._rounds[self._shown], args[0]
        elif len(args) == 2:
            rnd, choice = self._round_by_id(args[0]), args[1]
        else:
            raise TypeError("vote(choice) or vote(prompt_id, choice)")
        choice = rnd.variant_of(choice) if choice is not None else None
        self._record_vote(rnd, self._check_choice(choice), note)
        if self.feedback == "server":
            self._run_now(self._save_feedback([rnd]))

    def judge(
        self,
        judge: Judge,
        *,
        prompt_ids: Iterable[str] | None = None,
        timeout: float | None = 120,
        concurrency: int = 4,
    ) -> pd.DataFrame:
        """Score every finished round (or those ``prompt_ids`` names) with a pairwise judge.

        ``judge`` is a :class:`~letta_widgets.LettaJudge` or any callable
        ``(prompt, answer_a, answer_b) -> {"winner": "A" | "B" | "tie", "rationale": str}``.
        Every pair is asked in both orders; a verdict that flips with the order counts as a
        tie and the round is flagged (``judge_consistent=False``). A judge that raises, times
        out or answers without a winner leaves that round's ``judge_winner`` empty and says
        why in ``judge_rationale``; the other rounds go on. Returns one row per round.
        """
        return self._run_now(self._judge(judge, prompt_ids, timeout, concurrency))

    def save_feedback(self, prompt_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Save the votes (and notes, as tags) on the server as step feedback.

        Every voted round (or the rounds ``prompt_ids`` name) marks the last step of each
        variant's turn ``positive`` (the winner; every variant on a tie) or ``negative``;
        :meth:`from_history` reads them back. Returns one row per step written
        (``prompt_id``, ``variant``, ``step_id``, ``feedback``, ``tags``).
        """
        if prompt_ids is None:
            rounds = [r for r in self._rounds if r.vote is not None]
        else:
            rounds = [self._round_by_id(p) for p in prompt_ids]
        return pd.DataFrame(
            self._run_now(self._save_feedback(rounds)),
            columns=["prompt_id", "variant", "step_id", "feedback", "tags"],
        )

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
        """One row per (prompt, variant); columns: :data:`compare_stats.RESULT_COLUMNS` (a
        view from letta-evals adds its scores: :data:`letta_widgets.letta_evals.EVAL_COLUMNS`)."""
        frame = rounds_frame(self._rounds)
        if self._extra is not None:
            frame = frame.merge(self._extra, on=["prompt_id", "variant"], how="left")
        return frame

    def to_letta_evals(self, path: Any) -> Path:
        """Write the prompts as a letta-evals dataset (JSONL): ``id``, ``input``,
        ``ground_truth`` (the voted answer, where a variant won the vote) and, in
        ``extra_vars``, each variant's configuration and conversation ids."""
        config = {v.label: v.info() for v in self._variants}
        return write_letta_evals_dataset(self.results, path, variants_config=config)

    def report(self) -> Any:
        """The summary drawn (a matplotlib figure): each variant's win rate with its 95 %
        interval, from the votes and from the judge, and the median paired difference in
        total time against the first variant with its bootstrap interval."""
        return report_figure(self.summary())

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
        rnd = self._round_by_id(prompt_id)
        choice = rnd.variant_of(str(choice)) if choice is not None else None
        self._record_vote(rnd, self._check_choice(choice), None if note is None else str(note))
        if self.feedback == "server":  # saved in the background: a click never waits
            WorkerLoop.get().submit(self._save_feedback([rnd], shown=True))

    def _on_goto(self, content: dict[str, Any]) -> None:
        if not self.busy:
            self.show_round(int(content.get("index", -1)))

    # ------------------------------------------------------------------ internals

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

    def _check_choice(self, choice: str | None) -> str | None:
        choices = [v.label for v in self._variants] + list(cs.SPECIAL_VOTES)
        if choice == "all bad":
            choice = "all_bad"
        if choice is not None and choice not in choices:
            raise ValueError(f"unknown vote {choice!r}: choose one of {choices}")
        return choice

    def _record_vote(self, rnd: Round, choice: str | None, note: str | None) -> None:
        rnd.vote = choice
        if note is not None:
            rnd.note = note or None
        self._update_tally()
        if self._shown == rnd.index:
            self._show(rnd)  # a blind round's labels are revealed by its vote

    def _run_now(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the worker loop and wait for it (not a turn: no busy check)."""
        return WorkerLoop.get().submit(coro, context=self._last_msg_context).result()

    async def _save_feedback(self, rounds: Sequence[Round], *, shown: bool = False) -> list[Any]:
        """Write the rounds' votes as step feedback; ``shown``: report in the widget, not raise."""
        todo = [
            (r.prompt_id, r.vote, r.note, [(c.label, c.last_step) for c in r._cells])
            for r in rounds
        ]
        try:
            saved = await save_feedback(async_twin(self._client), self._base_url, todo)
        except LettaWidgetsError as err:
            if not shown:
                raise
            self.show_error(err)
            return []
        if shown:
            self.status_text = f"vote saved on the server ({len(saved)} steps' feedback)"
        return saved

    async def _read_feedback(self) -> None:
        """Votes and notes saved as step feedback, back into the history rounds."""
        steps = [c.last_step for r in self._rounds for c in r._cells if c.last_step]
        found = await load_feedback(async_twin(self._client), steps)
        for rnd in self._rounds:
            marks = {c.label: found.get(c.last_step or "") for c in rnd._cells if not c.gap}
            vote, note = vote_from_feedback(marks)
            if vote is not None or note is not None:
                rnd.vote, rnd.note = vote, note
        self._update_tally()
        if self._shown is not None:
            self.round = round_info(self._rounds[self._shown])

    async def _judge(
        self,
        judge: Judge,
        prompt_ids: Iterable[str] | None,
        timeout: float | None,
        concurrency: int,
    ) -> pd.DataFrame:
        if prompt_ids is None:
            rounds = [r for r in self._rounds if r.done and not r.stopped]
        else:
            rounds = [self._round_by_id(p) for p in prompt_ids]
        gate = asyncio.Semaphore(max(1, concurrency))
        self.status_text = f"judging {len(rounds)} round{'s' if len(rounds) != 1 else ''}…"

        async def one(rnd: Round) -> None:
            answers = [(c.label, c.text) for c in rnd._cells if c.text]
            async with gate:
                verdict = await judge_round(judge, rnd.prompt, answers, timeout=timeout)
            rnd.judge_winner = verdict.winner
            rnd.judge_rationale = verdict.rationale
            rnd.judge_consistent = verdict.consistent
            if self._shown == rnd.index:
                self.round = round_info(rnd)

        await asyncio.gather(*(one(r) for r in rounds))
        failed = sum(r.judge_winner is None for r in rounds)
        self._draw_chart()
        self.status_text = f"judged {len(rounds) - failed} of {len(rounds)} rounds" + (
            f" ({failed} failed: see judge_rationale)" if failed else ""
        )
        cols = ["prompt_id", "judge_winner", "judge_rationale", "judge_consistent"]
        frame = rounds_frame(rounds)
        return frame.drop_duplicates("prompt_id")[cols].reset_index(drop=True)

    def _round_by_id(self, prompt_id: str) -> Round:
        for rnd in self._rounds:
            if rnd.prompt_id == prompt_id:
                return rnd
        raise KeyError(f"no round {prompt_id!r} in this view")

    def _new_round(self, prompt: str, repeat: int) -> Round:
        index = len(self._rounds)
        order = list(range(len(self._variants)))
        if self.blind:
            random.Random(f"{self.seed}:{index}").shuffle(order)
        rnd = Round(
            prompt_id=f"p{index:04d}-{uuid.uuid4().hex[:6]}",
            index=index,
            prompt=prompt,
            repeat=repeat,
            order=order,
            blind=self.blind,
        )
        rnd._cells = [
            Cell(
                label=v.label,
                conversation_id=v.conversation_id,
                model=v.spec.model,
                priced_as=v.spec.model or self._models.get(v.agent_id or ""),
            )
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
        self._live.push({"op": "reset"})
        self.status = "streaming"
        self.status_text = f"round {rnd.index + 1} · streaming into {len(self._variants)} columns…"
        t0 = time.perf_counter()
        agents = [v.agent_id for v in self._variants]
        tasks: list[asyncio.Future[None]] = []
        try:
            before = await agent_blocks(self._client, agents)
            tasks = [
                asyncio.ensure_future(self._column(rnd, i, prompt, fresh))
                for i in range(len(self._variants))
            ]
            await asyncio.gather(*tasks)
            after = await agent_blocks(self._client, agents) if before is not None else None
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
            conv_id = (
                await fresh_conversation(self._client, variant, self._base_url)
                if fresh
                else variant.conversation_id
            )
            cell.conversation_id = conv_id
            cell.status = "streaming"
            self._sync_cell(rnd, i)
            engine = TurnEngine(
                self._client,
                conv_id,
                agent_id=variant.agent_id,
                extra_headers=variant.spec.headers,
            )
            shown = rnd.position_of(i)  # ops name the column where it is shown
            listener = self._live.listener(shown, when=lambda: self._shown == rnd.index)
            call = engine.run(prompt, listener=listener, **run_options(variant.spec))
            if self.timeout:
                outcome = Outcome.done(await asyncio.wait_for(call, self.timeout))
            else:
                outcome = Outcome.done(await call)
        except asyncio.TimeoutError:
            timed_out = RequestTimedOut(
                f"variant {variant.label} did not finish within {self.timeout:g} s",
                "its run was cancelled on the server; raise CompareView(timeout=...) "
                "or check the server",
                url=self._base_url,
            )
            outcome = Outcome.of(engine, timed_out)
        except (Exception, asyncio.CancelledError) as exc:  # a bug too: shown in the column
            outcome = Outcome.of(engine, exc, base_url=self._base_url)
            if outcome.status == "stopped":
                cell.turn, cell.status = outcome.turn, outcome.status
                self._finish_cell(rnd, i)
                raise
        cell.turn, cell.error, cell.status = outcome.turn, outcome.error, outcome.status
        self._finish_cell(rnd, i)

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
            # its last deltas and its reset: one message
            self._live.push({"op": "reset", "col": rnd.position_of(i)})

    def _sync_cell(self, rnd: Round, i: int) -> None:
        if self._shown != rnd.index:
            return
        cols = list(self.columns)
        pos = rnd.position_of(i)
        while len(cols) <= pos:
            cols.append({})
        cols[pos] = column_info(rnd._cells[i], rnd.shown_label(pos))
        self.columns = cols

    def _end_round(
        self,
        rnd: Round,
        took: float,
        before: Blocks | None,
        after: Blocks | None,
    ) -> None:
        """The round ended (done, failed or stopped): notice, diffs, status line."""
        rnd.total_s = took
        rnd.done = True
        agent_of = {v.label: v.agent_id for v in self._variants}
        rnd.notice = memory_notice(rnd, agent_of, before, after)
        rnd.diffs = answer_diffs(rnd)
        self._draw_chart(soon=True)
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

    def _update_tally(self) -> None:
        tally: dict[str, int] = {}
        for rnd in self._rounds:
            if rnd.vote:
                tally[rnd.vote] = tally.get(rnd.vote, 0) + 1
        self.tally = tally
        self._draw_chart()

    def _draw_chart(self, *, soon: bool = False) -> None:
        """The chart under the rounds, from the summary (nothing before a vote or verdict
        or a second round). ``soon``: a round ended; skipped if drawn in the last second, so
        a long batch does not summarize after every round (its end draws it)."""
        if soon and time.monotonic() - self._chart_at < 1.0:
            return
        self._chart_at = time.monotonic()
        if len(self._rounds) < 2 and not self.tally:
            self.chart = {}
            return
        labels = [v.label for v in self._variants]
        self.chart = chart_data(cs.summarize(self.results, labels, n_boot=500))

    def _saved_html(self) -> str | None:
        body, left_out = rounds_html(self._rounds)
        facts = [f"{len(self._rounds)} round{'s' if len(self._rounds) != 1 else ''}"]
        facts += [f"{k}: {v}" for k, v in self.tally.items() if v]
        return self._fallback("Compare Letta variants", facts, body, left_out)

    def _show(self, rnd: Round) -> None:
        self._shown = rnd.index
        self.columns = [column_info(c, name) for c, name in rnd.shown()]
        self.round = round_info(rnd)

    def _stopped_round(self) -> Round:
        return self._rounds[-1] if self._rounds else Round("none", -1, "", stopped=True)

    def _load_history(self, frames: Sequence[pd.DataFrame]) -> None:
        """Fill the rounds from aligned existing conversations (``from_history``)."""
        self._rounds = history_rounds(frames, self._variants)
        self.round_count = len(self._rounds)
        if self._rounds:
            self._show(self._rounds[0])
        self.status_text = (
            f"{len(self._rounds)} aligned turns from {len(self._variants)} conversations"
        )


def _progress(total: int, enabled: bool) -> Any:
    """A tqdm bar counting a batch's rounds (a no-op one when not ``enabled``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compare", unit="round", disable=not enabled)


def _agent_models(client: Letta, variants: Sequence[Any]) -> dict[str, str]:
    """Each variant's agent -> the model handle it runs (what a turn without an override
    costs); an agent that cannot be read is left out (its turns cost NaN)."""
    out: dict[str, str] = {}
    for agent_id in {v.agent_id for v in variants if v.agent_id}:
        try:
            model = client.agents.retrieve(agent_id).model
        except Exception:
            continue
        if model:
            out[agent_id] = model
    return out
