"""Parts of a healthy size: one open Parquet writer per partition, rolled at a target size.

Rows are appended per ``(agent_id, month)``; each partition buffers Arrow tables and writes
them as one row group when the buffer reaches :func:`row_group_bytes`, and closes its part
once the file reaches ``target_file_size`` (the next rows open a new part). Memory stays
bounded: at most ``max_open`` writers (the least recently used one is closed first) and a
total buffer budget (the largest buffer is flushed first).

Parts are written under ``PATH/_staging/`` with a ``.tmp`` suffix, fsynced when closed, and
moved into place only after the manifest that lists them is committed
(:mod:`.commit`): an interrupted run leaves nothing that a reader of the data directories
(Spark, pyarrow, Polars: ``_`` prefix; DuckDB's ``**/*.parquet``: the suffix) would see.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letta_widgets.history_dataset.manifest import DataFile
from letta_widgets.history_dataset.schema import pa_modules

STAGING = "_staging"
"""Where uncommitted parts are written, under the dataset root."""

DEFAULT_TARGET = 64 * 1024 * 1024
"""The default ``target_file_size``: 64 MiB."""

BUFFER_BUDGET = 256 * 1024 * 1024
"""Most Arrow bytes buffered over all open partitions before the largest is flushed."""

MAX_OPEN = 32
"""Most part files open at once."""


def row_group_bytes(target_file_size: int) -> int:
    """Arrow bytes buffered per partition before they are written as one row group."""
    return max(1024, min(16 * 1024 * 1024, target_file_size // 2))


def new_run_id() -> str:
    """A sortable, unique id for one run's part names (UTC time + random)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


def partition_dir(agent_id: str, month: str) -> str:
    """A partition's directory relative to the root (hive style)."""
    return f"agent_id={agent_id}/month={month}"


def staged_path(root: Path, rel: str) -> Path:
    """Where the part ``rel`` (a path relative to the root) is staged until committed."""
    return root / STAGING / (rel + ".tmp")


@dataclass
class _Part:
    agent_id: str
    month: str
    rel: str
    fh: Any
    writer: Any
    rows: int = 0
    buffered: list[Any] = field(default_factory=list)
    buffered_bytes: int = 0


class DatasetWriter:
    """Appends rows per partition into staged parts; :attr:`finished` lists the closed ones."""

    def __init__(
        self,
        root: Path,
        schema: Any,
        *,
        target_file_size: int = DEFAULT_TARGET,
        run_id: str | None = None,
        max_open: int = MAX_OPEN,
        buffer_budget: int = BUFFER_BUDGET,
    ) -> None:
        if target_file_size <= 0:
            raise ValueError(f"target_file_size must be positive, not {target_file_size!r}")
        self.root = root
        self.schema = schema
        self.target = int(target_file_size)
        self.run_id = run_id or new_run_id()
        self.max_open = max(1, max_open)
        self.budget = buffer_budget
        self.row_group = row_group_bytes(self.target)
        self.finished: list[DataFile] = []
        self._open: OrderedDict[tuple[str, str], _Part] = OrderedDict()
        self._seq = 0
        self._buffered = 0

    def append(self, agent_id: str, month: str, table: Any) -> None:
        """Append ``table`` (of :attr:`schema`) to the partition ``(agent_id, month)``."""
        if table.num_rows == 0:
            return
        key = (agent_id, month)
        part = self._open.get(key)
        if part is None:
            part = self._start(agent_id, month)
        self._open.move_to_end(key)
        part.buffered.append(table)
        part.buffered_bytes += table.nbytes
        self._buffered += table.nbytes
        if part.buffered_bytes >= self.row_group:
            self._flush(part)
        while self._buffered > self.budget and self._open:
            biggest = max(self._open.values(), key=lambda p: p.buffered_bytes)
            if not biggest.buffered_bytes:
                break
            self._flush(biggest)

    def close_agent(self, agent_id: str) -> None:
        """Close every open part of ``agent_id``."""
        for key in [k for k in self._open if k[0] == agent_id]:
            self._close(self._open[key])

    def close(self) -> list[DataFile]:
        """Close every open part; returns all parts finished by this writer."""
        for part in list(self._open.values()):
            self._close(part)
        return self.finished

    def abort(self) -> None:
        """Close the open files without finishing them (they stay in staging: orphans)."""
        for part in list(self._open.values()):
            try:
                part.writer.close()
            finally:
                part.fh.close()
        self._open.clear()

    # ---------------------------------------------------------------- internals

    def _start(self, agent_id: str, month: str) -> _Part:
        _pa, pq = pa_modules()
        while len(self._open) >= self.max_open:
            self._close(next(iter(self._open.values())))  # least recently used
        self._seq += 1
        rel = f"{partition_dir(agent_id, month)}/part-{self.run_id}-{self._seq:05d}.parquet"
        path = staged_path(self.root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "wb")  # noqa: SIM115 - closed in _close
        writer = pq.ParquetWriter(fh, self.schema, compression="zstd")
        part = _Part(agent_id, month, rel, fh, writer)
        self._open[(agent_id, month)] = part
        return part

    def _flush(self, part: _Part) -> None:
        pa, _pq = pa_modules()
        if not part.buffered:
            return
        table = pa.concat_tables(part.buffered)
        part.writer.write_table(table, row_group_size=max(1, table.num_rows))
        part.rows += table.num_rows
        self._buffered -= part.buffered_bytes
        part.buffered, part.buffered_bytes = [], 0
        if part.fh.tell() >= self.target:
            self._close(part)

    def _close(self, part: _Part) -> None:
        if part.buffered:
            table_rows = sum(t.num_rows for t in part.buffered)
            pa, _pq = pa_modules()
            part.writer.write_table(pa.concat_tables(part.buffered), row_group_size=table_rows)
            part.rows += table_rows
            self._buffered -= part.buffered_bytes
            part.buffered, part.buffered_bytes = [], 0
        part.writer.close()
        part.fh.flush()
        os.fsync(part.fh.fileno())
        size = part.fh.tell()
        part.fh.close()
        self._open.pop((part.agent_id, part.month), None)
        self.finished.append(DataFile(part.rel, part.agent_id, part.month, part.rows, size))
