"""``summarize``: one row per variant with its medians, win rates and evaluation statistics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from letta_widgets.compare_stats.grouping import (
    paired_differences,
    prompt_verdicts,
    repeat_spread,
    round_table,
    verdict_groups,
    with_prompt_keys,
)
from letta_widgets.compare_stats.inference import (
    cohen_kappa,
    median_difference,
    position_bias,
    sign_test,
    unanimity,
    wilson_interval,
)
from letta_widgets.compare_stats.schema import METRICS, conform_results, parse_display_order

__all__ = ["PAIRED_METRICS", "SPREAD_METRICS", "summarize"]

PAIRED_METRICS = ("total_s", "total_tokens", "cost_usd")
"""The metrics compared prompt by prompt against the first variant (median B − A)."""

SPREAD_METRICS = ("total_s", "total_tokens")
"""The metrics whose spread over a prompt's repeats is summarized."""

_COUNTS = ("sign_n", *(f"median_diff_{m}_n" for m in PAIRED_METRICS))
"""Count columns that are NA for the first variant (it is not compared with itself)."""


def summarize(
    results: pd.DataFrame,
    variants: Sequence[str] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per variant: rounds, errors, medians, human and judge win rates, and their tests.

    Rows: the ``variants`` (default: in order of appearance); the first is the baseline of
    the paired columns. Gap rows are left out of everything. A frame without the newer
    columns (judge, display order, cost) summarizes with those statistics NA/NaN.

    * ``rounds``, ``errors``; ``median_<metric>`` over the variant's turns without an error.
    * Human votes, one verdict per prompt (its repeats' plurality, ``"tie"`` when they
      tie; see :mod:`.grouping`): ``voted`` (prompts with a vote), ``voted_rounds``,
      ``wins``, ``ties``, ``all_bad``, ``win_rate`` = wins / voted and its 95 % Wilson
      interval ``win_rate_low`` / ``win_rate_high``. Without repeats a prompt is a round.
    * The judge, the same way from ``judge_winner``: ``judged``, ``judge_wins``,
      ``judge_ties``, ``judge_win_rate`` (+ ``_low`` / ``_high``).
    * ``sign_p``: the two-sided exact sign test of this variant's prompt wins against the
      first variant's (prompts either won are the ``sign_n`` decided ones); NA for the first.
    * ``median_diff_<m>`` for total_s, total_tokens and cost_usd: the median over prompts
      of (this variant − the first), with a percentile-bootstrap 95 % interval
      (``_low`` / ``_high``, ``n_boot`` resamples, ``seed``) and ``_n`` prompts.
    * Repeats: ``repeat_cv_<m>`` / ``repeat_iqr_<m>`` for total_s and total_tokens, the
      median over prompts with two or more measured repeats of the within-prompt
      coefficient of variation / interquartile range.
    * Cost: ``total_cost_usd`` (the priced turns' sum; NaN when none is priced) and
      ``unpriced`` (turns without a price).
    * The same in every row (the whole comparison): ``kappa`` (Cohen's, human vote vs
      judge per round, ``all_bad`` read as ``tie``: both say nobody won), ``kappa_n``,
      ``kappa_note`` (why it is NaN); ``left_win_rate`` (+ ``_low`` / ``_high``,
      ``left_wins``, ``left_decided``, ``left_expected``): how often the variant shown
      first won a vote, where display orders were recorded; ``judge_consistency``: the
      share of ``judge_checked`` rounds whose verdict survived swapping the answers;
      ``repeat_agreement`` / ``judge_repeat_agreement`` (+ ``_n``): the share of prompts
      with two or more verdicts whose repeats all got the same one.
    """
    df = with_prompt_keys(conform_results(results))
    kept = df[~df["gap"].astype(bool)]
    names = list(variants) if variants is not None else list(dict.fromkeys(kept["variant"]))
    if not names:
        return pd.DataFrame()
    votes = prompt_verdicts(df, "vote")
    judged = prompt_verdicts(df, "judge_winner")
    voted_rounds = int(round_table(df)["vote"].notna().sum())
    shared = _shared(df)
    spreads = {m: repeat_spread(df, m) for m in SPREAD_METRICS}
    rows = []
    for name in names:
        mine = kept[kept["variant"] == name]
        ok = mine[mine["error"].isna()]
        row: dict[str, Any] = {
            "variant": name,
            "rounds": len(mine),
            "errors": int(mine["error"].notna().sum()),
        }
        for col in METRICS:
            values = pd.to_numeric(ok[col], errors="coerce").dropna().astype("float64")
            row[f"median_{col}"] = float(values.median()) if len(values) else math.nan
        row.update(_tally(votes, name, count="voted", prefix=""))
        row["voted_rounds"] = voted_rounds
        row.update(_tally(judged, name, count="judged", prefix="judge_"))
        row.update(_against(df, votes, names[0], name, n_boot=n_boot, seed=seed))
        row.update(_spread(spreads, name))
        costs = pd.to_numeric(mine["cost_usd"], errors="coerce").astype("float64")
        row["total_cost_usd"] = float(costs.sum(min_count=1))
        row["unpriced"] = int(costs.isna().sum())
        row.update(shared)
        rows.append(row)
    out = pd.DataFrame(rows).set_index("variant")
    return out.astype({c: "Int64" for c in _COUNTS})


def _tally(verdicts: pd.Series, name: str, *, count: str, prefix: str) -> dict[str, Any]:
    """``count`` (verdicts), wins, ties, all_bad (human votes only), the win rate, Wilson."""
    n = len(verdicts)
    wins = int((verdicts == name).sum())
    lo, hi = wilson_interval(wins, n)
    out: dict[str, Any] = {
        count: n,
        f"{prefix}wins": wins,
        f"{prefix}ties": int((verdicts == "tie").sum()),
    }
    if not prefix:
        out["all_bad"] = int((verdicts == "all_bad").sum())
    rate = f"{prefix}win_rate"
    out.update({rate: wins / n if n else math.nan, f"{rate}_low": lo, f"{rate}_high": hi})
    return out


def _against(
    df: pd.DataFrame, votes: pd.Series, base: str, name: str, *, n_boot: int, seed: int
) -> dict[str, Any]:
    """The sign test and the paired differences of ``name`` against ``base``."""
    out: dict[str, Any] = {}
    if name == base:
        out.update(sign_p=math.nan, sign_n=None)
        for m in PAIRED_METRICS:
            out.update(_diff_columns(m, math.nan, math.nan, math.nan, None))
        return out
    wins, losses = int((votes == name).sum()), int((votes == base).sum())
    out.update(sign_p=sign_test(wins, losses), sign_n=wins + losses)
    for m in PAIRED_METRICS:
        iv = median_difference(
            paired_differences(df, m, base, name).tolist(), n_boot=n_boot, seed=seed
        )
        out.update(_diff_columns(m, iv.estimate, iv.low, iv.high, iv.n))
    return out


def _diff_columns(m: str, est: float, lo: float, hi: float, n: int | None) -> dict[str, Any]:
    key = f"median_diff_{m}"
    return {key: est, f"{key}_low": lo, f"{key}_high": hi, f"{key}_n": n}


def _spread(spreads: Mapping[str, pd.DataFrame], name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for m, table in spreads.items():
        mine = table[(table["variant"] == name) & (table["n"] >= 2)]
        out[f"repeat_cv_{m}"] = _median(mine["cv"])
        out[f"repeat_iqr_{m}"] = _median(mine["iqr"])
    return out


def _shared(df: pd.DataFrame) -> dict[str, Any]:
    """The statistics of the whole comparison (the same in every row)."""
    rounds = round_table(df)
    human = ["tie" if v == "all_bad" else v for v in _plain(rounds["vote"])]
    kappa = cohen_kappa(human, _plain(rounds["judge_winner"]))
    bias = position_bias(
        [parse_display_order(v) for v in rounds["display_order"]], _plain(rounds["vote"])
    )
    checked = rounds["judge_consistent"].dropna()
    agree, agree_n = unanimity(list(verdict_groups(df, "vote").values()))
    judge_agree, judge_agree_n = unanimity(list(verdict_groups(df, "judge_winner").values()))
    return {
        "kappa": kappa.kappa,
        "kappa_n": kappa.n,
        "kappa_note": kappa.note,
        "left_win_rate": bias.rate,
        "left_win_rate_low": bias.low,
        "left_win_rate_high": bias.high,
        "left_wins": bias.left_wins,
        "left_decided": bias.decided,
        "left_expected": bias.expected,
        "judge_consistency": float(checked.astype(bool).mean()) if len(checked) else math.nan,
        "judge_checked": len(checked),
        "repeat_agreement": agree,
        "repeat_agreement_n": agree_n,
        "judge_repeat_agreement": judge_agree,
        "judge_repeat_agreement_n": judge_agree_n,
    }


def _plain(values: pd.Series) -> list[Any]:
    """A column as Python values, None for NA."""
    return [None if pd.isna(v) else v for v in values]


def _median(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.median()) if len(values) else math.nan
