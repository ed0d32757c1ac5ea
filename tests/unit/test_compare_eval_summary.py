"""The results frame regrouped (rounds, prompts over repeats) and the extended summary."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from letta_widgets.compare_stats import (
    RESULT_COLUMNS,
    RESULT_DTYPES,
    conform_results,
    display_order_text,
    paired_differences,
    parse_display_order,
    prompt_verdicts,
    repeat_spread,
    results_frame,
    round_table,
    sign_test,
    summarize,
    wilson_interval,
)

NEW = ["judge_winner", "judge_rationale", "judge_consistent", "display_order", "cost_usd"]


def _frame(rounds: list[dict[str, Any]], labels: str = "AB") -> pd.DataFrame:
    """Rows of every variant for each round spec; per-variant values as ``{label: value}``."""
    rows = []
    for i, spec in enumerate(rounds):
        for j, label in enumerate(labels):
            row = {"prompt_id": f"p{i}", "round": i, "variant": label, "repeat": 0}
            for key, value in spec.items():
                row[key] = value.get(label) if isinstance(value, dict) else value
            row.setdefault("total_s", 1.0 + j)
            rows.append(row)
    return results_frame(rows)


# six rounds: prompt x three times, y once, z twice
EVAL = [
    {"prompt": "x", "repeat": 0, "vote": "A", "judge_winner": "A", "display_order": "A,B"},
    {"prompt": "x", "repeat": 1, "vote": "A", "judge_winner": "B", "display_order": "B,A"},
    {"prompt": "x", "repeat": 2, "vote": "B", "judge_winner": "B", "display_order": "A,B"},
    {"prompt": "y", "repeat": 0, "vote": "B", "judge_winner": "B", "display_order": "B,A"},
    {"prompt": "z", "repeat": 0, "vote": "tie", "judge_winner": "A", "display_order": "A,B"},
    {"prompt": "z", "repeat": 1, "vote": "A", "judge_winner": "A", "display_order": "B,A"},
]


def test_schema_has_the_evaluation_columns() -> None:
    assert {c: RESULT_DTYPES[c] for c in NEW} == {
        "judge_winner": "string",
        "judge_rationale": "string",
        "judge_consistent": "boolean",
        "display_order": "string",
        "cost_usd": "float64",
    }
    df = results_frame([{"prompt_id": "p0", "variant": "A", "judge_consistent": True}, {}])
    assert df["judge_consistent"].tolist()[0] is True and pd.isna(df["judge_consistent"][1])
    assert math.isnan(df.loc[1, "cost_usd"])


def test_conform_results_fills_an_old_frame() -> None:
    old = _frame(EVAL[:2]).drop(columns=[*NEW, "repeat"])
    old["extra"] = 1
    got = conform_results(old)
    assert list(got.columns) == [*RESULT_COLUMNS, "extra"]
    assert got["repeat"].tolist() == [0] * 4 and got["cost_usd"].isna().all()
    assert str(got["judge_consistent"].dtype) == "boolean" and got["judge_winner"].isna().all()
    full = _frame(EVAL[:1])
    assert conform_results(full) is full


def test_display_order_cells() -> None:
    assert display_order_text(["B", "A"]) == "B,A"
    assert parse_display_order("B, A") == ["B", "A"]
    assert parse_display_order(pd.NA) is None and parse_display_order("") is None
    with pytest.raises(ValueError, match="comma"):
        display_order_text(["A,1", "B"])


def test_prompts_group_repeats_that_follow_their_first_round() -> None:
    specs = [
        {"prompt": "x", "repeat": 0},
        {"prompt": "x", "repeat": 1},
        {"prompt": "y", "repeat": 0},
        {"prompt": "x", "repeat": 0},  # sent again: a new prompt
        {"prompt": "x", "repeat": 1},  # a repeat of the latest x
        {"prompt": "z", "repeat": 1},  # no earlier z: a prompt of its own
    ]
    rounds = round_table(_frame(specs))
    assert rounds["prompt_key"].tolist() == ["p0", "p0", "p2", "p3", "p3", "p5"]


def test_prompt_verdicts_take_the_plurality_of_repeats() -> None:
    df = _frame(EVAL)
    assert prompt_verdicts(df).to_dict() == {"p0": "A", "p3": "B", "p4": "tie"}
    assert prompt_verdicts(df, "judge_winner").to_dict() == {"p0": "B", "p3": "B", "p4": "A"}
    assert prompt_verdicts(_frame([{"prompt": "q"}])).empty


def test_paired_differences_use_each_sides_median_over_repeats() -> None:
    specs = [
        {"prompt": "x", "repeat": 0, "total_s": {"A": 1.0, "B": 5.0}},
        {"prompt": "x", "repeat": 1, "total_s": {"A": 3.0, "B": 6.0}},
        {"prompt": "x", "repeat": 2, "total_s": {"A": 2.0, "B": 100.0}, "error": {"B": "boom"}},
        {"prompt": "y", "repeat": 0, "total_s": {"A": 4.0, "B": 3.0}},
        {"prompt": "w", "repeat": 0, "total_s": {"A": 4.0, "B": None}},  # B measured nothing
    ]
    diffs = paired_differences(_frame(specs), "total_s", "A", "B")
    # x: median(5, 6) − median(1, 3, 2) = 5.5 − 2; y: 3 − 4
    assert diffs.to_dict() == {"p0": 3.5, "p3": -1.0}
    assert paired_differences(_frame(specs), "total_s", "A", "Z").empty


def test_repeat_spread_by_hand() -> None:
    specs = [{"prompt": "x", "repeat": r, "total_s": {"A": v, "B": 2.0}} for r, v in
             enumerate([1.0, 2.0, 4.0])]  # fmt: skip
    spread = repeat_spread(_frame(specs), "total_s").set_index("variant")
    a = spread.loc["A"]
    assert (a["n"], a["median"], a["min"], a["max"]) == (3, 2.0, 1.0, 4.0)
    assert (a["q1"], a["q3"], a["iqr"]) == (1.5, 3.0, 1.5)  # linear quantiles of 1, 2, 4
    # sd (ddof 1) = sqrt(7/3), mean 7/3 -> cv = sqrt(3/7)
    assert a["cv"] == pytest.approx(math.sqrt(3 / 7))
    assert spread.loc["B", "cv"] == 0.0
    single = repeat_spread(_frame([{"prompt": "y", "total_s": {"A": 0.0, "B": 0.0}}]), "total_s")
    assert single["cv"].isna().all() and (single["iqr"] == 0).all()


def test_summary_of_an_evaluation_by_hand() -> None:
    df = _frame(
        [
            spec
            | {
                "total_tokens": {"A": 100 + 10 * i, "B": 105 + 10 * i},
                "cost_usd": {"A": 0.001, "B": 0.002 if i else None},
                "judge_consistent": i % 2 == 0,
            }
            for i, spec in enumerate(EVAL)
        ]
    )
    s = summarize(df)
    # prompts: x -> A (A, A, B), y -> B, z -> tie (tie, A): each counts once
    assert (s.loc["A", "voted"], s.loc["A", "voted_rounds"]) == (3, 6)
    assert (s.loc["A", "wins"], s.loc["B", "wins"], s.loc["A", "ties"]) == (1, 1, 1)
    assert s.loc["A", "win_rate"] == pytest.approx(1 / 3)
    assert (s.loc["A", "win_rate_low"], s.loc["A", "win_rate_high"]) == pytest.approx(
        wilson_interval(1, 3)
    )
    # the judge: x -> B (A, B, B), y -> B, z -> A
    assert (s.loc["A", "judged"], s.loc["A", "judge_wins"], s.loc["B", "judge_wins"]) == (3, 1, 2)
    assert s.loc["B", "judge_win_rate"] == pytest.approx(2 / 3)
    # sign test of B's prompt wins against A's: 1 vs 1
    assert pd.isna(s.loc["A", "sign_p"]) and pd.isna(s.loc["A", "sign_n"])
    assert (s.loc["B", "sign_p"], s.loc["B", "sign_n"]) == (1.0, 2)
    # kappa per round, all_bad/tie as "nobody won": human A A B B tie A, judge A B B B A A;
    # p_o = 4/6, p_e = (3·3 + 2·3 + 1·0) / 36 = 15/36 -> kappa = 9/21
    assert s.loc["A", "kappa"] == pytest.approx(9 / 21) and s.loc["A", "kappa_n"] == 6
    # left column won r0 (A at 0), r3 (B at 0); lost r1, r2, r5; r4 a tie
    assert (s.loc["A", "left_wins"], s.loc["A", "left_decided"]) == (2, 5)
    assert s.loc["B", "left_win_rate"] == pytest.approx(0.4) and s.loc["A", "left_expected"] == 0.5
    assert (s.loc["A", "judge_consistency"], s.loc["A", "judge_checked"]) == (0.5, 6)
    # repeats: x (A, A, B) and z (tie, A) disagree; the judge's z (A, A) agrees
    assert (s.loc["A", "repeat_agreement"], s.loc["A", "repeat_agreement_n"]) == (0.0, 2)
    assert s.loc["A", "judge_repeat_agreement"] == 0.5
    # paired differences vs A: B is 1 s and 5 tokens more on every prompt
    assert (s.loc["B", "median_diff_total_s"], s.loc["B", "median_diff_total_s_n"]) == (1.0, 3)
    assert s.loc["B", "median_diff_total_s_low"] == s.loc["B", "median_diff_total_s_high"] == 1.0
    assert s.loc["B", "median_diff_total_tokens"] == 5.0
    assert pd.isna(s.loc["A", "median_diff_total_s_n"])
    # cost: B's first round is unpriced, so x pairs on B's repeats 1-2 only
    assert s.loc["A", "total_cost_usd"] == pytest.approx(0.006) and s.loc["A", "unpriced"] == 0
    assert s.loc["B", "total_cost_usd"] == pytest.approx(0.010) and s.loc["B", "unpriced"] == 1
    assert s.loc["B", "median_diff_cost_usd"] == pytest.approx(0.001)
    # spread over repeats: A's total_s is 1.0 every time
    assert s.loc["A", "repeat_cv_total_s"] == 0.0 and s.loc["A", "repeat_iqr_total_s"] == 0.0
    # x: tokens 100, 110, 120 -> cv 10/110; z: 140, 150 -> cv sqrt(50)/145
    assert s.loc["A", "repeat_cv_total_tokens"] == pytest.approx(
        (10 / 110 + math.sqrt(50) / 145) / 2
    )


def test_summary_sign_test_over_decided_prompts() -> None:
    votes = ["B"] * 8 + ["A"] * 2 + ["tie", "all_bad"]
    s = summarize(_frame([{"prompt": f"q{i}", "vote": v} for i, v in enumerate(votes)]))
    assert s.loc["B", "sign_n"] == 10
    assert s.loc["B", "sign_p"] == pytest.approx(sign_test(8, 2)) == pytest.approx(0.109375)
    assert s.loc["B", "all_bad"] == 1 and s.loc["B", "voted"] == 12


def test_summary_three_variants_compare_with_the_first() -> None:
    specs = [{"prompt": f"q{i}", "vote": "C", "total_s": {"A": 1.0, "B": 2.0, "C": 4.0}}
             for i in range(3)]  # fmt: skip
    s = summarize(_frame(specs, "ABC"), ["A", "B", "C"])
    assert s.loc["C", "median_diff_total_s"] == 3.0 and s.loc["B", "median_diff_total_s"] == 1.0
    assert s.loc["C", "sign_p"] == pytest.approx(0.25) and s.loc["B", "sign_n"] == 0
    assert math.isnan(s.loc["B", "sign_p"])


def test_an_old_results_file_still_summarizes() -> None:
    old = _frame(EVAL).drop(columns=NEW)
    s = summarize(old)
    assert (s.loc["A", "voted"], s.loc["A", "wins"]) == (3, 1)
    assert s.loc["A", "judged"] == 0 and math.isnan(s.loc["A", "judge_win_rate"])
    assert math.isnan(s.loc["A", "kappa"]) and "both raters" in s.loc["A", "kappa_note"]
    assert s.loc["A", "left_decided"] == 0 and math.isnan(s.loc["A", "left_win_rate"])
    assert math.isnan(s.loc["A", "total_cost_usd"]) and s.loc["A", "unpriced"] == 6
    assert math.isnan(s.loc["A", "judge_consistency"])
    assert summarize(old.iloc[0:0]).empty
