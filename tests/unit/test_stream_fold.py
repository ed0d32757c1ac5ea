"""The engine's chunk folding, fed the SSE lines recorded from a real Letta server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from letta_client._models import construct_type
from letta_client.types.agents.letta_streaming_response import LettaStreamingResponse

from letta_widgets.stream import Turn, TurnEngine, TurnEvent

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "letta-shapes"  # real recordings


def chunks(name: str) -> list[object]:
    lines = json.loads((SHAPES / name).read_text())["lines"]
    out = []
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(construct_type(type_=LettaStreamingResponse, value=json.loads(line[6:])))
    return out


def _fold(engine: TurnEngine, items: list[object]) -> tuple[Turn, list[TurnEvent]]:
    turn = Turn(conversation_id="conv-x")
    events: list[TurnEvent] = []
    for chunk in items:
        engine._fold(chunk, turn, lambda _t, e: events.append(e), 0.0)
    return turn, events


@pytest.fixture
def engine() -> TurnEngine:
    from letta_client import Letta

    return TurnEngine(Letta(base_url="http://127.0.0.1:9"), "conv-x")


def test_token_deltas_assemble_into_one_message(engine: TurnEngine) -> None:
    turn, events = _fold(engine, chunks("raw_sse_tokens.json"))
    assert [m["message_type"] for m in turn.messages] == ["assistant_message"]
    assert turn.assistant_text == "Echo: raw tokens"
    assert turn.stop_reason == "end_turn"
    assert turn.usage and turn.usage["total_tokens"] == 15
    assert turn.run_id and turn.run_id.startswith("run-")
    kinds = [e.kind for e in events]
    assert kinds.count("message") == 1 and kinds.count("delta") == 2


def test_steps_mode_whole_messages(engine: TurnEngine) -> None:
    turn, _ = _fold(engine, chunks("raw_sse_steps.json"))
    assert turn.assistant_text
    assert turn.stop_reason == "end_turn"


def make(value: dict) -> object:
    return construct_type(type_=LettaStreamingResponse, value=value)


def test_shared_id_different_types_are_two_messages(engine: TurnEngine) -> None:
    base = {"id": "message-1", "date": "2026-11-24T00:00:00Z", "run_id": "run-1"}
    items = [
        make({**base, "message_type": "reasoning_message", "reasoning": "Think", "seq_id": 1}),
        make({**base, "message_type": "reasoning_message", "reasoning": "ing.", "seq_id": 2}),
        make({**base, "message_type": "assistant_message", "content": "Hel", "seq_id": 3}),
        make({**base, "message_type": "assistant_message", "content": "lo", "seq_id": 4}),
        make({"message_type": "stop_reason", "stop_reason": "end_turn"}),
    ]
    turn, _ = _fold(engine, items)
    assert turn.reasoning == "Thinking."
    assert turn.assistant_text == "Hello"
    assert turn.last_seq_id == 4


def test_replayed_seq_ids_are_skipped(engine: TurnEngine) -> None:
    base = {"id": "message-1", "date": "2026-11-24T00:00:00Z", "run_id": "run-1"}
    first = [
        make({**base, "message_type": "assistant_message", "content": c, "seq_id": i})
        for i, c in enumerate(["a", "b", "c"], start=1)
    ]
    replay = [
        make({**base, "message_type": "assistant_message", "content": c, "seq_id": i})
        for i, c in enumerate(["a", "b", "c", "d"], start=1)
    ]
    turn, _ = _fold(engine, first + replay)
    assert turn.assistant_text == "abcd"


def test_tool_call_deltas_merge_by_call_id(engine: TurnEngine) -> None:
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
    turn, _ = _fold(engine, items)
    [call] = turn.tool_calls
    assert call["name"] == "memory_insert"
    assert call["arguments"] == {"label": "human"}
    assert call["status"] == "success" and call["return"] == "ok"


def test_error_message_event_sets_error(engine: TurnEngine) -> None:
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
    turn, _ = _fold(engine, items)
    assert turn.error is not None and "boom" in str(turn.error)


def test_real_server_tool_call_deltas_are_one_object_not_a_list(engine: TurnEngine) -> None:
    """With stream_tokens the real server sends ``tool_call`` = ``tool_calls`` = ONE delta."""
    base = {"id": "message-9", "date": "2026-11-24T00:00:00Z", "message_type": "tool_call_message"}
    pieces = [
        {"name": "memory_insert", "arguments": "", "tool_call_id": "call_9"},
        {"name": None, "arguments": '{"label": "hu', "tool_call_id": "call_9"},
        {"name": None, "arguments": 'man"}', "tool_call_id": "call_9"},
    ]
    items = [make({**base, "tool_call": p, "tool_calls": p}) for p in pieces]
    turn, _ = _fold(engine, items)
    [call] = turn.tool_calls
    assert call["name"] == "memory_insert"
    assert call["arguments"] == {"label": "human"}
    [msg] = turn.messages
    assert msg["tool_call"]["arguments"] == '{"label": "human"}'
    assert isinstance(msg["tool_calls"], list)
