"""Results frames regrouped: one row per round, prompts over their repeats, paired metrics.

A *round* is one ``prompt_id`` (one prompt sent once to every variant). A *prompt* is a
round with ``repeat == 0`` together with the rounds with ``repeat > 0`` and the same
prompt text that follow it (``run(prompts, repeats=n)`` makes exactly these); its key is
the ``prompt_id`` of that first round. A round with ``repeat > 0`` whose text has no
earlier round starts a prompt of its own. Rounds are taken in ``round`` order.

Every function here expects a frame conformed to the schema (:func:`conform_results`);
gap rows (``from_history``: no matching turn) are left out of everything.
"""

from __future__ import annotations

import math

import pandas as pd

from letta_widgets.compare_stats.inference import plurality

__all__ = [
    "ROUND_COLUMNS",
    "answered",
    "paired_differences",
    "prompt_verdicts",
    "repeat_spread",
    "round_table",
    "verdict_groups",
    "with_prompt_keys",
]

ROUND_COLUMNS = ("vote", "judge_winner", "judge_consistent", "display_order")
"""The columns that belong to a round, not to one variant's turn (equal on its rows)."""


def round_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per round in ``round`` order: prompt_id, round, repeat, prompt, the round's
    columns (:data:`ROUND_COLUMNS`) and ``prompt_key`` (see the module docstring)."""
    df = _kept(results)
    keyed = "prompt_key" in df.columns
    cols = ["prompt_id", "round", "repeat", "prompt", *ROUND_COLUMNS]
    if keyed:
        cols.append("prompt_key")
    rounds = df.drop_duplicates("prompt_id")[cols].sort_values("round", kind="stable")
    rounds = rounds.reset_index(drop=True)
    if not keyed:
        rounds["prompt_key"] = _prompt_keys(rounds)
    return rounds


def with_prompt_keys(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with each row's ``prompt_key``: computed once, the functions here reuse it."""
    if "prompt_key" in results.columns:
        return results
    rounds = round_table(results)
    keys = dict(zip(rounds["prompt_id"], rounds["prompt_key"], strict=True))
    return results.assign(prompt_key=results["prompt_id"].map(keys))


def verdict_groups(results: pd.DataFrame, column: str = "vote") -> dict[str, list[str]]:
    """``{prompt_key: [verdict of each repeat that has one]}`` for ``column`` (a round
    column such as ``vote`` or ``judge_winner``); prompts without any verdict are left out."""
    rounds = round_table(results)
    out: dict[str, list[str]] = {}
    for key, value in zip(rounds["prompt_key"], rounds[column], strict=True):
        if not pd.isna(value):
            out.setdefault(key, []).append(str(value))
    return out


def prompt_verdicts(results: pd.DataFrame, column: str = "vote") -> pd.Series:
    """Each prompt's verdict over its repeats: the :func:`plurality` of its rounds' ``column``.

    So every prompt counts once, whatever its number of repeats: the verdict given most
    often, ``"tie"`` when several verdicts tie for most. Index: ``prompt_key``; prompts
    without any verdict are left out.
    """
    groups = verdict_groups(results, column)
    return pd.Series(
        {key: plurality(values) for key, values in groups.items()}, dtype="object"
    ).astype("string")


def answered(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows that measured ``metric``: no gap, no error, a value; with ``prompt_key``
    and the metric as float (``value``)."""
    df = _kept(with_prompt_keys(results))
    out = df[df["error"].isna()][["prompt_id", "variant", "prompt_key"]].copy()
    out["value"] = pd.to_numeric(df.loc[out.index, metric], errors="coerce").astype("float64")
    return out[out["value"].notna()]


def paired_differences(results: pd.DataFrame, metric: str, a: str, b: str) -> pd.Series:
    """Per prompt, ``b``'s ``metric`` minus ``a``'s (float; index: ``prompt_key``).

    Each side is the median over the prompt's repeats of the turns that measured the
    metric (:func:`answered`); a prompt counts only where both variants have a value.
    """
    rows = answered(results, metric)
    medians = rows.groupby(["prompt_key", "variant"], sort=False)["value"].median()
    wide = medians.unstack("variant")
    if a not in wide.columns or b not in wide.columns:
        return pd.Series(dtype="float64")
    return (wide[b] - wide[a]).dropna().astype("float64")


def repeat_spread(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    """How much ``metric`` varies over a prompt's repeats, per (variant, prompt_key).

    Columns: ``n`` (repeats that measured it), ``median``, ``q1``, ``q3``, ``iqr``
    (``q3 − q1``, numpy's linear quantiles), ``min``, ``max`` and ``cv``, the coefficient of
    variation: sample standard deviation (ddof 1) over the mean. ``cv`` is NaN with fewer
    than two values or a zero mean; the quantiles of one value are that value.
    """
    rows = answered(results, metric)
    groups = rows.groupby(["variant", "prompt_key"], sort=False)["value"]
    out = groups.agg(["count", "median", "min", "max", "mean", "std"])
    out["q1"], out["q3"] = groups.quantile(0.25), groups.quantile(0.75)
    out["iqr"] = out["q3"] - out["q1"]
    usable = (out["count"] >= 2) & (out["mean"] != 0)
    out["cv"] = (out["std"] / out["mean"]).where(usable, math.nan)
    out = out.rename(columns={"count": "n"}).reset_index()
    columns = ["variant", "prompt_key", "n", "median", "q1", "q3", "iqr", "min", "max", "cv"]
    return out[columns].astype({"n": "int64"})


def _kept(results: pd.DataFrame) -> pd.DataFrame:
    """The rows that are turns (no gap)."""
    return results[~results["gap"].astype(bool)]


def _prompt_keys(rounds: pd.DataFrame) -> list[str]:
    latest: dict[str, str] = {}
    keys: list[str] = []
    for pid, rep, text in zip(rounds["prompt_id"], rounds["repeat"], rounds["prompt"], strict=True):
        known = None if pd.isna(text) else latest.get(str(text))
        key = str(pid) if int(rep) == 0 or known is None else known
        if not pd.isna(text) and key == str(pid):
            latest[str(text)] = key
        keys.append(key)
    return keys
