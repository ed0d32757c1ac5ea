"""CompareView's pure parts: Wilson interval, summary math, word diff, alignment, schema."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd
import pytest

from letta_widgets.compare_stats import (
    RESULT_COLUMNS,
    RESULT_DTYPES,
    align_turns,
    default_labels,
    diff_similarity,
    results_frame,
    summarize,
    wilson_interval,
    word_diff,
)
from letta_widgets.widgets.compare import CompareView, Variant


@pytest.mark.parametrize(
    ("wins", "n", "lo", "hi"),
    [
        # reference values: the roots p of (k/n - p)^2 = z^2 p (1 - p) / n (the score test
        # Wilson inverts), found by bisection independently of the closed form; see below
        (5, 10, 0.236593, 0.763407),
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (1, 1, 0.206549, 1.0),
        (7, 20, 0.181192, 0.567146),
        (81, 263, 0.255289, 0.366210),
    ],
)
def test_wilson_interval_reference_values(wins: int, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(wins, n)
    assert got[0] == pytest.approx(lo, abs=1e-6)
    assert got[1] == pytest.approx(hi, abs=1e-6)


@pytest.mark.parametrize(("wins", "n"), [(3, 7), (12, 40), (1, 3), (199, 200)])
def test_wilson_bounds_are_the_score_test_roots(wins: int, n: int) -> None:
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.975)
    p_hat = wins / n

    def score(p: float) -> float:
        return (p_hat - p) ** 2 - z * z * p * (1 - p) / n

    def bisect(lo: float, hi: float) -> float:
        for _ in range(100):
            mid = (lo + hi) / 2
            if (score(lo) > 0) == (score(mid) > 0):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    assert wilson_interval(wins, n) == pytest.approx(
        (bisect(0.0, p_hat), bisect(p_hat, 1.0)), abs=1e-9
    )


def test_wilson_interval_edges() -> None:
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    for n in (1, 3, 7, 10, 33, 1000):
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    lo, hi = wilson_interval(50, 100)
    assert lo < 0.5 < hi and hi - 0.5 == pytest.approx(0.5 - lo)
    # narrower with more data
    assert wilson_interval(500, 1000)[1] - wilson_interval(500, 1000)[0] < hi - lo


def _rows(specs: list[tuple[str, str, float, str | None, str | None]]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for i, (prompt_id, variant, total, error, vote) in enumerate(specs):
        rows.append(
            {
                "prompt_id": prompt_id,
                "round": int(prompt_id[1:]),
                "prompt": f"prompt {prompt_id}",
                "variant": variant,
                "total_s": total,
                "ttft_s": total / 2,
                "prompt_tokens": 100 + i,
                "completion_tokens": 10,
                "total_tokens": 110 + i,
                "steps": 1,
                "tool_calls": 0,
                "error": error,
                "vote": vote,
            }
        )
    return results_frame(rows)


def test_summary_medians_and_win_rates() -> None:
    df = _rows(
        [
            ("p0", "A", 1.0, None, "A"),
            ("p0", "B", 2.0, None, "A"),
            ("p1", "A", 3.0, None, "B"),
            ("p1", "B", 4.0, None, "B"),
            ("p2", "A", 5.0, None, "A"),
            ("p2", "B", 99.0, "boom", "A"),
            ("p3", "A", 7.0, None, "tie"),
            ("p3", "B", 8.0, None, "tie"),
            ("p4", "A", 9.0, None, None),  # not voted: not in the win rate
            ("p4", "B", 10.0, None, None),
        ]
    )
    s = summarize(df, ["A", "B"])
    assert s.loc["A", "rounds"] == 5 and s.loc["B", "rounds"] == 5
    assert s.loc["A", "errors"] == 0 and s.loc["B", "errors"] == 1
    assert s.loc["A", "median_total_s"] == 5.0
    assert s.loc["B", "median_total_s"] == 6.0  # 2, 4, 8, 10: the failed 99 is left out
    assert s.loc["A", "median_ttft_s"] == 2.5
    assert s.loc["A", "voted"] == 4
    assert (s.loc["A", "wins"], s.loc["B", "wins"]) == (2, 1)
    assert s.loc["A", "ties"] == 1 and s.loc["A", "all_bad"] == 0
    assert s.loc["A", "win_rate"] == 0.5 and s.loc["B", "win_rate"] == 0.25
    assert (s.loc["A", "win_rate_low"], s.loc["A", "win_rate_high"]) == pytest.approx(
        wilson_interval(2, 4)
    )
    assert (s.loc["B", "win_rate_low"], s.loc["B", "win_rate_high"]) == pytest.approx(
        wilson_interval(1, 4)
    )


def test_summary_without_votes_and_with_gaps() -> None:
    df = _rows([("p0", "A", 1.0, None, None), ("p0", "B", 2.0, None, None)])
    s = summarize(df)
    assert s.loc["A", "voted"] == 0 and math.isnan(s.loc["A", "win_rate"])
    gap = df.copy()
    gap.loc[1, "gap"] = True
    assert summarize(gap, ["A", "B"]).loc["B", "rounds"] == 0


def test_results_frame_schema() -> None:
    df = results_frame([{"prompt_id": "p0", "variant": "A", "ttft_s": None, "steps": 2}])
    assert list(df.columns) == RESULT_COLUMNS
    assert {c: str(df[c].dtype) for c in df.columns} == {
        c: str(pd.Series([], dtype=t).dtype) for c, t in RESULT_DTYPES.items()
    }
    assert math.isnan(df.loc[0, "ttft_s"]) and df.loc[0, "steps"] == 2
    assert pd.isna(df.loc[0, "error"]) and not df.loc[0, "gap"]
    empty = results_frame([])
    assert list(empty.columns) == RESULT_COLUMNS and len(empty) == 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the cat sat on the mat", "the cat sat on a mat"),
        ("", "all new words"),
        ("all gone", ""),
        ("Same.", "Same."),
        ("line one\n\nline  two", "line one\nline two and more"),
        ("<script>alert(1)</script> hi", "hi <img src=x onerror=alert(1)>"),
    ],
)
def test_word_diff_reconstructs_both_sides(a: str, b: str) -> None:
    ops = word_diff(a, b)
    assert "".join(t for op, t in ops if op in "=-") == a
    assert "".join(t for op, t in ops if op in "=+") == b
    assert all(op in ("=", "-", "+") for op, _ in ops)
    # runs are merged: no two neighbours with the same op
    assert all(x[0] != y[0] for x, y in itertools.pairwise(ops))


def test_word_diff_marks_changed_words() -> None:
    ops = word_diff("the cat sat on the mat", "the cat sat on a mat")
    assert ["-", "the"] in ops and ["+", "a"] in ops
    assert diff_similarity(ops) == pytest.approx(2 * 5 / 12)
    assert diff_similarity(word_diff("x y", "x y")) == 1.0
    assert diff_similarity(word_diff("", "")) == 1.0


def test_word_diff_limit_keeps_long_texts_linear() -> None:
    a = " ".join(f"w{i}" for i in range(50_000))
    b = a.replace("w49999", "end")
    ops = word_diff(a, b, limit=1000)
    assert "".join(t for op, t in ops if op in "=-") == a
    assert "".join(t for op, t in ops if op in "=+") == b


def _frame(conv: str, turns: list[tuple[str, str | None]]) -> pd.DataFrame:
    rows = []
    seq = 0
    t0 = pd.Timestamp("2026-01-01T00:00:00Z")
    rows.append(
        {"conversation_id": conv, "seq": seq, "message_type": "system_message", "text": "sys"}
    )
    for n, (prompt, answer) in enumerate(turns):
        run = f"run-{conv}-{n}"
        seq += 1
        rows.append(
            {
                "conversation_id": conv,
                "seq": seq,
                "id": f"m{seq}",
                "message_type": "user_message",
                "text": prompt,
                "run_id": run,
                "date": t0 + pd.Timedelta(seconds=10 * n),
            }
        )
        if answer is None:
            continue
        seq += 1
        rows.append(
            {
                "conversation_id": conv,
                "seq": seq,
                "id": f"m{seq}",
                "message_type": "reasoning_message",
                "text": "thinking",
                "run_id": run,
                "step_id": f"s{seq}",
                "date": t0 + pd.Timedelta(seconds=10 * n + 1),
            }
        )
        seq += 1
        rows.append(
            {
                "conversation_id": conv,
                "seq": seq,
                "id": f"m{seq}",
                "message_type": "assistant_message",
                "text": answer,
                "run_id": run,
                "step_id": f"s{seq - 1}",
                "date": t0 + pd.Timedelta(seconds=10 * n + 3),
            }
        )
    return pd.DataFrame(rows)


def test_align_turns_matches_prompts_and_shows_gaps() -> None:
    a = _frame("conv-a", [("hi", "Hello!"), ("What's my name?", "Ada"), ("bye", "Bye")])
    b = _frame("conv-b", [("Hi ", "Hey"), ("tell a joke", "..."), ("bye", "Ciao")])
    df = align_turns([a, b])
    assert list(df.columns) == RESULT_COLUMNS
    prompts = df.drop_duplicates("prompt_id")["prompt"].tolist()
    assert prompts == ["hi", "What's my name?", "tell a joke", "bye"]
    got = df.set_index(["prompt_id", "variant"])
    assert got.loc[("h0000", "B"), "text"] == "Hey"  # "Hi " matches "hi"
    assert got.loc[("h0001", "B"), "gap"] and pd.isna(got.loc[("h0001", "B"), "text"])
    assert got.loc[("h0002", "A"), "gap"]
    assert got.loc[("h0003", "A"), "text"] == "Bye" and got.loc[("h0003", "B"), "text"] == "Ciao"
    row = got.loc[("h0001", "A")]
    assert row["ttft_s"] == 1.0 and row["total_s"] == 3.0 and row["steps"] == 1
    assert row["run_id"] == "run-conv-a-1" and row["conversation_id"] == "conv-a"
    # labels from a dict; three conversations; repeated prompts pair up in order
    c = _frame("conv-c", [("bye", "x"), ("bye", "y")])
    df3 = align_turns({"one": a, "two": b, "three": c})
    assert df3["variant"].unique().tolist() == ["one", "two", "three"]
    byes = df3[(df3["prompt"] == "bye") & (df3["variant"] == "three")]
    assert byes["text"].tolist() == ["x", "y"]


def test_align_turns_unanswered_turn_and_label_errors() -> None:
    a = _frame("conv-a", [("hi", None)])
    df = align_turns([a])
    assert df.loc[0, "prompt"] == "hi" and pd.isna(df.loc[0, "text"])
    with pytest.raises(ValueError):
        align_turns([a], labels=["A", "B"])


def test_default_labels() -> None:
    assert default_labels(3) == ["A", "B", "C"]
    assert default_labels(28)[25:] == ["Z", "AA", "AB"]


def test_variant_coercion_and_strict_kwargs() -> None:
    assert Variant.coerce("conv-1").kind == "conversation"
    assert Variant.coerce({"fork_of": "conv-1", "model": "m"}).kind == "fork"
    assert Variant.coerce({"agent_id": "agent-1"}).kind == "new"
    with pytest.raises(TypeError, match="unknown variant field"):
        Variant.coerce({"conversation": "conv-1"})
    with pytest.raises(TypeError):
        Variant.coerce(42)
    with pytest.raises(TypeError, match="unexpected keyword"):
        CompareView(object(), ["conv-1"], hieght="10px")  # type: ignore[arg-type]
