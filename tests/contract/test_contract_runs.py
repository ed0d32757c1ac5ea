"""Runs: background streams, client disconnect and resume by seq_id, otid idempotency, cancel.

The real server needs Redis for background runs and resume (without it, 503): those tests
skip with that reason. ``slow`` in the text makes both servers stream the answer slowly,
token by token, so a test can act while the run is active.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import _support as sup
import letta_client
import pytest
from letta_client import APIStatusError, Letta

pytestmark = pytest.mark.contract

SLOW = "slow please, tell me a long story"


def _start_background(client: Letta, conv_id: str, label: str, **kw: Any) -> Any:
    try:
        return client.conversations.messages.create(
            conv_id, messages=sup.user(SLOW), background=True, stream_tokens=True, **kw
        )
    except APIStatusError as e:
        sup.skip_if_needs_redis(e, label)
        raise


def _by_seq(chunks: list[Any]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for c in chunks:
        seq = getattr(c, "seq_id", None)
        if seq is not None:
            assert seq not in out, f"seq_id {seq} repeated"
            out[seq] = c
    return out


def test_background_disconnect_and_resume(client: Letta, conv: object, server_label: str) -> None:
    stream = _start_background(client, conv.id, server_label)
    first: list[Any] = []
    for chunk in stream:
        first.append(chunk)
        if len(first) >= 3:
            break
    stream.close()  # the client goes away; the background run goes on
    seqs = [c.seq_id for c in first]
    assert seqs == [1, 2, 3], f"background chunks are numbered 1, 2, 3...: {seqs}"
    run_id = first[0].run_id
    assert run_id and all(c.run_id == run_id for c in first)

    # resuming from the last seq_id seen gives exactly the rest
    rest = list(
        client.conversations.messages.stream(conv.id, run_id=run_id, starting_after=seqs[-1])
    )
    assert sup.stop_reason(rest) == "end_turn"
    assert sup.types(rest)[-2:] == ["stop_reason", "usage_statistics"]
    got = _by_seq(first + rest)
    assert sorted(got) == list(range(1, max(got) + 1)), "no lost or repeated event by seq_id"
    assert all(c.run_id == run_id for c in got.values())
    # the resumed deltas assemble to the stored answer
    deltas = [got[s] for s in sorted(got) if got[s].message_type == "assistant_message"]
    assert deltas and len({d.id for d in deltas}) == 1
    stored = [m for m in sup.history(client, conv.id) if m.id == deltas[0].id]
    stored_text = [m.content for m in stored if m.message_type == "assistant_message"]
    assert stored_text == ["".join(d.content for d in deltas)]
    # the run is over: resuming the conversation's active run is a 400 ...
    with pytest.raises(letta_client.BadRequestError) as err:
        list(client.conversations.messages.stream(conv.id))
    assert "No active runs" in str(err.value)
    # ... while naming the finished run replays it whole
    replay = list(client.conversations.messages.stream(conv.id, run_id=run_id))
    assert sorted(_by_seq(replay)) == sorted(got)
    assert sup.stop_reason(replay) == "end_turn"


def test_resume_active_run_replays_from_the_start(
    client: Letta, conv: object, server_label: str
) -> None:
    stream = _start_background(client, conv.id, server_label)
    head = []
    for chunk in stream:
        head.append(chunk)
        if len(head) >= 2:
            break
    stream.close()
    # without run_id or starting_after: the conversation's active run, from seq_id 1
    replay = list(client.conversations.messages.stream(conv.id))
    got = _by_seq(replay)
    assert min(got) == 1
    assert sorted(got) == list(range(1, max(got) + 1))
    assert sup.stop_reason(replay) == "end_turn"
    assert {c.run_id for c in got.values()} == {head[0].run_id}


def test_otid_idempotency(client: Letta, conv: object, server_label: str) -> None:
    otid = sup.new_otid()
    try:
        first = list(
            client.conversations.messages.create(
                conv.id, messages=sup.user("only once", otid=otid), background=True
            )
        )
    except APIStatusError as e:
        sup.skip_if_needs_redis(e, server_label)
        raise
    second = list(
        client.conversations.messages.create(
            conv.id, messages=sup.user("only once", otid=otid), background=True
        )
    )
    users = sup.of_type(sup.history(client, conv.id), "user_message")
    assert [(m.content, m.otid) for m in users] == [("only once", otid)]
    # the retry is attached to the first request's run, and sees the same events
    run_of = lambda chunks: {c.run_id for c in chunks if getattr(c, "run_id", None)}  # noqa: E731
    assert run_of(second) == run_of(first)
    assert [sup.key(c) for c in sup.of_type(second, "assistant_message")] == [
        sup.key(c) for c in sup.of_type(first, "assistant_message")
    ]
    assert sup.stop_reason(second) == "end_turn"
    # a new otid is a new message
    list(
        client.conversations.messages.create(
            conv.id, messages=sup.user("only once", otid=sup.new_otid()), background=True
        )
    )
    assert len(sup.of_type(sup.history(client, conv.id), "user_message")) == 2


def test_cancel_without_active_run_is_409(client: Letta, conv: object) -> None:
    with pytest.raises(letta_client.ConflictError) as err:
        client.conversations.cancel(conv.id)
    assert "No active runs to cancel" in str(err.value)


def test_cancel_during_a_run(client: Letta, conv: object) -> None:
    reader = sup.BackgroundReader(
        lambda: client.conversations.messages.create(
            conv.id, messages=sup.user(SLOW), stream_tokens=True
        )
    )
    assert reader.first.wait(30), "the run did not start"
    time.sleep(0.3)
    out = client.conversations.cancel(conv.id)
    chunks = reader.join(60)
    assert reader.error is None, reader.error
    run_ids = {c.run_id for c in chunks if getattr(c, "run_id", None)}
    assert len(run_ids) == 1
    assert out == {next(iter(run_ids)): "cancelled"}
    assert sup.stop_reason(chunks) == "cancelled"
    # the stream ends at its stop reason (no usage_statistics), and the step it cut short is
    # not stored: not even the user message
    assert sup.types(chunks)[-1] == "stop_reason"
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]
    # the conversation is usable again, and there is nothing left to cancel
    with pytest.raises(letta_client.ConflictError):
        client.conversations.cancel(conv.id)
    assert sup.stop_reason(sup.send(client, conv.id, "after the cancel")) == "end_turn"


def test_cancel_background_run_ends_resumed_stream(
    client: Letta, conv: object, server_label: str
) -> None:
    stream = _start_background(client, conv.id, server_label)
    head = []
    for chunk in stream:
        head.append(chunk)
        if len(head) >= 2:
            break
    stream.close()
    out = client.conversations.cancel(conv.id)
    assert out == {head[0].run_id: "cancelled"}
    rest = list(
        client.conversations.messages.stream(
            conv.id, run_id=head[0].run_id, starting_after=head[-1].seq_id
        )
    )
    assert sup.stop_reason(rest) == "cancelled"


def test_otid_retry_is_matched_across_conversations(
    client: Letta, agent: object, server_label: str
) -> None:
    """The real server keys otid retries by the otids alone (in Redis), not per conversation:
    a background request reusing an otid in ANOTHER conversation gets the first run's stream
    and stores nothing there."""
    a = client.conversations.create(agent_id=agent.id).id
    b = client.conversations.create(agent_id=agent.id).id
    otid = sup.new_otid()
    try:
        first = list(
            client.conversations.messages.create(
                a, messages=sup.user("hello from a", otid=otid), background=True
            )
        )
    except APIStatusError as e:
        sup.skip_if_needs_redis(e, server_label)
        raise
    again = list(
        client.conversations.messages.create(
            b, messages=sup.user("hello from b", otid=otid), background=True
        )
    )
    run_of = lambda chunks: {c.run_id for c in chunks if getattr(c, "run_id", None)}  # noqa: E731
    assert run_of(again) == run_of(first)
    assert not sup.of_type(sup.history(client, b), "user_message")
    assert [m.content for m in sup.of_type(sup.history(client, a), "user_message")] == [
        "hello from a"
    ]


def test_send_while_a_run_is_active_is_409(client: Letta, conv: object) -> None:
    reader = sup.BackgroundReader(
        lambda: client.conversations.messages.create(
            conv.id, messages=sup.user(SLOW), stream_tokens=True
        )
    )
    assert reader.first.wait(30), "the run did not start"
    try:
        for kw in ({}, {"background": True}):
            with pytest.raises(letta_client.ConflictError) as err:
                list(
                    client.conversations.messages.create(conv.id, messages=sup.user("me too"), **kw)
                )
            body = err.value.body
            assert body["detail"].startswith(
                "CONFLICT: Cannot send a new message: Another request (run_id="
            )
            active = next(c.run_id for c in reader.chunks if getattr(c, "run_id", None))
            assert body["run_id"] == active
    finally:
        chunks = reader.join(60)
    assert sup.stop_reason(chunks) == "end_turn"
    users = sup.of_type(sup.history(client, conv.id), "user_message")
    assert [m.content for m in users] == [SLOW]


def test_background_steps_framing(client: Letta, conv: object, server_label: str) -> None:
    try:
        raw = sup.raw_stream(
            client,
            conv.id,
            'call:memory_insert {"label": "human", "new_string": "Ada likes tea."}',
            background=True,
        )
    except APIStatusError as e:
        sup.skip_if_needs_redis(e, server_label)
        raise
    assert raw.content_type == "text/event-stream; charset=utf-8"
    assert raw.done and not raw.event_names
    body = [e for e in raw.events if e["message_type"] not in ("stop_reason", "usage_statistics")]
    # every message event is numbered 1, 2, 3...; stop_reason and usage carry no seq_id
    assert [e["seq_id"] for e in body] == list(range(1, len(body) + 1))
    assert body[0]["message_type"] == "ping"
    assert [e["message_type"] for e in raw.events[-2:]] == ["stop_reason", "usage_statistics"]
    assert "seq_id" not in raw.events[-2] and "seq_id" not in raw.events[-1]
    assert len({e["run_id"] for e in body}) == 1


def _raw_lines_in_thread(client: Letta, conv_id: str, text: str, **kw: Any) -> Any:
    """Send a message in a thread; the reader's ``lines`` are the raw SSE lines."""
    box: dict[str, Any] = {}

    def make() -> list[Any]:
        resp = client.conversations.messages.with_raw_response.create(
            conv_id, messages=sup.user(text), **kw
        )
        resp.http_response.read()
        box["lines"] = [x for x in resp.http_response.text.splitlines() if x]
        return []

    reader = sup.BackgroundReader(make)
    reader.box = box  # type: ignore[attr-defined]
    return reader


def _wait_until_running(client: Letta, conv_id: str) -> None:
    assert sup.wait_for(
        lambda: any(r.status == "running" for r in client.runs.list(conversation_id=conv_id).items),
        30,
    ), "the run did not start"


def test_cancel_in_steps_mode_finishes_the_step_unstreamed(client: Letta, conv: object) -> None:
    """Steps mode: the LLM call in flight completes and its step is stored, but the stream
    shows none of it: the initial ping, then the stop reason, and no [DONE]."""
    reader = _raw_lines_in_thread(client, conv.id, SLOW)
    _wait_until_running(client, conv.id)
    time.sleep(0.5)
    client.conversations.cancel(conv.id)
    reader.join(60)
    assert reader.error is None, reader.error
    lines = [x for x in reader.box["lines"] if '"message_type":"response_state"' not in x]
    assert len(lines) == 2 and '"message_type":"ping"' in lines[0], lines
    assert '"stop_reason":"cancelled"' in lines[1].replace(" ", ""), lines
    kinds = sup.types(sup.history(client, conv.id))
    assert kinds == ["system_message", "user_message", "reasoning_message", "assistant_message"]
    run = client.runs.list(conversation_id=conv.id).items[0]
    assert (run.status, run.stop_reason) == ("cancelled", "cancelled")


def test_cancel_background_stream_ends_with_done(
    client: Letta, conv: object, server_label: str
) -> None:
    """Background mode: the cancelled stream's stop reason is followed by [DONE]."""
    try:
        reader = _raw_lines_in_thread(client, conv.id, SLOW, background=True, stream_tokens=True)
        assert sup.wait_for(lambda: client.runs.list(conversation_id=conv.id).items, 30)
    except APIStatusError as e:
        sup.skip_if_needs_redis(e, server_label)
        raise
    _wait_until_running(client, conv.id)
    time.sleep(1.0)
    client.conversations.cancel(conv.id)
    reader.join(60)
    if reader.error is not None and isinstance(reader.error, APIStatusError):
        sup.skip_if_needs_redis(reader.error, server_label)
    assert reader.error is None, reader.error
    lines = reader.box["lines"]
    assert lines[-1] == "data: [DONE]"
    assert '"stop_reason":"cancelled"' in lines[-2].replace(" ", "")
    assert "usage_statistics" not in "".join(lines)
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]


def _finished(client: Letta, run_id: str) -> Any:
    assert sup.wait_for(lambda: client.runs.retrieve(run_id).status != "running", 15)
    return sup.raw_json(client.runs.with_raw_response.retrieve, run_id)


def test_run_record_fields(client: Letta, conv: object, profile: str) -> None:
    """As 0.16.8 records runs: ``ttft_ns`` null, ``total_duration_ns`` only in lists,
    ``metadata`` the run type, plus the error event of a failed run."""
    run_id = sup.of_type(sup.send(client, conv.id, "hello"), "assistant_message")[0].run_id
    body = _finished(client, run_id)
    assert body["status"] == "completed" and body["stop_reason"] == "end_turn"
    assert body["ttft_ns"] is None and body["total_duration_ns"] is None
    assert body["metadata"] == {"run_type": "send_conversation_message"}

    def row() -> dict:
        listed = sup.raw_json(client.runs.with_raw_response.list, conversation_id=conv.id)
        return next(r for r in listed if r["id"] == run_id)

    # the list fills it from the run's metrics (on the real server, a moment after the end)
    assert sup.wait_for(lambda: row()["total_duration_ns"] is not None, 15)
    assert row()["ttft_ns"] is None and row()["total_duration_ns"] > 0

    raw = sup.raw_stream(client, conv.id, "fail:llm please")
    failed = next(e["run_id"] for e in raw.events if e.get("run_id"))
    body = _finished(client, failed)
    assert (body["status"], body["stop_reason"]) == ("failed", "llm_api_error")
    error = body["metadata"]["error"]
    # the streamed error event, as it was sent (Letta Cloud's retry fields included)
    assert set(error) == sup.error_fields(profile)
    streamed = next(e for e in raw.events if e["message_type"] == "error_message")
    assert [error.get(k) for k in sorted(error)] == [streamed.get(k) for k in sorted(error)]
    assert error["message_type"] == "error_message" and error["run_id"] == failed
    assert error["error_type"] == "llm_error" and error["seq_id"] is None
    assert error["message"] and error["detail"]


def test_streaming_false_run_record(client: Letta, conv: object) -> None:
    """0.16.8 records a ``streaming=false`` run with no conversation and never moves it past
    ``created`` (so ``runs.list(conversation_id=…)`` does not show it)."""
    raw = sup.raw_json(
        client.conversations.messages.with_raw_response.create,
        conv.id,
        messages=sup.user("quiet"),
        streaming=False,
    )
    run_id = raw["messages"][0]["run_id"]
    body = sup.raw_json(client.runs.with_raw_response.retrieve, run_id)
    assert body["conversation_id"] is None and body["agent_id"] == conv.agent_id
    assert (body["status"], body["stop_reason"], body["completed_at"]) == ("created", None, None)
    assert body["metadata"] == {"run_type": "send_conversation_message"}
    assert run_id not in {r.id for r in client.runs.list(conversation_id=conv.id).items}
    # the conversation itself is not blocked by it
    assert sup.stop_reason(sup.send(client, conv.id, "after")) == "end_turn"


def test_max_steps(client: Letta, conv: object) -> None:
    """``max_steps=1``: the tool round stops after its first step (stored), ``max_steps``."""
    prompt = 'call:memory_insert {"label": "human", "new_string": "Ada likes figs."}'
    chunks = sup.without_state(sup.send(client, conv.id, prompt, max_steps=1))
    assert sup.types(chunks)[1:] == [
        "reasoning_message",
        "tool_call_message",
        "tool_return_message",
        "stop_reason",
        "usage_statistics",
    ]
    assert sup.stop_reason(chunks) == "max_steps" and chunks[-1].step_count == 1
    assert sup.types(sup.history(client, conv.id))[-2:] == [
        "tool_call_message",
        "tool_return_message",
    ]
    assert sup.stop_reason(sup.send(client, conv.id, "next")) == "end_turn"


@pytest.mark.parametrize("content", ["", []])
def test_empty_content(client: Letta, conv: object, content: object, profile: str) -> None:
    """Empty content: a run that fails at once when streaming, 400 when not; nothing stored."""
    detail = "Message content is empty or invalid"
    raw = sup.raw_stream(client, conv.id, content)  # type: ignore[arg-type]
    events = sup.without_state(raw.events)
    assert [e["message_type"] for e in events] == ["ping", "stop_reason", "error_message"]
    assert events[1]["stop_reason"] == "error" and "error" in raw.event_names
    assert events[2]["error_type"] == "internal_error" and events[2]["detail"] == detail
    assert set(events[2]) == sup.error_fields(profile)
    if profile == "cloud":  # Letta Cloud: a bad request, not worth a retry
        assert (events[2]["status_code"], events[2]["retryable"]) == (400, False)
    with pytest.raises(letta_client.BadRequestError) as info:
        client.conversations.messages.create(
            conv.id, messages=[{"role": "user", "content": content}], streaming=False
        )
    assert info.value.body == {"detail": detail}
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]


def test_unknown_and_malformed_run_ids(client: Letta, conv: object) -> None:
    unknown = f"run-{uuid.uuid4()}"
    with pytest.raises(letta_client.NotFoundError) as info:
        client.runs.retrieve(unknown)
    assert info.value.body["detail"].startswith(f"Run not found with id='['{unknown}']'")
    with pytest.raises(letta_client.NotFoundError) as info:
        list(client.conversations.messages.stream(conv.id, run_id=unknown))
    assert info.value.body["detail"].startswith(f"Run not found with id='['{unknown}']'")
    with pytest.raises(letta_client.BadRequestError) as info:
        client.runs.retrieve("run-123")
    assert info.value.body == {
        "detail": "INVALID_ARGUMENT: Invalid run ID format: run-123. Expected format: 'run-<uuid4>'"
    }
