"""CompareView's rounds: one prompt's cells, their results rows and their front-end JSON.

A :class:`Round` is one prompt sent to every variant; each variant's part of it is a
:class:`Cell` (a live turn, or a turn read back from history by ``from_history``). This
module turns them into rows of the results frame (:data:`compare_stats.RESULT_COLUMNS`)
and into the compact dicts the widget syncs (``columns`` and ``round``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from letta_widgets import compare_stats as cs
from letta_widgets.costs import TurnCost, turn_cost
from letta_widgets.errors import LettaWidgetsError
from letta_widgets.stream import Turn

__all__ = [
    "Cell",
    "Round",
    "answer_diffs",
    "blind_name",
    "cell_metrics",
    "column_info",
    "result_row",
    "round_info",
    "rounds_frame",
]

_METRICS = ("run_id", *cs.METRICS, "stop_reason", "cost_usd")
"""What a column shows of a turn (and ``cell_metrics`` returns)."""


@dataclass
class Cell:
    """One variant's part of a round: its status, turn (or history row) and rendering."""

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
    history_steps: list[str] = field(default_factory=list)
    """The step ids of a history turn (a live turn knows its own: ``turn.step_ids``)."""
    priced_as: str | None = None
    """The model handle the turn ran on (its override, else its agent's): what it costs."""

    @property
    def last_step(self) -> str | None:
        """The step that wrote the answer: where this cell's vote is saved as feedback."""
        steps = self.turn.step_ids if self.turn is not None else self.history_steps
        return steps[-1] if steps else None


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
    judge_winner: str | None = None
    """The judge's verdict (:meth:`CompareView.judge`): a label, ``"tie"``, or ``None``."""
    judge_rationale: str | None = None
    judge_consistent: bool | None = None
    order: list[int] = field(default_factory=list)
    """The variants' indices in the order their columns are shown (left to right)."""
    blind: bool = False
    """Columns say "Response 1 / 2 / …" in a shuffled order until the round is voted on."""
    _cells: list[Cell] = field(default_factory=list, repr=False)

    @property
    def revealed(self) -> bool:
        """Whether the columns show their labels (not blind, or voted on)."""
        return not self.blind or self.vote is not None

    def shown(self) -> list[tuple[Cell, str]]:
        """The cells left to right, each with the name its column shows."""
        order = self.order or list(range(len(self._cells)))
        return [(self._cells[i], self.shown_label(pos)) for pos, i in enumerate(order)]

    def shown_label(self, position: int) -> str:
        """What column ``position`` is called: its variant's label, or "Response n" while
        the round is blind."""
        order = self.order or list(range(len(self._cells)))
        label = self._cells[order[position]].label
        return label if self.revealed else blind_name(position)

    def position_of(self, i: int) -> int:
        """Where variant ``i``'s column is shown."""
        return self.order.index(i) if self.order else i

    def variant_of(self, choice: str) -> str:
        """A vote's variant label: a blind column's "Response n" mapped back through the
        shown order; anything else as it is."""
        order = self.order or list(range(len(self._cells)))
        for pos, i in enumerate(order):
            if choice == blind_name(pos):
                return self._cells[i].label
        return choice

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
        return [result_row(self, c) for c in self._cells]

    def frame(self) -> pd.DataFrame:
        """This round in the ``CompareView.results`` schema."""
        return cs.results_frame(self.rows())

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{c.label}={'error' if c.error else (c.turn.stop_reason if c.turn else c.status)}"
            for c in self._cells
        )
        return f"Round({self.prompt_id!r}, prompt={self.prompt[:40]!r}, {parts})"


def blind_name(position: int) -> str:
    """A blind column's name: ``"Response 1"`` for the leftmost."""
    return f"Response {position + 1}"


def rounds_frame(rounds: Sequence[Round]) -> pd.DataFrame:
    """The results frame of several rounds, one row per (round, variant)."""
    return cs.results_frame([row for rnd in rounds for row in rnd.rows()])


def cell_metrics(cell: Cell) -> dict[str, Any]:
    """The cell's run id, timings, token counts, steps, tool calls and stop reason.

    From its live turn, else from its history row (which has no tokens or stop reason).
    """
    turn = cell.turn
    if turn is None:
        hist = cell.history or {}
        return {k: hist.get(k) for k in _METRICS}
    usage = dict(turn.usage or {})
    return {
        "run_id": turn.run_id,
        "ttft_s": turn.ttft_s,
        "total_s": turn.total_s,
        "llm_s": turn.llm_s,
        "tool_s": turn.tool_s,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "total_tokens": usage.get("total_tokens"),
        "steps": usage.get("step_count"),
        "tool_calls": len(turn.tool_calls),
        "stop_reason": turn.stop_reason,
        "cost_usd": cell_cost(cell).usd,
    }


def cell_cost(cell: Cell) -> TurnCost:
    """The dollar price of the cell's live turn (NaN, with a note, when its model is not in
    the price table or the turn reported no usage)."""
    usage = dict(cell.turn.usage or {}) if cell.turn is not None else {}
    if cell.priced_as is None:
        return TurnCost(float("nan"), "the model this turn ran on is not known")
    return _price(cell.priced_as, usage.get("prompt_tokens"), usage.get("completion_tokens"))


@functools.lru_cache(maxsize=4096)
def _price(handle: str, prompt_tokens: int | None, completion_tokens: int | None) -> TurnCost:
    """:func:`turn_cost`, once per (model, usage): every results frame, summary and chart
    re-reads every cell, and a price lookup is ~0.2 ms."""
    return turn_cost(handle, prompt_tokens, completion_tokens)


def error_text(cell: Cell) -> str | None:
    """Why the cell's turn failed: this view's error, or the one recorded in its history."""
    if cell.error is not None:
        return str(cell.error)
    recorded = (cell.history or {}).get("error")
    return str(recorded) if recorded else None


def result_row(rnd: Round, cell: Cell) -> dict[str, Any]:
    """One row of the results frame: this cell in this round."""
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
        "error": error_text(cell),
        "blocks_changed": ",".join(cell.blocks_changed) or None,
        "judge_winner": rnd.judge_winner,
        "judge_rationale": rnd.judge_rationale,
        "judge_consistent": rnd.judge_consistent,
        # rounds read back from history were never shown side by side: no order
        "display_order": cs.display_order_text([c.label for c, _ in rnd.shown()])
        if rnd.order
        else None,
    }
    row.update(cell_metrics(cell))
    if cell.turn is None and cell.history and cell.history.get("conversation_id"):
        row["conversation_id"] = cell.history["conversation_id"]
    return row


def answer_diffs(rnd: Round) -> list[dict[str, Any]]:
    """Word-level diffs of the answers, columns left to right: each against the first that
    answered (``a`` and ``b`` name the variants; the widget shows the columns' names)."""
    answered = [c for c, _name in rnd.shown() if c.text]
    if len(answered) < 2:
        return []
    base, diffs = answered[0], []
    for other in answered[1:]:
        ops = cs.word_diff(base.text or "", other.text or "")
        diffs.append(
            {
                "a": base.label,
                "b": other.label,
                "similarity": round(cs.diff_similarity(ops), 3),
                "ops": ops,
            }
        )
    return diffs


def round_info(rnd: Round) -> dict[str, Any]:
    """The synced ``round`` trait for this round (``choices``: the vote buttons, ``[value,
    text]`` each, named as the columns are)."""
    shown = rnd.shown()
    names = [name for _c, name in shown]
    rename = {c.label: name for c, name in shown}
    return {
        "blind": rnd.blind,
        "revealed": rnd.revealed,
        "choices": [[n, n] for n in names] + [["tie", "tie"], ["all_bad", "all bad"]],
        "prompt_id": rnd.prompt_id,
        "index": rnd.index,
        "prompt": rnd.prompt,
        "repeat": rnd.repeat,
        "vote": rnd.vote or "",
        "note": rnd.note or "",
        "diffs": [
            {**d, "a": rename.get(d["a"], d["a"]), "b": rename.get(d["b"], d["b"])}
            for d in rnd.diffs
        ],
        "notice": rnd.notice,
        "done": rnd.done,
        "total_s": rnd.total_s,
        "judge": None
        if rnd.judge_rationale is None
        else {
            "winner": rename.get(rnd.judge_winner or "", rnd.judge_winner),
            # a blind round's rationale names variants: shown once the round is revealed
            "rationale": rnd.judge_rationale if rnd.revealed else "",
            "consistent": rnd.judge_consistent,
        },
    }


def column_info(cell: Cell, name: str | None = None) -> dict[str, Any]:
    """One entry of the synced ``columns`` trait: status, sanitized items, metrics, error.

    ``name``: what the column is called when it is not the variant's label (a blind
    round's "Response n"): then nothing that tells the variant apart is synced.
    """
    hidden = name is not None and name != cell.label
    return {
        "label": name or cell.label,
        "hidden": hidden,
        "conversation_id": "" if hidden else cell.conversation_id or "",
        "model": "" if hidden else cell.model or "",
        "status": "gap" if cell.gap else cell.status,
        "items": cell.items,
        "metrics": {k: _plain(v) for k, v in cell_metrics(cell).items()},
        "error": error_text(cell) or "",
        "note": "" if hidden else _column_note(cell),
        "cost_note": (cell_cost(cell).note or "") if cell.turn is not None and not hidden else "",
    }


def _column_note(cell: Cell) -> str:
    """A hint under a column whose turn needs the user (an approval request)."""
    turn = cell.turn
    if turn is not None and turn.stop_reason == "requires_approval":
        return (
            "A tool call waits for approval: approve or deny it in a ChatCell on "
            f"{cell.conversation_id} (this conversation refuses new messages until then)."
        )
    return ""


def _plain(v: Any) -> Any:
    """A JSON-ready scalar: ``None`` for NA, a Python number for a numpy one."""
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
