"""ConversationBrowser, Python side, against the devserver through the official SDK."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.letta.paging import whole_groups
from letta_widgets.lineage import LineageStore
from letta_widgets.widgets.browser import PAGE_LIMIT, ConversationBrowser
from letta_widgets.widgets.browser.memory import diff_memory, parse_compiled_memory
from letta_widgets.widgets.chat import ChatCell

pytestmark = pytest.mark.real_server  # also against the real Letta server (make test-real)


def say(client: Letta, cid: str, text: str, **kw: Any) -> None:
    list(
        client.conversations.messages.create(
            cid, messages=[{"role": "user", "content": text}], **kw
        )
    )


def synthetic(base_url: str, cid: str, turns: int) -> None:
    r = httpx.post(f"{base_url}/v1/_devserver/conversations/{cid}/synthetic", json={"turns": turns})
    r.raise_for_status()


@pytest.fixture
def browser(client: Letta, agent: Any, tmp_path: Path) -> ConversationBrowser:
    return ConversationBrowser(client, agent.id, lineage_path=str(tmp_path / "lineage.json"))


@pytest.fixture
def devonly(is_devserver: bool) -> None:
    if not is_devserver:
        pytest.skip("needs the devserver's admin endpoints")


# ------------------------------------------------------------------ pure helpers


def test_cut_keeps_whole_groups() -> None:
    page = [{"id": i // 2} for i in range(10)]  # groups of two
    kept, cursor, more = whole_groups(page, 10, cap=True)
    assert more and [m["id"] for m in kept] == [0, 0, 1, 1, 2, 2, 3, 3] and cursor == 3
    kept, cursor, more = whole_groups(page, 5, cap=True)
    assert more and len(kept) == 4 and cursor == 1
    kept, cursor, more = whole_groups(page[:6], 10, cap=True)
    assert not more and len(kept) == 6
    assert whole_groups([], 10, cap=True) == ([], None, False)


SYSTEM = (
    "base\n\n<memory_blocks>\nThe following memory blocks are currently engaged in your core "
    "memory unit:\n\n<human>\n<description>\nThe human block\n</description>\n<metadata>\n"
    "- chars_current=9\n- chars_limit=100\n</metadata>\n<value>\nName: Ada\nline 2\n</value>\n"
    "</human>\n\n<persona>\n<description>\n\n</description>\n<metadata>\n- chars_current=0\n"
    "</metadata>\n<value>\n\n</value>\n</persona>\n\n</memory_blocks>\n\n<memory_metadata>\n"
)


def test_parse_and_diff_compiled_memory() -> None:
    assert parse_compiled_memory(SYSTEM) == {"human": "Name: Ada\nline 2", "persona": ""}
    assert parse_compiled_memory("no memory here") is None
    same = diff_memory(
        SYSTEM,
        [{"label": "human", "value": "Name: Ada\nline 2"}, {"label": "persona", "value": ""}],
    )
    assert not same.stale and same.known
    diff = diff_memory(
        SYSTEM, [{"label": "human", "value": "Name: Grace"}, {"label": "tasks", "value": "x"}]
    )
    assert diff.changed == ["human"] and diff.added == ["tasks"] and diff.removed == ["persona"]
    assert diff.labels == ["human", "persona", "tasks"] and diff.stale
    assert not diff_memory("plain", []).known


def test_lineage_store(tmp_path: Path) -> None:
    store = LineageStore(tmp_path / "x" / "lineage.json")
    store.record("c1", "p", message_id="m1", agent_id="a")
    store.record("c2", "c1", message_id=None, agent_id="a")
    assert store.parent_of("c1")["message_id"] == "m1"
    assert store.children_of("p") == ["c1"]
    assert store.chain("c2") == ["c1", "p"]
    assert LineageStore(tmp_path / "x" / "lineage.json").chain("c2") == ["c1", "p"]
    # one file, many servers: a store made for a server sees its own links only
    mine = LineageStore(tmp_path / "x" / "lineage.json", server="http://a")
    theirs = LineageStore(tmp_path / "x" / "lineage.json", server="http://b")
    mine.record("c3", "p", message_id=None, agent_id="a")
    assert mine.children_of("p") == ["c1", "c3"]  # (c1: recorded before links had servers)
    assert theirs.children_of("p") == ["c1"]
    mine.forget(["c3", "c1"])
    assert mine.children_of("p") == [] and theirs.children_of("p") == []


def test_forks_that_are_gone_leave_the_lineage(
    client: Letta, browser: ConversationBrowser, agent: Any, tmp_path: Path
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    say(client, cid, "hello")
    browser.select(cid)
    child = browser.fork()
    assert browser.select(cid)["children"] == [child]
    client.conversations.delete(child)  # by another client, or a devserver that restarted
    assert browser.select(cid)["children"] == []
    assert browser.lineage.parent_of(child) is None


# ------------------------------------------------------------------ construction, API


def test_strict_kwargs_and_bad_agent(client: Letta, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        ConversationBrowser(client, agent_idd="x")  # type: ignore[call-arg]
    with pytest.raises(lw.NotFound):
        ConversationBrowser(client, "agent-00000000-0000-4000-8000-000000000000")


def test_picker_without_agent(client: Letta, agent: Any) -> None:
    b = ConversationBrowser(client)
    assert b.agent_id == "" and b.blocks == []
    page = b.agents_page(query=agent.name)
    assert [r["id"] for r in page["rows"]] == [agent.id]
    everything = b.agents_page()
    assert agent.id in {r["id"] for r in everything["rows"]} or everything["next"]
    b.agent_id = agent.id  # what a click in the picker does
    deadline = time.time() + 10
    while not b.blocks and time.time() < deadline:
        time.sleep(0.05)
    assert {blk["label"] for blk in b.blocks} == {"human", "persona"}
    assert b.agent_name == agent.name


def test_agent_with_no_conversations(browser: ConversationBrowser) -> None:
    page = browser.conversations_page()
    assert [r["id"] for r in page["rows"]] == ["default"] and page["next"] is None
    assert browser.conversations_page(search="anything")["rows"] == []
    info = browser.select("default")
    assert info["is_default"] and browser.selected == "default"
    msgs = browser.messages_page()
    assert [i["mtype"] for i in msgs["items"]][:1] in (["system_message"], [])
    assert msgs["more"] is False


def test_nothing_secret_in_synced_state(base_url: str, agent: Any, tmp_path: Path) -> None:
    secret = "sk-very-secret-key-123"
    client = Letta(base_url=base_url, api_key=secret, max_retries=0)
    b = ConversationBrowser(client, agent.id, lineage_path=str(tmp_path / "l.json"))
    state = json.dumps(b.get_state(), default=str)
    assert secret not in state and "api_key" not in state


# ------------------------------------------------------------------ conversation list


@pytest.mark.both_profiles
def test_conversation_pages_newest_activity_first(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    ids = []
    for i in range(120):
        ids.append(client.conversations.create(agent_id=agent.id, summary=f"topic {i:03d}").id)
    say(client, ids[5], "hello there")  # the most recent activity
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = browser.conversations_page(after=after)
        pages += 1
        seen += [r["id"] for r in page["rows"]]
        after = page["next"]
        if not after:
            break
    assert pages >= 3
    assert seen[0] == "default" and seen[1] == ids[5]
    assert sorted(seen[1:]) == sorted(ids) and len(seen) == len(set(seen))
    found = browser.conversations_page(search="topic 04")
    assert sorted(r["title"] for r in found["rows"]) == [f"topic {i:03d}" for i in range(40, 50)]


@pytest.mark.both_profiles
def test_rows_and_header_show_the_conversations_own_model_and_fields(
    client: Letta, browser: ConversationBrowser, agent: Any, profile: str
) -> None:
    own = client.conversations.create(
        agent_id=agent.id,
        summary="on another model",
        model="openai/gpt-4o",
        description="Compares tea and coffee",
        context_window_limit=32000,
    ).id
    plain = client.conversations.create(agent_id=agent.id, summary="plain").id
    rows = {r["id"]: r for r in browser.conversations_page()["rows"]}
    assert rows[own]["model_override"] and rows[own]["model"] == "openai/gpt-4o"
    assert rows[own]["agent_model"] == agent.model
    assert not rows[plain]["model_override"]
    browser.select(own)
    info = browser.info
    assert info["model_override"] and info["updated_at"]
    if profile == "cloud":
        assert info["description"] == "Compares tea and coffee"
        assert info["context_window_limit"] == 32000
    else:  # letta 0.16.8 keeps neither
        assert info["description"] == "" and info["context_window_limit"] is None


def test_stats_count_first_user_and_stale(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    say(client, cid, "What is a monad?")
    [stats] = browser.stats([cid])
    listed = client.conversations.messages.list(cid, limit=1000, order="asc").items
    assert stats["count"] == len(listed)
    assert stats["first_user"] == "What is a monad?" and stats["stale"] is False
    row = next(r for r in browser.conversations_page()["rows"] if r["id"] == cid)
    assert row["title"] == ""  # no summary: the list shows first_user
    client.agents.blocks.update("human", agent_id=agent.id, value="The human is Grace now.")
    browser.refresh_memory()
    [stats] = browser.stats([cid])
    assert stats["stale"] is True and stats["stale_labels"] == ["human"]


@pytest.mark.devserver_only  # archive fields follow Letta Cloud; letta 0.16.8 ignores them
def test_archive_edit_summary_and_delete(client: Letta, browser: ConversationBrowser) -> None:
    cid = browser.new_conversation(summary="to archive")
    assert browser.selected == cid and browser.info["summary"] == "to archive"
    browser.set_summary("renamed")
    assert client.conversations.retrieve(cid).summary == "renamed"
    assert browser.info["title"] == "renamed"
    browser.archive()
    active = {r["id"] for r in browser.conversations_page()["rows"]}
    archived = {r["id"] for r in browser.conversations_page(archived="archived")["rows"]}
    assert cid not in active and cid in archived
    assert "default" not in archived
    browser.unarchive()
    assert cid in {r["id"] for r in browser.conversations_page()["rows"]}
    browser.delete()
    assert browser.selected == ""
    assert cid not in {r["id"] for r in browser.conversations_page(archived="all")["rows"]}
    with pytest.raises(lw.NotFound):
        browser.select(cid)


# ------------------------------------------------------------------ messages


@pytest.mark.both_profiles
def test_message_pages_cover_history_once(
    client: Letta, browser: ConversationBrowser, agent: Any, base_url: str, devonly: None
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    synthetic(base_url, cid, 120)
    frame = lw_frame(client, cid)
    browser.select(cid)
    page = browser.messages_page()
    pages = [page]
    while page["more"]:
        page = browser.messages_page(before=page["cursor"])
        pages.append(page)
    assert len(pages) >= 3
    assert all(len(p["items"]) <= PAGE_LIMIT for p in pages)
    keys = [i["key"] for p in reversed(pages) for i in p["items"]]
    assert len(keys) == len(set(keys))
    # every message is shown once: tool returns inside their call's card
    got_ids = {k.split("|")[0] for k in keys}
    shown = set(frame.loc[frame["message_type"] != "tool_return_message", "id"])
    return_ids = set(frame.loc[frame["message_type"] == "tool_return_message", "id"])
    assert shown <= got_ids and got_ids - shown <= return_ids  # a return split from its call
    returns = frame.loc[frame["message_type"] == "tool_return_message"]
    html = "".join(i["html"] for p in pages for i in p["items"])
    assert all(str(r) in html for r in returns["tool_call_id"].dropna()) or len(returns) == 0
    # in-context marks follow in_context_message_ids; compaction left a summary boundary
    ctx = set(client.conversations.retrieve(cid).in_context_message_ids)
    items = [i for p in pages for i in p["items"]]
    assert all(i["in_context"] == (i["id"] in ctx) for i in items)
    assert any(not i["in_context"] for i in items) and any(i["in_context"] for i in items)
    assert any(i["boundary"] for i in items)  # a compaction summary (listed as a user alert)
    summaries = browser.messages_page(types=["summary_message"])["items"]
    assert summaries and all(i["boundary"] for i in summaries)
    # and forward again from the oldest page
    newer = browser.messages_page(after=pages[-1]["start"])
    assert newer["direction"] == "newer" and newer["items"]
    assert newer["items"][0]["key"] in {i["key"] for i in pages[-2]["items"]}


def lw_frame(client: Letta, cid: str) -> Any:
    from letta_widgets.frames import messages_frame

    return messages_frame(client, cid)


@pytest.mark.both_profiles
def test_filters_and_details(
    client: Letta, browser: ConversationBrowser, agent: Any, base_url: str, devonly: None
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    synthetic(base_url, cid, 40)
    say(client, cid, "needle in a haystack: zebra")
    browser.select(cid)
    hit = browser.messages_page(text="ZEBRA")
    assert hit["filtered"] and hit["items"]
    assert all("zebra" in i["html"].lower() for i in hit["items"])
    users = browser.messages_page(types=["user_message"])
    assert users["items"] and {i["mtype"] for i in users["items"]} == {"user_message"}
    tools = browser.messages_page(types=["tool_call_message"])
    assert {i["type"] for i in tools["items"]} <= {
        "tool_exchange",
        "tool_call_message",
        "tool_return_message",
    }
    newest = browser.messages_page()
    item = newest["items"][-1]
    d = browser.details(item["key"])
    fields = dict(d["fields"])
    assert fields["message id"] == item["id"] and fields["date"]
    assert json.loads(d["raw"])["id"] == item["id"]
    with pytest.raises(lw.NotFound):
        browser.details("message-nope|user_message")


@pytest.mark.both_profiles
def test_filtered_scans_find_every_match_once(
    client: Letta, browser: ConversationBrowser, agent: Any, base_url: str, devonly: None
) -> None:
    """A type filter scans older pages to the first message: each user message once."""
    cid = client.conversations.create(agent_id=agent.id).id
    synthetic(base_url, cid, 300)
    browser.select(cid)
    found: list[str] = []
    page = browser.messages_page(types=["user_message"])
    while True:
        found += [i["key"] for i in page["items"]]
        if not page["more"]:
            break
        page = browser.messages_page(before=page["cursor"], types=["user_message"])
    frame = lw_frame(client, cid)
    users = frame[
        (frame["message_type"] == "user_message")
        & ~frame["text"].str.contains("system_alert", regex=False)
    ]
    expected = {f"{mid}|user_message" for mid in users["id"]}
    assert len(found) == len(set(found))
    assert set(found) == expected


@pytest.mark.both_profiles
def test_message_search_finds_messages_in_every_conversation_or_scans(
    client: Letta, browser: ConversationBrowser, agent: Any, profile: str
) -> None:
    a = client.conversations.create(agent_id=agent.id).id
    b = client.conversations.create(agent_id=agent.id).id
    say(client, a, "the zebra crossing is near the station")
    say(client, b, "hello there")
    say(client, b, "my zebra is called Zed")
    res = browser.search_messages("zebra")
    if profile == "cloud":  # Letta Cloud: client.messages.search, all conversations
        assert res["mode"] == "server" and "all conversations" in res["note"]
        assert {a, b} <= {h["conversation_id"] for h in res["hits"]}
        for cid in (a, b):  # (a stored message matches as a whole: its reasoning may come too)
            assert any(
                "zebra" in h["snippet"].lower() for h in res["hits"] if h["conversation_id"] == cid
            )
    else:  # letta 0.16.8 has no message search (it needs Turbopuffer): scan the selected one
        assert res["mode"] == "scan" and "no message search" in res["note"]
        assert res["hits"] == [] and "select a conversation" in res["note"]
        browser.select(b)
        res = browser.search_messages("zebra")
        assert res["mode"] == "scan" and "scanned" in res["note"]
        assert {h["conversation_id"] for h in res["hits"]} == {b}
    hit = next(h for h in res["hits"] if h["conversation_id"] == b and "Zed" in h["snippet"])
    browser.select(b)
    page = browser.messages_page(around=hit["message_id"])
    assert page["anchor"] == hit["message_id"]
    assert any("Zed" in i["html"] for i in page["items"] if i["id"] == hit["message_id"])


@pytest.mark.both_profiles
def test_a_page_around_a_message_pages_on_both_ways(
    client: Letta, browser: ConversationBrowser, agent: Any, base_url: str, devonly: None
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    synthetic(base_url, cid, 120)
    frame = lw_frame(client, cid).drop_duplicates(["id", "message_type"])
    every = [f"{m.id}|{m.message_type}" for m in frame.itertuples()]
    browser.select(cid)
    middle = every[len(every) // 2].split("|")[0]
    page = browser.messages_page(around=middle)
    keys = [i["key"] for i in page["items"]]
    older, newer, more_older, more = page["older_cursor"], page["newer_cursor"], True, True
    while more_older:
        got = browser.messages_page(before=older)
        keys = [i["key"] for i in got["items"]] + keys
        older, more_older = got["cursor"], got["more"]
    while more:
        got = browser.messages_page(after=newer)
        keys += [i["key"] for i in got["items"]]
        newer, more = got["cursor"], got["more"]
    assert len(keys) == len(set(keys))
    missing = set(every) - set(keys)
    assert {k.split("|")[1] for k in missing} <= {"tool_return_message"}  # inside call cards
    assert keys == [k for k in every if k in set(keys)]


def test_one_megabyte_message_is_truncated(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    big = "word " * 210_000
    say(client, cid, big)
    browser.select(cid)
    page = browser.messages_page()
    [user] = [i for i in page["items"] if i["mtype"] == "user_message"]
    assert "lw-truncated" in user["html"] and "show all" in user["html"]


# ------------------------------------------------------------------ memory, fork, recompile


def test_memory_highlight_stale_and_recompile(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    say(client, cid, "hello")
    browser.select(cid)
    assert not any(b["changed"] for b in browser.blocks)
    assert browser.info["stale"]["stale"] is False
    other = client.conversations.create(agent_id=agent.id).id
    say(client, other, "Please remember that I like green tea.")  # a memory-editing turn
    browser.refresh()
    changed = [b["label"] for b in browser.blocks if b["changed"]]
    assert changed == ["human"] and "green tea" in browser.memory["human"]
    assert browser.info["stale"]["labels"] == ["human"]
    assert browser.stale(cid).changed == ["human"]
    browser.recompile()
    assert browser.info["stale"]["stale"] is False
    browser.refresh_memory()
    assert not any(b["changed"] for b in browser.blocks)  # seen now


@pytest.mark.devserver_only  # letta 0.16.8 ignores fork(message_id=...): whole history
def test_fork_at_message_records_lineage(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    cid = client.conversations.create(agent_id=agent.id, summary="parent").id
    for text in ["first question", "second question", "third question"]:
        say(client, cid, text)
    browser.select(cid)
    items = browser.messages_page()["items"]
    second = next(i for i in items if "second question" in i["html"])
    child = browser.fork(message_id=second["id"])
    assert browser.selected == child and browser.info["parent"] == cid
    texts = [i["html"] for i in browser.messages_page()["items"]]
    assert any("second question" in h for h in texts)
    assert not any("third question" in h for h in texts)
    assert browser.lineage.parent_of(child)["message_id"] == second["id"]
    row = next(r for r in browser.conversations_page()["rows"] if r["id"] == child)
    assert row["parent"] == cid and row["depth"] == 1
    grandchild = browser.fork()
    assert browser.lineage.chain(grandchild) == [child, cid]
    assert browser.select(cid)["children"] == [child]


# ------------------------------------------------------------------ errors, RPC


def test_deleted_by_another_client_while_shown(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    say(client, cid, "hello")
    browser.select(cid)
    first = browser.messages_page()
    client.conversations.delete(cid)
    browser._cache.memory_changed()
    with pytest.raises(lw.NotFound):
        browser.messages_page(before=first["cursor"])
    assert browser.info["missing"] is True
    # still usable
    assert browser.conversations_page()["rows"][0]["id"] == "default"


def rpc(browser: ConversationBrowser, method: str, params: dict[str, Any]) -> dict[str, Any]:
    replies: list[dict[str, Any]] = []
    original = browser.send_custom
    browser.send_custom = lambda msg: replies.append(msg)  # type: ignore[method-assign]
    try:
        browser._dispatch(
            browser, {"kind": "rpc", "id": "v:1", "method": method, "params": params}, []
        )
        deadline = time.time() + 20
        while not replies and time.time() < deadline:
            time.sleep(0.02)
    finally:
        browser.send_custom = original  # type: ignore[method-assign]
    assert len(replies) == 1 and replies[0]["kind"] == "reply" and replies[0]["id"] == "v:1"
    return replies[0]


def test_rpc_always_answers(browser: ConversationBrowser, base_url: str, devonly: None) -> None:
    ok = rpc(browser, "conversations", {"archived": "unarchived"})
    assert ok["result"]["rows"][0]["id"] == "default"
    assert "unknown request" in rpc(browser, "nope", {})["error"]
    missing = rpc(
        browser, "messages", {"conversation_id": "conv-" + "1" * 8 + "-1111-4111-8111-" + "1" * 12}
    )
    assert "not found" in missing["error"]
    httpx.put(f"{base_url}/v1/_devserver/faults", json={"spec": "status=500,once"})
    try:
        failed = rpc(browser, "conversations", {})
    finally:
        httpx.delete(f"{base_url}/v1/_devserver/faults")
    assert "server failed" in failed["error"]
    assert rpc(browser, "conversations", {})["result"]["rows"]  # usable after


def test_action_errors_show_in_widget(browser: ConversationBrowser) -> None:
    with pytest.raises(lw.InvalidRequest):
        browser.archive("default")
    assert "default conversation" in browser.error


def test_selected_frame_and_open_chat(
    client: Letta, browser: ConversationBrowser, agent: Any
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    say(client, cid, "frame me")
    browser.select(cid)
    frame = browser.selected_frame()
    assert len(frame) == len(client.conversations.messages.list(cid, limit=1000).items)
    chat = browser.open_chat()
    assert isinstance(chat, ChatCell) and chat.conversation_id == cid
    assert browser._chat_box.children == (chat,)
    bundle = browser._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == browser._box.model_id  # shown with the chat box below it


@pytest.mark.both_profiles
def test_fork_at_an_evicted_message_is_explained_and_the_conversation_stays(
    client: Letta,
    browser: ConversationBrowser,
    agent: Any,
    base_url: str,
    devonly: None,
    profile: str,
) -> None:
    cid = client.conversations.create(agent_id=agent.id).id
    synthetic(base_url, cid, 120)  # older turns leave the context behind a summary
    browser.select(cid)
    page = browser.messages_page()
    while not any(not i["in_context"] for i in page["items"]) and page["more"]:
        page = browser.messages_page(before=page["cursor"])
    gone = next(i for i in page["items"] if not i["in_context"] and i["mtype"] == "user_message")
    kept = next(i for i in browser.messages_page()["items"] if i["in_context"])
    assert browser.details(kept["key"])["can_fork"]
    d = browser.details(gone["key"])
    assert not d["can_fork"] and "left the context window" in d["fork_note"]
    if profile == "cloud":  # a fork copies in-context messages: the server answers 404
        with pytest.raises(lw.InvalidRequest, match="cannot be a fork point"):
            browser.fork(message_id=gone["id"])
        assert "still in the context window" in browser.error
        assert browser.selected == cid and not browser.info.get("missing")
        assert browser.messages_page()["items"]  # the conversation is there, and shown
    else:  # letta 0.16.8 ignores the fork point and copies everything: refused, nothing kept
        before = {c.id for c in client.conversations.list(agent_id=agent.id)}
        with pytest.raises(lw.ForkPointIgnored, match="cannot branch"):
            browser.fork(message_id=gone["id"])
        assert "0.16.8" in browser.error and browser.selected == cid
        assert {c.id for c in client.conversations.list(agent_id=agent.id)} == before
