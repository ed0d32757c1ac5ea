"""A history dataset back into the history schema: through the manifest, or the old layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from letta_widgets._messages import SCHEMA, conform
from letta_widgets.history_dataset.legacy import legacy_files
from letta_widgets.history_dataset.manifest import Manifest, read_manifest
from letta_widgets.history_dataset.schema import (
    LEGACY_PARTITIONS,
    PARTITIONS,
    dataset_schema,
    pa_modules,
)
from letta_widgets.history_dataset.writer import staged_path

Located = list[tuple[str, dict[str, str]]]


def live_paths(root: Path, manifest: Manifest) -> Located:
    """The committed files with their partition values: in place, or still staged if a
    commit was cut short between the manifest's swap and the move (the next write moves
    them)."""
    out = []
    for rel in sorted(manifest.files):
        entry = manifest.files[rel]
        path = root / rel
        if not path.exists() and staged_path(root, rel).exists():
            path = staged_path(root, rel)
        out.append((str(path), {"agent_id": entry.agent_id, "month": entry.month}))
    return out


def legacy_paths(root: Path) -> Located:
    """The old layout's files with their partition values (from the directory names)."""
    out = []
    for p in legacy_files(root):
        parts = p.relative_to(root).parts
        out.append((str(p), dict(x.split("=", 1) for x in parts[:-1])))
    return out


def _read(files: Located, partitions: tuple[str, ...], filters: Any) -> Any:
    pa, pq = pa_modules()
    import pyarrow.dataset as ds
    from pyarrow import fs

    local = fs.LocalFileSystem()

    raw = any("raw" in pq.read_schema(f).names for f, _ in files)
    fmt = ds.ParquetFileFormat()
    fragments = []
    for f, values in files:
        expr = None
        for col in partitions:
            term = ds.field(col) == pa.scalar(values.get(col), pa.string())
            expr = term if expr is None else expr & term
        fragments.append(fmt.make_fragment(f, filesystem=local, partition_expression=expr))
    dataset = ds.FileSystemDataset(
        fragments, schema=dataset_schema(raw, partitions), format=fmt, filesystem=local
    )
    return dataset.to_table(filter=pq.filters_to_expression(filters) if filters else None)


def read_history(path: str | os.PathLike[str], *, filters: Any = None) -> pd.DataFrame:
    """Read a dataset written by :func:`export_history` back into the history schema.

    Only the files the manifest lists are read, so the leftovers of an interrupted run
    are never seen; a dataset of the old per-conversation layout (no manifest) is read
    from its directories. ``filters`` goes to :func:`pyarrow.parquet.filters_to_expression`
    (e.g. ``[("agent_id", "=", "agent-…"), ("month", "=", "2026-05")]``; ``month`` exists
    only in the current layout). Rows come sorted by agent, conversation and ``seq``.
    """
    root = Path(path)
    table = None
    for _attempt in range(3):  # a compaction may delete a file between manifest and read
        manifest = read_manifest(root)
        if manifest is not None:
            files, partitions = live_paths(root, manifest), PARTITIONS
        else:
            files = legacy_paths(root)
            partitions = LEGACY_PARTITIONS
        if not files:
            return conform(pd.DataFrame(columns=list(SCHEMA)))
        try:
            table = _read(files, partitions, filters)
            break
        except FileNotFoundError:
            continue
    if table is None:
        table = _read(files, partitions, filters)
    frame = table.to_pandas()
    frame = frame.drop(columns=[c for c in frame.columns if c == "month"])
    for col in ("agent_id", "conversation_id"):
        frame[col] = frame[col].astype("object")
    frame = conform(frame)
    return frame.sort_values(["agent_id", "conversation_id", "seq"], kind="stable").reset_index(
        drop=True
    )
