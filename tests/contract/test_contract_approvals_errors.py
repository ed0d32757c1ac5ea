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
