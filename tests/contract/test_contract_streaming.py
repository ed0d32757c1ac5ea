"""Sending messages: streaming per step, per token, include_pings, streaming=False, SSE framing,
and each message type's field set as the real server sends it."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import _support as sup
import letta_client
import pytest
from letta_client import AsyncLetta, Letta

pytestmark = pytest.mark.contract

TOOL_PROMPT = 'call:memory_insert {"label": "human", "new_string": "Ada likes tea."}'


def _check_fields(obj: dict, where: str, strict: bool) -> None:
    mt = obj.get("message_type")
    expected = sup.MESSAGE_FIELDS.get(mt) or sup.STREAM_ONLY_FIELDS.get(mt)
    assert expected is not None, f"{where}: unexpected message_type {mt!r}"
    missing = expected - set(obj)
    assert not missing, f"{where}: {mt} lacks {sorted(missing)}"
    if strict:
        extra = set(obj) - expected
        assert not extra, f"{where}: {mt} has fields the real server does not send: {sorted(extra)}"


def test_sse_framing_steps(client: Letta, conv: object, is_devserver: bool) -> None:
    raw = sup.raw_stream(client, conv.id, "hello there")
    assert raw.content_type == "text/event-stream; charset=utf-8"
    # only `data: ...` lines and blank lines; no `event:` names; ends with [DONE]
    assert all(line == "" or line.startswith("data: ") for line in raw.lines), raw.lines
    assert raw.done and raw.lines[-1] in ("", "data: [DONE]")
    assert [ln for ln in raw.lines if ln][-1] == "data: [DONE]"
    kinds = [e["message_type"] for e in raw.events]
    # the user message is not echoed; the stream ends with stop_reason, usage_statistics
    assert "user_message" not in kinds
    assert kinds[-2:] == ["stop_reason", "usage_statistics"]
    assert "assistant_message" in kinds
    assert raw.events[-2]["stop_reason"] == "end_turn"
    for e in raw.events:
        _check_fields(e, "steps stream", strict=is_devserver)


def test_response_state_event(client: Letta, conv: object, profile: str) -> None:
    """Letta Cloud: one ``response_state`` per stream, right after the first ping (no evidence
    of its place; Letta Code only reads ``cache_scope`` and ``response_id``, letta-code#2680);
    letta 0.16.8 has no such event."""
    raw = sup.raw_stream(client, conv.id, "hello there")
    states = [e for e in raw.events if e["message_type"] == "response_state"]
    if profile != "cloud":
        assert states == []
        return
    assert [e["message_type"] for e in raw.events][:2] == ["ping", "response_state"]
    assert len(states) == 1 and set(states[0]) == sup.STREAM_ONLY_FIELDS["response_state"]
    state = states[0]
    assert state["cache_scope"] == "approval_boundary"
    assert state["response_id"].startswith("resp-")
    assert state["run_id"] == raw.events[0]["run_id"] and state["seq_id"] is None
    # without pings it is the first event; every response has its own id
    quiet = sup.raw_stream(client, conv.id, "again", include_pings=False)
    assert quiet.events[0]["message_type"] == "response_state"
    assert quiet.events[0]["response_id"] != state["response_id"]
    # the SDK yields it (as a SystemMessage: dispatch on message_type), with its fields
    chunks = sup.send(client, conv.id, "via the sdk")
    got = [c for c in chunks if c.message_type == "response_state"]
    assert len(got) == 1 and got[0].response_id.startswith("resp-")
    # a streaming=False body holds messages only
    body = sup.raw_json(
        client.conversations.messages.with_raw_response.create,
        conv.id,
        messages=sup.user("json"),
        streaming=False,
    )
    assert "response_state" not in [m["message_type"] for m in body["messages"]]


def test_response_state_in_background_and_replay(client: Letta, conv: object, profile: str) -> None:
    """Background mode numbers it like any event (seq_id 2, after the ping); a resume replays
    it from the run's log with the same id."""
    if profile != "cloud":
        pytest.skip("letta 0.16.8 sends no response_state event (Letta Cloud only)")
    raw = sup.raw_stream(client, conv.id, "hello", background=True)
    state = next(e for e in raw.events if e["message_type"] == "response_state")
    assert state["seq_id"] == 2
    replay = list(client.conversations.messages.stream(conv.id, run_id=state["run_id"]))
    again = [c for c in replay if c.message_type == "response_state"]
    assert [(c.response_id, c.seq_id) for c in again] == [(state["response_id"], 2)]


def test_steps_stream_chunks(client: Letta, conv: object) -> None:
    chunks = sup.without_state(sup.send(client, conv.id, "hello there"))
    kinds = sup.types(chunks)
    assert kinds[-2:] == ["stop_reason", "usage_statistics"]
    body = [c for c in chunks if c.message_type not in ("ping", "stop_reason", "usage_statistics")]
    # per step: each message arrives whole, once
    assert len({sup.key(c) for c in body}) == len(body)
    assert sup.of_type(body, "assistant_message")
    run_ids = {c.run_id for c in chunks if getattr(c, "run_id", None)}
    assert len(run_ids) == 1 and next(iter(run_ids)).startswith("run-")
    assert all(getattr(c, "seq_id", None) is None for c in body)  # only background numbers them
    usage = chunks[-1]
    assert usage.step_count == 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # what streamed is what is stored
    stored = {sup.key(m): m for m in sup.history(client, conv.id)}
    for c in body:
        assert sup.key(c) in stored
        if c.message_type == "assistant_message":
            assert stored[sup.key(c)].content == c.content


def test_tool_call_stream(client: Letta, conv: object, is_devserver: bool) -> None:
    raw = sup.raw_stream(client, conv.id, TOOL_PROMPT)
    kinds = [e["message_type"] for e in raw.events]
    core = [k for k in kinds if k not in ("ping", "response_state", "reasoning_message")]
    assert core == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
        "stop_reason",
        "usage_statistics",
    ]
    call = next(e for e in raw.events if e["message_type"] == "tool_call_message")
    ret = next(e for e in raw.events if e["message_type"] == "tool_return_message")
    assert call["tool_call"]["name"] == "memory_insert"
    assert json.loads(call["tool_call"]["arguments"]) == {
        "label": "human",
        "new_string": "Ada likes tea.",
    }
    assert call["tool_calls"] == [call["tool_call"]]
    assert ret["tool_call_id"] == call["tool_call"]["tool_call_id"]
    assert ret["status"] == "success" and ret["name"] == "memory_insert"
    assert ret["tool_returns"][0]["tool_call_id"] == ret["tool_call_id"]
    assert ret["tool_returns"][0]["status"] == "success"
    assert raw.events[-1]["step_count"] == 2
    for e in raw.events:
        _check_fields(e, "tool-call stream", strict=is_devserver)
    assert "Ada likes tea." in client.agents.blocks.retrieve("human", agent_id=conv.agent_id).value


def test_stream_tokens_deltas_share_an_id(client: Letta, conv: object) -> None:
    chunks = sup.send(client, conv.id, "tokens please one two three four", stream_tokens=True)
    assert sup.types(chunks)[-2:] == ["stop_reason", "usage_statistics"]
    deltas = sup.of_type(chunks, "assistant_message")
    assert len(deltas) > 1, "token streaming sends several assistant_message deltas"
    assert len({d.id for d in deltas}) == 1
    text = "".join(d.content for d in deltas)
    stored = [m for m in sup.history(client, conv.id) if m.id == deltas[0].id]
    assert [m.content for m in stored if m.message_type == "assistant_message"] == [text]
    thoughts = sup.of_type(chunks, "reasoning_message")
    if thoughts:
        assert len({t.id for t in thoughts}) == 1
        stored_r = [m.reasoning for m in stored if m.message_type == "reasoning_message"]
        assert stored_r == ["".join(t.reasoning for t in thoughts)]


def test_stream_tokens_raw_framing(client: Letta, conv: object, is_devserver: bool) -> None:
    raw = sup.raw_stream(client, conv.id, "raw tokens one two", stream_tokens=True)
    assert raw.content_type == "text/event-stream; charset=utf-8"
    assert raw.done and not raw.event_names
    for e in raw.events:
        _check_fields(e, "token stream", strict=is_devserver)


def test_include_pings(client: Letta, conv: object) -> None:
    chunks = sup.send(client, conv.id, "with pings", include_pings=True)
    pings = sup.of_type(chunks, "ping")
    assert pings, "include_pings=True sends at least one ping"
    run_id = sup.of_type(chunks, "assistant_message")[0].run_id
    assert all(p.id.startswith("ping-") and p.run_id == run_id for p in pings)
    assert sup.stop_reason(chunks) == "end_turn"
    # pings are not stored
    assert not [m for m in sup.history(client, conv.id) if m.id.startswith("ping-")]


def test_streaming_false_json_body(client: Letta, conv: object, is_devserver: bool) -> None:
    # the SDK types this call as a Stream: with streaming=False it yields nothing...
    assert (
        list(
            client.conversations.messages.create(
                conv.id, messages=sup.user("quiet"), streaming=False
            )
        )
        == []
    )
    # ... and the server answered one JSON LettaResponse
    resp = client.conversations.messages.with_raw_response.create(
        conv.id, messages=sup.user("quiet json"), streaming=False
    )
    resp.http_response.read()
    assert resp.http_response.headers["content-type"].startswith("application/json")
    body = json.loads(resp.http_response.text)
    assert {"messages", "stop_reason", "usage"} <= set(body)
    assert body["stop_reason"] == {"message_type": "stop_reason", "stop_reason": "end_turn"}
    assert body["usage"]["message_type"] == "usage_statistics"
    kinds = [m["message_type"] for m in body["messages"]]
    assert "user_message" not in kinds and "assistant_message" in kinds
    for m in body["messages"]:
        _check_fields(m, "streaming=False body", strict=is_devserver)
    stored = {sup.key(m) for m in sup.history(client, conv.id)}
    assert all((m["id"], m["message_type"]) in stored for m in body["messages"])
    assert len(sup.of_type(sup.history(client, conv.id), "user_message")) == 2


def test_list_field_sets_per_type(client: Letta, conv: object, is_devserver: bool) -> None:
    sup.send(client, conv.id, "hello")
    sup.send(client, conv.id, TOOL_PROMPT)
    body = sup.raw_json(client.conversations.messages.with_raw_response.list, conv.id, order="asc")
    seen = set()
    for m in body:
        _check_fields(m, "messages.list", strict=is_devserver)
        seen.add(m["message_type"])
    assert {
        "system_message",
        "user_message",
        "assistant_message",
        "tool_call_message",
        "tool_return_message",
    } <= seen
    user = next(m for m in body if m["message_type"] == "user_message")
    assert user["content"] == "hello" and user["otid"]
    assert all(m["seq_id"] is None for m in body)
    assert all(m["date"].endswith(("Z", "+00:00")) for m in body)


def test_user_otid_is_kept(client: Letta, conv: object) -> None:
    otid = sup.new_otid()
    list(client.conversations.messages.create(conv.id, messages=sup.user("mine", otid=otid)))
    stored = sup.of_type(sup.history(client, conv.id), "user_message")
    assert [m.otid for m in stored] == [otid]


def test_input_shorthand(client: Letta, conv: object) -> None:
    chunks = list(client.conversations.messages.create(conv.id, input="via input"))
    assert sup.stop_reason(chunks) == "end_turn"
    assert sup.of_type(sup.history(client, conv.id), "user_message")[0].content == "via input"


SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "letta-shapes"  # real recordings


def test_known_field_sets_match_the_recorded_shapes() -> None:
    """The field sets these tests hold servers to agree with the real server's recordings."""
    checked = 0
    for f in sorted(SHAPES.glob("*.json")):
        if not f.name.startswith(("list_", "stream_")):
            continue
        obj = json.loads(f.read_text())
        mt = obj.get("message_type")
        expected = sup.MESSAGE_FIELDS.get(mt) or sup.STREAM_ONLY_FIELDS.get(mt)
        assert expected is not None, f"{f.name}: {mt}"
        assert set(obj) == expected, f"{f.name}: {set(obj) ^ expected}"
        checked += 1
    assert checked >= 10


def test_async_client_streams_the_same(base_url: str, conv: object) -> None:
    """The toolkit streams with AsyncLetta: same chunks, same stored result."""

    async def go() -> tuple[list, list]:
        aclient = AsyncLetta(
            base_url=base_url, api_key=os.environ.get("LETTA_API_KEY"), max_retries=0
        )
        stream = await aclient.conversations.messages.create(
            conv.id, messages=sup.user("async tokens one two"), stream_tokens=True
        )
        chunks = [c async for c in stream]
        page = await aclient.conversations.messages.list(conv.id, order="asc")
        await aclient.close()
        return chunks, page.items

    chunks, listed = asyncio.run(go())
    assert sup.types(chunks)[-2:] == ["stop_reason", "usage_statistics"]
    deltas = sup.of_type(chunks, "assistant_message")
    stored = [m for m in listed if m.message_type == "assistant_message"]
    assert [m.content for m in stored] == ["".join(d.content for d in deltas)]


def _llm_error(is_devserver: bool) -> tuple[str, dict]:
    """How to make the model fail: the devserver's fault header, or the stub LLM's prompt."""
    if is_devserver:
        return "hello", {"extra_headers": {"X-Devserver-Fault": "error_event"}}
    return "please fail:llm now", {}


@pytest.mark.parametrize("mode", ["steps", "tokens"])
def test_llm_error_framing(
    client: Letta, conv: object, is_devserver: bool, mode: str, profile: str
) -> None:
    text, kw = _llm_error(is_devserver)
    if mode == "tokens":
        kw["stream_tokens"] = True
    raw = sup.raw_stream(client, conv.id, text, **kw)
    kinds = [e["message_type"] for e in raw.events]
    if "error_message" not in kinds and not is_devserver:
        pytest.skip("this server's model does not fail on the stub LLM's fail:llm prompt")
    # ... stop_reason llm_api_error, then `event: error` + error_message, then [DONE]
    assert kinds[-2:] == ["stop_reason", "error_message"]
    assert raw.events[-2]["stop_reason"] == "llm_api_error"
    assert raw.event_names == ["error"]
    nonblank = [ln for ln in raw.lines if ln]
    assert nonblank[-3:-1] == ["event: error", nonblank[-2]] and nonblank[-1] == "data: [DONE]"
    err = raw.events[-1]
    assert set(err) == sup.error_fields(profile)
    if profile == "cloud":  # Letta Cloud tells the client whether to retry (research D.1)
        assert isinstance(err["error_code"], str) and err["error_code"]
        assert err["status_code"] >= 500 and err["retryable"] is True  # a transient LLM error
    assert err["error_type"] == "llm_error"
    assert err["message"] == "An error occurred with the LLM request."
    assert err["run_id"].startswith("run-") and err["seq_id"] is None
    # the SDK yields what came before, then raises with the error_message as body
    got: list = []
    with pytest.raises(letta_client.APIStatusError) as exc:
        for chunk in client.conversations.messages.create(conv.id, messages=sup.user(text), **kw):
            got.append(chunk)
    assert sup.stop_reason(got) == "llm_api_error"
    assert exc.value.body["message_type"] == "error_message"
    # a failed turn stores nothing, not even the user message
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]


def test_llm_error_non_streaming(client: Letta, conv: object, is_devserver: bool) -> None:
    text, kw = _llm_error(is_devserver)
    try:
        client.conversations.messages.create(
            conv.id, messages=sup.user(text), streaming=False, **kw
        )
    except letta_client.InternalServerError as e:
        assert e.status_code == 500
        assert e.body["error"]["type"] == "llm_error"
        assert e.body["error"]["message"] == "An error occurred with the LLM request."
        assert "detail" in e.body["error"]
    else:
        if not is_devserver:
            pytest.skip("this server's model does not fail on the stub LLM's fail:llm prompt")
        pytest.fail("streaming=False with an LLM error must answer HTTP 500")
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]


def test_tool_call_token_deltas(client: Letta, conv: object) -> None:
    raw = sup.raw_stream(client, conv.id, TOOL_PROMPT, stream_tokens=True)
    calls = [e for e in raw.events if e["message_type"] == "tool_call_message"]
    assert len(calls) > 1, "tokens mode streams the tool call as deltas"
    assert len({e["id"] for e in calls}) == 1
    ids = {e["tool_call"]["tool_call_id"] for e in calls}
    assert len(ids) == 1
    # the first delta names the tool; the rest carry pieces of the arguments
    assert calls[0]["tool_call"]["name"] == "memory_insert"
    args = "".join(e["tool_call"].get("arguments") or "" for e in calls)
    assert json.loads(args) == {"label": "human", "new_string": "Ada likes tea."}
    # in deltas, tool_calls is the same single delta object (not a list)
    assert all(e["tool_calls"] == e["tool_call"] for e in calls)
    # null keys are left out: {name, tool_call_id}, then {arguments, tool_call_id}
    assert set(calls[0]["tool_call"]) == {"name", "tool_call_id"}
    assert all(set(e["tool_call"]) == {"arguments", "tool_call_id"} for e in calls[1:])
    rets = [e for e in raw.events if e["message_type"] == "tool_return_message"]
    assert len(rets) == 1 and rets[0]["tool_call_id"] in ids
    stored = next(m for m in sup.history(client, conv.id) if m.message_type == "tool_call_message")
    assert stored.id == calls[0]["id"]
    assert json.loads(stored.tool_call.arguments) == json.loads(args)
    usage = raw.events[-1]
    assert usage["message_type"] == "usage_statistics" and usage["step_count"] == 2
    # token mode leaves the cache/reasoning counters null (steps mode sends 0)
    assert usage["cached_input_tokens"] is None and usage["reasoning_tokens"] is None


def test_reasoning_source(client: Letta, conv: object) -> None:
    # letta_v1_agent streams reasoning only from reasoner models (the stub LLM is one)
    thoughts = sup.of_type(sup.send(client, conv.id, "why not"), "reasoning_message")
    thoughts += sup.of_type(sup.history(client, conv.id), "reasoning_message")
    assert thoughts and {t.source for t in thoughts} == {"reasoner_model"}


def _keepalive(client: Letta, conv_id: str, dev: bool, **kw: object) -> list[dict]:
    """Raw events of a turn whose LLM call stays silent for longer than the keepalive interval
    (the real server: 20 s, its default ``keepalive_interval``; ours: 0.3 s by header)."""
    interval = 0.3 if dev else float(os.environ.get("LETTA_KEEPALIVE_INTERVAL", "20"))
    headers = {"X-Devserver-Keepalive-Ms": "300"} if dev else {}
    try:
        raw = sup.raw_stream(
            client, conv_id, f"pause:{interval * 1.5:g} hello", extra_headers=headers, **kw
        )
    except letta_client.APIStatusError as e:
        sup.skip_if_needs_redis(e, "this server")
        raise
    return raw.events


def test_keepalive_pings(client: Letta, agent: object, is_devserver: bool, profile: str) -> None:
    """A silent stream gets a ping per keepalive interval, after the initial one: same shape
    and run_id; ``seq_id`` null, or in background mode the last seq_id sent (not a new one)."""
    # Letta Cloud's response_state (after the first ping) takes seq_id 2 in background mode
    state = 1 if profile == "cloud" else 0
    convs = [client.conversations.create(agent_id=agent.id).id for _ in range(2)]
    results: dict[str, list[dict]] = {}

    def run(name: str, conv_id: str, **kw: object) -> None:
        results[name] = _keepalive(client, conv_id, is_devserver, **kw)

    threads = [
        threading.Thread(target=run, args=("fg", convs[0])),
        threading.Thread(target=run, args=("bg", convs[1]), kwargs={"background": True}),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    for name, all_events in results.items():
        events = sup.without_state(all_events)
        kinds = [e["message_type"] for e in events]
        pings = [e for e in events if e["message_type"] == "ping"]
        assert len(pings) >= 2, (name, kinds)  # the initial one, then keepalives
        assert kinds[: len(pings)] == ["ping"] * len(pings), kinds  # all before the answer
        run_id = next(e["run_id"] for e in events if e["message_type"] == "reasoning_message")
        for p in pings:
            assert set(p) == sup.MESSAGE_FIELDS["ping"]
            assert p["id"].startswith("ping-") and p["run_id"] == run_id
        if name == "fg":
            assert all(p["seq_id"] is None for p in pings)
        else:
            assert [p["seq_id"] for p in pings] == [1] + [1 + state] * (len(pings) - 1)
            # keepalives take no seq_id of their own
            assert events[len(pings)]["seq_id"] == 2 + state
    assert "fg" in results  # "bg" is missing only when the server lacks Redis (503)
    # keepalives are not stored
    assert not [m for m in sup.history(client, convs[0]) if m.id.startswith("ping-")]


def test_no_keepalive_without_pings(
    client: Letta, conv: object, is_devserver: bool, server_label: str
) -> None:
    if not is_devserver:
        pytest.skip(f"{server_label}: would take a 30 s silent turn (its keepalive is 20 s)")
    events = _keepalive(client, conv.id, True, include_pings=False)
    assert "ping" not in [e["message_type"] for e in events]
