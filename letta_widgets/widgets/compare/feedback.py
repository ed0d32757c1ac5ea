"""CompareView's votes as Letta step feedback: saved on the server, read back from history.

A round's vote becomes feedback on the last step of each variant's turn (the step that
wrote the answer): ``positive`` for the winner and ``negative`` for the others; a tie is
``positive`` for every variant, "all bad" ``negative`` for every one; no vote clears it.
Tags say where it came from: ``letta-widgets:compare``, ``round:<prompt_id>``,
``vote:<choice>`` and ``note:<text>``, so ``client.steps.list(tags=[...])`` finds them
and :meth:`CompareView.from_history` reads the vote and note back (by polarity: one
positive among negatives is the winner, whatever the variant's label there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import letta_client
from letta_client import AsyncLetta

from letta_widgets.errors import LettaWidgetsError, NotFound, sdk_errors

__all__ = [
    "FEEDBACK_TAG",
    "load_feedback",
    "polarity",
    "round_tags",
    "save_feedback",
    "vote_from_feedback",
]

FEEDBACK_TAG = "letta-widgets:compare"
"""The tag on every step feedback CompareView writes."""
_CONCURRENCY = 8

Polarity = Literal["positive", "negative"] | None


def polarity(vote: str | None, labels: Sequence[str]) -> dict[str, Polarity]:
    """Each variant's feedback for a round's ``vote`` (a label, ``tie``, ``all_bad``, None)."""
    if vote is None:
        return dict.fromkeys(labels)
    if vote == "tie":
        return dict.fromkeys(labels, "positive")
    if vote == "all_bad":
        return dict.fromkeys(labels, "negative")
    return {label: "positive" if label == vote else "negative" for label in labels}


def round_tags(prompt_id: str, vote: str | None, note: str | None) -> list[str]:
    """The tags of a round's feedback (the note, on one line, as ``note:<text>``)."""
    tags = [FEEDBACK_TAG, f"round:{prompt_id}", f"vote:{vote or 'none'}"]
    text = " ".join(str(note or "").split())
    if text:
        tags.append(f"note:{text[:500]}")
    return tags


def vote_from_feedback(
    found: Mapping[str, Mapping[str, Any] | None],
) -> tuple[str | None, str | None]:
    """(vote, note) from each variant's step feedback (``None``: no feedback there).

    Only feedback this module wrote counts (it carries :data:`FEEDBACK_TAG`).
    """
    ours = {label: f for label, f in found.items() if f and FEEDBACK_TAG in (f.get("tags") or [])}
    note = next(
        (t[5:] for f in ours.values() for t in f.get("tags") or [] if t.startswith("note:")), None
    )
    marks = {label: f.get("feedback") for label, f in ours.items()}
    if len(ours) < len(found) or not marks or None in marks.values():
        return None, note
    good = [label for label, mark in marks.items() if mark == "positive"]
    if len(good) == len(marks):
        return ("tie" if len(marks) > 1 else good[0]), note
    if not good:
        return "all_bad", note
    return (good[0] if len(good) == 1 else None), note


async def save_feedback(
    aclient: AsyncLetta,
    base_url: str | None,
    rounds: Iterable[tuple[str, str | None, str | None, Sequence[tuple[str, str | None]]]],
) -> list[dict[str, Any]]:
    """Write each round's feedback; return one record per (round, variant) written.

    ``rounds`` holds ``(prompt_id, vote, note, [(label, last_step_id), ...])``. A variant
    without a step (its turn failed before the server ran a step) is skipped.
    """
    sem = asyncio.Semaphore(_CONCURRENCY)

    async def one(prompt_id: str, label: str, step_id: str, mark: Polarity, tags: list[str]):
        async with sem:
            with sdk_errors(base_url=base_url, what=f"step {step_id}"):
                await aclient.steps.feedback.create(step_id, feedback=mark, tags=tags)
        return {"prompt_id": prompt_id, "variant": label, "step_id": step_id,
                "feedback": mark, "tags": tags}  # fmt: skip

    jobs = []
    for prompt_id, vote, note, cells in rounds:
        marks = polarity(vote, [label for label, _ in cells])
        tags = round_tags(prompt_id, vote, note)
        jobs += [one(prompt_id, label, step, marks[label], tags) for label, step in cells if step]
    try:
        return list(await asyncio.gather(*jobs))
    except NotFound as err:
        raise LettaWidgetsError(
            "this server keeps no feedback for that step",
            "step feedback needs a server with the steps API (Letta Cloud or letta 0.16+)",
            status=err.status,
            url=base_url,
            detail=err.detail,
        ) from err


async def load_feedback(
    aclient: AsyncLetta, step_ids: Iterable[str]
) -> dict[str, dict[str, Any] | None]:
    """``{step_id: {"feedback", "tags"}}`` for each step (``None``: unknown or no steps API)."""
    sem = asyncio.Semaphore(_CONCURRENCY)

    async def one(step_id: str) -> tuple[str, dict[str, Any] | None]:
        async with sem:
            try:
                step = await aclient.steps.retrieve(step_id)
            except (letta_client.NotFoundError, letta_client.BadRequestError):
                return step_id, None
        return step_id, {"feedback": step.feedback, "tags": list(step.tags or [])}

    wanted = list(dict.fromkeys(s for s in step_ids if s))
    return dict(await asyncio.gather(*(one(s) for s in wanted)))
