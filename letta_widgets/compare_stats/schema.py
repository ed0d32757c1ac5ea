"""The results schema of CompareView: one row per (round, variant), its dtypes and meaning.

``results_frame`` builds a frame from row dicts; ``conform_results`` brings a frame saved by
an older version (without the judge, display-order or cost columns) up to the schema, so
everything downstream reads one shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "METRICS",
    "RESULT_COLUMNS",
    "RESULT_DOC",
    "RESULT_DTYPES",
    "SPECIAL_VOTES",
    "conform_results",
    "display_order_text",
    "parse_display_order",
    "results_frame",
]

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
    "cost_usd": "float64",
    "stop_reason": "string",
    "text": "string",
    "error": "string",
    "vote": "string",
    "note": "string",
    "judge_winner": "string",
    "judge_rationale": "string",
    "judge_consistent": "boolean",
    "display_order": "string",
    "blocks_changed": "string",
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
    "cost_usd": "the turn's price in dollars from its token usage (NaN: model not priced)",
    "stop_reason": "the run's stop reason (`end_turn`, `cancelled`, `error`, …)",
    "text": "the assistant's answer",
    "error": "the error shown in the variant's column, if the turn failed",
    "vote": "the round's vote: a variant label, `tie` or `all_bad`",
    "note": "the note given with the vote",
    "judge_winner": "the judge's verdict on the round: a variant label or `tie`",
    "judge_rationale": "the judge's reason for its verdict",
    "judge_consistent": "the judge gave the same verdict with the answers' order swapped",
    "display_order": "the variant labels in the order shown to the voter (comma separated)",
    "blocks_changed": "memory block labels this variant's turn changed (comma separated)",
    "gap": "from_history: this conversation has no turn matching the round's prompt",
    "started_at": "when the round was sent (UTC)",
}

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


def results_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) -> a DataFrame with exactly :data:`RESULT_COLUMNS` and their dtypes."""
    data = {c: [r.get(c) for r in rows] for c in RESULT_COLUMNS}
    out = {col: _typed(data[col], dtype) for col, dtype in RESULT_DTYPES.items()}
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


def conform_results(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with every :data:`RESULT_COLUMNS` column: missing ones added empty.

    For frames saved before a column existed (a Parquet or CSV file of an older version):
    an absent string, float or boolean column is all NA, ``repeat`` is 0, ``gap`` False.
    Columns present are kept as they are, extra columns too (after the schema's).
    """
    missing = [c for c in RESULT_COLUMNS if c not in results.columns]
    if not missing:
        return results
    out = results.copy()
    for col in missing:
        values = _typed([None] * len(out), RESULT_DTYPES[col])
        values.index = out.index
        out[col] = values
    extra = [c for c in results.columns if c not in RESULT_DTYPES]
    return out[RESULT_COLUMNS + extra]


def display_order_text(labels: Sequence[str]) -> str:
    """The ``display_order`` cell for variants shown in this order: ``"B,A"``.

    Raises ``ValueError`` for a label with a comma (it could not be read back).
    """
    bad = [label for label in labels if "," in label]
    if bad:
        raise ValueError(f"a variant label in display_order cannot hold a comma: {bad}")
    return ",".join(labels)


def parse_display_order(value: Any) -> list[str] | None:
    """The labels of a ``display_order`` cell, in the order shown (``None`` for NA/empty)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    labels = [part.strip() for part in str(value).split(",") if part.strip()]
    return labels or None


def _typed(values: list[Any], dtype: str) -> pd.Series:
    if dtype == "bool":
        return pd.Series([bool(v) for v in values], dtype="bool")
    if dtype.startswith("datetime64"):
        return pd.to_datetime(pd.Series(values, dtype="object"), utc=True).astype(dtype)
    if dtype == "float64":
        return pd.Series(
            [math.nan if _na(v) is pd.NA else float(v) for v in values], dtype="float64"
        )
    if dtype == "int64":
        return pd.Series([int(v or 0) for v in values], dtype="int64")
    return pd.Series([_na(v) for v in values], dtype="object").astype(dtype)


def _na(value: Any) -> Any:
    if value is None:
        return pd.NA
    if isinstance(value, float) and math.isnan(value):
        return pd.NA
    return value
