"""ChatCell's Python side against the devserver (the browser tier tests the front-end)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.widgets.chat import ChatCell

pytestmark = pytest.mark.real_server  # also run against the real Letta server (make test-real)
devserver_only = pytest.mark.devserver_only


def set_server_fault(client: Letta, spec: str | None) -> None:
    """Devserver-only control endpoint, called through the SDK's generic request methods."""
    if spec:
        client.put("/v1/_devserver/faults", body={"spec": spec}, cast_to=object)
    else:
        client.delete("/v1/_devserver/faults", cast_to=object)


class RecordingChat(ChatCell):
    """Records the coalesced front-end op batches (the comm has no front-end here)."""

    def __init__(self, *args, **kwargs) -> None:
        self.batches: list[list] = []
        super().__init__(*args, **kwargs)

    def _send_ops(self, ops):
        self.batches.append(ops)
        super()._send_ops(ops)


def test_send_streams_and_returns_the_turn(client, conversation) -> None:
    chat = RecordingChat(client, conversation_id=conversation)
    turn = chat.send("My name is Grace and I live in Paris.")
    assert turn.stop_reason == "end_turn" and turn.assistant_text
    assert chat.status == "done" and "end_turn" in chat.status_text
    types = [i["type"] for i in chat.items]
    assert types[-1] == "usage"
    assert types.index("user_message") < types.index("assistant_message")
    live: dict[int, str] = {}
    for batch in chat.batches:
        for op in batch:
            if op["op"] == "begin":
                live[op["i"]] = op["text"]
            elif op["op"] == "delta":
                live[op["i"]] += op["text"]
            elif op["op"] == "set":
                live[op["i"]] = op["text"]
    assert turn.assistant_text in live.values()  # the live view saw every delta
    assert turn.reasoning in live.values()
    n_deltas = sum(1 for batch in chat.batches for op in batch if op["op"] == "delta")
    assert len(chat.batches) <= n_deltas + 3  # coalesced, never more flushes than deltas
    assert chat.send("Where do I live?").stop_reason == "end_turn"


def test_asend_is_awaitable(client, conversation) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    turn = asyncio.run(chat.asend("Hello there!"))
    assert turn.stop_reason == "end_turn"
    assert chat.status == "done"


def test_opening_an_existing_conversation_shows_its_history(client, conversation) -> None:
    first = ChatCell(client, conversation_id=conversation)
    first.send("My favourite colour is green.")
    again = ChatCell(client, conversation_id=conversation, history=50)
    html = " ".join(i["html"] for i in again.items)
    assert "green" in html
    assert any(i["type"] == "assistant_message" for i in again.items)


def test_agent_id_creates_a_conversation(client, agent) -> None:
    chat = ChatCell(client, agent_id=agent.id)
    assert chat.conversation_id.startswith("conv-")
    assert client.conversations.retrieve(chat.conversation_id).agent_id == agent.id


def test_default_conversation_of_an_agent(client, agent) -> None:
    chat = ChatCell(client, conversation_id="default", agent_id=agent.id)
    turn = chat.send("Hi from the default thread.")
    assert turn.stop_reason == "end_turn"


def test_stop_from_another_thread_cancels_the_server_run(client, conversation) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    stopper_saw_streaming = threading.Event()

    def click_stop() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            current = chat._engine.current
            if chat.status == "streaming" and current is not None and current.messages:
                stopper_saw_streaming.set()
                chat.stop()
                return
            time.sleep(0.02)

    threading.Thread(target=click_stop, daemon=True).start()
    turn = chat.send("slow: please write a long poem")
    assert stopper_saw_streaming.is_set()
    assert turn.stop_reason == "cancelled"
    assert chat.status == "stopped"
    assert not chat.busy
    with pytest.raises(Exception) as info:  # nothing left running on the server
        client.conversations.cancel(conversation)
    assert getattr(info.value, "status_code", None) == 409
    assert chat.send("Still there?").stop_reason == "end_turn"


@devserver_only
def test_stop_before_a_slow_server_starts_the_run(client, conversation) -> None:
    # Every request of this client waits 1 s before the server handles it: Stop lands
    # while the send request is in flight, before the run exists.
    slow = client.with_options(
        default_headers={"X-Devserver-Fault": "first_byte_delay_ms=1000"}, max_retries=0
    )
    chat = ChatCell(slow, conversation_id=conversation)
    job = chat.start("slow: please write a long poem")
    deadline = time.monotonic() + 20
    while chat._engine.current is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the turn began: its send request is on its way
    assert chat.status == "streaming" and chat._engine.current.run_id is None
    chat.stop()
    assert chat.status_text == "stopping…"  # at once, while the run is being cancelled
    assert job.wait_finished(20)
    assert chat.status == "stopped" and chat.status_text.startswith("stopped")
    runs = client.runs.list(conversation_id=conversation).items
    assert [r.status for r in runs] == ["cancelled"]
    assert chat.send("Still there?").stop_reason == "end_turn"


def test_a_second_send_while_streaming_is_refused(client, conversation) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    job = chat.start("slow: a long answer")
    with pytest.raises(lw.ConversationBusy, match="already streaming"):
        chat.send("interleave?")
    assert "already streaming" in chat.status_text
    assert job.result().stop_reason == "end_turn"
    users = [
        m
        for m in client.conversations.messages.list(conversation, limit=100).items
        if m.message_type == "user_message"
    ]
    assert len(users) == 1


@devserver_only
@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("status=401,once", lw.AuthenticationFailed),
        ("status=429,retry_after=1,once", lw.RateLimited),
        ("status=500,once", lw.ServerError),
        ("error_event=fatal,once", lw.AgentRunError),  # a retryable one is sent again
    ],
)
def test_errors_show_in_the_widget_and_it_keeps_working(client, conversation, spec, cls) -> None:
    chat = ChatCell(client, conversation_id=conversation, history=0)
    set_server_fault(client, spec)
    try:
        with pytest.raises(cls):
            chat.send("Hello?")
    finally:
        set_server_fault(client, None)
    assert chat.status == "error"
    assert chat.error and ":" in chat.error
    assert chat.send("Hello again").stop_reason == "end_turn"
    assert chat.error == ""


def test_busy_conversation_offers_attach(client, conversation) -> None:
    other = ChatCell(client, conversation_id=conversation, history=0)
    running = other.start("slow: take your time")
    while other._engine.current is None or other._engine.current.run_id is None:
        time.sleep(0.02)
    chat = ChatCell(client, conversation_id=conversation, history=0)
    with pytest.raises(lw.ConversationBusy):
        chat.send("Me too")
    assert chat.can_attach
    attached = chat._start(
        chat._run_engine(lambda listener: chat._engine.attach(listener=listener))
    )
    turn = attached.result()
    assert turn.stop_reason == "end_turn"
    assert turn.assistant_text == running.result().assistant_text


def test_unknown_conversation_raises_at_once(client) -> None:
    with pytest.raises(lw.NotFound, match="conv-3f1c2a4e"):
        ChatCell(client, conversation_id="conv-3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c")


@devserver_only
def test_approval_from_python(client, conversation) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    turn = chat.send("Please send an email to bob@example.com saying the build is green.")
    assert turn.stop_reason == "requires_approval"
    assert "approval" in chat.status_text
    pending = [i for i in chat.items if i.get("pending")]
    assert pending and pending[0]["tool_call_ids"]
    with pytest.raises(lw.ApprovalPending, match="approve or deny"):
        chat.send("Did you send it?")
    assert "approval" in chat.error and not chat.can_attach
    done = chat.approve(approve=False, reason="not today")
    assert done.stop_reason == "end_turn"
    assert not [i for i in chat.items if i.get("pending")]


@devserver_only
@pytest.mark.both_profiles
def test_older_pages_load_everything_once(client, conversation) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    for n in range(6):
        chat.send(f"Please remember that fact number {n} is {n * n}.")
    fresh = ChatCell(client, conversation_id=conversation, history=3)
    while fresh.has_older:
        fresh.load_older()
    keys = [i["key"] for i in fresh.items]
    assert len(keys) == len(set(keys))
    stored = client.conversations.messages.list(conversation, limit=1000, order="asc").items
    stored_keys = {f"{m.id}|{m.message_type}" for m in stored}
    exchanged_returns = sum(1 for i in fresh.items if i["type"] == "tool_exchange")
    assert set(keys) <= stored_keys
    assert len(keys) + exchanged_returns == len(stored_keys)


@devserver_only
@pytest.mark.both_profiles
def test_older_pages_reach_the_first_message_of_a_long_conversation(client, agent) -> None:
    """Scrolled up to the top: every stored message once, in order (both cursor styles)."""
    conv = client.conversations.create(agent_id=agent.id).id
    client.post(
        f"/v1/_devserver/conversations/{conv}/synthetic", body={"turns": 45}, cast_to=object
    )
    chat = ChatCell(client, conversation_id=conv, history=7)
    added = []
    while chat.has_older:
        added.append(chat.load_older())
    assert len(added) >= 5 and all(added[:-1])  # the last one may confirm there is no more
    stored = client.conversations.messages.list(conv, limit=100_000, order="asc").items
    every = [f"{m.id}|{m.message_type}" for m in stored]
    shown = [i["key"] for i in chat.items]
    assert shown == [k for k in every if k in set(shown)]  # each once, oldest first
    # the rest are tool returns shown inside their call's card
    in_cards = sum(1 for i in chat.items if i["type"] == "tool_exchange")
    assert {k.split("|")[1] for k in set(every) - set(shown)} == {"tool_return_message"}
    assert len(every) - len(shown) == in_cards


def test_no_secret_in_widget_state(client, base_url, conversation) -> None:
    secret = "sk-super-secret-value-123"
    keyed = lw.connect(base_url, api_key=secret, default_headers={"X-Api-Token": secret})
    chat = ChatCell(keyed, conversation_id=conversation)
    chat.send("hello")
    state = json.dumps(chat.get_state(), default=str)
    assert secret not in state
    assert secret not in repr(chat)


def test_unknown_kwargs_are_rejected(client, conversation) -> None:
    with pytest.raises(TypeError, match="histroy"):
        ChatCell(client, conversation_id=conversation, histroy=3)


@devserver_only
@pytest.mark.both_profiles
def test_a_compaction_during_a_turn_is_one_line_and_dims_what_left(client, base_url, agent):
    conv = client.conversations.create(agent_id=agent.id).id
    first = ChatCell(client, conversation_id=conv)
    for n in range(4):
        first.send(f"Tell me fact number {n}.")
    # the devserver compacts a run whose context passes this many messages
    compacting = lw.connect(base_url, default_headers={"X-Devserver-Context-Messages": "6"})
    chat = ChatCell(compacting, conversation_id=conv, history=100)
    assert not any(i.get("evicted") for i in chat.items)
    turn = chat.send("And one more.")
    assert len(turn.compactions) == 1
    stats = turn.compactions[0]["compaction_stats"]
    assert stats["messages_count_before"] > stats["messages_count_after"]
    assert [e["message_type"] for e in turn.events if e["message_type"] == "event_message"] == []
    lines = [i for i in chat.items if i["type"] in ("summary_message", "event_message")]
    assert [i["type"] for i in lines] == ["summary_message"]  # one line, with its numbers
    assert (
        f"{stats['messages_count_before']} → {stats['messages_count_after']} messages"
        in (lines[0]["html"])
    )
    ctx = set(client.conversations.retrieve(conv).in_context_message_ids)
    shown = [i for i in chat.items if str(i["key"]).startswith("message-")]
    assert any(i.get("evicted") for i in shown) and not all(i.get("evicted") for i in shown)
    assert all(i["evicted"] == (i["key"].split("|")[0] not in ctx) for i in shown)
    reopened = ChatCell(client, conversation_id=conv, history=100)
    assert any(i.get("evicted") for i in reopened.items)
    assert any("Conversation compacted" in i["html"] for i in reopened.items)


@pytest.mark.both_profiles
def test_stream_events_that_are_not_messages_draw_nothing(client, conversation, profile) -> None:
    """Letta Cloud streams a response_state event in every turn: kept apart, never a card."""
    chat = RecordingChat(client, conversation_id=conversation)
    turn = chat.send("Hello there")
    kinds = [e["message_type"] for e in turn.events]
    assert ("response_state" in kinds) == (profile == "cloud")
    assert all(m["message_type"] != "response_state" for m in turn.messages)
    assert "response_state" not in set(turn.frame()["message_type"].astype(str))
    assert "response_state" not in json.dumps(chat.items)
    begun = [op["type"] for batch in chat.batches for op in batch if op["op"] == "begin"]
    assert begun and "response_state" not in begun


@devserver_only
def test_the_server_retrying_the_model_says_so(base_url, conversation) -> None:
    """A Cloud retry_message event: the status line says the server retries, nothing drawn."""
    retrying = lw.connect(base_url, default_headers={"X-Devserver-Fault": "retry_message"})
    chat = RecordingChat(retrying, conversation_id=conversation)
    statuses: list[str] = []
    chat.observe(lambda c: statuses.append(c.new), names=["status_text"])
    turn = chat.send("Hello there")
    assert turn.stop_reason == "end_turn"
    assert [e["attempt"] for e in turn.events if e["message_type"] == "retry_message"] == [1]
    assert any("retrying the model (1/3)" in s for s in statuses)
    assert "retry_message" not in json.dumps(chat.items)


@pytest.mark.both_profiles
def test_memory_written_here_is_known_and_a_stale_prompt_is_said(client, agent) -> None:
    """The writing conversation knows the fact (its own messages); its system prompt and
    other conversations' keep the old copy, which the chat says, until Recompile."""
    other = client.conversations.create(agent_id=agent.id).id
    chat = ChatCell(client, agent_id=agent.id)
    assert chat.memory_notice == ""
    chat.send("Remember that my favorite color is blue.")
    assert "blue" in chat.send("What is my favourite colour?").assistant_text
    assert "human changed since" in chat.memory_notice  # as on the real server
    elsewhere = ChatCell(client, conversation_id=other)
    assert "human changed since" in elsewhere.memory_notice
    elsewhere.recompile()
    assert elsewhere.memory_notice == ""
    again = ChatCell(client, conversation_id=other)
    assert again.memory_notice == ""


def test_a_bad_conversation_id_is_one_clear_error(client) -> None:
    """No chained SDK traceback before the toolkit's sentence (the chain adds nothing)."""
    import traceback

    missing = "conv-3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c"
    with pytest.raises(lw.NotFound, match=missing) as caught:
        ChatCell(client, conversation_id=missing)
    shown = "".join(traceback.format_exception(caught.value))
    assert "direct cause" not in shown and "During handling" not in shown
    assert caught.value.__context__ is not None  # the SDK's error is still there to inspect
    with pytest.raises(lw.InvalidRequest) as caught:
        ChatCell(client, conversation_id="conv-not-a-uuid")
    assert "direct cause" not in "".join(traceback.format_exception(caught.value))


def test_wait_blocks_until_a_started_turn_ends(client, conversation) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    assert chat.wait() is None  # nothing ran yet
    chat.start("Hello there")
    turn = chat.wait()
    assert turn is not None and turn.stop_reason == "end_turn" and not chat.busy
    assert chat.wait() is turn


def test_ask_is_the_function_form_of_the_letta_magic(client, agent, conversation, monkeypatch):
    """``lw.ask`` (what ``%%letta`` calls): a ChatCell whose turn is already running, on a
    conversation or an agent's default thread; the client defaults to ``lw.connect()``."""
    chat = lw.ask(conversation, "  My name is Grace.  \n", client=client, history=5)
    assert isinstance(chat, ChatCell) and chat.conversation_id == conversation
    assert chat.busy or chat.last_turn is not None  # started without blocking the caller
    turn = chat.wait()
    assert turn.stop_reason == "end_turn" and turn.assistant_text
    said = [
        m
        for m in client.conversations.messages.list(conversation)
        if m.message_type == "user_message"
    ]
    assert "My name is Grace." in str(said[-1].content)

    monkeypatch.setenv("LETTA_BASE_URL", str(client.base_url))
    on_agent = lw.ask(agent.id, "What is my name?")  # no client: lw.connect()
    assert on_agent.agent_id == agent.id
    assert on_agent.wait().stop_reason == "end_turn"
    assert on_agent.items[-1]["type"] == "usage"

    with pytest.raises(ValueError, match=r"conversation id \(conv-…\) or an agent id"):
        lw.ask("hello", "hi", client=client)
    with pytest.raises(ValueError, match="empty"):
        lw.ask(conversation, "   ", client=client)
    with pytest.raises(TypeError, match=r"letta_client\.Letta"):
        lw.ask(conversation, "hi", client="http://localhost:8283")  # type: ignore[arg-type]
