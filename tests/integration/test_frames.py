"""History frames against a server (the devserver unless LETTA_BASE_URL is set), through the SDK."""

from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest
from letta_client import Letta

import letta_widgets.frames._paging as frames_paging
from letta_widgets import NotFound
from letta_widgets._messages import KNOWN_MESSAGE_TYPES, SCHEMA
from letta_widgets.export import export_history, read_history
from letta_widgets.frames import (
    aagent_history,
    agent_history,
    amessages_frame,
    conversations_frame,
    messages_frame,
)

pytestmark = [pytest.mark.timeout(600), pytest.mark.real_server]

MISSING_CONV = "conv-5f0e6f3c-1d2b-4c3d-8e4f-5a6b7c8d9e0f"
MISSING_AGENT = "agent-5f0e6f3c-1d2b-4c3d-8e4f-5a6b7c8d9e0f"


# ------------------------------------------------------------------- helpers


def say(client: Letta, conversation_id: str, text: str, **kwargs) -> list:
    """Send one user message and drain the stream; returns the streamed chunks."""
    stream = client.conversations.messages.create(
        conversation_id, messages=[{"role": "user", "content": text}], **kwargs
    )
    return list(stream)


def approve(client: Letta, conversation_id: str, tool_call_id: str, ok: bool) -> list:
    stream = client.conversations.messages.create(
        conversation_id,
        messages=[
            {
                "type": "approval",
                "approvals": [
                    {
                        "type": "approval",
                        "approve": ok,
                        "tool_call_id": tool_call_id,
                        "reason": None if ok else "not now",
                    }
                ],
            }
        ],
    )
    return list(stream)


def synthetic(client: Letta, conversation_id: str, turns: int) -> None:
    client.post(
        f"/v1/_devserver/conversations/{conversation_id}/synthetic",
        body={"turns": turns},
        cast_to=object,
    )


def server_messages(client: Letta, conversation_id: str, **kwargs) -> list[dict]:
    """The server's own list in one large page (the oracle)."""
    resp = client.conversations.messages.with_raw_response.list(
        conversation_id, order="asc", limit=1_000_000, **kwargs
    )
    return json.loads(resp.http_response.content)


def keys(df: pd.DataFrame) -> list[tuple]:
    one = df.drop_duplicates(["id", "message_type", "seq"])
    return list(zip(one["id"], one["message_type"].astype(str), strict=True))


def server_keys(msgs: list[dict]) -> list[tuple]:
    return [(m["id"], m["message_type"]) for m in msgs]


def assert_schema(df: pd.DataFrame) -> None:
    for col, dtype in SCHEMA.items():
        if col == "message_type":
            assert isinstance(df[col].dtype, pd.CategoricalDtype)
            assert list(df[col].cat.categories[: len(KNOWN_MESSAGE_TYPES)]) == list(
                KNOWN_MESSAGE_TYPES
            )
        else:
            assert df[col].dtype == dtype, (col, df[col].dtype)


@pytest.fixture
def conv(client, agent):
    return client.conversations.create(agent_id=agent.id)


@pytest.fixture
def rich_conv(client, agent):
    """A conversation with plain turns, a memory tool call and a denied + an approved email."""
    c = client.conversations.create(agent_id=agent.id)
    say(client, c.id, "hi there")
    say(client, c.id, "remember that I like green tea")
    say(client, c.id, "what do I like?")
    chunks = say(client, c.id, "send an email to bob@example.com saying hello")
    req = [ch for ch in chunks if getattr(ch, "message_type", None) == "approval_request_message"]
    if req:
        approve(client, c.id, req[0].tool_call.tool_call_id, False)
    chunks = say(client, c.id, "send an email to ann@example.com saying hi")
    req = [ch for ch in chunks if getattr(ch, "message_type", None) == "approval_request_message"]
    if req:
        approve(client, c.id, req[0].tool_call.tool_call_id, True)
    say(
        client,
        c.id,
        'call:memory_replace {"label": "human", "old_string": "nope", "new_string": "x"}',
    )
    return c


# --------------------------------------------------------------- messages_frame


@pytest.mark.both_profiles
def test_counts_order_and_dtypes_match_the_server(client, rich_conv):
    df = messages_frame(client, rich_conv.id)
    msgs = server_messages(client, rich_conv.id)
    assert_schema(df)
    assert keys(df) == server_keys(msgs)
    assert df.drop_duplicates(["id", "message_type"]).shape[0] == len(msgs)
    assert df["seq"].is_monotonic_increasing
    assert df["seq"].iloc[0] == 0 and df["seq"].iloc[-1] == len(msgs) - 1
    assert df["date"].is_monotonic_increasing
    assert (df["conversation_id"] == rich_conv.id).all()
    assert (df["agent_id"] == rich_conv.agent_id).all()
    in_ctx = set(client.conversations.retrieve(rich_conv.id).in_context_message_ids or [])
    assert set(df.loc[df["in_context"], "id"]) == in_ctx & set(df["id"])


@pytest.mark.both_profiles
def test_desc_order_and_limit(client, rich_conv):
    asc = messages_frame(client, rich_conv.id)
    desc = messages_frame(client, rich_conv.id, order="desc")
    assert keys(desc) == keys(asc)[::-1]
    n = asc.drop_duplicates(["id", "message_type"]).shape[0]
    for limit in (1, 3, 7, n, n + 5):
        head = messages_frame(client, rich_conv.id, limit=limit)
        assert keys(head) == keys(asc)[:limit]
        tail = messages_frame(client, rich_conv.id, order="desc", limit=limit)
        assert keys(tail) == keys(asc)[-limit:][::-1], limit
    assert messages_frame(client, rich_conv.id, limit=0).empty


@pytest.mark.both_profiles
def test_shared_ids_exist_and_page_boundaries_lose_nothing(client, rich_conv):
    full = messages_frame(client, rich_conv.id)
    msgs = server_messages(client, rich_conv.id)
    ids = [m["id"] for m in msgs]
    shared = {i for i in ids if ids.count(i) > 1}
    if not shared:
        pytest.skip("this server gives every Letta message its own id")
    n = len(msgs)
    # boundaries that cut inside a shared-id group, and page sizes around the total
    cuts = {i + 1 for i in range(n - 1) if ids[i] == ids[i + 1]}
    for size in sorted({1, 2, 3, n - 1, n, n + 1, *cuts}):
        df = messages_frame(client, rich_conv.id, page_size=size)
        assert keys(df) == keys(full), f"page_size={size}"
        assert not df.duplicated(["id", "message_type", "tool_call_id"]).any()


@pytest.mark.both_profiles
def test_async_variant_matches(client, rich_conv):
    a = messages_frame(client, rich_conv.id, include_raw=True)
    b = asyncio.run(amessages_frame(client, rich_conv.id, include_raw=True, page_size=4))
    pd.testing.assert_frame_equal(a, b)
    assert a["raw"].iloc[0]["id"] == a["id"].iloc[0]


def test_new_conversation_frame_has_full_schema(client, conv):
    df = messages_frame(client, conv.id)
    assert_schema(df)
    # A new conversation holds at most its compiled system message.
    assert set(df["message_type"].astype(str)) <= {"system_message"}
    empty = messages_frame(client, conv.id, limit=0)
    assert empty.empty
    assert_schema(empty)


def test_default_conversation(client, agent):
    say(client, "default", "hello default thread", agent_id=agent.id)
    df = messages_frame(client, "default", agent_id=agent.id)
    assert_schema(df)
    assert (df["conversation_id"] == "default").all()
    assert (df["agent_id"] == agent.id).all()
    msgs = server_messages(client, "default", agent_id=agent.id)
    assert keys(df) == server_keys(msgs)
    assert "hello default thread" in set(df["text"].dropna())


def test_unknown_ids_raise_typed_errors_naming_them(client):
    with pytest.raises(NotFound) as err:
        messages_frame(client, MISSING_CONV)
    assert MISSING_CONV in str(err.value)
    with pytest.raises(NotFound) as err:
        messages_frame(client, "default", agent_id=MISSING_AGENT)
    assert MISSING_AGENT in str(err.value)
    with pytest.raises(NotFound) as err:
        conversations_frame(client, MISSING_AGENT)
    assert MISSING_AGENT in str(err.value)
    with pytest.raises(NotFound) as err:
        agent_history(client, MISSING_AGENT, progress=False)
    assert MISSING_AGENT in str(err.value)


def test_agent_history_names_the_missing_conversation_among_many(client, agent):
    convs = [client.conversations.create(agent_id=agent.id).id for _ in range(6)]
    for cid in convs:
        say(client, cid, "hello")
    given = [*convs[:3], MISSING_CONV, *convs[3:]]
    with pytest.raises(NotFound) as err:
        agent_history(client, agent.id, conversations=given, concurrency=3, progress=False)
    assert MISSING_CONV in str(err.value)
    # nothing is left behind: the same call without the missing one works
    df = agent_history(client, agent.id, conversations=convs, concurrency=3, progress=False)
    assert list(dict.fromkeys(df["conversation_id"])) == convs


@pytest.mark.devserver_only
def test_injected_404_on_the_message_list_is_typed(is_devserver, client, conv):
    if not is_devserver:
        pytest.skip("fault injection is a devserver feature")
    faulty = client.with_options(default_headers={"X-Devserver-Fault": "status=404"})
    with pytest.raises(NotFound) as err:
        messages_frame(faulty, conv.id)
    assert conv.id in str(err.value)


@pytest.mark.devserver_only
def test_5000_message_conversation(is_devserver, client, conv):
    if not is_devserver:
        pytest.skip("bulk insert is a devserver feature")
    turns = 1
    synthetic(client, conv.id, 1)
    per_turn = len(server_messages(client, conv.id)) - 1
    turns = max(1, -(-5000 // max(per_turn, 1)))
    synthetic(client, conv.id, turns - 1)
    msgs = server_messages(client, conv.id)
    assert len(msgs) >= 5000
    df = messages_frame(client, conv.id)
    assert keys(df) == server_keys(msgs)
    assert df.drop_duplicates(["id", "message_type"]).shape[0] == len(msgs)
    assert df["seq"].max() == len(msgs) - 1
    small = messages_frame(client, conv.id, page_size=97)
    assert keys(small) == keys(df)


# ------------------------------------------------------------------- accessor


def test_accessor_on_known_tool_calls_and_approvals(client, rich_conv):
    df = messages_frame(client, rich_conv.id)
    turns = df.letta.turns()
    assert len(turns) == df["run_id"].nunique()
    assert "hi there" in set(turns["user_text"].dropna())
    assert (turns["latency"] >= pd.Timedelta(0)).all()
    assert (turns["steps"] >= 1).all()
    calls = df.letta.tool_calls()
    names = list(calls["tool_name"])
    assert "memory_insert" in names
    mem = calls[calls["tool_name"] == "memory_insert"].iloc[0]
    assert mem["status"] == "success" and isinstance(mem["return_text"], str)
    assert isinstance(mem["tool_args"], dict)
    failed = calls[calls["tool_name"] == "memory_replace"]
    assert (failed["status"] == "error").all() and len(failed) == 1
    approvals = calls[calls["approval"].notna()]
    if len(approvals):  # the server asked for approval of the emails
        assert set(approvals["approval"]) == {"approved", "denied"}
        # a denied call never ran: the server records an error return (or none at all)
        denied = approvals.loc[approvals["approval"] == "denied", "status"]
        assert denied.isin(["error", "denied"]).all()
    in_ctx = df.letta.in_context()
    assert in_ctx["in_context"].all()
    text = df.letta.transcript()
    assert "user: hi there" in text and rich_conv.id in text


# ----------------------------------------------------------- conversations


@pytest.mark.both_profiles
def test_conversations_frame_all_pages_archived_and_counts(client, agent, monkeypatch, profile):
    made = [client.conversations.create(agent_id=agent.id, summary=f"topic {i}") for i in range(12)]
    say(client, made[0].id, "hello")
    monkeypatch.setattr(frames_paging, "CONV_PAGE", 5)  # 12 conversations: 3 pages
    df = conversations_frame(client, agent.id, archived="all")
    assert set(df["id"]) == {c.id for c in made}
    assert list(df.columns) == [
        "id",
        "agent_id",
        "created_at",
        "updated_at",
        "last_message_at",
        "summary",
        "description",
        "model",
        "context_window_limit",
        "archived",
        "archived_at",
        "in_context_count",
    ]
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    # in_context_count is what the list answer says; an empty list (Letta 0.16's lists
    # send one) is unknown, never a false 0: every conversation holds its system message.
    listed = client.conversations.list(agent_id=agent.id, limit=100)
    got = df.set_index("id")["in_context_count"]
    for conv in listed:
        n = len(conv.in_context_message_ids or [])
        assert pd.isna(got[conv.id]) if n == 0 else got[conv.id] == n
    assert df["created_at"].is_monotonic_decreasing
    found = conversations_frame(client, agent.id, search="topic 1", archived="all")
    assert set(found["summary"]) == {"topic 1", "topic 10", "topic 11"}
    counted = conversations_frame(client, agent.id, archived="all", counts=True)
    row = counted.set_index("id").loc[made[0].id]
    assert row["message_count"] == len(server_messages(client, made[0].id))
    assert row["in_context_count"] == len(
        client.conversations.retrieve(made[0].id).in_context_message_ids
    )
    client.conversations.update(made[1].id, archived=True)
    live = conversations_frame(client, agent.id)
    if profile == "letta-0.16":  # letta 0.16.8 keeps no archive flag: all stay listed, <NA>
        assert made[1].id in set(live["id"]) and live["archived"].isna().all()
        return
    archived = conversations_frame(client, agent.id, archived="archived")
    every = conversations_frame(client, agent.id, archived="all")
    assert set(archived["id"]) == {made[1].id} and archived["archived"].all()
    assert len(live) == 11 and not live["archived"].any()
    assert len(every) == 12
    assert every.set_index("id")["archived"].to_dict()[made[1].id]


@pytest.mark.both_profiles
def test_conversations_frame_carries_each_servers_conversation_fields(client, agent, profile):
    made = client.conversations.create(
        agent_id=agent.id,
        summary="tea",
        model="openai/gpt-4o",
        description="Talks about tea",
        context_window_limit=32000,
    )
    client.conversations.update(made.id, archived=True)
    df = conversations_frame(client, agent.id, archived="all").set_index("id")
    row = df.loc[made.id]
    assert row["model"] == "openai/gpt-4o" and row["summary"] == "tea"
    assert str(df["updated_at"].dtype) == str(df["archived_at"].dtype) == "datetime64[us, UTC]"
    assert not pd.isna(row["updated_at"])
    if profile == "cloud":  # Letta Cloud keeps them (SDK 1.12.1 Conversation)
        assert row["description"] == "Talks about tea" and row["context_window_limit"] == 32000
        assert bool(row["archived"]) and not pd.isna(row["archived_at"])
    else:  # letta 0.16.8 has no such fields and ignores them on create and update
        assert pd.isna(row["description"]) and pd.isna(row["context_window_limit"])
        assert pd.isna(row["archived_at"])


# -------------------------------------------------------------- agent_history


@pytest.mark.both_profiles
def test_agent_history_matches_per_conversation_frames(client, agent):
    convs = [client.conversations.create(agent_id=agent.id) for _ in range(5)]
    for i, c in enumerate(convs):
        for j in range(i):
            say(client, c.id, f"message {j} in conversation {i}")
    hist = agent_history(client, agent.id, concurrency=3, progress=False)
    assert_schema(hist)
    for c in convs:
        part = hist[hist["conversation_id"] == c.id].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, messages_frame(client, c.id))
    only = agent_history(client, agent.id, conversations=[convs[2].id], progress=False)
    assert set(only["conversation_id"]) == {convs[2].id}


def test_agent_history_inside_a_running_event_loop(client, agent):
    """As in a notebook cell: the sync call is made while a loop runs in this thread."""
    c = client.conversations.create(agent_id=agent.id)
    say(client, c.id, "hello from a loop")

    async def cell():
        assert asyncio.get_running_loop().is_running()
        sync_df = agent_history(client, agent.id, progress=True)
        async_df = await aagent_history(client, agent.id, progress=False)
        return sync_df, async_df

    sync_df, async_df = asyncio.run(cell())
    pd.testing.assert_frame_equal(sync_df, async_df)
    assert "hello from a loop" in set(sync_df["text"].dropna())
    # and again, from another loop: nothing is bound to a closed loop
    again = asyncio.run(cell())[0]
    pd.testing.assert_frame_equal(again, sync_df)


def test_agent_history_of_agent_without_conversations(client, agent):
    df = agent_history(client, agent.id, progress=False)
    assert df.empty
    assert_schema(df)


# --------------------------------------------------------------------- export


def test_export_incremental_adds_exactly_the_new_messages(client, agent, tmp_path):
    a = client.conversations.create(agent_id=agent.id)
    b = client.conversations.create(agent_id=agent.id)
    say(client, a.id, "first in a")
    say(client, b.id, "remember that my cat is called Tom")
    first = export_history(client, tmp_path, agent_ids=[agent.id])
    assert set(first["conversation_id"]) == {a.id, b.id}
    stored = read_history(tmp_path)
    assert_schema(stored)
    before = {c: keys(stored[stored["conversation_id"] == c]) for c in (a.id, b.id)}
    assert before[a.id] == server_keys(server_messages(client, a.id))

    say(client, a.id, "second in a")
    say(client, a.id, "third in a")
    new_server = server_messages(client, a.id)
    second = export_history(client, tmp_path, agent_ids=[agent.id]).set_index("conversation_id")
    added = len(new_server) - len(before[a.id])
    assert second.loc[a.id, "new_rows"] == added
    assert second.loc[b.id, "new_rows"] == 0
    after = read_history(tmp_path)
    assert keys(after[after["conversation_id"] == a.id]) == server_keys(new_server)
    assert keys(after[after["conversation_id"] == b.id]) == before[b.id]
    fresh = agent_history(client, agent.id, progress=False)
    cols = [c for c in SCHEMA if c != "in_context"]  # in_context is as of each write
    pd.testing.assert_frame_equal(
        after[cols].sort_values(["conversation_id", "seq", "message_type"]).reset_index(drop=True),
        fresh[cols].sort_values(["conversation_id", "seq", "message_type"]).reset_index(drop=True),
    )
    files = sorted(tmp_path.rglob("*.parquet"))
    third = export_history(client, tmp_path, agent_ids=[agent.id])
    assert third["new_rows"].sum() == 0
    assert sorted(tmp_path.rglob("*.parquet")) == files  # nothing new: no new part


def test_export_is_readable_by_pyarrow_dataset(client, agent, tmp_path):
    c = client.conversations.create(agent_id=agent.id)
    say(client, c.id, "hello parquet")
    export_history(client, tmp_path, agent_ids=[agent.id])
    import pyarrow.dataset as ds

    table = ds.dataset(str(tmp_path), format="parquet", partitioning="hive").to_table()
    assert {"agent_id", "month", "conversation_id"} <= set(table.column_names)
    assert set(table.column("conversation_id").to_pylist()) == {c.id}
    assert "tool_args" in table.column_names


@pytest.mark.devserver_only  # bulk data through the devserver's admin endpoint
def test_agent_history_many_conversations(client, agent):
    convs = [client.conversations.create(agent_id=agent.id) for _ in range(20)]
    for c in convs:
        synthetic(client, c.id, 3)
    df = agent_history(client, agent.id, progress=False, concurrency=4)
    ids = {c.id for c in convs}
    assert ids <= set(df["conversation_id"])
    for c in convs[:5]:  # the concurrent load equals one-by-one loads, row for row
        one = messages_frame(client, c.id)
        got = df[df["conversation_id"] == c.id].reset_index(drop=True)
        assert list(got["id"]) == list(one["id"])
        assert list(got["message_type"]) == list(one["message_type"])
