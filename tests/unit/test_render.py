"""The renderer: every message type, pairing, plain text, highlighting, usage, stylesheet."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from letta_widgets.render import (
    CSS_PATH,
    message_text,
    render_markdown,
    render_message,
    render_messages,
    render_tool_exchange,
    render_usage,
)

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "letta-shapes"
RUN = "run-fcdaecf6-fd58-4dda-a1b6-97a3739e4197"

# Copies of tests/fixtures/letta-shapes/list_*.json (recorded from a real Letta server).
USER = {
    "id": "message-33dbec22-3fd7-4db0-ad6d-f0eabdfd77b0",
    "content": 'call:memory_replace {"label": "human", "old_string": "Ada", "new_string": "Grace"}',
    "date": "2026-11-24T01:45:03Z",
    "is_err": None,
    "message_type": "user_message",
    "name": None,
    "otid": "6e487157-f636-4a9a-9f20-fa4ff43ee0e5",
    "run_id": RUN,
    "sender_id": None,
    "seq_id": None,
    "step_id": "step-cdef2328-cbd2-49e8-87c1-86a7cc5fe86b",
}
CALL = {
    "id": "message-a8227ed5-83b0-4195-b2e4-b875188651b1",
    "date": "2026-11-24T01:45:04Z",
    "tool_call": {
        "arguments": '{"label": "human", "old_string": "Ada", "new_string": "Grace"}',
        "name": "memory_replace",
        "tool_call_id": "call_c05bd02886d2407281ee",
    },
    "message_type": "tool_call_message",
    "run_id": RUN,
    "tool_calls": [
        {
            "arguments": '{"label": "human", "old_string": "Ada", "new_string": "Grace"}',
            "name": "memory_replace",
            "tool_call_id": "call_c05bd02886d2407281ee",
        }
    ],
}
RETURN = {
    "id": "message-d97fed3d-8f24-436e-a729-dbb84c57a3b4",
    "date": "2026-11-24T01:45:04Z",
    "status": "success",
    "tool_call_id": "call_c05bd02886d2407281ee",
    "tool_return": "The human's name is Grace.",
    "message_type": "tool_return_message",
    "name": "memory_replace",
    "run_id": RUN,
    "stderr": None,
    "stdout": None,
    "tool_returns": [
        {
            "status": "success",
            "tool_call_id": "call_c05bd02886d2407281ee",
            "tool_return": "The human's name is Grace.",
            "stderr": None,
            "stdout": None,
            "type": "tool",
        }
    ],
}
ASSISTANT = {
    "id": "message-7178d3c4-9a52-433d-9142-a8997c2951b0",
    "content": 'Done: {   "status": "OK",   "message": "The human\'s name is Grace." }',
    "date": "2026-11-24T01:45:04Z",
    "message_type": "assistant_message",
    "run_id": RUN,
}
SYSTEM = {
    "id": "message-56802a0f-adc6-4c4b-9cdc-1d61474c9cc8",
    "content": "<base_instructions>\nYou are a helpful agent.\n</base_instructions>",
    "date": "2026-11-24T01:45:02Z",
    "message_type": "system_message",
}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    t = _Tree()
    t.feed(html)
    t.close()
    return t.tags


def classes(tags: list[tuple[str, dict[str, str | None]]]) -> set[str]:
    return {c for _, a in tags for c in (a.get("class") or "").split()}


def root(html: str) -> dict[str, str | None]:
    tag, attrs = parse(html)[0]
    assert tag == "div"
    return attrs


def _sample_files() -> list[Path]:
    return sorted([*SHAPES.glob("list_*.json"), *SHAPES.glob("stream_*.json")])


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: p.name)
def test_every_recorded_sample_renders(path: Path) -> None:
    m = json.loads(path.read_text())
    html = render_message(m)
    if m["message_type"] in ("ping", "usage_statistics"):
        assert html == ""
        return
    r = root(html)
    assert f"lw-msg--{m['message_type']}" in (r["class"] or "").split()
    assert r["data-message-type"] == m["message_type"]
    if "id" in m:
        assert r["data-id"] == m["id"]


def test_recorded_message_list_renders_with_pairing() -> None:
    path = SHAPES / "messages_list_response.json"
    msgs = list(reversed(json.loads(path.read_text())))  # desc -> oldest first
    cards = render_messages(msgs)
    types = [root(h)["data-message-type"] for h in cards]
    assert "tool_return_message" not in types  # absorbed into the exchange card
    assert any("lw-msg--tool_exchange" in (root(h)["class"] or "") for h in cards)


@pytest.mark.parametrize(
    "m", [USER, CALL, RETURN, ASSISTANT, SYSTEM], ids=lambda m: m["message_type"]
)
def test_root_element(m: dict) -> None:
    r = root(render_message(m))
    assert (r["class"] or "").split()[:2] == ["lw-msg", f"lw-msg--{m['message_type']}"]
    assert r["data-id"] == m["id"]
    assert r["data-message-type"] == m["message_type"]


def test_sdk_model_and_dict_render_the_same() -> None:
    from letta_client.types.agents import AssistantMessage, ToolCallMessage, UserMessage
    from letta_client.types.tool_return_message import ToolReturnMessage

    for cls, m in (
        (UserMessage, USER),
        (AssistantMessage, ASSISTANT),
        (ToolCallMessage, CALL),
        (ToolReturnMessage, RETURN),
    ):
        model = cls.model_validate(m)
        assert render_message(model) == render_message(model.model_dump(mode="json"))
        assert message_text(model) == message_text(m)


def test_user_and_assistant_markdown() -> None:
    html = render_message(
        {"id": "a", "message_type": "assistant_message", "content": "# Title\n\n**bold** `x`"}
    )
    tags = parse(html)
    names = [t for t, _ in tags]
    assert "h1" in names and "strong" in names and "code" in names
    assert {"lw-msg__body", "lw-md"} <= classes(tags)


def test_content_parts() -> None:
    m = {
        "id": "a",
        "message_type": "assistant_message",
        "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "*two*"}],
    }
    html = render_message(m)
    assert "one" in html and "<em>two</em>" in html
    assert message_text(m) == "one*two*"


def test_code_highlighting_classes() -> None:
    html = render_markdown("```python\ndef f(x):\n    return 1  # c\n```")
    tags = parse(html)
    assert ("pre", {"class": "lw-code"}) in tags
    span_classes = {a.get("class") for t, a in tags if t == "span"}
    assert {"k", "nf", "mi", "c1"} <= span_classes


def test_unknown_or_missing_language_is_plain() -> None:
    for md in ("```nosuchlang\n<b>x</b>\n```", "```\n<b>x</b>\n```", "    <b>x</b>\n"):
        html = render_markdown(md)
        assert "&lt;b&gt;x&lt;/b&gt;" in html
        assert not [a for t, a in parse(html) if t == "span"], md


def test_reasoning_dimmed_and_collapsible() -> None:
    m = {"id": "r", "message_type": "reasoning_message", "reasoning": "I should *think*."}
    tags = parse(render_message(m))
    details = [a for t, a in tags if t == "details"]
    assert details and "lw-reasoning" in (details[0]["class"] or "")
    assert "open" not in details[0]
    assert message_text(m) == "I should *think*."


@pytest.mark.parametrize("state", ["redacted", "omitted"])
def test_hidden_reasoning(state: str) -> None:
    m = {"id": "h", "message_type": "hidden_reasoning_message", "state": state}
    html = render_message(m)
    assert f"Reasoning {state}" in html and "lw-reasoning" in html
    assert message_text(m) == ""
    m["hidden_reasoning"] = "opaque"
    assert "<details" in render_message(m)
    assert message_text(m) == "opaque"


def test_tool_call_card_pretty_json() -> None:
    html = render_message(CALL)
    tags = parse(html)
    assert "memory_replace" in html
    cards = [a for t, a in tags if t == "details" and "lw-tool" in (a.get("class") or "")]
    assert len(cards) == 1 and cards[0]["data-tool-call-id"] == "call_c05bd02886d2407281ee"
    assert '\n<span class="w">  </span><span class="nt">"label"</span>' in html  # indented
    assert root(html)["data-tool-call-id"] == "call_c05bd02886d2407281ee"
    assert message_text(CALL) == (
        'memory_replace({"label": "human", "old_string": "Ada", "new_string": "Grace"})'
    )


def test_several_tool_calls_give_several_cards() -> None:
    m = {
        "id": "t",
        "message_type": "tool_call_message",
        "tool_calls": [
            {"name": "a", "arguments": "{}", "tool_call_id": "1"},
            {"name": "b", "arguments": "not json {", "tool_call_id": "2"},
        ],
    }
    html = render_message(m)
    cards = [a for t, a in parse(html) if t == "details" and "lw-tool" in (a.get("class") or "")]
    assert [c["data-tool-call-id"] for c in cards] == ["1", "2"]
    assert "not json {" in html
    assert message_text(m) == "a({})\nb(not json {)"


def test_streaming_tool_call_delta() -> None:
    m = {
        "id": "t",
        "message_type": "tool_call_message",
        "tool_call": {"name": None, "arguments": '{"la', "tool_call_id": None},
        "tool_calls": {"name": None, "arguments": '{"la', "tool_call_id": None},
    }
    html = render_message(m)
    assert '{"la' in html
    assert message_text(m) == ""  # no name yet


def test_tool_return_success_and_error() -> None:
    html = render_message(RETURN)
    assert "lw-badge--success" in html and "Grace" in html
    assert message_text(RETURN) == "The human's name is Grace."
    err = {
        "id": "e",
        "message_type": "tool_return_message",
        "status": "error",
        "tool_call_id": "c",
        "tool_return": "Traceback: boom",
        "stdout": ["printed 1", "printed 2"],
        "stderr": ["warning!"],
    }
    html = render_message(err)
    tags = parse(html)
    assert "lw-badge--error" in html
    det = {a.get("class") for t, a in tags if t == "details"}
    assert {"lw-stdout", "lw-stderr"} <= det
    assert "stdout (2 lines)" in html and "printed 2" in html
    assert message_text(err) == "Traceback: boom"


def test_tool_return_json_is_pretty() -> None:
    m = {**RETURN, "tool_returns": None, "tool_return": '{"a": 1, "b": [1, 2]}'}
    html = render_message(m)
    assert '<span class="nt">"a"</span>' in html


def test_tool_exchange_pairs_call_and_return() -> None:
    html = render_tool_exchange(CALL, RETURN)
    r = root(html)
    assert "lw-msg--tool_exchange" in (r["class"] or "")
    assert r["data-id"] == CALL["id"] and r["data-return-id"] == RETURN["id"]
    assert r["data-message-type"] == "tool_call_message"
    assert "lw-badge--success" in html and "Grace" in html
    pending = render_tool_exchange(CALL)
    assert "lw-badge--pending" in pending
    bare = render_tool_exchange(CALL["tool_call"], RETURN["tool_returns"][0])
    assert "lw-badge--success" in bare


def test_render_messages_pairs_and_keeps_order() -> None:
    cards = render_messages([USER, CALL, RETURN, ASSISTANT, {"message_type": "ping", "id": "p"}])
    assert [root(h)["data-id"] for h in cards] == [USER["id"], CALL["id"], ASSISTANT["id"]]
    unpaired = render_messages([USER, CALL, RETURN], pair_tools=False)
    assert len(unpaired) == 3
    orphan = render_messages([RETURN])
    assert root(orphan[0])["data-message-type"] == "tool_return_message"


def test_approval_request_has_data_attributes() -> None:
    m = {**CALL, "id": "message-approve-1", "message_type": "approval_request_message"}
    html = render_message(m)
    r = root(html)
    assert r["data-approval-request-id"] == "message-approve-1"
    assert r["data-tool-call-id"] == "call_c05bd02886d2407281ee"
    assert "memory_replace" in html and "lw-approval" in (r["class"] or "")
    assert message_text(m).startswith("memory_replace(")


def test_approval_response() -> None:
    m = {
        "id": "r",
        "message_type": "approval_response_message",
        "approval_request_id": "message-approve-1",
        "approvals": [{"type": "approval", "approve": False, "tool_call_id": "c", "reason": "no"}],
    }
    html = render_message(m)
    assert root(html)["data-approval-request-id"] == "message-approve-1"
    assert "lw-badge--denied" in html and "no" in html
    assert message_text(m) == "denied: no"
    legacy = {"id": "r2", "message_type": "approval_response_message", "approve": True}
    assert "lw-badge--approved" in render_message(legacy)
    assert message_text(legacy) == "approved"


def test_system_summary_event_are_separators() -> None:
    html = render_message(SYSTEM)
    r = root(html)
    assert "lw-sep" in (r["class"] or "")
    details = [a for t, a in parse(html) if t == "details"]
    assert details and "open" not in details[0]  # system prompt collapsed
    assert "&lt;base_instructions&gt;" in html
    assert message_text(SYSTEM) == SYSTEM["content"]

    summary = {
        "id": "s",
        "message_type": "summary_message",
        "summary": "They talked about Grace.",
        "compaction_stats": {
            "context_window": 8000,
            "messages_count_after": 11,
            "messages_count_before": 13,
            "trigger": "context_window_exceeded",
        },
    }
    html = render_message(summary)
    assert "lw-sep" in (root(html)["class"] or "") and "13 → 11 messages" in html
    assert message_text(summary) == "They talked about Grace."

    event = {
        "id": "e",
        "message_type": "event_message",
        "event_type": "compaction",
        "event_data": {"n": 1},
    }
    html = render_message(event)
    assert "lw-sep" in (root(html)["class"] or "") and "compaction" in html
    assert message_text(event) == 'compaction {"n": 1}'


def test_unknown_type_is_escaped_json_card() -> None:
    m = {"id": "x", "message_type": "brand_new_type", "payload": "<b>hi</b>"}
    html = render_message(m)
    r = root(html)
    assert "lw-msg--brand_new_type" in (r["class"] or "") and "lw-msg--unknown" in r["class"]
    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    weird = render_message({"id": "y", "message_type": 'x" onload="'})
    assert "lw-msg--unknown" in (root(weird)["class"] or "")
    assert render_message({"id": "z"}).startswith('<div class="lw-msg lw-msg--unknown')


def test_stream_only_chunks() -> None:
    assert render_message({"message_type": "ping", "id": "p"}) == ""
    assert render_message({"message_type": "usage_statistics", "total_tokens": 3}) == ""
    err = {"message_type": "error_message", "error_type": "llm", "message": "boom", "run_id": "r"}
    assert "boom" in render_message(err) and message_text(err) == "boom"
    stop = {"message_type": "stop_reason", "stop_reason": "end_turn"}
    assert "end_turn" in render_message(stop) and message_text(stop) == "end_turn"


def test_message_text_images_and_errors() -> None:
    m = {
        "message_type": "user_message",
        "content": [
            {"type": "text", "text": "see"},
            {
                "type": "image",
                "source": {"type": "base64", "data": "AA", "media_type": "image/png"},
            },
        ],
    }
    assert message_text(m) == "see[image]"
    with pytest.raises(TypeError):
        message_text(42)


def test_render_usage() -> None:
    u = {
        "message_type": "usage_statistics",
        "completion_tokens": 10,
        "prompt_tokens": 20,
        "total_tokens": 30,
        "step_count": 2,
    }
    html = render_usage(u, ttft_s=0.25, total_s=1.5, stop_reason="end_turn")
    assert "30 tokens (20 in, 10 out)" in html and "2 steps" in html
    assert "first token 0.25 s" in html and "1.50 s" in html and "end_turn" in html
    assert "lw-usage" in (root(html)["class"] or "")
    merged = render_usage({**u, "ttft_s": 0.25, "total_s": 1.5, "stop_reason": "end_turn"})
    assert merged == html
    assert render_usage(None) == '<div class="lw-usage"></div>'


def test_stylesheet_is_scoped_and_themed() -> None:
    css = CSS_PATH.read_text()
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for block in re.findall(r"([^{}]+)\{", body):
        for selector in block.split(","):
            assert selector.strip().startswith(".lw-root"), selector
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(", body)
    # JupyterLab's theme variables, or the stylesheet's own, made of them (--lw-*-text)
    own = set(re.findall(r"(--lw-[\w-]+)\s*:", body))
    for name in re.findall(r"var\((--[\w-]+)", body):
        assert name.startswith("--jp-") or name in own, name
    for cls in ("k", "s2", "mi", "c1", "nt", "nf"):
        assert f".lw-root .lw-code .{cls}" in body


def test_odd_content_parts_do_not_raise() -> None:
    m = {
        "id": "x",
        "message_type": "assistant_message",
        "content": [{"type": "text", "text": "**a** "}, {"text": "b"}, 42, None, {}, "c"],
    }
    html = render_message(m)
    assert "<strong>a</strong> b" in html and "42" in html
    assert message_text(m) == "**a** b42c"


def test_compaction_summary_stored_as_a_system_alert_renders_as_a_summary() -> None:
    import json

    from letta_widgets.render import compaction_summary

    alert = json.dumps({"type": "system_alert", "message": "Summary: <b>Ada</b> likes tea.",
                        "time": "2026-11-24 01:00:00 AM UTC+0000"})  # fmt: skip
    msg = {"id": "message-1", "message_type": "user_message", "content": alert}
    assert compaction_summary(msg) == "Summary: <b>Ada</b> likes tea."
    html = render_message(msg)
    assert "lw-msg--summary_message" in html and "system_alert" not in html
    assert "&lt;b&gt;Ada" in html or "<b>Ada</b>" not in html
    plain = {"id": "m2", "message_type": "user_message", "content": '{"type": "other"}'}
    assert compaction_summary(plain) is None
    assert "lw-msg--user_message" in render_message(plain)
