"""Pairwise judges for CompareView: which of two answers to one prompt is better.

A judge is any callable ``judge(prompt, answer_a, answer_b)`` returning ``{"winner": "A" |
"B" | "tie", "rationale": str}`` (or an awaitable of it). :class:`LettaJudge` is one that
asks a Letta agent, each question in a fresh hidden conversation. :func:`judge_round` asks a
judge about every pair of a round's answers in both orders: a verdict that flips with the
order is a position effect, not a preference, so it counts as a tie and is flagged
(``consistent=False``).

The prompt :class:`LettaJudge` sends (:data:`JUDGE_TEMPLATE`) and the reply it asks for (a
line ``WINNER: A``, ``WINNER: B`` or ``WINNER: tie``, then ``RATIONALE: …``) are the format
the devserver's scripted agent answers, with a documented rule (the package README of
``letta-devserver``), so judging runs offline and in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from letta_client import AsyncLetta, Letta

from letta_widgets.client import async_twin
from letta_widgets.errors import LettaWidgetsError, sdk_errors
from letta_widgets.letta.messages import as_dict, text_of

__all__ = [
    "DEFAULT_RUBRIC",
    "JUDGE_TEMPLATE",
    "JudgeError",
    "LettaJudge",
    "RoundVerdict",
    "Verdict",
    "judge_round",
    "parse_verdict",
]

Judge = Callable[[str, str, str], Any]
"""``judge(prompt, answer_a, answer_b) -> {"winner", "rationale"}`` (or an awaitable)."""

DEFAULT_RUBRIC = (
    "Prefer the answer that is more correct, more helpful and more specific to the prompt. "
    "Length alone is not a reason, and neither is the order of the answers."
)

JUDGE_TEMPLATE = """You are an impartial judge comparing two answers to the same prompt.
{rubric}

<prompt>
{prompt}
</prompt>

<answer_a>
{answer_a}
</answer_a>

<answer_b>
{answer_b}
</answer_b>

Reply with exactly two lines:
WINNER: A, B or tie
RATIONALE: one sentence saying why"""
"""What :class:`LettaJudge` sends (``str.format`` fields: rubric, prompt, answer_a, answer_b)."""

_WINNER = re.compile(r"^\W*winner\W*[:=]?\s*\W*(a|b|tie)\b", re.I | re.M)
_RATIONALE = re.compile(r"^\W*rationale\W*[:=]?\s*(.+)", re.I | re.M | re.S)


class JudgeError(LettaWidgetsError):
    """A judge failed: it raised, timed out, or answered without a winner."""


@dataclass(frozen=True)
class Verdict:
    """One answer of a judge about one ordered pair."""

    winner: Literal["A", "B", "tie"]
    rationale: str = ""


@dataclass(frozen=True)
class RoundVerdict:
    """A judge's word on a round: a variant label, ``"tie"``, or ``None`` when it failed."""

    winner: str | None
    rationale: str
    consistent: bool | None
    """True when every pair got the same verdict in both orders (``None``: it failed)."""


def parse_verdict(reply: Any) -> Verdict:
    """A judge's reply (a mapping with ``winner``, or text with a ``WINNER:`` line) as a
    :class:`Verdict`; :class:`JudgeError` when it names no winner."""
    if isinstance(reply, Mapping):
        winner = str(reply.get("winner") or "").strip()
        rationale = str(reply.get("rationale") or "")
    else:
        text = str(reply or "")
        m = _WINNER.search(text)
        winner = m.group(1) if m else ""
        r = _RATIONALE.search(text)
        rationale = r.group(1).strip() if r else ""
    normal = {"a": "A", "b": "B", "tie": "tie"}.get(winner.lower())
    if normal is None:
        shown = str(reply)[:200]
        raise JudgeError(
            f"the judge's answer names no winner ({shown!r})",
            'a judge returns {"winner": "A" | "B" | "tie", "rationale": "…"}, '
            "or a reply with a line WINNER: A, B or tie",
        )
    return Verdict(normal, rationale)  # type: ignore[arg-type]


class LettaJudge:
    """A Letta agent as a pairwise judge (on any server).

    Each question goes to a fresh conversation of ``agent_id``, created hidden (Letta Cloud
    lists no hidden conversation) and deleted once answered, unless ``keep=True``, so nothing
    clutters the agent's list (servers that ignore ``hidden``, as letta 0.16.8 does, would
    list it). ``rubric`` says what "better" means.
    """

    def __init__(
        self,
        client: Letta | AsyncLetta,
        agent_id: str,
        rubric: str = DEFAULT_RUBRIC,
        *,
        keep: bool = False,
    ) -> None:
        self._aclient = async_twin(client)
        self.agent_id = agent_id
        self.rubric = rubric
        self.keep = keep

    def prompt(self, prompt: str, answer_a: str, answer_b: str) -> str:
        """The message the agent is asked."""
        return JUDGE_TEMPLATE.format(
            rubric=self.rubric, prompt=prompt, answer_a=answer_a, answer_b=answer_b
        )

    async def __call__(self, prompt: str, answer_a: str, answer_b: str) -> dict[str, str]:
        """``{"winner", "rationale"}`` for one ordered pair."""
        conv = self._aclient.conversations
        with sdk_errors(what=f"the judge agent {self.agent_id}"):
            made = await conv.create(agent_id=self.agent_id, hidden=True)
        try:
            with sdk_errors(what=f"the judge's conversation {made.id}"):
                stream = await conv.messages.create(
                    made.id,
                    messages=[{"role": "user", "content": self.prompt(prompt, answer_a, answer_b)}],
                )
                said = [as_dict(chunk) async for chunk in stream]
        finally:
            if not self.keep:
                with contextlib.suppress(Exception):  # the verdict matters more
                    await conv.delete(made.id)
        failed = [m for m in said if m.get("message_type") == "error_message"]
        if failed:
            raise JudgeError(f"the judge's run failed: {text_of(failed[0])}", "try again")
        reply = "\n".join(text_of(m) for m in said if m.get("message_type") == "assistant_message")
        v = parse_verdict(reply)
        return {"winner": v.winner, "rationale": v.rationale}


async def _ask(judge: Judge, prompt: str, a: str, b: str, timeout: float | None) -> Verdict:
    """One ordered question; a sync judge runs in a thread, so the loop stays free."""

    async def call() -> Any:
        out = await asyncio.to_thread(judge, prompt, a, b)  # an async judge: its coroutine
        return await out if inspect.isawaitable(out) else out

    try:
        reply = await asyncio.wait_for(call(), timeout)
    except asyncio.TimeoutError:
        raise JudgeError(
            f"the judge did not answer within {timeout:g} s", "pass a larger timeout="
        ) from None
    except JudgeError:
        raise
    except Exception as exc:  # any judge's failure: said in the round, the others go on
        raise JudgeError(f"the judge raised {type(exc).__name__}: {exc}", "fix the judge") from exc
    return parse_verdict(reply)


async def judge_round(
    judge: Judge,
    prompt: str,
    answers: Sequence[tuple[str, str]],
    *,
    timeout: float | None = 120,
) -> RoundVerdict:
    """Judge a round's answers (``[(label, text), …]``, two or more): every pair in both
    orders. A pair's verdict that flips with the order is a tie (and the round not
    ``consistent``); the winner is the label that won the most pairs (a tie if several
    did, or none). A failure is a verdict with ``winner=None`` and the reason."""
    if len(answers) < 2:
        return RoundVerdict(None, "fewer than two answers to judge", None)
    wins = dict.fromkeys((label for label, _ in answers), 0)
    notes: list[str] = []
    consistent = True
    try:
        for (la, a), (lb, b) in itertools.combinations(answers, 2):
            first, second = await asyncio.gather(
                _ask(judge, prompt, a, b, timeout), _ask(judge, prompt, b, a, timeout)
            )
            swapped = {"A": "B", "B": "A", "tie": "tie"}[second.winner]
            if first.winner != swapped:
                consistent = False
                notes.append(
                    f"{la} vs {lb}: flips with the order ({la} first: {first.winner}; "
                    f"{lb} first: {second.winner}), a tie"
                )
                continue
            winner = {"A": la, "B": lb}.get(first.winner)
            if winner is not None:
                wins[winner] += 1
            notes.append(f"{la} vs {lb}: {winner or 'tie'}. {first.rationale}".strip())
    except JudgeError as err:
        return RoundVerdict(None, f"judge failed: {err}", None)
    best = max(wins.values())
    leaders = [label for label, n in wins.items() if n == best]
    winner = leaders[0] if best > 0 and len(leaders) == 1 else "tie"
    return RoundVerdict(winner, " | ".join(notes), consistent)
