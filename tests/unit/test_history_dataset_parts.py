"""The history dataset's pure parts: the high-water mark, the writer's rolling, the lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import letta_widgets as lw
from letta_widgets.history_dataset.lock import LOCK, StaleLockWarning, dataset_lock
from letta_widgets.history_dataset.manifest import (
    Conversation,
    Manifest,
    read_manifest,
    write_manifest,
)
from letta_widgets.history_dataset.watermark import Watermark
from letta_widgets.history_dataset.writer import DatasetWriter, staged_path


def test_a_first_fetch_marks_the_group_before_the_newest():
    mark = Watermark().advance(
        ["m1", "m2", "m2", "m3", "m3"],
        [
            "user_message",
            "reasoning_message",
            "tool_call_message",
            "tool_call_message",
            "tool_call_message",
        ],
        [0, 1, 2, 3, 4],
    )
    assert mark.cursor == "m2" and mark.next_seq == 5 and mark.rows == 5
    assert mark.tail == (("m3", "tool_call_message", 0), ("m3", "tool_call_message", 1))


def test_a_grown_newest_group_keeps_its_cursor_and_continues_its_keys():
    mark = Watermark(next_seq=5, cursor="m2", tail=(("m3", "reasoning_message", 0),), rows=5)
    grown = mark.advance(["m3"], ["tool_call_message"], [5])
    assert grown.cursor == "m2" and grown.rows == 6 and grown.next_seq == 6
    assert grown.tail == (("m3", "reasoning_message", 0), ("m3", "tool_call_message", 0))
    again = grown.advance(["m3"], ["tool_call_message"], [6])
    assert again.tail[-1] == ("m3", "tool_call_message", 1)


def test_new_groups_after_the_stored_ones_move_the_cursor():
    mark = Watermark(next_seq=5, cursor="m2", tail=(("m3", "user_message", 0),), rows=5)
    assert mark.advance(["m4"], ["assistant_message"], [5]).cursor == "m3"
    later = mark.advance(
        ["m3", "m4", "m5"], ["tool_call_message", "user_message", "assistant_message"], [5, 6, 7]
    )
    assert later.cursor == "m4" and later.tail == (("m5", "assistant_message", 0),)
    assert mark.advance([], [], []) is mark


def test_the_writer_rolls_parts_at_the_target_and_stages_them(tmp_path):
    schema = pa.schema([("conversation_id", pa.string()), ("text", pa.string())])
    writer = DatasetWriter(tmp_path, schema, target_file_size=20_000, max_open=2)
    rows = pa.table(
        {"conversation_id": ["c"] * 200, "text": [os.urandom(40).hex() for _ in range(200)]},
        schema=schema,
    )
    for _ in range(30):
        writer.append("agent-1", "2026-01", rows)
    for month in ("2026-02", "2026-03", "2026-04"):  # more partitions than open writers
        writer.append("agent-1", month, rows)
    done = writer.close()
    jan = [f for f in done if f.month == "2026-01"]
    assert len(jan) > 1 and sum(f.rows for f in done) == 33 * 200
    for f in done:
        path = staged_path(tmp_path, f.path)
        assert path.name.endswith(".parquet.tmp") and path.stat().st_size == f.bytes
        assert pq.read_metadata(path).num_rows == f.rows
        assert f.path.startswith(f"agent_id=agent-1/month={f.month}/part-")
    assert all(f.bytes >= 20_000 for f in jan[:-1])
    assert not list(tmp_path.glob("agent_id=*"))  # nothing in place before a commit
    with pytest.raises(ValueError, match="target_file_size"):
        DatasetWriter(tmp_path, schema, target_file_size=0)


def test_the_manifest_round_trips(tmp_path):
    m = Manifest()
    mark = Watermark(3, "m1", (("m2", "user_message", 0),), 3)
    m.conversations["conv-1"] = Conversation(
        "agent-1", "conv-1", mark, "2026-01-01T00:00:00Z", None, 1.5
    )
    write_manifest(tmp_path, m)
    back = read_manifest(tmp_path)
    assert back is not None and back.conversations == m.conversations and back.generation == 1
    assert not (tmp_path / "_manifest.parquet.tmp").exists()


def test_a_live_lock_refuses_and_a_dead_one_is_taken_over(tmp_path):
    with dataset_lock(tmp_path):
        held = json.loads((tmp_path / LOCK).read_text())
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        with pytest.raises(lw.DatasetLocked, match=f"pid {os.getpid()}"), dataset_lock(tmp_path):
            pass
    assert not (tmp_path / LOCK).exists()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    record = {"pid": pid, "host": socket.gethostname(), "time": 0, "token": "x"}
    (tmp_path / LOCK).write_text(json.dumps(record))
    with pytest.warns(StaleLockWarning, match=f"pid {pid}"), dataset_lock(tmp_path):
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    other = {"pid": pid, "host": "another-host", "time": 0, "token": "y"}
    (tmp_path / LOCK).write_text(json.dumps(other))
    with pytest.raises(lw.DatasetLocked, match="another-host"), dataset_lock(tmp_path):
        pass
    assert json.loads((tmp_path / LOCK).read_text())["token"] == "y"  # left alone


def test_bad_arguments_get_clear_errors(tmp_path):
    with pytest.raises(lw.DatasetLayoutError, match="no history dataset"):
        lw.compact_history(tmp_path)
    with pytest.raises(ValueError, match="target_file_size"):
        lw.compact_history(tmp_path, target_file_size=-1)
    assert lw.read_history(tmp_path).empty
