"""Cursor paging over stored messages, as the real server pages (in-process store)."""

from __future__ import annotations

import json

import pytest

from letta_devserver import seed
from letta_devserver.ids import is_valid_id, otid_for
from letta_devserver.service import Config, Service
from letta_devserver.storage import Store, StoredMessage


@pytest.fixture(params=["cloud", "letta-0.16"])
def svc_conv(request: pytest.FixtureRequest) -> tuple[Service, dict]:
    svc = Service(Store(), Config(profile=request.param))
    agent = svc.create_agent({"name": "t", "memory_blocks": [{"label": "human", "value": "v"}]})
    conv = svc.create_conversation(agent["id"])
    seed.synthetic(svc, conv, 9)  # 9 turns; every third has a tool call
    conv = svc.store.get_conversation(conv["id"])
    assert conv is not None
    return svc, conv


def _ids(items: list[dict]) -> list[str]:
    return list(dict.fromkeys(m["id"] for m in items))


def test_limit_counts_stored_messages_and_shared_ids_stay_together(svc_conv) -> None:
    svc, conv = svc_conv
    full = svc.list_messages(conv, after=None, before=None, limit=None, order="asc")
    assert full[0]["message_type"] == "system_message"
    page = svc.list_messages(conv, after=None, before=None, limit=3, order="asc")
    assert len(_ids(page)) == 3 and len(page) > 3  # reasoning + assistant share an id
    for mid in _ids(page):
        kinds = [m["message_type"] for m in page if m["id"] == mid]
        if kinds[0] == "reasoning_message":
            assert kinds[1] in ("assistant_message", "tool_call_message")
            otids = [m["otid"] for m in page if m["id"] == mid]
            assert otids == [otid_for(mid, 0), otid_for(mid, 1)]


@pytest.mark.parametrize("size", [1, 2, 5])
def test_walks_both_ways_without_loss_or_repeat(svc_conv, size: int) -> None:
    svc, conv = svc_conv
    full = svc.list_messages(conv, after=None, before=None, limit=None, order="asc")
    older = "after" if svc.config.profile == "cloud" else "before"  # Cloud: order-relative
    for order, cursor in (("asc", "after"), ("desc", older)):
        walked: list[dict] = []
        cur = None
        while True:
            kw = {"after": None, "before": None, cursor: cur}
            page = svc.list_messages(conv, limit=size, order=order, **kw)
            if not page:
                break
            walked += page
            cur = page[-1]["id"]
        keys = [(m["id"], m["message_type"]) for m in walked]
        assert len(keys) == len(set(keys)) == len(full)
        expected = _ids(full)
        assert _ids(walked) == (expected if order == "asc" else expected[::-1])


def test_cursors_by_profile(svc_conv) -> None:
    """letta-0.16: after=X means 'later than X' even in desc order (positions); cloud: under
    desc, after=X is older than X and before=X the newest rows newer than X."""
    svc, conv = svc_conv
    ids = _ids(svc.list_messages(conv, after=None, before=None, limit=None, order="asc"))
    page = svc.list_messages(conv, after=ids[2], before=None, limit=2, order="desc")
    if svc.config.profile == "cloud":
        assert _ids(page) == [ids[1], ids[0]]
        page = svc.list_messages(conv, after=None, before=ids[2], limit=2, order="desc")
    assert _ids(page) == [ids[-1], ids[-2]]
    page = svc.list_messages(conv, after=ids[2], before=ids[5], limit=None, order="asc")
    assert _ids(page) == ids[3:5]
    unknown = svc.list_messages(conv, after="message-nope", before=None, limit=2, order="asc")
    assert _ids(unknown) == ids[:2]  # an unknown cursor is ignored


def test_json_fast_path_equals_the_slow_path(svc_conv) -> None:
    svc, conv = svc_conv
    for order in ("asc", "desc"):
        slow = svc.list_messages(conv, after=None, before=None, limit=7, order=order)
        fast = json.loads(
            svc.list_messages_json(conv, after=None, before=None, limit=7, order=order)
        )
        assert fast == slow


def test_type_filter_and_ids(svc_conv) -> None:
    svc, conv = svc_conv
    only = svc.list_messages(
        conv, after=None, before=None, limit=None, order="asc", types=["tool_return_message"]
    )
    assert only and {m["message_type"] for m in only} == {"tool_return_message"}
    assert all(is_valid_id("message", m["id"]) for m in only)
    assert all(is_valid_id("run", m["run_id"]) for m in only)


def test_fork_shares_messages_with_a_fresh_system_message(svc_conv) -> None:
    svc, conv = svc_conv
    src = svc.list_messages(conv, after=None, before=None, limit=None, order="asc")
    user_ids = [m["id"] for m in src if m["message_type"] == "user_message"]
    fork = svc.fork(conv, user_ids[1])
    got = svc.list_messages(fork, after=None, before=None, limit=None, order="asc")
    assert got[0]["message_type"] == "system_message" and got[0]["id"] != src[0]["id"]
    assert _ids(got)[-1] == user_ids[1]
    assert _ids(got)[1:] == _ids(src)[1 : _ids(src).index(user_ids[1]) + 1]


def test_stale_memory_until_recompile() -> None:
    svc = Service(Store())
    agent = svc.create_agent({"name": "t", "memory_blocks": [{"label": "human", "value": "Ada"}]})
    old = svc.create_conversation(agent["id"])
    default = svc.default_conversation(agent["id"])
    svc.set_block(agent["id"], "human", "Linus")
    assert svc.context(old).memory["human"] == "Ada" and svc.is_stale(old)
    new = svc.create_conversation(agent["id"])
    assert svc.context(new).memory["human"] == "Linus"
    default = svc.store.get_conversation(default["id"])
    assert svc.context(default).memory["human"] == "Linus"
    svc.recompile(old)
    old = svc.store.get_conversation(old["id"])
    assert svc.context(old).memory["human"] == "Linus" and not svc.is_stale(old)


def test_compaction_evicts_behind_a_summary() -> None:
    svc = Service(Store())
    agent = svc.create_agent({"name": "t", "memory_blocks": [{"label": "human", "value": "v"}]})
    conv = svc.create_conversation(agent["id"])
    msgs = [
        StoredMessage(
            f"message-{i:08d}-0000-4000-8000-000000000000",
            "user",
            float(i),
            {"content": f"my name is N{i}"},
            agent_id=agent["id"],
        )
        for i in range(20)
    ]
    svc.store.append(conv["id"], msgs)
    conv = svc.store.get_conversation(conv["id"])
    out = svc.compact(conv).response()
    assert out["num_messages_before"] == 21 and out["num_messages_after"] < 21
    ids = svc.in_context_ids(conv)
    roles = [svc.store.get_message(i).role for i in ids]
    assert roles[:2] == ["system", "summary"]
    assert "N0" in out["summary"]
    assert svc.store.count(conv["id"]) == 22  # nothing deleted, a summary added


def _compacted(profile: str, path: str = ":memory:") -> tuple[Service, dict]:
    svc = Service(Store(path), Config(profile=profile))
    agent = svc.create_agent({"name": "t", "memory_blocks": [{"label": "human", "value": "v"}]})
    conv = svc.create_conversation(agent["id"])
    seed.synthetic(svc, conv, 4)
    svc.compact(svc.store.get_conversation(conv["id"]), keep=2)
    return svc, svc.store.get_conversation(conv["id"])


def _summary_types(svc: Service, conv: dict) -> list[str]:
    summary = svc.in_context_ids(conv)[1]
    fast = json.loads(
        svc.list_messages_json(conv, after=None, before=None, limit=None, order="asc")
    )
    return [m["message_type"] for m in fast if m["id"] == summary]


def test_summaries_list_per_profile() -> None:
    """cloud lists a compaction as summary_message; letta-0.16 as the system-alert user
    message, in the fast (pre-rendered) path as in the filtered one."""
    for profile, kind in (("cloud", "summary_message"), ("letta-0.16", "user_message")):
        svc, conv = _compacted(profile)
        assert _summary_types(svc, conv) == [kind]
        slow = svc.list_messages(
            conv, after=None, before=None, limit=None, order="asc", types=[kind]
        )
        assert svc.in_context_ids(conv)[1] in {m["id"] for m in slow}


def test_a_database_reopened_under_another_profile_lists_by_that_profile(tmp_path) -> None:
    path = str(tmp_path / "db.sqlite")
    svc, conv = _compacted("letta-0.16", path)
    svc.store.db.close()
    again = Service(Store(path), Config(profile="cloud"))
    assert _summary_types(again, conv) == ["summary_message"]
