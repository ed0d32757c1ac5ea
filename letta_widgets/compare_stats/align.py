"""Existing conversations aligned turn by turn (``from_history``): by their user prompts.

The result has the CompareView results schema, so it summarizes like live rounds.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from letta_widgets.compare_stats.schema import results_frame

__all__ = ["HistoryTurn", "align_history", "align_turns", "default_labels", "history_turns"]


@dataclass
class HistoryTurn:
    """One user prompt in an existing conversation and what followed it."""

    prompt: str
    key: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict)


def _key(prompt: str) -> str:
    return " ".join(str(prompt).split()).casefold()


def _seconds(a: Any, b: Any) -> float | None:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return None
    return float((pd.Timestamp(b) - pd.Timestamp(a)).total_seconds())


def history_turns(frame: pd.DataFrame) -> list[HistoryTurn]:
    """Split a messages frame into turns: each user message and what came after it."""
    df = frame
    if "seq" in df.columns:
        df = df.sort_values("seq", kind="stable")
    elif "date" in df.columns:
        df = df.sort_values("date", kind="stable")
    turns: list[HistoryTurn] = []
    current: HistoryTurn | None = None
    records = df.to_dict("records")
    for rec in records:
        mtype = str(rec.get("message_type"))
        if mtype == "user_message":
            text = "" if pd.isna(rec.get("text")) else str(rec.get("text"))
            current = HistoryTurn(prompt=text, key=_key(text))
            turns.append(current)
        if current is not None:
            current.messages.append(rec)
    for turn in turns:
        turn.row = _turn_metrics(turn.messages)
    return turns


def _turn_metrics(recs: list[dict[str, Any]]) -> dict[str, Any]:
    def val(rec: dict[str, Any], col: str) -> Any:
        v = rec.get(col)
        return None if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)) else v

    user = recs[0]
    start = val(user, "date")
    run_id = next((val(r, "run_id") for r in recs[1:] if val(r, "run_id")), val(user, "run_id"))
    answers = [
        str(val(r, "text"))
        for r in recs
        if r.get("message_type") == "assistant_message" and val(r, "text") is not None
    ]
    firsts = [
        val(r, "date")
        for r in recs
        if r.get("message_type") in ("assistant_message", "reasoning_message")
        and val(r, "date") is not None
    ]
    dates = [val(r, "date") for r in recs if val(r, "date") is not None]
    steps = {val(r, "step_id") for r in recs[1:] if val(r, "step_id")}
    calls = {
        val(r, "tool_call_id") or f"{val(r, 'id')}#{i}"
        for i, r in enumerate(recs)
        if r.get("message_type") in ("tool_call_message", "approval_request_message")
    }
    flagged = any(bool(val(r, "is_err")) for r in recs)
    failed_tools = [
        str(val(r, "tool_name") or "tool")
        for r in recs
        if r.get("message_type") == "tool_return_message" and val(r, "tool_status") == "error"
    ]
    error = None
    if flagged:
        error = "the server flagged a message of this turn as an error"
    elif failed_tools and not answers:
        error = f"tool {failed_tools[0]} failed"
    return {
        "conversation_id": val(user, "conversation_id"),
        "run_id": run_id,
        "ttft_s": _seconds(start, firsts[0]) if firsts else None,
        "total_s": _seconds(start, max(dates)) if dates else None,
        "steps": len(steps) if steps else None,
        "tool_calls": len(calls),
        "text": "\n\n".join(answers) if answers else None,
        "error": error,
        "started_at": start,
    }


def align_history(
    frames: Sequence[pd.DataFrame],
) -> list[list[HistoryTurn | None]]:
    """Align the turns of several conversations by their user prompts.

    Returns one list per aligned round with one entry per frame: the matching turn, or
    ``None`` (a gap) where that conversation has no such prompt at that point. Each
    conversation is aligned against the rounds so far (a longest-common-subsequence
    match of the normalized prompts, so order is kept and repeats pair up in order).
    """
    slots: list[list[HistoryTurn | None]] = []
    n = len(frames)
    for j, frame in enumerate(frames):
        turns = history_turns(frame)
        keys_a = [_slot_key(slot) for slot in slots]
        keys_b = [t.key for t in turns]
        matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
        merged: list[list[HistoryTurn | None]] = []

        def fresh(turn: HistoryTurn, j: int = j) -> list[HistoryTurn | None]:
            slot: list[HistoryTurn | None] = [None] * n
            slot[j] = turn
            return slot

        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    slots[i1 + k][j] = turns[j1 + k]
                    merged.append(slots[i1 + k])
                continue
            merged.extend(slots[i1:i2])
            merged.extend(fresh(t) for t in turns[j1:j2])
        slots = merged
    return slots


def _slot_key(slot: list[HistoryTurn | None]) -> str:
    return next(t.key for t in slot if t is not None)


def align_turns(
    frames: Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame],
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Align existing conversations turn by turn: the DataFrame form of ``from_history``.

    ``frames``: messages frames (``lw.messages_frame(client, conv_id)``), one per
    conversation, as a list (labelled A, B, … unless ``labels`` are given) or a dict
    ``{label: frame}``. Turns are matched by their user prompt (whitespace and case
    ignored, order kept); a conversation with no matching turn gets a gap row
    (``gap=True``, no text). Returns the ``CompareView.results`` schema: one row per
    (aligned prompt, conversation); token counts and stop reasons are not part of the
    stored history and stay empty.
    """
    if isinstance(frames, Mapping):
        labels = list(frames)
        frames = list(frames.values())
    frames = list(frames)
    labels = list(labels) if labels is not None else default_labels(len(frames))
    if len(labels) != len(frames):
        raise ValueError(f"{len(labels)} labels for {len(frames)} frames")
    conv_ids = [_frame_conversation(f) for f in frames]
    rows: list[dict[str, Any]] = []
    for index, slot in enumerate(align_history(frames)):
        prompt = next(t.prompt for t in slot if t is not None)
        for label, conv_id, turn in zip(labels, conv_ids, slot, strict=True):
            row: dict[str, Any] = {
                "prompt_id": f"h{index:04d}",
                "round": index,
                "repeat": 0,
                "prompt": prompt,
                "variant": label,
                "conversation_id": conv_id,
                "gap": turn is None,
            }
            if turn is not None:
                row.update({k: v for k, v in turn.row.items() if v is not None})
            rows.append(row)
    return results_frame(rows)


def _frame_conversation(frame: pd.DataFrame) -> str | None:
    if "conversation_id" in frame.columns and len(frame):
        values = frame["conversation_id"].dropna()
        if len(values):
            return str(values.iloc[0])
    return None


def default_labels(n: int) -> list[str]:
    """A, B, …, Z, AA, AB, … for ``n`` variants."""
    out = []
    for i in range(n):
        s, k = "", i
        while True:
            s = chr(ord("A") + k % 26) + s
            k = k // 26 - 1
            if k < 0:
                break
        out.append(s)
    return out
