"""The statistics of an evaluation, on plain numbers and sequences (no frames).

Each function says what it computes and what it returns at the edges (no data, one
category, one value); none raises on degenerate input that real data produces.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Z95",
    "Interval",
    "Kappa",
    "PositionBias",
    "cohen_kappa",
    "median_difference",
    "plurality",
    "position_bias",
    "sign_test",
    "unanimity",
    "wilson_interval",
]

Z95 = 1.959963984540054
"""The two-sided 95 % normal quantile."""


def wilson_interval(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``wins`` successes in ``n`` trials (NaNs when n == 0).

    It stays inside [0, 1] and behaves at 0 or n wins (the bound there is exactly 0 or 1),
    unlike the normal approximation. ``ValueError`` when ``wins`` is not in [0, n].
    """
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


def sign_test(wins_b: int, wins_a: int) -> float:
    """Two-sided exact sign test of B against A: the p-value of ``wins_b`` vs ``wins_a``.

    Counts are decided comparisons only (ties and rounds won by neither are left out by
    the caller). Under H0 each decided comparison is a fair coin, so with ``n = a + b``
    and ``k = min(a, b)`` the p-value is ``min(1, 2 · P(X ≤ k))`` for X ~ Binomial(n, ½),
    computed exactly. ``n == 0`` → NaN (nothing decided); ``a == b`` → 1.0.
    """
    if wins_a < 0 or wins_b < 0:
        raise ValueError(f"win counts cannot be negative ({wins_b}, {wins_a})")
    n = wins_a + wins_b
    if n == 0:
        return math.nan
    k = min(wins_a, wins_b)
    tail = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval and the number of values behind it."""

    estimate: float
    low: float
    high: float
    n: int


def median_difference(
    diffs: Sequence[float],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Interval:
    """The median of paired differences with a percentile-bootstrap interval.

    ``diffs`` are one value per prompt (e.g. B − A of a metric; NaNs are dropped). The
    interval is the percentile bootstrap: ``n_boot`` resamples of the differences with
    replacement, the median of each, and their ``(1 − confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles (numpy's linear interpolation). ``seed`` fixes
    the resampling, so the same data always gives the same interval. No values → all
    NaN; one value → that value with a NaN interval (one value cannot be resampled into
    a spread). With a handful of values the interval is coarse (it can only take values
    between data points), and it is not corrected for bias or skew.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    values = np.asarray([float(d) for d in diffs], dtype="float64")
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    estimate = float(np.median(values))
    if n == 1:
        return Interval(estimate, math.nan, math.nan, 1)
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, n, size=(n_boot, n))], axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(medians, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), n)


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters, the agreement behind it, and why it may be NaN."""

    kappa: float
    n: int
    observed: float
    """The share of items both raters put in the same category."""
    expected: float
    """The agreement expected by chance from each rater's category frequencies."""
    note: str | None = None


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> Kappa:
    """Cohen's kappa between two raters' categorical verdicts on the same items.

    ``a[i]`` and ``b[i]`` are the two verdicts on item i; items where either is missing
    (None / NA) are left out. ``kappa = (p_o − p_e) / (1 − p_e)`` with ``p_o`` the
    observed agreement and ``p_e = Σ_k p_a(k) · p_b(k)``. Edge cases return NaN with a
    ``note``: no item rated by both; both raters gave every item one and the same
    category (``p_e == 1``: agreement is perfect but chance explains all of it, so kappa
    is undefined). Two raters each using one category, but different ones, give 0.
    """
    if len(a) != len(b):
        raise ValueError(f"the raters rated {len(a)} and {len(b)} items")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not _missing(x) and not _missing(y)]
    n = len(pairs)
    if n == 0:
        return Kappa(math.nan, 0, math.nan, math.nan, "no item has a verdict from both raters")
    count_a = Counter(x for x, _ in pairs)
    count_b = Counter(y for _, y in pairs)
    observed = sum(x == y for x, y in pairs) / n
    expected = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
    if len(count_a) == 1 and count_a.keys() == count_b.keys():
        (only,) = count_a
        note = f"both raters said {only!r} on all {n} items: kappa is undefined"
        return Kappa(math.nan, n, observed, expected, note)
    return Kappa((observed - expected) / (1 - expected), n, observed, expected)


@dataclass(frozen=True)
class PositionBias:
    """How often the variant shown first (the left column) won."""

    left_wins: int
    decided: int
    rate: float
    low: float
    high: float
    expected: float
    """The rate with no position bias: the mean over decided rounds of 1 / variants shown."""


def position_bias(
    orders: Sequence[Sequence[str] | None], winners: Sequence[str | None]
) -> PositionBias:
    """The share of decided rounds won by the variant shown at position 0 (Wilson 95 %).

    ``orders[i]`` lists round i's variant labels in the order shown (``None``: not
    recorded); ``winners[i]`` is its verdict. A round counts when its order is known and
    its verdict names one of the variants shown (ties, all-bad and missing verdicts are
    left out). With no bias the rate is ``expected`` (½ for two variants). No such round
    → NaN rate and interval.
    """
    if len(orders) != len(winners):
        raise ValueError(f"{len(orders)} display orders for {len(winners)} verdicts")
    decided = [
        (list(order), w)
        for order, w in zip(orders, winners, strict=True)
        if order and not _missing(w) and w in order
    ]
    n = len(decided)
    left = sum(order[0] == w for order, w in decided)
    low, high = wilson_interval(left, n)
    expected = sum(1 / len(order) for order, _ in decided) / n if n else math.nan
    return PositionBias(left, n, left / n if n else math.nan, low, high, expected)


def plurality(verdicts: Sequence[Any]) -> Any:
    """The verdict given most often (missing ones ignored); ``"tie"`` when several tie.

    For one prompt's repeats: ``[A, A, B]`` → ``A``; ``[A, B]`` → ``"tie"``;
    ``[A, "tie"]`` → ``"tie"``; ``["all_bad", "all_bad", A]`` → ``"all_bad"``. No verdict
    → ``None``.
    """
    counts = Counter(v for v in verdicts if not _missing(v))
    if not counts:
        return None
    top = max(counts.values())
    best = [v for v, c in counts.items() if c == top]
    return best[0] if len(best) == 1 else "tie"


def unanimity(groups: Sequence[Sequence[Any]]) -> tuple[float, int]:
    """(share, n): of the groups with at least two verdicts, the share where all agree.

    For repeats: each group is one prompt's verdicts over its repeats (missing ones
    ignored). A group with fewer than two verdicts has nothing to agree on and is left
    out; ``n`` counts the groups that remain. No such group → ``(NaN, 0)``.
    """
    kept = [[v for v in g if not _missing(v)] for g in groups]
    kept = [g for g in kept if len(g) >= 2]
    if not kept:
        return (math.nan, 0)
    same = sum(len(set(g)) == 1 for g in kept)
    return (same / len(kept), len(kept))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)
