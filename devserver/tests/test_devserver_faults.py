"""Fault spec parsing and the server-level fault state."""

from __future__ import annotations

import pytest

from letta_devserver.failures import LLM_FAILURES, error_message, refusal
from letta_devserver.faults import FaultSpec, FaultState, error_body, parse_fault_spec


def test_parse_items() -> None:
    spec = parse_fault_spec("status=429, retry_after=2,first_byte_delay_ms=50")
    assert spec == FaultSpec(status=429, retry_after=2.0, first_byte_delay_ms=50)
    spec = parse_fault_spec("drop_after=3,error_event,malformed_event,stop_reason=max_steps,once")
    assert spec.drop_after == 3 and spec.error_event and spec.malformed_event and spec.once
    assert spec.stop_reason == "max_steps" and spec.affects_stream
    assert parse_fault_spec("").empty and parse_fault_spec(None).empty


@pytest.mark.parametrize(
    "bad",
    [
        "status=418",
        "status=abc",
        "drop_after=-1",
        "nope",
        "stop_reason=bogus",
        "once=2",
        "error_event=sometimes",
    ],
)
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_fault_spec(bad)


def test_error_event_kinds() -> None:
    assert parse_fault_spec("error_event").error_event == "transient"
    assert parse_fault_spec("error_event=FATAL").error_event == "fatal"
    assert parse_fault_spec("error_event=deployment").affects_stream


def test_error_message_fields_per_profile() -> None:
    failure = LLM_FAILURES["transient"]
    six = error_message("run-1", failure, details=False)
    assert list(six) == ["message_type", "run_id", "error_type", "message", "detail", "seq_id"]
    cloud = error_message("run-1", failure, details=True)
    assert cloud == {**six, "error_code": "llm_error", "status_code": 500, "retryable": True}
    assert not LLM_FAILURES["fatal"].retryable and LLM_FAILURES["deployment"].retryable
    pending = refusal("m", "d", 409)
    assert (pending.error_code, pending.retryable) == ("PENDING_APPROVAL", False)
    assert refusal("m", "d", 400).error_code == "INVALID_ARGUMENT"


def test_error_bodies_have_real_shapes() -> None:
    assert error_body(401) == {"detail": "Unauthorized"}
    assert error_body(409)["detail"].startswith("CONFLICT: ")
    assert error_body(429)["error"]["type"] == "llm_rate_limit"
    assert error_body(500) == {"detail": "An unknown error occurred"}


def test_header_wins_and_once_clears() -> None:
    state = FaultState("status=500,once")
    assert state.for_request("status=404").status == 404  # header wins, server fault kept
    assert state.for_request(None).status == 500  # used once...
    assert state.for_request(None).empty  # ...then cleared
    state.set("status=503")
    assert state.for_request(None).status == 503 and state.for_request(None).status == 503
    state.clear()
    assert state.for_request(None).empty
