"""Step records: the engine's measurements, feedback semantics, JSON shapes per profile."""

from __future__ import annotations

import asyncio

import pytest

from letta_devserver.runs import RunManager, RunOptions
from letta_devserver.service import Service
from letta_devserver.steps import (
    StepTiming,
    apply_feedback,
    metrics_json,
    run_usage_json,
    step_data,
    step_json,
)
from letta_devserver.storage import Store

TOOL = 'call:memory_insert {"label": "human", "new_string": "Ada likes figs."}'


def _record(**extra: object) -> dict:
    timing = StepTiming("step-1")
    timing.prompt_tokens, timing.completion_tokens = 10, 5
    data = step_data(
        timing, model="openai/gpt-4o", context_window=8000, details=True, stop_reason=None,
        previous=None,
    )  # fmt: skip
    return {**data, "id": "step-1", "run_id": "run-1", "agent_id": "agent-1", "created_at": 1.0}


def test_feedback_always_assigned_tags_only_when_given() -> None:
    rec = {**_record(), "feedback": "positive", "tags": ["a"]}
    kept = apply_feedback(rec, {"tags": []})
    assert (kept["feedback"], kept["tags"]) == (None, ["a"])  # absent feedback clears it
    assert apply_feedback(rec, {"feedback": "negative", "tags": ["b"]})["tags"] == ["b"]
    for bad in ({"feedback": "meh"}, {"tags": "x"}, {"tags": [1]}):
        with pytest.raises(ValueError):
            apply_feedback(rec, bad)


def test_step_and_metric_shapes_per_profile() -> None:
    rec = _record()
    cloud, old = step_json(rec, None, sdk=True), step_json(rec, None, sdk=False)
    assert set(old) - set(cloud) == {"organization_id"}
    assert (cloud["model"], cloud["model_handle"], cloud["total_tokens"]) == (
        "gpt-4o", "openai/gpt-4o", 15,
    )  # fmt: skip
    assert cloud["prompt_tokens_details"] == {
        "cached_tokens": 0, "cache_read_tokens": 0, "cache_creation_tokens": 0,
    }  # fmt: skip
    assert set(metrics_json(rec, sdk=False)) - set(metrics_json(rec, sdk=True)) == {
        "organization_id"
    }
    unmeasured = {"id": "s", "run_id": None, "agent_id": "a", "created_at": 2.0}
    assert step_json(unmeasured, "openai/gpt-4o-mini", sdk=True)["total_tokens"] is None
    assert metrics_json(unmeasured, sdk=True)["step_start_ns"] == 2_000_000_000
    assert metrics_json(rec, sdk=False)["step_start_ns"] is None  # 0.16.8 never stores it


def test_run_usage_shapes() -> None:
    steps = [_record(), _record()]
    cloud = run_usage_json(steps, sdk=True)
    assert (cloud["prompt_tokens"], cloud["total_tokens"]) == (20, 30)
    assert cloud["completion_tokens_details"] == {"reasoning_tokens": 0}
    old = run_usage_json(steps, sdk=False)
    assert set(old) == set(cloud) and old["prompt_tokens_details"] is None


def test_the_engine_records_measured_steps() -> None:
    svc = Service(Store())
    agent = svc.create_agent({"name": "t", "memory_blocks": [{"label": "human", "value": "v"}]})
    conv = svc.create_conversation(agent["id"])
    runs = RunManager(svc)

    async def go() -> str:
        run = runs.start(conv, [{"role": "user", "content": TOOL}], RunOptions())
        [_ async for _ in run.follow()]
        return run.id

    run_id = asyncio.run(go())
    first, second = svc.store.run_steps(run_id, ascending=True)
    assert first["metrics"]["tool_execution_ns"] > 0
    assert second["metrics"]["tool_execution_ns"] is None
    assert (first["stop_reason"], second["stop_reason"]) == (None, "end_turn")
    assert first["model"] == agent["model"] and first["prompt_tokens"] > 0
