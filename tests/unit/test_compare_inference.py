"""The evaluation statistics on plain numbers, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from letta_widgets.compare_stats import (
    cohen_kappa,
    median_difference,
    plurality,
    position_bias,
    sign_test,
    unanimity,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("b", "a", "p"),
    [
        # 2 · Σ_{i ≤ min} C(n, i) / 2^n, summed by hand
        (8, 2, 2 * (1 + 10 + 45) / 2**10),  # 0.109375
        (2, 8, 0.109375),
        (10, 0, 2 / 2**10),  # 0.001953125
        (9, 1, 2 * (1 + 10) / 2**10),  # 0.021484375
        (6, 1, 2 * (1 + 7) / 2**7),  # 0.125
        (15, 5, 2 * (1 + 20 + 190 + 1140 + 4845 + 15504) / 2**20),  # 0.0413894653…
        (5, 5, 1.0),
        (1, 0, 1.0),  # 2 · ½ = 1
        (3, 4, 1.0),  # 2 · P(X ≤ 3) > 1 is capped
    ],
)
def test_sign_test_hand_values(b: int, a: int, p: float) -> None:
    assert sign_test(b, a) == pytest.approx(p, rel=1e-12)


def test_sign_test_edges() -> None:
    assert math.isnan(sign_test(0, 0))
    with pytest.raises(ValueError):
        sign_test(-1, 3)
    # exact with big counts (no float overflow of 2^n)
    assert 0 < sign_test(700, 500) < 1e-6


def test_cohen_kappa_textbook_table() -> None:
    # 50 items: both A 20, A/B 5, B/A 10, both B 15 -> p_o 0.7, p_e 0.5·0.6 + 0.5·0.4 = 0.5
    a = ["A"] * 20 + ["A"] * 5 + ["B"] * 10 + ["B"] * 15
    b = ["A"] * 20 + ["B"] * 5 + ["A"] * 10 + ["B"] * 15
    k = cohen_kappa(a, b)
    assert (k.n, k.observed, k.expected) == (50, pytest.approx(0.7), pytest.approx(0.5))
    assert k.kappa == pytest.approx(0.4) and k.note is None


def test_cohen_kappa_three_categories_and_missing() -> None:
    # pairs kept: (A,A) (B,B) (tie,A) (A,B); p_o = 2/4; p_a = A 2/4, B 1/4, tie 1/4;
    # p_b = A 2/4, B 2/4 -> p_e = (2·2 + 1·2) / 16 = 6/16; kappa = (8/16 − 6/16) / (10/16)
    k = cohen_kappa(["A", "B", "tie", "A", None, "B"], ["A", "B", "A", "B", "A", None])
    assert k.n == 4 and k.kappa == pytest.approx(0.2)
    assert cohen_kappa(["A", "B"], ["A", "B"]).kappa == 1.0


def test_cohen_kappa_degenerate_cases_are_nan_with_a_reason() -> None:
    same = cohen_kappa(["A"] * 5, ["A"] * 5)
    assert math.isnan(same.kappa) and same.observed == 1.0 and same.expected == 1.0
    assert "undefined" in (same.note or "") and "'A'" in (same.note or "")
    none = cohen_kappa([None, "A"], ["B", None])
    assert math.isnan(none.kappa) and none.n == 0 and "both raters" in (none.note or "")
    # one category each, different ones: p_o = p_e = 0, kappa 0 (defined)
    assert cohen_kappa(["A"] * 3, ["B"] * 3).kappa == 0.0
    with pytest.raises(ValueError):
        cohen_kappa(["A"], [])


def test_median_difference_hand_values() -> None:
    # [1, 2, 10]: P(resampled median = 1) = P(median = 10) = 7/27 > 2.5 %
    got = median_difference([1.0, 2.0, 10.0])
    assert (got.estimate, got.low, got.high, got.n) == (2.0, 1.0, 10.0, 3)
    # [0, 1]: resampled medians 0, ½, 1 with P ¼, ½, ¼
    two = median_difference([0.0, 1.0])
    assert (two.estimate, two.low, two.high) == (0.5, 0.0, 1.0)
    const = median_difference([3.0, 3.0, 3.0, float("nan")])
    assert (const.estimate, const.low, const.high, const.n) == (3.0, 3.0, 3.0, 3)


def test_median_difference_edges_and_seed() -> None:
    empty = median_difference([])
    assert empty.n == 0 and all(math.isnan(x) for x in (empty.estimate, empty.low, empty.high))
    one = median_difference([5.0])
    assert one.estimate == 5.0 and math.isnan(one.low) and math.isnan(one.high)
    values = [0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 3.3, 0.0, 0.9, 1.8]
    assert median_difference(values) == median_difference(values)  # deterministic by default
    assert median_difference(values, seed=7) == median_difference(values, seed=7)
    got = median_difference(values)
    assert got.low <= got.estimate <= got.high
    wide = median_difference(values, confidence=0.99)
    assert wide.low <= got.low and wide.high >= got.high
    with pytest.raises(ValueError):
        median_difference(values, confidence=95)


def test_position_bias_counts_decided_rounds_with_an_order() -> None:
    orders = [["A", "B"], ["B", "A"], ["A", "B"], ["B", "A"], None, ["A", "B", "C"]]
    winners = ["A", "A", "tie", "B", "A", "C"]
    # decided with an order: r0 A (left ✓), r1 A (left B ✗), r3 B (✓), r5 C (left A ✗)
    got = position_bias(orders, winners)
    assert (got.left_wins, got.decided) == (2, 4) and got.rate == 0.5
    assert (got.low, got.high) == pytest.approx(wilson_interval(2, 4))
    assert got.expected == pytest.approx((1 / 2 + 1 / 2 + 1 / 2 + 1 / 3) / 4)
    # a winner that was not shown is not decided; nothing decided -> NaN
    nothing = position_bias([["A", "B"]], ["Z"])
    assert nothing.decided == 0 and math.isnan(nothing.rate) and math.isnan(nothing.expected)
    with pytest.raises(ValueError):
        position_bias([["A", "B"]], [])


@pytest.mark.parametrize(
    ("votes", "verdict"),
    [
        (["A", "A", "B"], "A"),
        (["A", "B"], "tie"),
        (["A", "tie"], "tie"),
        (["A", "A", "tie"], "A"),
        (["all_bad", "all_bad", "A"], "all_bad"),
        (["A", "B", "C"], "tie"),
        (["B", None, float("nan")], "B"),
        ([None], None),
        ([], None),
    ],
)
def test_plurality(votes: list, verdict: str | None) -> None:
    assert plurality(votes) == verdict


def test_unanimity() -> None:
    groups = [["A", "A"], ["A", "B"], ["A"], [None, "B", "B"], []]
    assert unanimity(groups) == (pytest.approx(2 / 3), 3)
    share, n = unanimity([["A"], []])
    assert math.isnan(share) and n == 0
