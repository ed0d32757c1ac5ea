"""SSE framing exactly as the real server writes it (tests/fixtures/letta-shapes/raw_sse_*)."""

from __future__ import annotations

import json

from letta_devserver.serialize import stop_reason_json, usage_json
from letta_devserver.sse import CONTENT_TYPE, Chunk, frame


def test_content_type() -> None:
    assert CONTENT_TYPE == "text/event-stream; charset=utf-8"


def test_data_frames_are_compact_json_lines() -> None:
    raw = frame(Chunk("data", stop_reason_json("end_turn")))
    assert raw == b'data: {"message_type":"stop_reason","stop_reason":"end_turn"}\n\n'
    usage = frame(Chunk("data", usage_json(10, 5, 1)))
    assert usage.startswith(b'data: {"message_type":"usage_statistics","completion_tokens":5,')
    assert frame(Chunk("done")) == b"data: [DONE]\n\n"


def test_seq_id_is_filled_only_when_null() -> None:
    payload = {"id": "m", "message_type": "assistant_message", "seq_id": None, "content": "é"}
    line = frame(Chunk("data", payload), seq=7).decode()
    assert json.loads(line[len("data: ") :])["seq_id"] == 7
    assert "é" in line  # not ascii-escaped
    assert payload["seq_id"] is None  # the run's log is not mutated
    no_seq = frame(Chunk("data", stop_reason_json("end_turn")), seq=3)
    assert b"seq_id" not in no_seq


def test_error_and_malformed_frames() -> None:
    err = frame(Chunk("error", {"message_type": "error_message", "run_id": "run-1"}))
    assert err.startswith(b"event: error\ndata: {") and err.endswith(b"\n\n")
    assert frame(Chunk("malformed")) == b"data: {not-json\n\n"
