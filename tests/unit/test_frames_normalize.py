"""The message -> row normalizer, the schema, the pager and the accessor, without a server."""
# ruff: noqa: E501  (recorded JSON samples below keep their long lines)

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from letta_widgets._messages import (
    KNOWN_MESSAGE_TYPES,
    SCHEMA,
    RowCollector,
    UnknownMessageTypeWarning,
    conform,
    empty_frame,
    rows_from_messages,
)
from letta_widgets.frames import schema_table
from letta_widgets.frames._paging import Pager

# Recorded from the real Letta 0.16.8 server through letta-client 1.12.1
# (shared/letta-shapes/messages_list_response.json, conversation.json; the system
# prompt is shortened). Newest first, as messages.list returns by default.
LIST_RESPONSE = json.loads(r"""
[
 {
  "id": "message-7178d3c4-9a52-433d-9142-a8997c2951b0",
  "content": "Done: {   \"status\": \"OK\",   \"message\": \"The human's name is Grace.\",   \"time\": \"2026-1",
  "date": "2026-11-24T01:45:04Z",
  "is_err": null,
  "message_type": "assistant_message",
  "name": null,
  "otid": "7178d3c4-9a52-433d-9142-a8997c295180",
  "run_id": "run-fcdaecf6-fd58-4dda-a1b6-97a3739e4197",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-850f16ad-ddbf-4a25-b6be-b0b630cca70c"
 },
 {
  "id": "message-d97fed3d-8f24-436e-a729-dbb84c57a3b4",
  "date": "2026-11-24T01:45:04Z",
  "status": "success",
  "tool_call_id": "call_c05bd02886d2407281ee",
  "tool_return": "The human's name is Grace.",
  "is_err": null,
  "message_type": "tool_return_message",
  "name": "memory_replace",
  "otid": "d97fed3d-8f24-436e-a729-dbb84c57a380",
  "run_id": "run-fcdaecf6-fd58-4dda-a1b6-97a3739e4197",
  "sender_id": null,
  "seq_id": null,
  "stderr": null,
  "stdout": null,
  "step_id": "step-cdef2328-cbd2-49e8-87c1-86a7cc5fe86b",
  "tool_returns": [
   {
    "status": "success",
    "tool_call_id": "call_c05bd02886d2407281ee",
    "tool_return": "The human's name is Grace.",
    "stderr": null,
    "stdout": null,
    "type": "tool"
   }
  ]
 },
 {
  "id": "message-a8227ed5-83b0-4195-b2e4-b875188651b1",
  "date": "2026-11-24T01:45:04Z",
  "tool_call": {
   "arguments": "{\"label\": \"human\", \"old_string\": \"Ada\", \"new_string\": \"Grace\"}",
   "name": "memory_replace",
   "tool_call_id": "call_c05bd02886d2407281ee"
  },
  "is_err": null,
  "message_type": "tool_call_message",
  "name": null,
  "otid": "a8227ed5-83b0-4195-b2e4-b87518865180",
  "run_id": "run-fcdaecf6-fd58-4dda-a1b6-97a3739e4197",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-cdef2328-cbd2-49e8-87c1-86a7cc5fe86b",
  "tool_calls": [
   {
    "arguments": "{\"label\": \"human\", \"old_string\": \"Ada\", \"new_string\": \"Grace\"}",
    "name": "memory_replace",
    "tool_call_id": "call_c05bd02886d2407281ee"
   }
  ]
 },
 {
  "id": "message-33dbec22-3fd7-4db0-ad6d-f0eabdfd77b0",
  "content": "call:memory_replace {\"label\": \"human\", \"old_string\": \"Ada\", \"new_string\": \"Grace\"}",
  "date": "2026-11-24T01:45:03Z",
  "is_err": null,
  "message_type": "user_message",
  "name": null,
  "otid": "6e487157-f636-4a9a-9f20-fa4ff43ee0e5",
  "run_id": "run-fcdaecf6-fd58-4dda-a1b6-97a3739e4197",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-cdef2328-cbd2-49e8-87c1-86a7cc5fe86b"
 },
 {
  "id": "message-a73e6665-2b1f-4521-a917-1aa159121ad2",
  "content": "Echo: tokens please, one two three",
  "date": "2026-11-24T01:45:03Z",
  "is_err": null,
  "message_type": "assistant_message",
  "name": null,
  "otid": "a73e6665-2b1f-4521-a917-1aa159121a80",
  "run_id": "run-af9f1822-a633-487c-969f-ac6a01c5eee1",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-d92166a7-b921-4deb-8f3b-16f2de07933b"
 },
 {
  "id": "message-14141164-28e0-4034-af05-70e6edd4396e",
  "content": "tokens please, one two three",
  "date": "2026-11-24T01:45:03Z",
  "is_err": null,
  "message_type": "user_message",
  "name": null,
  "otid": "5a4969a9-9539-4262-b5aa-4fb5cd7a40d7",
  "run_id": "run-af9f1822-a633-487c-969f-ac6a01c5eee1",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-d92166a7-b921-4deb-8f3b-16f2de07933b"
 },
 {
  "id": "message-d96c9dce-83fb-4d55-a5ba-765001fd8197",
  "content": "Echo: hi",
  "date": "2026-11-24T01:45:03Z",
  "is_err": null,
  "message_type": "assistant_message",
  "name": null,
  "otid": "d96c9dce-83fb-4d55-a5ba-765001fd8180",
  "run_id": "run-242989a9-33cd-4357-9d76-f34c4d6e2f35",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-69313d33-78d3-4c38-8395-e3ef64749d0d"
 },
 {
  "id": "message-53fc77be-537a-4757-bd2e-4dd6a59f6f38",
  "content": "hi",
  "date": "2026-11-24T01:45:03Z",
  "is_err": null,
  "message_type": "user_message",
  "name": null,
  "otid": "71ab7d84-b51f-49e5-9d69-a4f9868c1659",
  "run_id": "run-242989a9-33cd-4357-9d76-f34c4d6e2f35",
  "sender_id": null,
  "seq_id": null,
  "step_id": "step-69313d33-78d3-4c38-8395-e3ef64749d0d"
 },
 {
  "id": "message-56802a0f-adc6-4c4b-9cdc-1d61474c9cc8",
  "content": "<base_instructions>\nYou are a helpful self-improving agent with advanced memory and file system capabilities.\n<memory>\nY\n...</memory_metadata>",
  "date": "2026-11-24T01:45:02Z",
  "is_err": null,
  "message_type": "system_message",
  "name": null,
  "otid": null,
  "run_id": null,
  "sender_id": null,
  "seq_id": null,
  "step_id": null
 }
]
""")
CONVERSATION = json.loads(r"""
{
 "id": "conv-4f9ffba2-e0f9-4745-9da5-67257ea9ce54",
 "agent_id": "agent-5cee013d-340b-4bc8-a256-f571e979c66c",
 "in_context_message_ids": [
  "message-56802a0f-adc6-4c4b-9cdc-1d61474c9cc8",
  "message-53fc77be-537a-4757-bd2e-4dd6a59f6f38",
  "message-d96c9dce-83fb-4d55-a5ba-765001fd8197",
  "message-14141164-28e0-4034-af05-70e6edd4396e",
  "message-a73e6665-2b1f-4521-a917-1aa159121ad2",
  "message-33dbec22-3fd7-4db0-ad6d-f0eabdfd77b0",
  "message-a8227ed5-83b0-4195-b2e4-b875188651b1",
  "message-d97fed3d-8f24-436e-a729-dbb84c57a3b4",
  "message-7178d3c4-9a52-433d-9142-a8997c2951b0"
 ]
}
""")
SAMPLES = {
    "messages_list_response.json": LIST_RESPONSE,
    "conversation.json": CONVERSATION,
    **{f"list_{m['message_type']}.json": m for m in LIST_RESPONSE},
}


def _shape(name: str):
    return json.loads(json.dumps(SAMPLES[name]))


def _check_schema(df: pd.DataFrame) -> None:
    for col, dtype in SCHEMA.items():
        assert col in df.columns, col
        if col == "message_type":
            assert isinstance(df[col].dtype, pd.CategoricalDtype)
            assert list(df[col].cat.categories[: len(KNOWN_MESSAGE_TYPES)]) == list(
                KNOWN_MESSAGE_TYPES
            )
        else:
            assert df[col].dtype == dtype, (col, df[col].dtype, dtype)


def _msg(mid: str, mtype: str, n: int = 0, **extra):
    base = {
        "id": mid,
        "message_type": mtype,
        "date": f"2026-11-24T01:45:{n:02d}Z",
        "run_id": extra.pop("run_id", "run-1"),
        "step_id": extra.pop("step_id", "step-1"),
    }
    base.update(extra)
    return base


# ----------------------------------------------------------------- normalizer


def test_real_server_list_sample_normalizes_with_schema():
    msgs = _shape("messages_list_response.json")[::-1]  # the sample is newest first
    conv = _shape("conversation.json")
    df = rows_from_messages(
        msgs,
        conversation_id=conv["id"],
        agent_id=conv["agent_id"],
        in_context_ids=conv["in_context_message_ids"],
    )
    _check_schema(df)
    assert len(df) == len(msgs)
    assert list(df["seq"]) == list(range(len(msgs)))
    assert list(df["message_type"].astype(str)) == [m["message_type"] for m in msgs]
    assert df["in_context"].all()
    assert str(df["date"].dt.tz) == "UTC"
    call = df[df["message_type"] == "tool_call_message"].iloc[0]
    assert call["tool_name"] == "memory_replace"
    assert call["tool_args"] == {"label": "human", "old_string": "Ada", "new_string": "Grace"}
    assert call["text"].startswith("memory_replace(")
    ret = df[df["message_type"] == "tool_return_message"].iloc[0]
    assert ret["tool_status"] == "success"
    assert ret["text"] == "The human's name is Grace."
    assert ret["tool_call_id"] == call["tool_call_id"]
    assert ret["tool_name"] == "memory_replace"
    assert df.loc[df["message_type"] == "user_message", "role"].eq("user").all()
    assert df.loc[df["message_type"] == "tool_return_message", "role"].eq("tool").all()
    assert df["agent_id"].eq(conv["agent_id"]).all()


@pytest.mark.parametrize(
    "name",
    [
        "list_assistant_message.json",
        "list_system_message.json",
        "list_tool_call_message.json",
        "list_tool_return_message.json",
        "list_user_message.json",
    ],
)
def test_each_sample_type_gives_text(name):
    m = _shape(name)
    df = rows_from_messages([m], conversation_id="conv-x", agent_id="agent-x")
    _check_schema(df)
    assert len(df) == 1
    assert isinstance(df["text"].iloc[0], str) and df["text"].iloc[0]


def test_sdk_objects_and_dicts_give_the_same_rows():
    from letta_client.types.agents.message import Message
    from pydantic import TypeAdapter

    msgs = _shape("messages_list_response.json")
    objs = TypeAdapter(list[Message]).validate_python(msgs)
    a = rows_from_messages(msgs, conversation_id="c", agent_id="a")
    b = rows_from_messages(objs, conversation_id="c", agent_id="a")
    pd.testing.assert_frame_equal(a, b)


def test_every_known_type_and_content_parts():
    msgs = [
        _msg("m1", "system_message", 0, content="sys", run_id=None, step_id=None),
        _msg(
            "m2",
            "user_message",
            1,
            content=[
                {"type": "text", "text": "hel"},
                {"type": "text", "text": "lo"},
                {"type": "image", "source": {"url": "x"}},
            ],
        ),
        _msg("m3", "reasoning_message", 2, reasoning="thinking"),
        _msg("m3", "assistant_message", 2, content=[{"type": "text", "text": "hi"}]),
        _msg("m4", "hidden_reasoning_message", 3, state="redacted", hidden_reasoning=None),
        _msg("m5", "summary_message", 4, summary="a summary"),
        _msg("m6", "event_message", 5, event_type="compaction", event_data={"k": 1}),
        _msg(
            "m7",
            "approval_request_message",
            6,
            tool_call={
                "name": "send_email",
                "arguments": '{"to": "a@b"}',
                "tool_call_id": "call-1",
            },
        ),
        _msg(
            "m8",
            "approval_response_message",
            7,
            approve=False,
            reason="no",
            approval_request_id="m7",
            approvals=[
                {"type": "approval", "approve": False, "tool_call_id": "call-1", "reason": "no"}
            ],
        ),
    ]
    df = rows_from_messages(msgs, conversation_id="c", agent_id="a", in_context_ids=["m3"])
    _check_schema(df)
    assert list(df["text"].fillna("<NA>")) == [
        "sys",
        "hello[image]",
        "thinking",
        "hi",
        "<NA>",
        "a summary",
        'compaction {"k": 1}',
        'send_email({"to": "a@b"})',
        "denied: no",
    ]
    assert list(df["in_context"]) == [False, False, True, True, False, False, False, False, False]
    appr = df[df["message_type"] == "approval_response_message"].iloc[0]
    assert appr["tool_status"] == "denied" and appr["tool_call_id"] == "call-1"
    assert appr["tool_name"] == "send_email"  # filled from its request
    assert df.loc[df["message_type"] == "approval_response_message", "role"].iloc[0] == "user"


def test_multi_tool_call_message_becomes_one_row_per_call():
    calls = [
        {"name": "a", "arguments": '{"x": 1}', "tool_call_id": "c1"},
        {"name": "b", "arguments": "{}", "tool_call_id": "c2"},
    ]
    returns = [
        {"status": "success", "tool_call_id": "c1", "tool_return": "ra", "type": "tool"},
        {"status": "error", "tool_call_id": "c2", "tool_return": "rb", "type": "tool"},
    ]
    msgs = [
        _msg("m1", "tool_call_message", 0, tool_call=calls[0], tool_calls=calls),
        _msg(
            "m2",
            "tool_return_message",
            1,
            status="success",
            tool_call_id="c1",
            tool_return="ra",
            tool_returns=returns,
        ),
        _msg("m3", "assistant_message", 2, content="done"),
    ]
    df = rows_from_messages(msgs, conversation_id="c", agent_id="a")
    assert len(df) == 5
    assert list(df["seq"]) == [0, 0, 1, 1, 2]
    assert list(df["tool_call_id"].fillna("-")) == ["c1", "c2", "c1", "c2", "-"]
    assert list(df["tool_name"].fillna("-")) == ["a", "b", "a", "b", "-"]
    assert list(df["tool_status"].fillna("-")) == ["-", "-", "success", "error", "-"]
    assert df.drop_duplicates(["id", "message_type"]).shape[0] == 3
    assert not df.duplicated(["id", "message_type", "tool_call_id"]).any()


def test_empty_gives_full_schema():
    df = rows_from_messages([], conversation_id="c", agent_id="a")
    _check_schema(df)
    assert len(df) == 0
    pd.testing.assert_frame_equal(df, empty_frame())
    assert list(empty_frame(include_raw=True).columns)[-1] == "raw"


def test_unknown_type_kept_with_raw_and_one_warning():
    msgs = [
        _msg("m1", "user_message", 0, content="hi"),
        _msg("m2", "telepathy_message", 1, content="???"),
        _msg("m3", "telepathy_message", 2, foo=1),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = rows_from_messages(msgs, conversation_id="c", agent_id="a")
    ours = [w for w in caught if issubclass(w.category, UnknownMessageTypeWarning)]
    assert len(ours) == 1
    assert "telepathy_message" in str(ours[0].message)
    assert list(df["message_type"].astype(str)) == [
        "user_message",
        "telepathy_message",
        "telepathy_message",
    ]
    assert df["raw"].iloc[0] is None
    assert df["raw"].iloc[1]["content"] == "???"
    assert df["text"].iloc[1] == "???"
    assert pd.isna(df["role"].iloc[1])


def test_include_raw_and_bad_arguments():
    m = _msg(
        "m1",
        "tool_call_message",
        0,
        tool_call={"name": "t", "arguments": "not json", "tool_call_id": "c"},
    )
    df = rows_from_messages([m], conversation_id="c", agent_id="a", include_raw=True)
    assert df["tool_args"].iloc[0] == {"_raw": "not json"}
    assert df["raw"].iloc[0]["id"] == "m1"


def test_conform_restores_dtypes_after_round_trip(tmp_path):
    msgs = _shape("messages_list_response.json")[::-1]
    df = rows_from_messages(msgs, conversation_id="c", agent_id="a")
    flat = df.astype({"message_type": "object", "role": "object"}).astype(object)
    flat["tool_args"] = [None if v is None else json.dumps(v) for v in df["tool_args"]]
    back = conform(flat)
    pd.testing.assert_frame_equal(back, df)


def test_schema_table_lists_every_column():
    table = schema_table()
    for col in [*SCHEMA, "raw"]:
        assert f"`{col}`" in table


# ---------------------------------------------------------------------- pager


class FakeServer:
    """A message list with Letta's semantics, configurable where servers could differ.

    ``stored`` is a list of stored messages, each a list of Letta message dicts sharing an
    id. ``limit_counts`` is "stored" (Letta 0.16: limit counts stored messages, a page
    never splits a group) or "letta" (limit counts Letta messages: groups can split).
    """

    def __init__(self, group_sizes, limit_counts="stored", max_limit=None):
        self.stored = []
        n = 0
        for g, size in enumerate(group_sizes):
            types = [
                "reasoning_message",
                "tool_call_message",
                "assistant_message",
                "hidden_reasoning_message",
            ]
            self.stored.append([_msg(f"message-{g}", types[i % 4], n + i) for i in range(size)])
            n += size
        self.limit_counts = limit_counts
        self.max_limit = max_limit
        self.calls = []

    def all(self):
        return [m for g in self.stored for m in g]

    def list(self, after, limit):
        self.calls.append((after, limit))
        if self.max_limit and limit > self.max_limit:
            raise ValueError("too big")
        start = 0
        if after is not None:
            start = next(i for i, g in enumerate(self.stored) if g[0]["id"] == after) + 1
        if self.limit_counts == "stored":
            return [m for g in self.stored[start : start + limit] for m in g]
        return [m for g in self.stored[start:] for m in g][:limit]


def drive(server, page_size, **kw):
    pager = Pager(page_size=page_size, max_page=max(page_size, 64), **kw)
    while (req := pager.request()) is not None:
        after, limit = req
        pager.feed(server.list(after, limit), limit)
    return pager


@pytest.mark.parametrize("semantics", ["stored", "letta"])
@pytest.mark.parametrize("page", [1, 2, 3, 4, 5, 7, 11, 12, 13, 50])
def test_pager_loses_and_repeats_nothing(semantics, page):
    server = FakeServer([1, 3, 2, 1, 4, 1, 1, 3], limit_counts=semantics)
    got = drive(server, page).messages
    want = server.all()
    assert [(m["id"], m["message_type"]) for m in got] == [
        (m["id"], m["message_type"]) for m in want
    ]


def test_sdk_style_last_id_cursor_would_lose_split_groups():
    """What the pager guards against: `after=<last id>` skips the rest of a split group."""
    server = FakeServer([3, 3, 3], limit_counts="letta")
    got, after = [], None
    while True:
        page = server.list(after, 2)
        if not page:
            break
        got += page
        after = page[-1]["id"]
    assert len(got) < len(server.all())


def test_pager_want_and_start_after():
    server = FakeServer([1, 2, 2, 2])
    assert len(drive(server, 2, want=3).messages) >= 3
    # resume after group 1 with group 2's first message already known
    known = [("message-2", "reasoning_message", 0)]
    got = drive(server, 100, start_after="message-1", seen=known).messages
    assert [(m["id"], m["message_type"]) for m in got] == [
        ("message-2", "tool_call_message"),
        ("message-3", "reasoning_message"),
        ("message-3", "tool_call_message"),
    ]


# -------------------------------------------------------------------- accessor


def _conversation_with_tools():
    msgs = [
        _msg("m0", "system_message", 0, content="sys", run_id=None, step_id=None),
        _msg(
            "m1",
            "user_message",
            1,
            content="remember that I like tea",
            run_id="run-1",
            step_id="s1",
        ),
        _msg("m2", "reasoning_message", 2, reasoning="store it", run_id="run-1", step_id="s1"),
        _msg(
            "m2",
            "tool_call_message",
            2,
            run_id="run-1",
            step_id="s1",
            tool_call={
                "name": "memory_insert",
                "arguments": '{"label": "human"}',
                "tool_call_id": "call-1",
            },
        ),
        _msg(
            "m3",
            "tool_return_message",
            4,
            run_id="run-1",
            step_id="s1",
            status="success",
            tool_call_id="call-1",
            tool_return="ok",
            name="memory_insert",
        ),
        _msg("m4", "assistant_message", 6, content="Noted.", run_id="run-1", step_id="s2"),
        _msg(
            "m5", "user_message", 10, content="send an email to bob", run_id="run-2", step_id="s3"
        ),
        _msg(
            "m6",
            "approval_request_message",
            11,
            run_id="run-2",
            step_id="s3",
            tool_call={"name": "send_email", "arguments": "{}", "tool_call_id": "call-2"},
        ),
        _msg(
            "m7",
            "approval_response_message",
            12,
            run_id="run-3",
            step_id="s4",
            approve=False,
            approvals=[{"type": "approval", "approve": False, "tool_call_id": "call-2"}],
        ),
        _msg("m8", "assistant_message", 13, content="OK, not sent.", run_id="run-3", step_id="s4"),
    ]
    return rows_from_messages(
        msgs,
        conversation_id="conv-1",
        agent_id="agent-1",
        in_context_ids=["m0", "m5", "m6", "m7", "m8"],
    )


def test_accessor_turns():
    turns = _conversation_with_tools().letta.turns()
    assert list(turns["run_id"]) == ["run-1", "run-2", "run-3"]
    first = turns.iloc[0]
    assert first["user_text"] == "remember that I like tea"
    assert first["assistant_text"] == "Noted."
    assert first["steps"] == 2 and first["tool_calls"] == 1 and first["reasoning"] == 1
    assert first["latency"] == pd.Timedelta(seconds=5)
    assert not first["error"]
    assert turns.iloc[2]["error"]  # denied approval


def test_accessor_tool_calls():
    calls = _conversation_with_tools().letta.tool_calls()
    assert list(calls["tool_name"]) == ["memory_insert", "send_email"]
    mem = calls.iloc[0]
    assert mem["status"] == "success" and mem["return_text"] == "ok"
    assert mem["duration"] == pd.Timedelta(seconds=2)
    assert pd.isna(mem["approval"])
    mail = calls.iloc[1]
    assert mail["approval"] == "denied" and mail["status"] == "denied"


def test_accessor_in_context_and_transcript():
    df = _conversation_with_tools()
    assert set(df.letta.in_context()["id"]) == {"m0", "m5", "m6", "m7", "m8"}
    text = df.letta.transcript()
    assert "=== conv-1 ===" in text
    assert "user: remember that I like tea" in text
    assert "tool return [success]: ok" in text
    assert "sys" not in text.split("\n")[1]
    assert "reasoning" not in df.letta.transcript(reasoning=False)


def test_accessor_on_empty_frame():
    df = empty_frame()
    assert df.letta.turns().empty
    assert df.letta.tool_calls().empty
    assert df.letta.transcript() == ""


def test_segments_joined_in_order_give_the_rows_of_one_collector():
    """agent_history normalizes each conversation into a segment as its pages arrive (in any
    order) and joins them in the order listed: the same frame as adding them in order."""
    calls = [
        {"name": "a", "arguments": '{"x": 1}', "tool_call_id": "c1"},
        {"name": "b", "arguments": "{}", "tool_call_id": "c2"},
    ]

    def batch(conv: int, page: int) -> list[dict]:
        k = f"{conv}-{page}"
        return [
            _msg(f"u{k}", "user_message", 0, content=f"hi {k}"),
            _msg(f"t{k}", "tool_call_message", 1, tool_calls=calls),
            _msg(f"r{k}", "tool_return_message", 2, tool_call_id="c2", tool_return="ok"),
            _msg(f"w{k}", "weird_message", 3, text="?"),
        ]

    pages = {conv: [batch(conv, 0), batch(conv, 1)] for conv in range(3)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownMessageTypeWarning)
        one = RowCollector(include_raw=True)
        for conv, batches in pages.items():
            seq = 0
            for b in batches:
                seq = one.add(b, conversation_id=f"c{conv}", agent_id="a", seq_start=seq)
        expected = one.frame()

        rows = RowCollector(include_raw=True)
        parts = {conv: rows.segment() for conv in pages}
        seqs = dict.fromkeys(pages, 0)
        for page, conv in [(0, 2), (0, 0), (1, 2), (0, 1), (1, 0), (1, 1)]:  # interleaved
            seqs[conv] = parts[conv].add(
                pages[conv][page], conversation_id=f"c{conv}", agent_id="a", seq_start=seqs[conv]
            )
        for conv in pages:
            rows.join(parts[conv])
            assert len(parts[conv]) == 0  # a joined segment keeps nothing
        got = rows.frame()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got["tool_name"].fillna("-"))[:6] == ["-", "a", "b", "b", "-", "-"]
    assert len(rows) == 0  # frame() moves the rows out
