"""CompareView's numbers: the results schema, summaries, Wilson intervals, word diffs,
and turn-by-turn alignment of existing conversations.

Everything here is pure (no server, no widget), so it is unit-tested on its own and
usable on a saved results file: ``summarize(pd.read_parquet("ab.parquet"))``.

Win rate
--------
For each variant, ``wins / voted`` over the rounds that carry a vote (a variant's
label, ``"tie"`` or ``"all_bad"``): a tie and an all-bad round count as voted rounds
that nobody won. The 95 % interval is Wilson's score interval, which stays inside
[0, 1] and behaves at 0 or n wins, unlike the normal approximation.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "METRICS",
    "RESULT_COLUMNS",
    "RESULT_DTYPES",
    "SPECIAL_VOTES",
    "align_turns",
    "results_frame",
    "summarize",
    "wilson_interval",
    "word_diff",
]

Z95 = 1.959963984540054
"""The two-sided 95 % normal quantile."""

SPECIAL_VOTES = ("tie", "all_bad")
"""Votes that name no variant."""

RESULT_DTYPES: dict[str, Any] = {
    "prompt_id": "string",
    "round": "int64",
    "repeat": "int64",
    "prompt": "string",
    "variant": "string",
    "conversation_id": "string",
    "run_id": "string",
    "model": "string",
    "ttft_s": "float64",
    "total_s": "float64",
    "llm_s": "float64",
    "tool_s": "float64",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "total_tokens": "Int64",
    "steps": "Int64",
    "tool_calls": "Int64",
    "stop_reason": "string",
    "text": "string",
    "error": "string",
    "vote": "string",
    "note": "string",
    "blocks_changed": "string",
    "display_order": "string",
    "judge_winner": "string",
    "judge_rationale": "string",
    "judge_consistent": "boolean",
    "gap": "bool",
    "started_at": "datetime64[us, UTC]",
}
"""Column -> dtype of ``CompareView.results`` (one row per (prompt, variant))."""

RESULT_COLUMNS: list[str] = list(RESULT_DTYPES)

RESULT_DOC: dict[str, str] = {
    "prompt_id": "id of the round (one prompt sent once to every variant)",
    "round": "0-based round number in this view",
    "repeat": "0-based repeat of the same prompt in a batch (`run(..., repeats=n)`)",
    "prompt": "the user message sent",
    "variant": "the variant's label (A, B, … unless labels were given)",
    "conversation_id": "the conversation the turn ran in (a fresh fork with `fresh=True`)",
    "run_id": "the server's run id of the turn",
    "model": "the per-variant `override_model`, if any",
    "ttft_s": "seconds from the request to the first reasoning/answer token",
    "total_s": "seconds from the request to the end of the stream",
    "llm_s": "seconds the server spent in LLM requests (steps.metrics; NaN where not kept)",
    "tool_s": "seconds the server spent running tools (steps.metrics; NaN where not kept)",
    "prompt_tokens": "usage_statistics.prompt_tokens",
    "completion_tokens": "usage_statistics.completion_tokens",
    "total_tokens": "usage_statistics.total_tokens",
    "steps": "usage_statistics.step_count (agent steps = LLM calls)",
    "tool_calls": "number of tool calls in the turn",
    "stop_reason": "the run's stop reason (`end_turn`, `cancelled`, `error`, …)",
    "text": "the assistant's answer",
    "error": "the error shown in the variant's column, if the turn failed",
    "vote": "the round's vote: a variant label, `tie` or `all_bad`",
    "note": "the note given with the vote",
    "blocks_changed": "memory block labels this variant's turn changed (comma separated)",
    "display_order": "the variants' labels as their columns were shown, left to right",
    "judge_winner": "the judge's verdict on the round (`cmp.judge`): a label or `tie`",
    "judge_rationale": "why, per pair; or why the judge failed",
    "judge_consistent": "every pair got the same verdict in both orders",
    "gap": "from_history: this conversation has no turn matching the round's prompt",
    "started_at": "when the round was sent (UTC)",
}


# --------------------------------------------------------------------------- frames


def results_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) -> a DataFrame with exactly :data:`RESULT_COLUMNS` and their dtypes."""
    data = {c: [r.get(c) for r in rows] for c in RESULT_COLUMNS}
    out = {}
    for col, dtype in RESULT_DTYPES.items():
        values = data[col]
        if dtype == "bool":
            out[col] = pd.Series([bool(v) for v in values], dtype="bool")
        elif dtype.startswith("datetime64"):
            out[col] = pd.to_datetime(pd.Series(values, dtype="object"), utc=True).astype(dtype)
        elif dtype == "float64":
            out[col] = pd.Series(
                [math.nan if _na(v) is pd.NA else float(v) for v in values], dtype="float64"
            )
        elif dtype == "int64":
            out[col] = pd.Series([int(v or 0) for v in values], dtype="int64")
        else:
            out[col] = pd.Series([_na(v) for v in values], dtype="object").astype(dtype)
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


def _na(value: Any) -> Any:
    if value is None:
        return pd.NA
    if isinstance(value, float) and math.isnan(value):
        return pd.NA
    return value


# --------------------------------------------------------------------------- stats


def wilson_interval(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``wins`` successes in ``n`` trials (NaNs when n == 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= wins <= n:
        raise ValueError(f"wins must be between 0 and n ({wins} of {n})")
    p = wins / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # at 0 or n wins the bound is exactly 0 or 1 (the closed form leaves rounding noise)
    low = 0.0 if wins == 0 else max(0.0, center - half)
    high = 1.0 if wins == n else min(1.0, center + half)
    return (low, high)


METRICS = (
    "ttft_s",
    "total_s",
    "llm_s",
    "tool_s",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "steps",
    "tool_calls",
)
"""A turn's numbers: timings (the server's LLM and tool time where it keeps step metrics),
token counts, steps, tool calls (summarized as medians)."""


def summarize(results: pd.DataFrame, variants: Sequence[str] | None = None) -> pd.DataFrame:
    """Per variant: rounds, errors, medians of the metrics, votes and win rate (95 % Wilson).

    Medians are over the variant's rounds that ended without an error (gaps excluded).
    Columns: ``rounds``, ``errors``, ``median_<metric>`` for ttft_s, total_s, token
    counts, steps and tool_calls, ``voted`` (rounds with any vote), ``wins``, ``ties``,
    ``all_bad``, ``win_rate``, ``win_rate_low``, ``win_rate_high``. Index: the variant.
    """
    df = results
    if "gap" in df.columns:
        df = df[~df["gap"].astype(bool)]
    names = list(variants) if variants is not None else list(dict.fromkeys(df["variant"]))
    votes = (
        df.drop_duplicates("prompt_id").set_index("prompt_id")["vote"].dropna()
        if len(df)
        else pd.Series(dtype="string")
    )
    voted = len(votes)
    rows = []
    for name in names:
        mine = df[df["variant"] == name]
        ok = mine[mine["error"].isna()]
        row: dict[str, Any] = {
            "variant": name,
            "rounds": len(mine),
            "errors": int(mine["error"].notna().sum()),
        }
        for col in METRICS:
            values = pd.to_numeric(ok[col], errors="coerce").dropna().astype("float64")
            row[f"median_{col}"] = float(values.median()) if len(values) else math.nan
        wins = int((votes == name).sum())
        lo, hi = wilson_interval(wins, voted)
        row.update(
            voted=voted,
            wins=wins,
            ties=int((votes == "tie").sum()),
            all_bad=int((votes == "all_bad").sum()),
            win_rate=wins / voted if voted else math.nan,
            win_rate_low=lo,
            win_rate_high=hi,
        )
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.set_index("variant")


# --------------------------------------------------------------------------- diff

_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(a: str, b: str, *, limit: int = 20_000) -> list[list[str]]:
    """A word-level diff of ``a`` -> ``b`` as ``[[op, text], ...]`` runs.

    ``op`` is ``"="`` (in both), ``"-"`` (only in ``a``) or ``"+"`` (only in ``b``).
    Whitespace is kept with the words, so joining the ``=`` and ``-`` runs gives ``a``
    back and the ``=`` and ``+`` runs give ``b``. Texts longer than ``limit`` words are
    diffed on their first ``limit`` words; the rest is one ``-`` / ``+`` run each.
    """
    ta, tb = _WORDS.findall(a or ""), _WORDS.findall(b or "")
    tail_a, tail_b = ta[limit:], tb[limit:]
    ta, tb = ta[:limit], tb[:limit]
    out: list[list[str]] = []

    def push(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1][1] += text
        else:
            out.append([op, text])

    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            push("=", "".join(ta[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            push("-", "".join(ta[i1:i2]))
        if tag in ("insert", "replace"):
            push("+", "".join(tb[j1:j2]))
    push("-", "".join(tail_a))
    push("+", "".join(tail_b))
    return out


def diff_similarity(ops: Sequence[Sequence[str]]) -> float:
    """Share of words the two sides have in common (1.0 = same words), from ``word_diff``."""

    def count(ops_: set[str]) -> int:
        return sum(len(re.findall(r"\S+", text)) for op, text in ops if op in ops_)

    same, a, b = count({"="}), count({"=", "-"}), count({"=", "+"})
    return 1.0 if a + b == 0 else 2 * same / (a + b)


# --------------------------------------------------------------------------- alignment


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
