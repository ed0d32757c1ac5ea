"""Steps: what the run engine records per agent step, and the JSON of steps, step metrics
and run usage as letta 0.16.8 answers them (``schemas/step.py``, ``schemas/step_metrics.py``,
``routers/v1/runs.py`` ``retrieve_usage_for_run``) or, for Letta Cloud, with the SDK's fields.

A step is one LLM call plus the tools it called. Its metrics are the devserver's real
timings: ``step_start_ns`` and ``llm_request_start_ns`` are UTC epoch nanoseconds (Cloud
only: 0.16.8 leaves them null), ``llm_request_ns`` the "LLM call" (its wait and the streaming
of its message), ``tool_execution_ns`` the tool run, ``step_ns`` the whole step. Steps the
seed or the bulk insert wrote have no measurements (tokens and timings null).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .ids import ORG_ID
from .serialize import llm_config

__all__ = [
    "StepTiming",
    "apply_feedback",
    "metrics_json",
    "record_data",
    "run_usage_json",
    "step_data",
    "step_json",
]

FEEDBACK = ("positive", "negative", None)


@dataclass
class StepTiming:
    """One step's measured times and token counts."""

    id: str
    start_ns: int = field(default_factory=time.time_ns)
    _perf_start: int = field(default_factory=time.perf_counter_ns)
    llm_start_ns: int | None = None
    llm_ns: int | None = None
    tool_ns: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _llm_perf: int = 0

    def llm_started(self) -> None:
        """The LLM call starts now."""
        self.llm_start_ns = time.time_ns()
        self._llm_perf = time.perf_counter_ns()

    def llm_done(self) -> None:
        """The LLM call (and the streaming of its message) ended now."""
        self.llm_ns = time.perf_counter_ns() - self._llm_perf

    def metrics(self) -> dict[str, int | None]:
        """The step metrics so far (``step_ns``: until now)."""
        return {
            "step_start_ns": self.start_ns,
            "llm_request_start_ns": self.llm_start_ns,
            "llm_request_ns": self.llm_ns,
            "tool_execution_ns": self.tool_ns,
            "step_ns": time.perf_counter_ns() - self._perf_start,
        }


def step_data(
    timing: StepTiming,
    *,
    model: str,
    context_window: int,
    details: bool,
    stop_reason: str | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """A step record's data (feedback and tags kept from ``previous``); ``details``: the
    provider reported cache/reasoning counts (0 in steps mode, none in tokens mode)."""
    previous = previous or {}
    return {
        "status": "success",
        "stop_reason": stop_reason,
        "model": model,
        "context_window_limit": context_window,
        "prompt_tokens": timing.prompt_tokens,
        "completion_tokens": timing.completion_tokens,
        "details": details,
        "feedback": previous.get("feedback"),
        "tags": previous.get("tags") or [],
        "metrics": timing.metrics(),
    }


def step_json(rec: dict[str, Any], agent_model: str | None, sdk: bool) -> dict[str, Any]:
    """A ``Step``: 0.16.8's field set, or (``sdk``) the SDK's, which lacks ``organization_id``."""
    handle = rec.get("model") or agent_model or "openai/gpt-4o-mini"
    llm = llm_config(handle)
    prompt, completion = rec.get("prompt_tokens"), rec.get("completion_tokens")
    measured = prompt is not None and completion is not None
    details = bool(rec.get("details"))
    out: dict[str, Any] = {
        "id": rec["id"],
        "origin": None,
        "organization_id": ORG_ID,
        "provider_id": None,
        "run_id": rec["run_id"],
        "agent_id": rec["agent_id"],
        "provider_name": llm["model_endpoint_type"],
        "provider_category": "base",
        "model": llm["model"],
        "model_handle": handle,
        "model_endpoint": llm["model_endpoint"],
        "context_window_limit": rec.get("context_window_limit", llm["context_window"]),
        "completion_tokens": completion,
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion if measured else None,
        # 0.16.8 sets these only when above 0, and keeps the provider's breakdown beside
        "cached_input_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "completion_tokens_details": {"reasoning_tokens": 0} if details else None,
        "prompt_tokens_details": (
            {"cached_tokens": 0, "cache_read_tokens": 0, "cache_creation_tokens": 0}
            if details
            else None
        ),
        "stop_reason": rec.get("stop_reason"),
        "tags": rec.get("tags") or [],
        "tid": None,
        "trace_id": None,
        "request_id": None,
        "messages": [],
        "feedback": rec.get("feedback"),
        "project_id": None,
        "error_type": None,
        "error_data": None,
        "status": rec.get("status", "success"),
    }
    if sdk:
        del out["organization_id"]
    return out


def metrics_json(rec: dict[str, Any], sdk: bool) -> dict[str, Any]:
    """A step's metrics: 0.16.8's ``StepMetrics``, or (``sdk``) without ``organization_id``.

    0.16.8 never stores the two start times (``record_step_metrics_async`` takes only the
    durations): null there; Cloud's (SDK) metrics have them."""
    m = dict(rec.get("metrics") or {"step_start_ns": int(rec["created_at"] * 1e9)})
    if not sdk:
        m["step_start_ns"] = m["llm_request_start_ns"] = None
    out: dict[str, Any] = {
        "id": rec["id"],
        "organization_id": ORG_ID,
        "provider_id": None,
        "run_id": rec["run_id"],
        "agent_id": rec["agent_id"],
        "step_start_ns": m.get("step_start_ns"),
        "llm_request_start_ns": m.get("llm_request_start_ns"),
        "llm_request_ns": m.get("llm_request_ns"),
        "tool_execution_ns": m.get("tool_execution_ns"),
        "step_ns": m.get("step_ns"),
        "base_template_id": None,
        "template_id": None,
        "project_id": None,
    }
    if sdk:
        del out["organization_id"]
    return out


def run_usage_json(steps: Sequence[dict[str, Any]], sdk: bool) -> dict[str, Any]:
    """``GET /v1/runs/{id}/usage``: the sum over the run's steps, an OpenAI-style
    ``UsageStatistics`` on both (0.16.8's route declares that response model, so its
    ``LettaUsageStatistics`` loses everything else, the token details included: null);
    ``sdk``: the details the steps reported (Cloud's ``UsageRetrieveResponse``)."""
    prompt = sum(s.get("prompt_tokens") or 0 for s in steps)
    completion = sum(s.get("completion_tokens") or 0 for s in steps)
    details = sdk and any(s.get("details") for s in steps)
    return {
        "completion_tokens": completion,
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": (
            {"cached_tokens": 0, "cache_read_tokens": 0, "cache_creation_tokens": 0}
            if details
            else None
        ),
        "completion_tokens_details": {"reasoning_tokens": 0} if details else None,
    }


def record_data(rec: dict[str, Any]) -> dict[str, Any]:
    """A step record's data, without the columns stored beside it."""
    return {k: v for k, v in rec.items() if k not in ("id", "run_id", "agent_id", "created_at")}


def apply_feedback(rec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """0.16.8's ``add_feedback_async``: ``feedback`` is always assigned (absent or null clears
    it), ``tags`` replace the step's only when non-empty. Raises ValueError on a bad value."""
    feedback = body.get("feedback")
    if feedback not in FEEDBACK:
        raise ValueError("feedback")
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise ValueError("tags")
    data = record_data(rec)
    data["feedback"] = feedback
    if tags:
        data["tags"] = list(tags)
    return data
