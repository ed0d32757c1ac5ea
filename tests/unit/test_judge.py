"""Pairwise judging: verdicts parsed, both orders asked, position effects flagged."""

from __future__ import annotations

import asyncio

import pytest

from letta_widgets.judge import JudgeError, judge_round, parse_verdict

ANSWERS = [("A", "short"), ("B", "a much longer answer")]


def test_verdicts_from_mappings_and_text() -> None:
    assert parse_verdict({"winner": "a", "rationale": "why"}).winner == "A"
    v = parse_verdict("Thinking…\nWINNER: tie\nRATIONALE: both fine")
    assert (v.winner, v.rationale) == ("tie", "both fine")
    assert parse_verdict("**Winner:** B").winner == "B"
    for bad in ("I like both", {"winner": "C"}, None):
        with pytest.raises(JudgeError, match="names no winner"):
            parse_verdict(bad)


def test_a_consistent_judge_names_the_winner() -> None:
    def longer(prompt: str, a: str, b: str) -> dict[str, str]:
        return {"winner": "A" if len(a) > len(b) else "B", "rationale": "longer"}

    v = asyncio.run(judge_round(longer, "q", ANSWERS))
    assert (v.winner, v.consistent) == ("B", True)
    assert "A vs B: B. longer" in v.rationale


def test_a_position_biased_judge_is_a_flagged_tie() -> None:
    asked: list[tuple[str, str]] = []

    def first_wins(prompt: str, a: str, b: str) -> dict[str, str]:
        asked.append((a, b))
        return {"winner": "A", "rationale": "first is best"}

    v = asyncio.run(judge_round(first_wins, "q", ANSWERS))
    assert (v.winner, v.consistent) == ("tie", False)
    assert "flips with the order" in v.rationale
    assert sorted(asked) == sorted(
        [("short", "a much longer answer"), ("a much longer answer", "short")]
    )


def test_three_answers_every_pair_and_the_most_wins() -> None:
    async def longest(prompt: str, a: str, b: str) -> dict[str, str]:
        return {"winner": "A" if len(a) > len(b) else "B" if len(b) > len(a) else "tie"}

    v = asyncio.run(judge_round(longest, "q", [("A", "x"), ("B", "xxx"), ("C", "xx")]))
    assert (v.winner, v.consistent) == ("B", True)
    v = asyncio.run(judge_round(longest, "q", [("A", "xx"), ("B", "xx")]))
    assert v.winner == "tie" and v.consistent


def test_a_failing_judge_says_why_and_wins_nothing() -> None:
    def broken(prompt: str, a: str, b: str) -> dict[str, str]:
        raise RuntimeError("boom")

    async def slow(prompt: str, a: str, b: str) -> dict[str, str]:
        await asyncio.sleep(5)
        return {"winner": "A"}

    v = asyncio.run(judge_round(broken, "q", ANSWERS))
    assert v.winner is None and v.consistent is None and "RuntimeError: boom" in v.rationale
    v = asyncio.run(judge_round(slow, "q", ANSWERS, timeout=0.05))
    assert v.winner is None and "did not answer within 0.05 s" in v.rationale
    v = asyncio.run(judge_round(lambda p, a, b: "no idea", "q", ANSWERS))
    assert v.winner is None and "names no winner" in v.rationale
    assert asyncio.run(judge_round(broken, "q", ANSWERS[:1])).winner is None
