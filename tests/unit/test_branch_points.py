"""The pure parts of branching: did a fork stop at its point, and which siblings a history has.

Servers may share a source's messages with a fork (the same ids: the devserver, as the SDK's
``fork`` docstring says) or copy them (new ids, the same type, text and date: Letta Code's
local Cloud backend); both are covered here with hand-made records.
"""

from __future__ import annotations

from pathlib import Path

from letta_widgets.branches import branch_points, fork_stopped_at
from letta_widgets.lineage import LineageStore

SYSTEM = {"id": "message-s", "message_type": "system_message", "content": "You are…"}
POINT = {"id": "message-2", "message_type": "assistant_message", "content": "Hi Ada",
         "date": "2026-12-01T10:00:00Z"}  # fmt: skip
NEWEST = {"id": "message-9", "message_type": "assistant_message", "content": "Bye",
          "date": "2026-12-01T10:00:00Z"}  # fmt: skip


def test_a_fork_that_shares_or_copies_its_point_stopped_there() -> None:
    assert fork_stopped_at(POINT, dict(POINT), NEWEST)  # shared: the same id
    copy = {**POINT, "id": "message-copy"}
    assert fork_stopped_at(POINT, copy, NEWEST)  # copied: new id, same type, text and date


def test_a_fork_with_the_whole_history_did_not() -> None:
    assert not fork_stopped_at(POINT, dict(NEWEST), NEWEST)  # the source's newest, shared
    copy = {**NEWEST, "id": "message-copy"}  # copied: same second, other text
    assert not fork_stopped_at(POINT, copy, NEWEST)
    assert not fork_stopped_at(POINT, None, NEWEST)


def test_a_fork_at_the_system_message_holds_only_a_new_one() -> None:
    assert fork_stopped_at(SYSTEM, {**SYSTEM, "id": "message-s2"}, NEWEST)
    assert not fork_stopped_at(SYSTEM, dict(NEWEST), NEWEST)


def test_siblings_at_one_point_from_every_side(tmp_path: Path) -> None:
    store = LineageStore(tmp_path / "l.json", server="http://s")
    store.record("conv-b", "conv-a", message_id="message-2", agent_id="a", tip="message-2",
                 group=("conv-a", "message-2"))  # fmt: skip
    store.record(
        "conv-c",
        "conv-b",
        message_id="message-2",
        agent_id="a",
        tip="message-2",
        group=("conv-a", "message-2"),
    )  # fmt: skip  (an edit of the edit)
    shown = ["message-1", "message-2", "message-3"]
    for cid, index in [("conv-a", 0), ("conv-b", 1), ("conv-c", 2)]:
        [point] = branch_points(store, cid, shown)
        assert point.conversation_ids == ("conv-a", "conv-b", "conv-c")
        assert point.index == index and point.message_id == "message-2"
    assert branch_points(store, "conv-a", ["message-1"]) == []  # the point is not shown


def test_siblings_on_a_server_that_copies_messages(tmp_path: Path) -> None:
    store = LineageStore(tmp_path / "l.json")
    store.record("conv-b", "conv-a", message_id="message-2", agent_id="a", tip="message-b2",
                 group=("conv-a", "message-2"))  # fmt: skip
    [point] = branch_points(store, "conv-b", ["message-b1", "message-b2", "message-b3"])
    assert point.message_id == "message-b2" and point.index == 1
    [point] = branch_points(store, "conv-a", ["message-1", "message-2", "message-3"])
    assert point.message_id == "message-2" and point.index == 0


def test_a_later_fork_of_a_branch_keeps_the_earlier_point(tmp_path: Path) -> None:
    store = LineageStore(tmp_path / "l.json")
    store.record("conv-b", "conv-a", message_id="message-2", agent_id="a", tip="message-2",
                 group=("conv-a", "message-2"))  # fmt: skip
    store.record("conv-d", "conv-b", message_id="message-5", agent_id="a", tip="message-5",
                 group=("conv-b", "message-5"))  # fmt: skip
    points = {p.message_id: p for p in branch_points(store, "conv-d", ["message-2", "message-5"])}
    assert points["message-2"].current == "conv-b"  # conv-d descends from conv-b there
    assert points["message-5"].conversation_ids == ("conv-b", "conv-d")
