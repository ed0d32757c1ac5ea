"""Steps: ``steps.retrieve``, ``steps.metrics.retrieve``, ``steps.feedback.create``,
``runs.usage.retrieve`` and ``runs.steps.list``, which letta 0.16.8 serves
(``routers/v1/steps.py``, ``routers/v1/runs.py``) and Letta Cloud too (SDK 1.12.1).

A step is one LLM call and the tools it ran; every ``step_id`` a message carries resolves.
0.16.8's ``Step`` and ``StepMetrics`` add ``organization_id`` to the SDK's fields; run usage
has the SDK's (Cloud's) ``UsageRetrieveResponse`` keys on both.
"""

from __future__ import annotations

import uuid
from typing import Any

import _support as sup
import letta_client
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract

TOOL_PROMPT = 'call:memory_insert {"label": "human", "new_string": "Ada likes figs."}'
SDK_STEP_FIELDS = {
    "id", "agent_id", "cache_write_tokens", "cached_input_tokens", "completion_tokens",
    "completion_tokens_details", "context_window_limit", "error_data", "error_type", "feedback",
    "messages", "model", "model_endpoint", "model_handle", "origin", "project_id", "prompt_tokens",
    "prompt_tokens_details", "provider_category", "provider_id", "provider_name",
    "reasoning_tokens", "request_id", "run_id", "status", "stop_reason", "tags", "tid",
    "total_tokens", "trace_id",
}  # fmt: skip
SDK_METRIC_FIELDS = {
    "id", "agent_id", "base_template_id", "llm_request_ns", "llm_request_start_ns", "project_id",
    "provider_id", "run_id", "step_ns", "step_start_ns", "template_id", "tool_execution_ns",
}  # fmt: skip


def _fields(sdk_fields: set[str], profile: str) -> set[str]:
    """0.16.8's schemas add organization_id to the SDK's (Cloud's) fields."""
    return sdk_fields if profile == "cloud" else sdk_fields | {"organization_id"}


def _tool_round(client: Letta, conv_id: str) -> tuple[list[Any], list[str]]:
    """A tool round (two steps); its chunks and its step ids in order."""
    chunks = sup.send(client, conv_id, TOOL_PROMPT)
    assert sup.stop_reason(chunks) == "end_turn"
    steps = [c.step_id for c in chunks if getattr(c, "step_id", None)]
    return chunks, list(dict.fromkeys(steps))


def test_every_step_id_resolves(
    client: Letta, conv: object, profile: str, is_devserver: bool
) -> None:
    chunks, step_ids = _tool_round(client, conv.id)
    assert len(step_ids) == 2
    run_id = sup.of_type(chunks, "tool_call_message")[0].run_id
    carried = {m.step_id for m in sup.history(client, conv.id) if m.step_id}
    assert set(step_ids) <= carried  # the user message carries the first step's id too
    for step_id in carried:
        body = sup.raw_json(client.steps.with_raw_response.retrieve, step_id)
        assert set(body) >= _fields(SDK_STEP_FIELDS, profile)
        if is_devserver:
            assert set(body) == _fields(SDK_STEP_FIELDS, profile)
        assert (body["id"], body["agent_id"], body["run_id"]) == (step_id, conv.agent_id, run_id)
        assert body["status"] == "success" and body["feedback"] is None and body["tags"] == []
        assert isinstance(body["model"], str) and isinstance(body["model_handle"], str)
        assert body["total_tokens"] == body["prompt_tokens"] + body["completion_tokens"] > 0
    # the stop reason is the last step's
    assert client.steps.retrieve(step_ids[-1]).stop_reason == "end_turn"


def test_step_metrics_are_measured(
    client: Letta, conv: object, profile: str, is_devserver: bool
) -> None:
    _, (tool_step, answer_step) = _tool_round(client, conv.id)

    def metrics(step_id: str) -> dict[str, Any]:
        return sup.raw_json(client.steps.metrics.with_raw_response.retrieve, step_id)

    # the real server records them in a background task, a moment after the stream ends
    assert sup.wait_for(lambda: metrics(answer_step)["step_ns"] is not None, 15)
    tool = metrics(tool_step)
    assert set(tool) >= _fields(SDK_METRIC_FIELDS, profile)
    if is_devserver:
        assert set(tool) == _fields(SDK_METRIC_FIELDS, profile)
    assert tool["id"] == tool_step and tool["agent_id"] == conv.agent_id
    # durations; the tool ran in this step
    assert tool["llm_request_ns"] > 0 and tool["tool_execution_ns"] > 0
    assert tool["step_ns"] >= tool["llm_request_ns"] + tool["tool_execution_ns"]
    answer = client.steps.metrics.retrieve(answer_step)
    assert answer.tool_execution_ns in (None, 0) and answer.llm_request_ns > 0
    if profile == "cloud":  # the SDK's start times, epoch nanoseconds
        assert tool["step_start_ns"] <= tool["llm_request_start_ns"] < answer.step_start_ns
    else:  # letta 0.16.8 never stores them (record_step_metrics_async takes durations only)
        assert (tool["step_start_ns"], tool["llm_request_start_ns"]) == (None, None)


def test_step_feedback(client: Letta, conv: object) -> None:
    """0.16.8 semantics (``add_feedback_async``): ``feedback`` is always assigned, so leaving it
    out clears it; ``tags`` replace the step's tags only when non-empty."""
    _, (step_id, _) = _tool_round(client, conv.id)
    got = client.steps.feedback.create(step_id, feedback="positive", tags=["good", "fast"])
    assert (got.id, got.feedback, got.tags) == (step_id, "positive", ["good", "fast"])
    assert client.steps.retrieve(step_id).feedback == "positive"
    got = client.steps.feedback.create(step_id, feedback="negative", tags=[])
    assert (got.feedback, got.tags) == ("negative", ["good", "fast"])
    got = client.steps.feedback.create(step_id, tags=["slow"])
    assert (got.feedback, got.tags) == (None, ["slow"])
    assert client.steps.retrieve(step_id).tags == ["slow"]
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.steps.feedback.create(step_id, feedback="meh")  # type: ignore[arg-type]


def test_run_usage_sums_the_steps(client: Letta, conv: object, profile: str) -> None:
    chunks, step_ids = _tool_round(client, conv.id)
    run_id = sup.of_type(chunks, "tool_call_message")[0].run_id
    streamed = chunks[-1]
    body = sup.raw_json(client.runs.usage.with_raw_response.retrieve, run_id)
    steps = [client.steps.retrieve(s) for s in step_ids]
    assert body["prompt_tokens"] == sum(s.prompt_tokens for s in steps) == streamed.prompt_tokens
    assert body["completion_tokens"] == sum(s.completion_tokens for s in steps)
    assert body["total_tokens"] == streamed.total_tokens
    # the SDK's UsageRetrieveResponse; 0.16.8's route declares the same OpenAI-style model
    # (response_model=UsageStatistics), which drops the rest of its LettaUsageStatistics
    assert set(body) == {
        "completion_tokens", "prompt_tokens", "total_tokens", "completion_tokens_details",
        "prompt_tokens_details",
    }  # fmt: skip
    if profile != "cloud":  # ... the token details included
        assert body["prompt_tokens_details"] is None and body["completion_tokens_details"] is None


def test_run_steps_pages(client: Letta, conv: object) -> None:
    """Newest first by default; ``after``/``before`` relative to the order (0.16.8 and the
    SDK docstring: "relative to this ID in the specified sort order")."""
    chunks, (first, second) = _tool_round(client, conv.id)
    run_id = sup.of_type(chunks, "tool_call_message")[0].run_id

    def ids(**params: Any) -> list[str]:
        return [s.id for s in client.runs.steps.list(run_id, **params).items]

    assert ids() == [second, first]
    assert ids(order="asc") == [first, second]
    assert ids(limit=1) == [second]
    assert ids(limit=1, after=second) == [first]
    assert ids(after=first) == []
    assert ids(order="asc", after=first) == [second]
    assert ids(before=first) == [second]
    assert ids(order="asc", before=second) == [first]


def test_unknown_and_malformed_ids(client: Letta, conv: object) -> None:
    unknown = f"step-{uuid.uuid4()}"
    with pytest.raises(letta_client.NotFoundError) as info:
        client.steps.retrieve(unknown)
    assert info.value.body["detail"].startswith(f"Step not found with id='['{unknown}']'")
    with pytest.raises(letta_client.NotFoundError):
        client.steps.metrics.retrieve(unknown)
    with pytest.raises(letta_client.NotFoundError):
        client.steps.feedback.create(unknown, feedback="positive")
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.steps.retrieve("step-123")
    run = f"run-{uuid.uuid4()}"
    with pytest.raises(letta_client.NotFoundError):
        client.runs.usage.retrieve(run)
    with pytest.raises(letta_client.NotFoundError):
        client.runs.steps.list(run)
    with pytest.raises(letta_client.BadRequestError):
        client.runs.usage.retrieve("run-123")


@pytest.mark.devserver_only
def test_bulk_history_step_ids_resolve(client: Letta, conv: object) -> None:
    """The seed's and the bulk insert's step ids resolve too (no measurements: null)."""
    client.post(
        f"/v1/_devserver/conversations/{conv.id}/synthetic", body={"turns": 6}, cast_to=object
    )
    carried = {m.step_id for m in sup.history(client, conv.id) if m.step_id}
    assert len(carried) >= 6
    for step_id in carried:
        step = client.steps.retrieve(step_id)
        assert step.id == step_id and step.agent_id == conv.agent_id and step.run_id
        assert step.prompt_tokens is None
        assert client.steps.metrics.retrieve(step_id).step_ns is None
