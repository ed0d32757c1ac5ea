"""export_history: the server's message history into the dataset, incrementally."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets import errors
from letta_widgets._messages import rows_from_messages
from letta_widgets.client import base_url_of, sync_twin
from letta_widgets.frames._paging import new_pager
from letta_widgets.frames._requests import context_sync, fetch_sync, list_conversations_sync
from letta_widgets.history_dataset.commit import commit, recover
from letta_widgets.history_dataset.legacy import export_conversation_layout, legacy_files
from letta_widgets.history_dataset.lock import dataset_lock
from letta_widgets.history_dataset.manifest import Conversation, Manifest, read_manifest
from letta_widgets.history_dataset.schema import file_schema, months, to_arrow
from letta_widgets.history_dataset.watermark import Watermark
from letta_widgets.history_dataset.writer import DEFAULT_TARGET, DatasetWriter

SETTLE = 300.0
"""Default ``settle``: seconds a conversation must have been quiet before a run for the
next run to trust its unchanged ``updated_at`` and skip it."""

BATCH_ROWS = 50_000
"""Rows of several conversations converted to Arrow at once (pandas' per-column cost is
paid per batch, not per conversation)."""

CHECKPOINT = 5000
"""Conversations between commits inside one agent (each agent's end commits too)."""

LAYOUTS = ("agent_month", "conversation")

_MIGRATE = (
    "migrate it once with lw.compact_history(path) (rewrites it as agent_id=…/month=… "
    "parts with a manifest, keeping every row), or export again with incremental=False, "
    'or keep the old layout with export_history(..., layout="conversation")'
)


def _list_agents(client: Letta) -> list[str]:
    with errors.sdk_errors(base_url=base_url_of(client), what="the agents"):
        return [agent.id for agent in client.agents.list()]  # SDK pagination


def _server_time(client: Letta, agent_id: str) -> float:
    """The server's clock (its ``Date`` header; this machine's clock if it sends none)."""
    with errors.sdk_errors(base_url=base_url_of(client), what=f"agent {agent_id}"):
        resp = client.agents.with_raw_response.retrieve(agent_id)
    stamp = resp.headers.get("date")
    try:
        return parsedate_to_datetime(stamp).timestamp() - 1.0 if stamp else time.time()
    except (TypeError, ValueError):
        return time.time()


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def unchanged(state: Conversation | None, conv: dict[str, Any], settle: float) -> bool:
    """Whether ``conv`` (as listed) certainly has no messages beyond ``state``.

    Its ``updated_at`` and ``last_message_at`` are those seen when it was last fetched,
    and that fetch came ``settle`` seconds or more after ``updated_at``: a message request
    stamps the conversation when it starts, and its messages land while the run goes on,
    so a fetch soon after the stamp may have seen a turn in progress.
    """
    if state is None or state.checked_at is None:
        return False
    stamp = conv.get("updated_at")
    moved = _epoch(stamp)
    if moved is None or stamp != state.updated_at:
        return False
    if conv.get("last_message_at") != state.last_message_at:
        return False
    return state.checked_at - moved >= settle


def export_history(
    client: Letta | AsyncLetta,
    path: str | os.PathLike[str],
    *,
    agent_ids: Sequence[str] | None = None,
    incremental: bool = True,
    include_raw: bool = False,
    target_file_size: int = DEFAULT_TARGET,
    settle: float = SETTLE,
    concurrency: int = 4,
    layout: str = "agent_month",
) -> pd.DataFrame:
    """Write all conversations' messages to a Parquet dataset partitioned by agent and month.

    Layout: ``PATH/agent_id=…/month=YYYY-MM/part-<run>-<n>.parquet`` (the month of each
    message's date, UTC), parts of about ``target_file_size`` bytes, and
    ``PATH/_manifest.parquet``, the commit record: the live files and each conversation's
    high-water mark. See ``docs/history.md``.

    Parameters
    ----------
    client
        A ``letta_client.Letta`` or ``AsyncLetta``.
    path
        Dataset root (created if missing).
    agent_ids
        Only these agents (default: every agent on the server).
    incremental
        Keep what ``path`` holds and fetch only what is new: conversations whose
        ``updated_at`` has not moved are not fetched at all, the others from their
        high-water mark on; new rows go to new parts. ``False`` rewrites the exported
        agents from scratch (and migrates an old-layout dataset).
    include_raw
        Also store each message's JSON (``raw``).
    target_file_size
        Roll a part once it reaches this many bytes (default 64 MiB).
    settle
        Seconds a conversation's ``updated_at`` must precede a run for the next run to
        skip it when unchanged (a turn may still have been adding messages): 0 trusts
        the stamp at once.
    concurrency
        Conversations fetched at once (worker threads sharing the sync client); rows are
        still written in listing order, and at most ``2 * concurrency`` fetched
        conversations wait in memory.
    layout
        ``"agent_month"`` (default) or ``"conversation"``: the old layout, one directory
        and one part per conversation and run (kept for comparison; no manifest).

    Returns
    -------
    pandas.DataFrame
        One row per conversation listed: ``agent_id``, ``conversation_id``, ``new_rows``
        (rows written by this run), ``fetched`` (False: skipped as unchanged), ``file``
        (old layout: the part written).

    Raises
    ------
    DatasetLocked
        Another export or compaction is writing ``path``.
    DatasetLayoutError
        ``path`` holds the other layout (an incremental export into an old-layout dataset
        says how to migrate it).

    Notes
    -----
    An interrupted run loses nothing committed and leaves nothing visible: parts are
    staged under ``_staging/`` and become live when the manifest is replaced (after each
    agent, and every 5,000 conversations); the next run removes the leftovers and
    fetches the rest. ``in_context`` is stored as it was when each row was written.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    if target_file_size <= 0:
        raise ValueError(f"target_file_size must be positive, not {target_file_size!r}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more, not {concurrency!r}")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    sync = sync_twin(client)
    with dataset_lock(root):
        manifest = read_manifest(root)
        if layout == "conversation":
            if manifest is not None:
                raise errors.DatasetLayoutError(
                    f"{root} holds the agent_id/month layout (it has a manifest)",
                    'export into another directory for layout="conversation"',
                )
            agents = list(agent_ids) if agent_ids is not None else _list_agents(sync)
            rows = export_conversation_layout(
                sync, root, agents, incremental=incremental, include_raw=include_raw
            )
        else:
            if manifest is None:
                if incremental and legacy_files(root):
                    raise errors.DatasetLayoutError(
                        f"{root} holds the old per-conversation layout "
                        "(agent_id=…/conversation_id=…/part-*.parquet)",
                        _MIGRATE,
                    )
                manifest = Manifest()
            recover(root, manifest)
            agents = list(agent_ids) if agent_ids is not None else _list_agents(sync)
            rows = _export(
                sync,
                root,
                manifest,
                agents,
                incremental=incremental,
                include_raw=include_raw,
                target_file_size=target_file_size,
                settle=settle,
                concurrency=concurrency,
            )
    out = pd.DataFrame(rows, columns=["agent_id", "conversation_id", "new_rows", "fetched", "file"])
    return out.astype(
        {
            "agent_id": "string",
            "conversation_id": "string",
            "new_rows": "int64",
            "fetched": "bool",
            "file": "string",
        }
    )


def _fetch(
    client: Letta, cid: str, agent_id: str, mark: Watermark
) -> tuple[str, list[str], list[dict[str, Any]]]:
    """One conversation's new messages from ``mark`` on (runs in a worker thread)."""
    agent, in_context = context_sync(client, cid, agent_id)
    pager = new_pager(client, None, start_after=mark.cursor, seen=mark.tail)
    return agent, in_context, fetch_sync(client, cid, agent, pager)


def _export(
    client: Letta,
    root: Path,
    manifest: Manifest,
    agents: list[str],
    *,
    incremental: bool,
    include_raw: bool,
    target_file_size: int,
    settle: float,
    concurrency: int,
) -> list[dict[str, Any]]:
    writer = DatasetWriter(root, file_schema(include_raw), target_file_size=target_file_size)
    manifest.include_raw = manifest.include_raw or include_raw
    report: list[dict[str, Any]] = []
    batch = _Batch(writer)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="lw-export")
    try:
        for agent_id in agents:
            run = _AgentRun(
                root,
                manifest,
                writer,
                batch,
                agent_id,
                include_raw=include_raw,
                reset=not incremental,
            )
            run.checked = _server_time(client, agent_id)
            convs = list_conversations_sync(client, agent_id, archived="all", search=None)
            for conv in convs:
                cid = conv["id"]
                state = manifest.conversations.get(cid) if incremental else None
                row = {"agent_id": agent_id, "conversation_id": cid, "new_rows": 0}
                report.append({**row, "fetched": False, "file": None})
                if unchanged(state, conv, settle):
                    continue
                report[-1]["fetched"] = True
                mark = state.mark if state else Watermark()
                future = pool.submit(_fetch, client, cid, agent_id, mark)
                run.window.append((conv, report[-1], mark, future))
                if len(run.window) >= 2 * concurrency:  # bounded: results are used in order
                    run.consume()
            run.finish()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        writer.abort()
        raise
    pool.shutdown()
    return report


class _AgentRun:
    """One agent's part of a run: fetched conversations become rows and marks, in order,
    committed every :data:`CHECKPOINT` conversations and at the end."""

    def __init__(
        self,
        root: Path,
        manifest: Manifest,
        writer: DatasetWriter,
        batch: _Batch,
        agent_id: str,
        *,
        include_raw: bool,
        reset: bool,
    ) -> None:
        self.root, self.manifest, self.writer, self.batch = root, manifest, writer, batch
        self.agent_id = agent_id
        self.include_raw = include_raw
        self.reset = reset  # the first commit drops the agent's old files and marks
        self.removed = (
            [r for r, f in manifest.files.items() if f.agent_id == agent_id] if reset else []
        )
        self.pending: dict[str, Conversation] = {}
        self.window: deque[tuple[dict[str, Any], dict[str, Any], Watermark, Future[Any]]] = deque()
        self.checked: float | None = None
        self.done = 0

    def consume(self) -> None:
        """Take the oldest fetch's messages: rows to the batch, the mark to pending."""
        conv, row, mark, future = self.window.popleft()
        agent, in_context, msgs = future.result()
        cid = conv["id"]
        if msgs:
            frame = rows_from_messages(
                msgs,
                conversation_id=cid,
                agent_id=agent,
                in_context_ids=in_context,
                include_raw=self.include_raw,
                seq_start=mark.next_seq,
            )
            self.batch.add(self.agent_id, frame)
            mark = mark.advance(
                list(frame["id"]), [str(t) for t in frame["message_type"]], list(frame["seq"])
            )
            row["new_rows"] = len(frame)
        self.pending[cid] = Conversation(
            self.agent_id,
            cid,
            mark,
            conv.get("updated_at"),
            conv.get("last_message_at"),
            self.checked,
        )
        self.done += 1
        if self.done % CHECKPOINT == 0:
            self.commit()

    def finish(self) -> None:
        """Consume what is still in flight and commit."""
        while self.window:
            self.consume()
        self.commit()

    def commit(self) -> None:
        self.batch.flush()
        _checkpoint(
            self.root,
            self.manifest,
            self.writer,
            self.agent_id,
            self.pending,
            self.removed,
            self.reset,
        )
        self.removed, self.reset = [], False


class _Batch:
    """Frames of one agent's conversations, handed to the writer as Arrow by month."""

    def __init__(self, writer: DatasetWriter) -> None:
        self.writer = writer
        # about a row group's worth (a history row is a few hundred Arrow bytes)
        self.limit = min(BATCH_ROWS, max(1, writer.row_group // 256))
        self.agent_id: str | None = None
        self.frames: list[pd.DataFrame] = []
        self.rows = 0

    def add(self, agent_id: str, frame: pd.DataFrame) -> None:
        if agent_id != self.agent_id:
            self.flush()
            self.agent_id = agent_id
        self.frames.append(frame)
        self.rows += len(frame)
        if self.rows >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.frames or self.agent_id is None:
            return
        frame = (
            pd.concat(self.frames, ignore_index=True) if len(self.frames) > 1 else self.frames[0]
        )
        self.frames, self.rows = [], 0
        table = to_arrow(frame)
        keys = months(frame["date"])
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(keys):
            groups.setdefault(m, []).append(i)
        for month, idx in groups.items():
            part = table if len(idx) == len(keys) else table.take(idx)
            self.writer.append(self.agent_id, month, part)


def _checkpoint(
    root: Path,
    manifest: Manifest,
    writer: DatasetWriter,
    agent_id: str,
    pending: dict[str, Conversation],
    removed: list[str],
    reset: bool,
) -> None:
    """Close the agent's parts and commit them with the marks of the conversations done
    (``reset``: and drop the agent's older marks, whose files ``removed`` lists)."""
    writer.close_agent(agent_id)
    added, writer.finished = writer.finished, []
    if reset:
        manifest.conversations = {
            k: v for k, v in manifest.conversations.items() if v.agent_id != agent_id
        }
    manifest.conversations.update(pending)
    pending.clear()
    commit(root, manifest, added, removed)
