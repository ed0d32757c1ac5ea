"""The history dataset for big organizations: layout, commit protocol, lock, compaction,
migration from the old layout, and an export killed with SIGKILL, against a devserver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets._messages import SCHEMA
from letta_widgets.history_dataset.lock import StaleLockWarning, dataset_lock
from letta_widgets.history_dataset.manifest import read_manifest

pytestmark = [pytest.mark.timeout(600), pytest.mark.devserver_only]  # the bulk insert

DAY = 86_400
SORT = ["agent_id", "conversation_id", "seq", "message_type", "id"]
COLS = [c for c in SCHEMA if c != "in_context"]  # in_context is as of each write


def synthetic(client: Letta, conv: str, turns: int, start: float | None = None) -> None:
    body: dict = {"turns": turns}
    if start is not None:  # spread the turns over months: two days a step
        body.update(start=start, step_seconds=2 * DAY)
    client.post(f"/v1/_devserver/conversations/{conv}/synthetic", body=body, cast_to=object)


def server_rows(client: Letta, agent_ids: list[str]) -> pd.DataFrame:
    """The oracle: the server's history now, as agent_history loads it."""
    frames = [lw.agent_history(client, a, progress=False) for a in agent_ids]
    return pd.concat(frames, ignore_index=True)


def assert_same_rows(stored: pd.DataFrame, server: pd.DataFrame) -> None:
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        return df[COLS].sort_values(SORT).reset_index(drop=True)

    assert not stored.duplicated(["conversation_id", "id", "message_type", "seq"]).any()
    pd.testing.assert_frame_equal(norm(stored), norm(server))


def data_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.glob("agent_id=*/**/*.parquet")}


@pytest.fixture
def two_agents(client: Letta, agent) -> list[str]:
    """The test's agent and a second one, each with conversations spanning a few months."""
    other = client.agents.create(
        name="history-dataset-2",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
    )
    start = 1_767_225_600.0  # 2026-01-01 UTC
    for i, a in enumerate((agent.id, other.id)):
        for j in range(3):
            conv = client.conversations.create(agent_id=a)
            synthetic(client, conv.id, 12 + 4 * j, start=start + (i * 3 + j) * 5 * DAY)
    yield [agent.id, other.id]
    client.agents.delete(other.id)


def test_layout_months_parts_manifest_and_compaction(client, two_agents, tmp_path):
    target = 4_000
    report = lw.export_history(client, tmp_path, agent_ids=two_agents, target_file_size=target)
    assert report["fetched"].all() and report["new_rows"].gt(0).all()
    stored = lw.read_history(tmp_path)
    assert_same_rows(stored, server_rows(client, two_agents))
    manifest = read_manifest(tmp_path)
    assert manifest is not None
    assert set(manifest.files) == data_files(tmp_path)  # nothing on disk the manifest omits
    for rel, f in manifest.files.items():
        agent_dir, month_dir, name = rel.split("/")
        assert agent_dir == f"agent_id={f.agent_id}" and month_dir == f"month={f.month}"
        assert name.startswith("part-") and pq.read_metadata(tmp_path / rel).num_rows == f.rows
        months = {
            f"{d.year:04d}-{d.month:02d}" for d in pq.read_table(tmp_path / rel)["date"].to_pandas()
        }
        assert months == {f.month}
    by_part = manifest.partition_files()
    assert len({m for _, m in by_part}) >= 3  # the turns span several months
    assert any(len(fs) > 1 for fs in by_part.values())  # parts rolled at the target
    assert not (tmp_path / "_staging").exists() and not (tmp_path / "_lock").exists()
    # the marks: every conversation, its row count and next seq
    for cid, conv in manifest.conversations.items():
        rows = stored[stored["conversation_id"] == cid]
        assert conv.mark.rows == len(rows) and conv.mark.next_seq == rows["seq"].max() + 1
        assert conv.mark.tail[-1][0] == rows["id"].iloc[-1]

    # an incremental run with one new turn writes one small new part, and fetches only the
    # conversation that changed once the others have settled
    conv = manifest.conversations[next(iter(manifest.conversations))]
    synthetic(client, conv.conversation_id, 1)
    before = data_files(tmp_path)
    again = lw.export_history(
        client, tmp_path, agent_ids=two_agents, target_file_size=target, settle=-3600
    )
    assert again["fetched"].sum() == 1
    assert again.set_index("conversation_id").loc[conv.conversation_id, "new_rows"] > 0
    assert len(data_files(tmp_path) - before) >= 1 and before <= data_files(tmp_path)
    assert_same_rows(lw.read_history(tmp_path), server_rows(client, two_agents))

    # compaction to a bigger target: at most one part below it per partition, same rows
    bigger = 10 * target
    files_before = len(read_manifest(tmp_path).files)
    out = lw.compact_history(tmp_path, target_file_size=bigger)
    assert set(out.columns) >= {"agent_id", "month", "files_before", "files_after"}
    manifest = read_manifest(tmp_path)
    for fs in manifest.partition_files().values():
        assert sum(f.bytes < bigger for f in fs) <= 1
    assert len(manifest.files) < files_before == out["files_before"].sum()
    assert out["files_after"].sum() == len(manifest.files)
    assert set(manifest.files) == data_files(tmp_path)
    assert_same_rows(lw.read_history(tmp_path), server_rows(client, two_agents))
    # filters reach the partitions
    one = lw.read_history(tmp_path, filters=[("agent_id", "=", two_agents[1])])
    assert set(one["agent_id"]) == {two_agents[1]}
    month = sorted(m for _, m in manifest.partition_files())[0]
    assert set(
        lw.read_history(tmp_path, filters=[("month", "=", month)])["date"].dt.strftime("%Y-%m")
    ) == {month}


def test_old_layout_is_read_refused_and_migrated(client, two_agents, tmp_path):
    lw.export_history(client, tmp_path, agent_ids=two_agents, layout="conversation")
    assert list(tmp_path.glob("agent_id=*/conversation_id=*/part-00000.parquet"))
    old = lw.read_history(tmp_path)
    assert_same_rows(old, server_rows(client, two_agents))
    with pytest.raises(lw.DatasetLayoutError, match="compact_history"):
        lw.export_history(client, tmp_path, agent_ids=two_agents)
    migrated = lw.compact_history(tmp_path)
    assert migrated["files_after"].sum() == len(data_files(tmp_path))
    assert not list(tmp_path.glob("agent_id=*/conversation_id=*"))  # the old files are gone
    pd.testing.assert_frame_equal(lw.read_history(tmp_path)[COLS], old[COLS])
    # the migrated marks drive an incremental run: exactly the new messages, once
    conv = read_manifest(tmp_path).conversations
    cid = sorted(conv)[0]
    synthetic(client, cid, 2)
    report = lw.export_history(client, tmp_path, agent_ids=two_agents).set_index("conversation_id")
    assert report["fetched"].all()  # migrated marks hold no server stamps: all checked once
    assert report["new_rows"].sum() == report.loc[cid, "new_rows"] > 0
    assert_same_rows(lw.read_history(tmp_path), server_rows(client, two_agents))
    with pytest.raises(lw.DatasetLayoutError, match="manifest"):
        lw.export_history(client, tmp_path, agent_ids=two_agents, layout="conversation")


def test_a_second_writer_is_refused_and_the_dataset_stays_whole(client, two_agents, tmp_path):
    lw.export_history(client, tmp_path, agent_ids=two_agents)
    ready = tmp_path.parent / f"{tmp_path.name}-ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time, pathlib
            from letta_widgets.history_dataset.lock import dataset_lock
            with dataset_lock(pathlib.Path({str(tmp_path)!r})):
                pathlib.Path({str(ready)!r}).touch()
                sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(lw.DatasetLocked, match=f"pid {holder.pid}") as err:
            lw.export_history(client, tmp_path, agent_ids=two_agents)
        assert "delete" in str(err.value)
        with pytest.raises(lw.DatasetLocked):
            lw.compact_history(tmp_path)
    finally:
        holder.communicate(b"", timeout=60)
    assert holder.returncode == 0
    assert not (tmp_path / "_lock").exists()
    assert_same_rows(lw.read_history(tmp_path), server_rows(client, two_agents))
    with dataset_lock(tmp_path):  # the lock is free again
        pass


KILLED_EXPORT = """
import sys
from letta_client import Letta
import letta_widgets as lw
client = Letta(base_url=sys.argv[1], max_retries=0)
lw.export_history(client, sys.argv[2], agent_ids=sys.argv[3:], target_file_size=4096)
print("finished")
"""


def test_an_export_killed_mid_run_loses_and_duplicates_nothing(client, agent, tmp_path):
    agents = [agent.id]
    for _ in range(2):  # a second agent: the first one's commit lands before the kill
        agents.append(
            client.agents.create(
                name="killed", model="openai/gpt-4o-mini", embedding="openai/text-embedding-3-small"
            ).id
        )
    try:
        for a in agents:
            for _ in range(40):
                synthetic(client, client.conversations.create(agent_id=a).id, 4, start=1.76e9)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                KILLED_EXPORT,
                str(client.base_url).rstrip("/"),
                str(tmp_path),
                *agents,
            ],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        deadline = time.monotonic() + 120
        staged = tmp_path / "_staging"

        # kill it once it has committed the first agent and staged parts of the next: seen
        # while it is stopped (SIGSTOP), so the state checked is the state it dies in
        def committed_and_staging() -> bool:
            try:  # the export may be emptying a staging folder while we look
                return (tmp_path / "_manifest.parquet").exists() and any(staged.rglob("*.tmp"))
            except FileNotFoundError:
                return False

        while True:
            assert proc.poll() is None, "the export ended before it could be killed"
            assert time.monotonic() < deadline
            if committed_and_staging():
                proc.send_signal(signal.SIGSTOP)
                if committed_and_staging():
                    break
                proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        committed = read_manifest(tmp_path)
        assert committed is not None and 0 < len(committed.conversations) < 120
        assert any(staged.rglob("*.tmp"))  # the killed run's uncommitted parts
        # what was committed reads back whole; the orphans are invisible
        partial = lw.read_history(tmp_path)
        assert set(partial["conversation_id"]) == set(committed.conversations)
        assert (tmp_path / "_lock").exists()
        with pytest.warns(StaleLockWarning, match=f"pid {proc.pid}"):
            report = lw.export_history(client, tmp_path, agent_ids=agents, target_file_size=4096)
        assert (
            not report.set_index("conversation_id")
            .loc[list(committed.conversations), "new_rows"]
            .any()
        )
        assert_same_rows(lw.read_history(tmp_path), server_rows(client, agents))
        assert set(read_manifest(tmp_path).files) == data_files(tmp_path)
        assert not staged.exists() and not (tmp_path / "_lock").exists()
    finally:
        for a in agents[1:]:
            client.agents.delete(a)
