"""Tool approvals (requires_approval, approve / deny) and error statuses (422 / 404 / 409)."""

from __future__ import annotations

import json
import uuid

import _support as sup
import letta_client
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract

INSERT = 'call:memory_insert {"label": "human", "new_string": "Ada likes jam."}'


def _require_approval(client: Letta, agent_id: str, server_label: str, dev: bool) -> None:
    """Make memory_insert need approval, as a user does with the SDK (the real server has it;
    on our devserver a missing route is a devserver bug, not a skip)."""
    try:
        client.agents.tools.update_approval(
            "memory_insert", agent_id=agent_id, body_requires_approval=True
        )
    except letta_client.NotFoundError:
        if dev:
            raise
        pytest.skip(f"{server_label} has no PATCH /v1/agents/{{id}}/tools/approval/{{tool}}")


def _ask(client: Letta, conv_id: str) -> tuple[list, object]:
    chunks = sup.send(client, conv_id, INSERT)
    assert sup.stop_reason(chunks) == "requires_approval"
    requests = sup.of_type(chunks, "approval_request_message")
    assert len(requests) == 1
    assert not sup.of_type(chunks, "tool_return_message"), "nothing ran before the approval"
    return chunks, requests[0]


def _answer(client: Letta, conv_id: str, request: object, approve: bool, **extra: object) -> list:
    approval = {
        "type": "approval",
        "tool_call_id": request.tool_call.tool_call_id,
        "approve": approve,
        **extra,
    }
    return list(
        client.conversations.messages.create(
            conv_id, messages=[{"type": "approval", "approvals": [approval]}]
        )
    )


def test_approval_request_then_approve(
    client: Letta, conv: object, server_label: str, is_devserver: bool
) -> None:
    _require_approval(client, conv.agent_id, server_label, is_devserver)
    _, req = _ask(client, conv.id)
    assert req.tool_call.name == "memory_insert"
    assert json.loads(req.tool_call.arguments) == {"label": "human", "new_string": "Ada likes jam."}
    assert req.tool_calls[0].tool_call_id == req.tool_call.tool_call_id
    # the block is untouched until approved; a new user message is refused meanwhile
    assert "jam" not in client.agents.blocks.retrieve("human", agent_id=conv.agent_id).value
    with pytest.raises(letta_client.ConflictError) as err:
        client.conversations.messages.create(conv.id, messages=sup.user("hello?"), streaming=False)
    assert "waiting for approval" in str(err.value)

    done = _answer(client, conv.id, req, True)
    assert sup.stop_reason(done) == "end_turn"
    ret = sup.of_type(done, "tool_return_message")
    assert len(ret) == 1 and ret[0].status == "success"
    assert ret[0].tool_call_id == req.tool_call.tool_call_id
    assert sup.of_type(done, "assistant_message")
    assert "jam" in client.agents.blocks.retrieve("human", agent_id=conv.agent_id).value

    listed = sup.history(client, conv.id)
    kinds = [t for t in sup.types(listed) if t != "reasoning_message"]
    assert kinds[-5:] == [
        "user_message",
        "approval_request_message",
        "approval_response_message",
        "tool_return_message",
        "assistant_message",
    ]
    resp = sup.of_type(listed, "approval_response_message")[0]
    assert resp.approve is True
    assert resp.approval_request_id == req.tool_call.tool_call_id
    assert resp.approvals[0].tool_call_id == req.tool_call.tool_call_id
    # the request is stored under the same id it streamed with
    assert sup.key(req) in {sup.key(m) for m in listed}
    body = sup.raw_json(client.conversations.messages.with_raw_response.list, conv.id)
    for m in body:
        if m["message_type"] in ("approval_request_message", "approval_response_message"):
            expected = sup.MESSAGE_FIELDS[m["message_type"]]
            assert expected <= set(m), expected - set(m)
            if is_devserver:
                assert set(m) == expected, set(m) ^ expected


def test_approval_deny(client: Letta, conv: object, server_label: str, is_devserver: bool) -> None:
    _require_approval(client, conv.agent_id, server_label, is_devserver)
    _, req = _ask(client, conv.id)
    done = _answer(client, conv.id, req, False, reason="not today")
    assert sup.stop_reason(done) == "end_turn"
    ret = sup.of_type(done, "tool_return_message")
    assert len(ret) == 1 and ret[0].status == "error"
    assert "denied" in ret[0].tool_return and "not today" in ret[0].tool_return
    assert "jam" not in client.agents.blocks.retrieve("human", agent_id=conv.agent_id).value
    resp = sup.of_type(sup.history(client, conv.id), "approval_response_message")[0]
    assert resp.approve is False and resp.reason == "not today"


def test_malformed_ids_are_422(client: Letta) -> None:
    for bad in ("conv-123", "conv-00000000-0000-0000-0000-000000000000", "nonsense"):
        with pytest.raises(letta_client.UnprocessableEntityError):
            client.conversations.retrieve(bad)
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.conversations.update("conv-123", summary="x")
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.conversations.delete("conv-123")


def test_unknown_ids_are_404(client: Letta) -> None:
    unknown = f"conv-{uuid.uuid4()}"
    for call in (
        lambda: client.conversations.retrieve(unknown),
        lambda: client.conversations.update(unknown, summary="x"),
        lambda: client.conversations.delete(unknown),
        lambda: client.conversations.fork(unknown),
        lambda: client.conversations.recompile(unknown),
        lambda: sup.send(client, unknown, "hello"),
    ):
        with pytest.raises(letta_client.NotFoundError) as err:
            call()
        assert "Conversation not found" in str(err.value)


def test_empty_messages_is_422(client: Letta, conv: object) -> None:
    with pytest.raises(letta_client.UnprocessableEntityError):
        list(client.conversations.messages.create(conv.id, messages=[]))


def _answer_raw(client: Letta, conv_id: str, tool_call_id: str, approve: bool, **kw: object):
    """Answer a pending approval; the raw SSE events (via the SDK's raw-response access)."""
    approval = {"type": "approval", "tool_call_id": tool_call_id, "approve": approve}
    if not approve:
        approval["reason"] = "not today"
    resp = client.conversations.messages.with_raw_response.create(
        conv_id, messages=[{"type": "approval", "approvals": [approval]}], **kw
    )
    resp.http_response.read()
    lines = resp.http_response.text.splitlines()
    return [json.loads(x[6:]) for x in lines if x.startswith("data: {")]


def test_approval_request_in_tokens_mode(
    client: Letta, conv: object, server_label: str, is_devserver: bool
) -> None:
    """With stream_tokens the request arrives as deltas (name, then argument pieces; null keys
    kept, unlike tool-call deltas) under the id it is stored with, its otid that same id; the
    step's reasoning streams under the next id up and is listed under the request's id."""
    _require_approval(client, conv.agent_id, server_label, is_devserver)
    raw = sup.raw_stream(client, conv.id, INSERT, stream_tokens=True)
    reqs = [e for e in raw.events if e["message_type"] == "approval_request_message"]
    assert len(reqs) > 1, "tokens mode streams the approval request as deltas"
    assert len({e["id"] for e in reqs}) == 1 and all(e["otid"] == reqs[0]["id"] for e in reqs)
    call_ids = {e["tool_call"]["tool_call_id"] for e in reqs}
    assert len(call_ids) == 1
    assert reqs[0]["tool_call"] == {
        "name": "memory_insert",
        "arguments": None,
        "tool_call_id": next(iter(call_ids)),
    }
    assert all(e["tool_call"]["name"] is None for e in reqs[1:])
    assert all(e["tool_calls"] == e["tool_call"] for e in reqs)
    args = "".join(e["tool_call"]["arguments"] or "" for e in reqs)
    assert json.loads(args) == {"label": "human", "new_string": "Ada likes jam."}
    thoughts = [e for e in raw.events if e["message_type"] == "reasoning_message"]
    assert thoughts and {e["id"] for e in thoughts} != {reqs[0]["id"]}
    listed = sup.history(client, conv.id)
    group = sup.id_groups(listed)[reqs[0]["id"]]
    assert group == ["reasoning_message", "approval_request_message"]
    stored = next(m for m in listed if m.message_type == "approval_request_message")
    assert stored.otid == stored.id
    assert json.loads(stored.tool_call.arguments) == json.loads(args)


def test_denied_approval_in_tokens_mode(
    client: Letta, conv: object, server_label: str, is_devserver: bool
) -> None:
    """A denial's tool return is stored (in the requesting step) but not streamed in tokens
    mode; the approval response is stored outside any step, with no otid."""
    _require_approval(client, conv.agent_id, server_label, is_devserver)
    _, req = _ask(client, conv.id)
    events = _answer_raw(client, conv.id, req.tool_call.tool_call_id, False, stream_tokens=True)
    kinds = [e["message_type"] for e in events]
    assert "tool_return_message" not in kinds, kinds
    assert "assistant_message" in kinds and kinds[-2:] == ["stop_reason", "usage_statistics"]
    listed = sup.history(client, conv.id)
    ret = sup.of_type(listed, "tool_return_message")[0]
    assert ret.status == "error" and "not today" in ret.tool_return
    assert ret.step_id == req.step_id
    resp = sup.of_type(listed, "approval_response_message")[0]
    assert resp.otid is None and resp.step_id is None


def test_approved_tool_return_belongs_to_the_requesting_step(
    client: Letta, conv: object, server_label: str, is_devserver: bool
) -> None:
    _require_approval(client, conv.agent_id, server_label, is_devserver)
    _, req = _ask(client, conv.id)
    assert req.otid == req.id
    events = _answer_raw(client, conv.id, req.tool_call.tool_call_id, True, stream_tokens=True)
    rets = [e for e in events if e["message_type"] == "tool_return_message"]
    assert len(rets) == 1 and rets[0]["status"] == "success"
    assert rets[0]["step_id"] == req.step_id and rets[0]["run_id"] != req.run_id


@pytest.mark.parametrize(
    ("tool", "args", "error", "message"),
    [
        (
            "memory_replace",
            {"label": "human", "old_string": "zzz", "new_string": "tea"},
            "ValueError",
            "No replacement was performed, old_string `zzz` did not appear verbatim in memory "
            "block with label `human`.",
        ),
        (
            "memory_replace",
            {"label": "nolabel", "old_string": "Ada", "new_string": "tea"},
            "KeyError",
            "'Block field nolabel does not exist (available sections = human, persona)'",
        ),
        (
            "memory_replace",
            {"label": "human", "old_string": "", "new_string": "tea"},
            "ValueError",
            "No replacement was performed. Multiple occurrences of old_string `` in lines [1]. "
            "Please ensure it is unique.",
        ),
        (
            "memory_insert",
            {"label": "human", "new_string": "x", "insert_line": 99},
            "ValueError",
            "Invalid `insert_line` parameter: 99. It should be within the range of lines of the "
            "memory block: [0, 1], or -1 to append to the end of the memory block.",
        ),
    ],
)
def test_tool_error_return(
    client: Letta, conv: object, tool: str, args: dict, error: str, message: str
) -> None:
    """A failing tool: status error, the exception's text as the return, one stderr line."""
    raw = sup.raw_stream(client, conv.id, f"call:{tool} {json.dumps(args)}")
    rets = [e for e in raw.events if e["message_type"] == "tool_return_message"]
    assert len(rets) == 1
    ret = rets[0]
    assert ret["status"] == "error" and ret["tool_return"] == message
    line = f"Error executing function {tool}: {error}: {message}"
    assert ret["stderr"] == [line] and ret["stdout"] is None
    assert ret["tool_returns"][0]["stderr"] == [line]
    assert ret["tool_returns"][0]["tool_return"] == message
    listed = sup.of_type(sup.history(client, conv.id), "tool_return_message")[0]
    assert listed.stderr == [line] and listed.tool_return == message
    assert [e["stop_reason"] for e in raw.events if "stop_reason" in e] == ["end_turn"]


WAITING = (
    "CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. "
    "Please approve or deny the pending request before continuing."
)


def _error_run(raw: sup.RawStream, profile: str) -> dict:
    """A run the agent loop rejected: ping, stop_reason error, an ``event: error``, [DONE];
    on Letta Cloud the error says it is not worth retrying (research D.1)."""
    events = sup.without_state(raw.events)
    kinds = [e["message_type"] for e in events]
    assert kinds == ["ping", "stop_reason", "error_message"], kinds
    assert events[1]["stop_reason"] == "error"
    assert raw.event_names == ["error"] and raw.done
    err = events[2]
    assert err["error_type"] == "internal_error" and err["run_id"] == events[0]["run_id"]
    assert set(err) == sup.error_fields(profile)
    if profile == "cloud":
        assert err["retryable"] is False and err["status_code"] in (400, 409)
        pending = "waiting for approval" in err["detail"]
        assert err["error_code"] == ("PENDING_APPROVAL" if pending else "INVALID_ARGUMENT")
    return err


def test_message_while_approval_pending_streams_an_error(
    client: Letta, conv: object, server_label: str, is_devserver: bool, profile: str
) -> None:
    """Streaming, the refusal is not a 409 but a run that fails at once (streaming=False: 409,
    see test_approval_request_then_approve); nothing is stored."""
    _require_approval(client, conv.agent_id, server_label, is_devserver)
    _ask(client, conv.id)
    before = sup.history(client, conv.id)
    for kw in ({}, {"stream_tokens": True}):
        err = _error_run(sup.raw_stream(client, conv.id, "hello?", **kw), profile)
        assert err["message"] == WAITING and err["detail"] == WAITING
    assert [sup.key(m) for m in sup.history(client, conv.id)] == [sup.key(m) for m in before]
    run = client.runs.retrieve(err["run_id"])
    assert (run.status, run.stop_reason) == ("failed", "error")


def test_approval_answer_errors(
    client: Letta, conv: object, server_label: str, is_devserver: bool, profile: str
) -> None:
    """An approval with nothing pending, or for another tool call: a failed run when
    streaming, HTTP 400 with the same detail when not."""

    def answer(tool_call_id: str, **kw: object) -> sup.RawStream:
        resp = client.conversations.messages.with_raw_response.create(
            conv.id,
            messages=[
                {
                    "type": "approval",
                    "approvals": [
                        {"type": "approval", "tool_call_id": tool_call_id, "approve": True}
                    ],
                }
            ],
            **kw,
        )
        resp.http_response.read()
        out = sup.RawStream(resp.http_response.headers.get("content-type", ""), [])
        for line in resp.http_response.text.splitlines():
            if line == "data: [DONE]":
                out.done = True
            elif line.startswith("data: "):
                out.events.append(json.loads(line[6:]))
            elif line.startswith("event: "):
                out.event_names.append(line[7:])
        return out

    nothing = (
        "Cannot process approval response: No tool call is currently awaiting approval. "
        "Please send a regular message to interact with the agent."
    )
    err = _error_run(answer("call_nothing"), profile)
    assert err["detail"] == nothing
    assert err["message"] == "An unknown error occurred with the LLM streaming request."
    with pytest.raises(letta_client.BadRequestError) as info:
        answer("call_nothing", streaming=False)
    assert info.value.body == {"detail": nothing}

    _require_approval(client, conv.agent_id, server_label, is_devserver)
    _, req = _ask(client, conv.id)
    wrong = (
        f"Invalid tool call IDs. Expected '['{req.tool_call.tool_call_id}']', "
        "but received '['call_nope']'."
    )
    assert _error_run(answer("call_nope"), profile)["detail"] == wrong
    with pytest.raises(letta_client.BadRequestError) as info:
        answer("call_nope", streaming=False)
    assert info.value.body == {"detail": wrong}
    # the request is still pending: the right id goes through
    assert sup.stop_reason(_answer(client, conv.id, req, True)) == "end_turn"
    resp = sup.of_type(sup.history(client, conv.id), "approval_response_message")
    assert len(resp) == 1 and resp[0].otid is None
