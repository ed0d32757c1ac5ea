"""CompareView's history view: existing conversations aligned turn by turn as rounds.

``CompareView.from_history`` sends nothing: it loads each conversation's messages,
aligns their turns by user prompt (:func:`letta_widgets.compare_stats.align_history`;
unmatched turns become gaps) and turns every aligned prompt into a finished
:class:`~letta_widgets.widgets.compare.rounds.Round`, so the view and the results frame
are the same as for live rounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets import compare_stats as cs
from letta_widgets.letta.conversation import ConversationRef
from letta_widgets.widgets.compare.rounds import Cell, Round, answer_diffs
from letta_widgets.widgets.compare.variants import ResolvedVariant
from letta_widgets.widgets.transcript import transcript_items

__all__ = ["history_frames", "history_rounds", "result_rounds"]


def history_frames(
    client: Letta | AsyncLetta, conversation_ids: Sequence[str], agent_id: str | None
) -> list[pd.DataFrame]:
    """Each conversation's messages frame (with raw messages, for rendering)."""
    from letta_widgets.frames import messages_frame

    if not isinstance(client, Letta):
        raise TypeError("from_history needs the synchronous client (lw.connect())")
    return [
        messages_frame(
            client,
            cid,
            agent_id=agent_id if ConversationRef(cid).is_default else None,
            include_raw=True,
        )
        for cid in conversation_ids
    ]


def history_rounds(
    frames: Sequence[pd.DataFrame], variants: Sequence[ResolvedVariant]
) -> list[Round]:
    """One finished round per aligned prompt, one cell per variant (a gap if missing)."""
    rounds = []
    for index, slot in enumerate(cs.align_history(frames)):
        prompt = next(t.prompt for t in slot if t is not None)
        rnd = Round(prompt_id=f"h{index:04d}", index=index, prompt=prompt, done=True)
        for v, turn in zip(variants, slot, strict=True):
            cell = Cell(label=v.label, conversation_id=v.conversation_id, gap=turn is None)
            if turn is not None:
                cell.history = turn.row
                cell.text = turn.row.get("text")
                cell.status = "error" if turn.row.get("error") else "done"
                msgs = [_history_message(r) for r in turn.messages[1:]]
                cell.items = transcript_items(msgs)
                steps = (m.get("step_id") for m in msgs)
                cell.history_steps = list(dict.fromkeys(s for s in steps if isinstance(s, str)))
                if turn.row.get("started_at") is not None:
                    rnd.started_at = pd.Timestamp(turn.row["started_at"]).to_pydatetime()
            rnd._cells.append(cell)
        rnd.diffs = answer_diffs(rnd)
        rounds.append(rnd)
    return rounds


def _history_message(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A message as the renderer takes it: the raw message, else rebuilt from the row."""
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


def result_rounds(frame: pd.DataFrame, labels: Sequence[str]) -> list[Round]:
    """Finished rounds from rows of the results schema (e.g. read from letta-evals): one
    per ``prompt_id`` in ``round`` order, a cell per label (a gap where it has no row)."""
    rounds = []
    for index, (prompt_id, rows) in enumerate(frame.groupby("prompt_id", sort=False)):
        first = rows.iloc[0]
        rnd = Round(
            prompt_id=str(prompt_id),
            index=index,
            prompt=str(first.get("prompt") or ""),
            repeat=int(first.get("repeat") or 0),
            done=True,
        )
        by_label = {str(r["variant"]): r for r in rows.to_dict("records")}
        for label in labels:
            row = by_label.get(label)
            gap = row is None or bool(row.get("gap"))
            cell = Cell(label=label, gap=gap)
            if not gap and row is not None:
                cell.history = {k: (None if _na(v) else v) for k, v in row.items()}
                cell.text = cell.history.get("text")
                cell.status = "error" if cell.history.get("error") else "done"
                if cell.text:
                    msg = {"id": f"{prompt_id}:{label}", "message_type": "assistant_message"}
                    cell.items = transcript_items([{**msg, "content": cell.text}])
            rnd._cells.append(cell)
        rnd.diffs = answer_diffs(rnd)
        rounds.append(rnd)
    return rounds


def _na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
