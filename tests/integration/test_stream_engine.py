"""The turn engine against the devserver: streaming, resume, cancel, errors, idempotency."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.stream import TurnEngine

pytestmark = pytest.mark.real_server  # also run against the real Letta server (make test-real)
devserver_only = pytest.mark.devserver_only

FAULT = "X-Devserver-Fault"


def stored_messages(client: Letta, conversation_id: str) -> list[dict]:
    page = client.conversations.messages.list(conversation_id, order="asc", limit=1000)
    return [m.to_dict(mode="json") for m in page.items]


def stored_assistant_texts(client: Letta, conversation_id: str) -> list[str]:
    return [
        m["content"] if isinstance(m["content"], str) else "".join(p["text"] for p in m["content"])
        for m in stored_messages(client, conversation_id)
        if m["message_type"] == "assistant_message"
    ]


def user_messages(client: Letta, conversation_id: str) -> list[dict]:
    return [
        m for m in stored_messages(client, conversation_id) if m["message_type"] == "user_message"
    ]


def run(coro):
    return asyncio.run(coro)


def test_a_turn_streams_tokens_and_matches_what_the_server_stored(client, conversation) -> None:
    events: list[str] = []
    engine = TurnEngine(client, conversation)
    turn = run(engine.run("My name is Grace.", listener=lambda t, e: events.append(e.kind)))
    assert turn.stop_reason == "end_turn"
    assert turn.assistant_text
    assert turn.run_id and turn.run_id.startswith("run-")
    assert turn.usage and turn.usage["total_tokens"] > 0
    assert turn.ttft_s is not None and turn.total_s is not None and turn.ttft_s <= turn.total_s
    assert events[0] == "start" and events[-1] == "end" and "delta" in events
    assert stored_assistant_texts(client, conversation)[-1] == turn.assistant_text


@devserver_only
def test_the_scripted_agent_remembers_within_a_conversation(client, conversation) -> None:
    engine = TurnEngine(client, conversation)
    run(engine.run("My name is Grace."))
    assert "Grace" in run(engine.run("What is my name?")).assistant_text


@devserver_only
@pytest.mark.parametrize("drop_after", [1, 2, 3, 5, 8])
def test_dropped_stream_resumes_without_loss_or_repeat(client, conversation, drop_after) -> None:
    engine = TurnEngine(client, conversation)
    turn = run(
        engine.run(
            "Please tell me a slow story about the sea.",
            extra_headers={FAULT: f"drop_after={drop_after}"},
        )
    )
    assert turn.reconnects >= 1
    assert turn.stop_reason == "end_turn"
    assert stored_assistant_texts(client, conversation)[-1] == turn.assistant_text
    keys = [(m["id"], m["message_type"]) for m in turn.messages]
    assert len(keys) == len(set(keys))
    assert len(user_messages(client, conversation)) == 1


@devserver_only
@pytest.mark.parametrize("drop_after", [1, 4])
def test_a_dropped_foreground_stream_is_not_resumed(client, conversation, drop_after) -> None:
    # Without background mode there is no stream to rejoin (letta 0.16.8 would hang on
    # one): the engine says so at once instead of reconnecting.
    engine = TurnEngine(client, conversation, background=False)
    with pytest.raises(lw.StreamInterrupted) as info:
        run(engine.run("Hello there", extra_headers={FAULT: f"drop_after={drop_after}"}))
    turn = info.value.turn
    assert turn.reconnects == 0
    if turn.run_id is None:
        assert "before the run was known" in str(info.value)
    else:
        assert "cannot be resumed" in str(info.value) and "reload" in str(info.value)


@devserver_only
def test_malformed_event_is_survived_by_resuming(client, conversation) -> None:
    engine = TurnEngine(client, conversation)
    turn = run(engine.run("Tell me something slow.", extra_headers={FAULT: "malformed_event"}))
    assert turn.stop_reason == "end_turn"
    assert stored_assistant_texts(client, conversation)[-1] == turn.assistant_text


def test_same_otid_twice_stores_one_user_message(client, conversation) -> None:
    engine = TurnEngine(client, conversation)
    otid = str(uuid.uuid4())  # otids are global on the real server: never reuse one
    first = run(engine.run("Remember the otid test.", otid=otid))
    assert first.stop_reason == "end_turn"
    # the server may refuse the duplicate: what matters is what it stored
    with contextlib.suppress(lw.LettaWidgetsError):
        run(engine.run("Remember the otid test.", otid=otid))
    assert len(user_messages(client, conversation)) == 1


def test_cancel_mid_stream_cancels_the_server_run(client, conversation) -> None:
    engine = TurnEngine(client, conversation)

    async def scenario():
        task = asyncio.create_task(engine.run("slow: count to twenty, please"))
        while engine.current is None or not engine.current.messages:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return engine.current

    turn = run(scenario())
    assert turn.stop_reason == "cancelled"
    # nothing is running on the server any more: a new cancel finds nothing (409)
    with pytest.raises(Exception) as info:
        client.conversations.cancel(conversation)
    assert getattr(info.value, "status_code", None) == 409
    after = run(TurnEngine(client, conversation).run("Are you still there?"))
    assert after.stop_reason == "end_turn"


@devserver_only
def test_cancel_before_the_server_answers_still_cancels_the_run(client, conversation) -> None:
    # Stop while the send request is in flight: the server creates the run after we
    # gave up waiting (a loaded real server takes seconds). That run must not survive.
    slow_start = {FAULT: "first_byte_delay_ms=1200", "X-Devserver-Step-Delay-Ms": "3000"}
    engine = TurnEngine(client, conversation)

    async def scenario():
        task = asyncio.create_task(engine.run("slow: count to twenty", extra_headers=slow_start))
        await asyncio.sleep(0.3)
        assert engine.current is not None and engine.current.run_id is None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return engine.current

    turn = run(scenario())
    assert turn.stop_reason == "cancelled"
    runs = client.runs.list(conversation_id=conversation).items
    assert runs and {r.status for r in runs} == {"cancelled"}
    with pytest.raises(Exception) as info:
        client.conversations.cancel(conversation)
    assert getattr(info.value, "status_code", None) == 409


def test_engine_cancel_ends_the_stream_with_cancelled(client, conversation) -> None:
    engine = TurnEngine(client, conversation)

    async def scenario():
        task = asyncio.create_task(engine.run("slow: a long answer please"))
        while engine.current is None or not engine.current.messages:
            await asyncio.sleep(0.02)
        answer = await engine.cancel()
        turn = await task
        return answer, turn

    answer, turn = run(scenario())
    assert answer and any(v == "cancelled" for v in answer.values())
    assert turn.stop_reason == "cancelled"


@devserver_only
@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("status=401", lw.AuthenticationFailed),
        ("status=404", lw.NotFound),
        ("status=409", lw.ConversationBusy),
        ("status=429,retry_after=2", lw.RateLimited),
        ("status=500", lw.ServerError),
        ("error_event=fatal", lw.AgentRunError),  # (a retryable one: see below)
        ("stop_reason=llm_api_error", lw.AgentRunError),
    ],
)
def test_faults_become_typed_errors_and_the_engine_stays_usable(
    client, conversation, spec, cls
) -> None:
    engine = TurnEngine(client, conversation)
    with pytest.raises(cls) as info:
        run(engine.run("Hello there", extra_headers={FAULT: spec}))
    assert info.value.turn is not None
    assert not engine.busy
    ok = run(engine.run("Hello again"))
    assert ok.stop_reason == "end_turn"


def test_unknown_conversation_is_a_not_found_naming_the_id(client) -> None:
    missing = "conv-3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c"
    with pytest.raises(lw.NotFound, match=missing):
        run(TurnEngine(client, missing).run("hi"))


def test_server_down_is_server_unreachable() -> None:
    client = lw.connect("http://127.0.0.1:9", max_retries=0)
    with pytest.raises(lw.ServerUnreachable, match=r"127\.0\.0\.1:9"):
        run(TurnEngine(client, "conv-3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c").run("hi"))


def test_memory_tool_call_and_return_are_paired(client, conversation) -> None:
    turn = run(TurnEngine(client, conversation).run("Please remember that I like green tea."))
    names = [c["name"] for c in turn.tool_calls]
    assert "memory_insert" in names
    call = turn.tool_calls[names.index("memory_insert")]
    assert call["status"] == "success"
    frame = turn.frame()
    assert set(frame["message_type"]) >= {"tool_call_message", "tool_return_message"}


@devserver_only
def test_approval_request_then_approve_continues_the_run(client, conversation) -> None:
    engine = TurnEngine(client, conversation)
    turn = run(engine.run("Please send an email to bob@example.com saying hi."))
    assert turn.stop_reason == "requires_approval"
    [request] = turn.approval_requests
    call_id = request["tool_calls"][0]["tool_call_id"]
    done = run(engine.approve(call_id, approve=True, approval_request_id=request["id"]))
    assert done.stop_reason == "end_turn"
    assert any(m["message_type"] == "tool_return_message" for m in done.messages)


def _server_fault(client: Letta, spec: str | None) -> None:
    if spec:
        client.put("/v1/_devserver/faults", body={"spec": spec}, cast_to=object)
    else:
        client.delete("/v1/_devserver/faults", cast_to=object)


@devserver_only
@pytest.mark.both_profiles
def test_a_retryable_run_failure_is_sent_again_once_per_try(client, conversation, profile) -> None:
    """Cloud marks a transient LLM failure retryable: the engine sends again (fresh otid)."""
    engine = TurnEngine(client, conversation)
    engine.retry_delays = (0.0,)
    events: list[str] = []
    _server_fault(client, "error_event,once")  # the first attempt fails, the next one works
    try:
        if profile == "cloud":
            turn = run(engine.run("hello", listener=lambda t, e: events.append(e.kind)))
            assert turn.retries == 1 and turn.stop_reason == "end_turn" and turn.error is None
            assert events.count("retry") == 1
            assert [m["content"] for m in user_messages(client, conversation)] == ["hello"]
        else:  # letta 0.16.8 does not say whether a retry can help: no retry
            with pytest.raises(lw.AgentRunError) as caught:
                run(engine.run("hello", listener=lambda t, e: events.append(e.kind)))
            assert caught.value.retryable is None and caught.value.turn.retries == 0
            assert "retry" not in events
    finally:
        _server_fault(client, None)


@devserver_only
@pytest.mark.both_profiles
def test_retries_end_and_a_fatal_failure_is_not_retried(client, conversation, profile) -> None:
    engine = TurnEngine(client, conversation)
    engine.retry_delays = (0.0,)
    _server_fault(client, "error_event")  # every attempt fails
    try:
        with pytest.raises(lw.AgentRunError) as caught:
            run(engine.run("hello"))
        assert caught.value.turn.retries == (engine.max_run_retries if profile == "cloud" else 0)
        _server_fault(client, "error_event=fatal")
        with pytest.raises(lw.AgentRunError) as caught:
            run(engine.run("hello"))
        assert caught.value.turn.retries == 0
        if profile == "cloud":
            assert caught.value.retryable is False and caught.value.code
            assert "will not help" in str(caught.value)
    finally:
        _server_fault(client, None)
    assert user_messages(client, conversation) == []  # a failed run stores nothing
