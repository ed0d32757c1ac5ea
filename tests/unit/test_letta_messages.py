"""Letta's vocabulary (letta_widgets.letta): one table of message types, one reading of a
message's text, shared by the frames, the cards and the front-end."""

from __future__ import annotations

import html
import json
import re
import typing
from html.parser import HTMLParser
from pathlib import Path

import pytest
from letta_client.types.agents.message_type import MessageType as SDKMessageType

from letta_widgets._messages import rows_from_messages
from letta_widgets.letta.conversation import ConversationRef
from letta_widgets.letta.messages import (
    KNOWN_MESSAGE_TYPES,
    MESSAGE_TYPES,
    STREAM_TYPES,
    text_of,
    types_json,
)
from letta_widgets.render import render_message

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "letta-shapes"

SAMPLES = [  # one of every stored type, in the SDK's shapes, with plain (markdown-free) text
    {"message_type": "system_message", "content": "You are Ada"},
    {
        "message_type": "user_message",
        "content": [{"type": "text", "text": "hi "}, {"type": "image"}],
    },
    {"message_type": "assistant_message", "content": "Hello there"},
    {"message_type": "reasoning_message", "reasoning": "The user greets me"},
    {"message_type": "hidden_reasoning_message", "state": "redacted", "hidden_reasoning": "xyz"},
    {
        "message_type": "tool_call_message",
        "tool_calls": [
            {"name": "search", "arguments": '{"q": "tea"}', "tool_call_id": "c1"},
            {"name": "clock", "arguments": "{}", "tool_call_id": "c2"},
        ],
    },
    {
        "message_type": "tool_return_message",
        "tool_returns": [
            {"status": "success", "tool_call_id": "c1", "tool_return": "found tea"},
            {"status": "error", "tool_call_id": "c2", "tool_return": "no clock"},
        ],
    },
    {
        "message_type": "approval_request_message",
        "tool_call": {"name": "send_email", "arguments": '{"to": "a"}', "tool_call_id": "c3"},
    },
    {
        "message_type": "approval_response_message",
        "approvals": [
            {"type": "approval", "approve": False, "tool_call_id": "c3", "reason": "not now"},
            {"type": "approval", "approve": True, "tool_call_id": "c4"},
        ],
    },
    {"message_type": "summary_message", "summary": "They talked about tea"},
    {"message_type": "event_message", "event_type": "compaction", "event_data": {"n": 3}},
]


def _recorded() -> list[dict]:
    """Every stored message in the recordings from the real letta 0.16.8 server."""
    found: list[dict] = []

    def walk(x: object) -> None:
        if isinstance(x, dict):
            if x.get("message_type") in KNOWN_MESSAGE_TYPES and "id" in x:
                found.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for path in sorted(SHAPES.glob("*.json")):
        walk(json.loads(path.read_text()))
    return found


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _visible(card: str) -> str:
    parser = _Text()
    parser.feed(card)
    return " ".join(html.unescape(" ".join(parser.parts)).split())


def test_the_table_knows_every_sdk_message_type() -> None:
    assert set(KNOWN_MESSAGE_TYPES) == set(typing.get_args(SDKMessageType))
    assert {"error_message", "stop_reason", "usage_statistics", "ping"} == STREAM_TYPES
    for t in MESSAGE_TYPES.values():
        assert t.label and t.kind in ("input", "answer", "step", "context", "stream")
        assert (t.role is None) == (t.kind == "stream") == (t.group == "")


def test_recorded_shapes_cover_the_stored_types_they_hold() -> None:
    recorded = {m["message_type"] for m in _recorded()}
    assert recorded >= {"user_message", "assistant_message", "system_message"}
    assert {"tool_call_message", "tool_return_message"} <= recorded


@pytest.mark.parametrize(
    "message",
    [*_recorded(), *SAMPLES],
    ids=lambda m: f"{m['message_type']}-{m.get('id', 'sample')}",
)
def test_a_frames_text_is_the_text_its_card_shows(message: dict) -> None:
    frame = rows_from_messages([message], conversation_id="conv-x", agent_id="agent-x")
    rows = [t for t in frame["text"].tolist() if isinstance(t, str) and t]
    assert "\n".join(rows) == text_of(message)
    shown = _words(_visible(render_message(message)))
    for line in text_of(message).splitlines():  # each row's words, in order, on the card
        words = _words(line)
        assert any(
            shown[i : i + len(words)] == words for i in range(len(shown) - len(words) + 1)
        ), (line, shown)


def test_the_front_end_reads_the_same_table() -> None:
    from letta_widgets.widgets.base import bundle

    table = json.loads(types_json())
    assert table == {
        name: {**t.__dict__} for name, t in MESSAGE_TYPES.items()
    }  # the JSON is the table itself
    module = bundle("common.js")
    assert f"const LW_MESSAGE_TYPES = {types_json()};" in module
    static = Path(__file__).resolve().parents[2] / "letta_widgets" / "static"
    for js in static.glob("*.js"):
        names = set(re.findall(r"[\"'`]([a-z_]+_message)[\"'`]", js.read_text()))
        assert not names, f"{js.name} names message types {sorted(names)}: read LW_MESSAGE_TYPES"


def test_a_conversation_ref_addresses_the_default_thread() -> None:
    conv = ConversationRef("conv-1")
    assert (conv.is_default, conv.sdk_kwargs(), conv.describe()) == (
        False,
        {},
        "conversation conv-1",
    )
    default = ConversationRef("default", "agent-1")
    assert default.sdk_kwargs() == {"agent_id": "agent-1"}
    assert default.describe() == "the default conversation of agent agent-1"
    with pytest.raises(ValueError, match="needs agent_id"):
        ConversationRef("default").check()
