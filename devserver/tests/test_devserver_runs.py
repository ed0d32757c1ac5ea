"""The run engine in-process: token deltas, tool rounds, approvals, cancel, faults."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from letta_devserver import script
from letta_devserver.faults import parse_fault_spec
from letta_devserver.runs import RunManager, RunOptions
from letta_devserver.service import Service
from letta_devserver.storage import Store


def _setup() -> tuple[Service, RunManager, dict[str, Any]]:
    svc = Service(Store())
    agent = svc.create_agent(
        {"name": "t", "memory_blocks": [{"label": "human", "value": "The human's name is Ada."}]}
    )
    return svc, RunManager(svc), svc.create_conversation(agent["id"])


def _turn(runs: RunManager, svc: Service, conv_id: str, text: str | dict, **opts: Any) -> list:
    async def go() -> list:
        conv = svc.store.get_conversation(conv_id)
        msg = text if isinstance(text, dict) else {"role": "user", "content": text}
        run = runs.start(conv, [msg], RunOptions(**opts))
        return [c async for _, c in run.follow()]

    return asyncio.run(go())


def _data(chunks: list) -> list[dict]:
    return [c.payload for c in chunks if c.kind == "data"]


def test_token_deltas_share_ids_and_rebuild_the_stored_text() -> None:
    svc, runs, conv = _setup()
    chunks = _data(_turn(runs, svc, conv["id"], "My name is Grace", stream_tokens=True))
    kinds = [c["message_type"] for c in chunks]
    assert kinds[0] == "ping" and kinds[-2:] == ["stop_reason", "usage_statistics"]
    text = "".join(c["content"] for c in chunks if c["message_type"] == "assistant_message")
    assert text == "Nice to meet you, Grace!"
    ids = {
        c["id"] for c in chunks if c["message_type"] in ("assistant_message", "reasoning_message")
    }
    assert len(ids) == 1
    usage = chunks[-1]
    reasoning = "".join(c["reasoning"] for c in chunks if c["message_type"] == "reasoning_message")
    assert usage["completion_tokens"] == script.count_tokens(reasoning) + script.count_tokens(text)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    stored = svc.list_messages(conv, after=None, before=None, limit=None, order="asc")
    assert [m["content"] for m in stored if m["message_type"] == "assistant_message"] == [text]


def test_tool_round_and_optional_deltas() -> None:
    svc, runs, conv = _setup()
    steps = _data(_turn(runs, svc, conv["id"], "remember that I like tea"))
    kinds = [c["message_type"] for c in steps if c["message_type"] != "response_state"]
    assert kinds[1:4] == ["reasoning_message", "tool_call_message", "tool_return_message"]
    assert steps[-1]["step_count"] == 2
    assert "The human likes tea." in svc.store.block(conv["agent_id"], "human")["value"]
    deltas = _data(
        _turn(
            runs,
            svc,
            conv["id"],
            "remember that I like jam",
            stream_tokens=True,
            tool_call_deltas=True,
        )
    )
    calls = [c for c in deltas if c["message_type"] == "tool_call_message"]
    assert len(calls) > 1 and isinstance(calls[0]["tool_calls"], dict)
    assert (
        calls[0]["tool_call"]["name"] == "memory_insert"
        and calls[1]["tool_call"].get("name") is None  # later pieces leave null keys out
    )
    args = "".join(c["tool_call"].get("arguments") or "" for c in calls)
    assert json.loads(args)["new_string"] == "The human likes jam."


def test_approval_stops_then_continues() -> None:
    svc, runs, conv = _setup()
    first = _data(_turn(runs, svc, conv["id"], "send an email to a@b.example about lunch"))
    assert first[-2]["stop_reason"] == "requires_approval"
    req = next(c for c in first if c["message_type"] == "approval_request_message")
    approval = {
        "type": "approval",
        "approvals": [
            {
                "type": "approval",
                "tool_call_id": req["tool_call"]["tool_call_id"],
                "approve": False,
                "reason": "no",
            }
        ],
    }
    done = _data(_turn(runs, svc, conv["id"], approval))
    ret = next(c for c in done if c["message_type"] == "tool_return_message")
    assert ret["status"] == "error" and "User reason: no" in ret["tool_return"]
    assert done[-2]["stop_reason"] == "end_turn"


def test_cancel_ends_a_slow_run() -> None:
    _svc, runs, conv = _setup()

    async def go() -> list:
        run = runs.start(
            conv, [{"role": "user", "content": "slow"}], RunOptions(stream_tokens=True)
        )
        await asyncio.sleep(0.3)
        assert runs.cancel(conv["id"]) == {run.id: "cancelled"}
        return [c async for _, c in run.follow()]

    chunks = _data(asyncio.run(go()))
    # as the real server: a cancelled stream ends at its stop reason (no usage statistics)
    assert chunks[-1] == {"message_type": "stop_reason", "stop_reason": "cancelled"}


def test_error_fault_stores_nothing() -> None:
    svc, runs, conv = _setup()
    chunks = _turn(runs, svc, conv["id"], "hi", fault=parse_fault_spec("error_event"))
    assert [c.kind for c in chunks][-3:] == ["data", "error", "done"]
    assert svc.store.count(conv["id"]) == 1  # only the system message
