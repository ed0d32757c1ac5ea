"""The turn's chunk folding (Turn.apply, pure), fed the SSE lines recorded from a real server."""

from __future__ import annotations

import json
from pathlib import Path

from letta_client._models import construct_type
from letta_client.types.agents.letta_streaming_response import LettaStreamingResponse

from letta_widgets.turn import Turn, TurnEvent

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "letta-shapes"  # real recordings


def chunks(name: str) -> list[object]:
    lines = json.loads((SHAPES / name).read_text())["lines"]
    out = []
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(construct_type(type_=LettaStreamingResponse, value=json.loads(line[6:])))
    return out


def _fold(items: list[object]) -> tuple[Turn, list[TurnEvent]]:
    turn = Turn(conversation_id="conv-x", base_url="http://127.0.0.1:9")
    events: list[TurnEvent] = []
    for chunk in items:
        events += turn.apply(chunk, 0.0)
    return turn, events


def test_token_deltas_assemble_into_one_message() -> None:
    turn, events = _fold(chunks("raw_sse_tokens.json"))
    assert [m["message_type"] for m in turn.messages] == ["assistant_message"]
    assert turn.assistant_text == "Echo: raw tokens"
    assert turn.stop_reason == "end_turn"
    assert turn.usage and turn.usage["total_tokens"] == 15
    assert turn.run_id and turn.run_id.startswith("run-")
    kinds = [e.kind for e in events]
    assert kinds.count("message") == 1 and kinds.count("delta") == 2


def test_steps_mode_whole_messages() -> None:
    turn, _ = _fold(chunks("raw_sse_steps.json"))
    assert turn.assistant_text
    assert turn.stop_reason == "end_turn"


def make(value: dict) -> object:
    return construct_type(type_=LettaStreamingResponse, value=value)


def test_shared_id_different_types_are_two_messages() -> None:
    base = {"id": "message-1", "date": "2026-11-24T00:00:00Z", "run_id": "run-1"}
    items = [
        make({**base, "message_type": "reasoning_message", "reasoning": "Think", "seq_id": 1}),
        make({**base, "message_type": "reasoning_message", "reasoning": "ing.", "seq_id": 2}),
        make({**base, "message_type": "assistant_message", "content": "Hel", "seq_id": 3}),
        make({**base, "message_type": "assistant_message", "content": "lo", "seq_id": 4}),
        make({"message_type": "stop_reason", "stop_reason": "end_turn"}),
    ]
    turn, _ = _fold(items)
    assert turn.reasoning == "Thinking."
    assert turn.assistant_text == "Hello"
    assert turn.last_seq_id == 4


def test_replayed_seq_ids_are_skipped() -> None:
    base = {"id": "message-1", "date": "2026-11-24T00:00:00Z", "run_id": "run-1"}
    first = [
        make({**base, "message_type": "assistant_message", "content": c, "seq_id": i})
        for i, c in enumerate(["a", "b", "c"], start=1)
    ]
    replay = [
        make({**base, "message_type": "assistant_message", "content": c, "seq_id": i})
        for i, c in enumerate(["a", "b", "c", "d"], start=1)
    ]
    turn, _ = _fold(first + replay)
    assert turn.assistant_text == "abcd"


def test_tool_call_deltas_merge_by_call_id() -> None:
    base = {"id": "message-2", "date": "2026-11-24T00:00:00Z", "message_type": "tool_call_message"}
    items = [
        make(
            {
                **base,
                "tool_call": {
                    "name": "memory_insert",
                    "arguments": '{"label": ',
                    "tool_call_id": "call_1",
                },
            }
        ),
        make({**base, "tool_call": {"arguments": '"human"}', "tool_call_id": "call_1"}}),
        make(
            {
                "id": "message-3",
                "date": "2026-11-24T00:00:00Z",
                "message_type": "tool_return_message",
                "status": "success",
                "tool_call_id": "call_1",
                "tool_return": "ok",
            }
        ),
    ]
    turn, _ = _fold(items)
    [call] = turn.tool_calls
    assert call["name"] == "memory_insert"
    assert call["arguments"] == {"label": "human"}
    assert call["status"] == "success" and call["return"] == "ok"


def test_error_message_event_sets_error() -> None:
    items = [
        make(
            {
                "message_type": "error_message",
                "error_type": "internal_error",
                "message": "boom",
                "run_id": "run-1",
            }
        )
    ]
    turn, _ = _fold(items)
    assert turn.error is not None and "boom" in str(turn.error)


def test_real_server_tool_call_deltas_are_one_object_not_a_list() -> None:
    """With stream_tokens the real server sends ``tool_call`` = ``tool_calls`` = ONE delta."""
    base = {"id": "message-9", "date": "2026-11-24T00:00:00Z", "message_type": "tool_call_message"}
    pieces = [
        {"name": "memory_insert", "arguments": "", "tool_call_id": "call_9"},
        {"name": None, "arguments": '{"label": "hu', "tool_call_id": "call_9"},
        {"name": None, "arguments": 'man"}', "tool_call_id": "call_9"},
    ]
    items = [make({**base, "tool_call": p, "tool_calls": p}) for p in pieces]
    turn, _ = _fold(items)
    [call] = turn.tool_calls
    assert call["name"] == "memory_insert"
    assert call["arguments"] == {"label": "human"}
    [msg] = turn.messages
    assert msg["tool_call"]["arguments"] == '{"label": "human"}'
    assert isinstance(msg["tool_calls"], list)


def test_events_that_are_not_messages_stay_out_of_the_messages() -> None:
    """Letta Cloud's response_state, and any kind a server adds later, are turn.events."""
    items = chunks("raw_sse_tokens.json")
    state = {"message_type": "response_state", "cache_scope": "approval_boundary",
             "response_id": "resp-1", "run_id": "run-1"}  # fmt: skip
    future = {"message_type": "some_future_event", "id": "x-1", "payload": {"a": 1}}
    retry = {"message_type": "retry_message", "message": "provider busy, retrying",
             "retry_kind": "provider_retry", "attempt": 1, "max_attempts": 3}  # fmt: skip
    turn, events = _fold([items[0], make(state), *items[1:3], make(future), make(retry),
                                  *items[3:]])  # fmt: skip
    assert [m["message_type"] for m in turn.messages] == ["assistant_message"]
    assert [e["message_type"] for e in turn.events] == [
        "response_state", "some_future_event", "retry_message"
    ]  # fmt: skip
    assert turn.events[0]["response_id"] == "resp-1"
    assert list(turn.frame()["message_type"].astype(str)) == ["assistant_message"]
    assert [e.text for e in events if e.kind == "event"] == [
        "response_state", "some_future_event", "retry_message"
    ]  # fmt: skip
    assert turn.assistant_text == "Echo: raw tokens"


def test_cloud_error_fields_reach_the_typed_error() -> None:
    turn, _ = _fold([make({
        "message_type": "error_message", "run_id": "run-1", "error_type": "internal_error",
        "message": "deployment interrupted", "detail": "try again",
        "error_code": "cloud_api_deployment_interrupted", "status_code": 503, "retryable": True,
    })])  # fmt: skip
    err = turn.error
    assert err is not None and err.code == "cloud_api_deployment_interrupted"
    assert err.status == 503 and err.retryable is True
    assert "cloud_api_deployment_interrupted" in str(err)
    turn, _ = _fold([make({
        "message_type": "error_message", "run_id": "run-1", "error_type": "llm_error",
        "message": "bad request", "retryable": False,
    })])  # fmt: skip
    assert turn.error.retryable is False and "will not help" in str(turn.error)
    turn, _ = _fold([make({  # letta 0.16.8: no such fields
        "message_type": "error_message", "run_id": "run-1", "error_type": "llm_error",
        "message": "boom",
    })])  # fmt: skip
    assert turn.error.retryable is None and turn.error.code is None


def test_a_compaction_during_the_turn_is_one_boundary_line() -> None:
    from letta_widgets.widgets.transcript import transcript_items

    items = chunks("raw_sse_steps.json")
    event = {
        "message_type": "event_message",
        "id": "message-e1",
        "date": "2026-01-01T00:00:00Z",
        "event_type": "compaction",
        "event_data": {"trigger": "post_step_context_check"},
    }
    summary = {
        "message_type": "summary_message",
        "id": "message-s1",
        "date": "2026-01-01T00:00:01Z",
        "summary": "We talked about tea.",
        "compaction_stats": {
            "trigger": "post_step_context_check",
            "context_window": 8000,
            "messages_count_before": 140,
            "messages_count_after": 42,
            "context_tokens_before": 7900,
            "context_tokens_after": 2100,
        },
    }
    turn, _ = _fold([*items[:-2], make(event), make(summary), *items[-2:]])  # fmt: skip
    assert [c["summary"] for c in turn.compactions] == ["We talked about tea."]
    cards = transcript_items(turn.messages)
    lines = [c for c in cards if c["type"] in ("summary_message", "event_message")]
    assert [c["type"] for c in lines] == ["summary_message"]
    assert "140 → 42 messages" in lines[0]["html"] and "7,900 → 2,100 tokens" in lines[0]["html"]
