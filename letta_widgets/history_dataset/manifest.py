"""The manifest: the commit record of a history dataset, one small Parquet file.

``PATH/_manifest.parquet`` holds one row per exported conversation (its
:class:`~.watermark.Watermark` and the server's change stamps seen), and in its schema
metadata the list of live data files. It is replaced atomically (written to a temporary
name, fsynced, ``os.replace``) only after every file it lists is durable: readers that go
through it never see a half-written run. The leading ``_`` keeps it out of Spark's,
pyarrow's and Polars' hive discovery, and its name is outside ``*/*/*.parquet`` globs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letta_widgets.history_dataset.schema import pa_modules
from letta_widgets.history_dataset.watermark import Watermark

MANIFEST = "_manifest.parquet"
"""The manifest's file name, at the dataset root."""

LAYOUT = "agent_id/month"
"""The layout a manifest describes (kept in its metadata, checked on read)."""

_META_KEY = b"letta_widgets.history_dataset"
FORMAT_VERSION = 1


@dataclass
class DataFile:
    """One live data file: its path relative to the root, partition and size."""

    path: str
    agent_id: str
    month: str
    rows: int
    bytes: int


@dataclass
class Conversation:
    """One exported conversation: its high-water mark and the change stamps last seen."""

    agent_id: str
    conversation_id: str
    mark: Watermark = field(default_factory=Watermark)
    updated_at: str | None = None
    """The conversation's ``updated_at`` when it was last fetched (server time, ISO)."""
    last_message_at: str | None = None
    """Its ``last_message_at`` then."""
    checked_at: float | None = None
    """When it was fetched: server time (the ``Date`` header) as epoch seconds."""


@dataclass
class Manifest:
    """The committed state of a dataset."""

    files: dict[str, DataFile] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    generation: int = 0
    include_raw: bool = False

    def partition_files(self) -> dict[tuple[str, str], list[DataFile]]:
        """Live files by ``(agent_id, month)``, in name order (oldest run first)."""
        out: dict[tuple[str, str], list[DataFile]] = {}
        for f in sorted(self.files.values(), key=lambda f: f.path):
            out.setdefault((f.agent_id, f.month), []).append(f)
        return out


def _schema() -> Any:
    pa, _pq = pa_modules()
    key = pa.struct([("id", pa.string()), ("message_type", pa.string()), ("n", pa.int32())])
    return pa.schema(
        [
            ("agent_id", pa.string()),
            ("conversation_id", pa.string()),
            ("next_seq", pa.int64()),
            ("rows", pa.int64()),
            ("cursor", pa.string()),
            ("tail", pa.list_(key)),
            ("updated_at", pa.string()),
            ("last_message_at", pa.string()),
            ("checked_at", pa.float64()),
        ]
    )


def read_manifest(root: Path) -> Manifest | None:
    """The committed manifest of ``root``, or None when there is none."""
    _pa, pq = pa_modules()
    path = root / MANIFEST
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        return None
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    if meta.get("layout") != LAYOUT:
        from letta_widgets import errors

        raise errors.DatasetLayoutError(
            f"{path} is not a letta-widgets history manifest (layout {meta.get('layout')!r})",
            "point read_history/export_history at a dataset written by export_history",
        )
    files = {f["path"]: DataFile(**f) for f in meta.get("files", [])}
    convs: dict[str, Conversation] = {}
    for row in table.to_pylist():
        mark = Watermark(
            next_seq=int(row["next_seq"]),
            cursor=row["cursor"],
            tail=tuple((k["id"], k["message_type"], int(k["n"])) for k in row["tail"] or []),
            rows=int(row["rows"]),
        )
        convs[row["conversation_id"]] = Conversation(
            row["agent_id"],
            row["conversation_id"],
            mark,
            row["updated_at"],
            row["last_message_at"],
            row["checked_at"],
        )
    return Manifest(files, convs, int(meta.get("generation", 0)), bool(meta.get("include_raw")))


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Commit ``manifest``: write it to a temporary name, fsync, then ``os.replace``."""
    pa, pq = pa_modules()
    manifest.generation += 1
    rows = [
        {
            "agent_id": c.agent_id,
            "conversation_id": c.conversation_id,
            "next_seq": c.mark.next_seq,
            "rows": c.mark.rows,
            "cursor": c.mark.cursor,
            "tail": [{"id": i, "message_type": t, "n": n} for i, t, n in c.mark.tail],
            "updated_at": c.updated_at,
            "last_message_at": c.last_message_at,
            "checked_at": c.checked_at,
        }
        for c in sorted(manifest.conversations.values(), key=lambda c: c.conversation_id)
    ]
    meta = {
        "version": FORMAT_VERSION,
        "layout": LAYOUT,
        "generation": manifest.generation,
        "include_raw": manifest.include_raw,
        "files": [vars(f) for f in sorted(manifest.files.values(), key=lambda f: f.path)],
    }
    schema = _schema().with_metadata({_META_KEY: json.dumps(meta).encode()})
    table = pa.Table.from_pylist(rows, schema=schema)
    tmp = root / (MANIFEST + ".tmp")
    with open(tmp, "wb") as fh:
        pq.write_table(table, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / MANIFEST)
    fsync_dir(root)
