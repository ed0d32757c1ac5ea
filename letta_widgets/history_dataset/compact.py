"""compact_history: merge a dataset's small parts, and migrate the old layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from letta_widgets import errors
from letta_widgets.history_dataset.commit import commit, recover
from letta_widgets.history_dataset.legacy import legacy_files, mark_of, stored_frame
from letta_widgets.history_dataset.lock import dataset_lock
from letta_widgets.history_dataset.manifest import Conversation, DataFile, Manifest, read_manifest
from letta_widgets.history_dataset.schema import file_schema, months, pa_modules
from letta_widgets.history_dataset.writer import DEFAULT_TARGET, DatasetWriter

_REPORT = ["agent_id", "month", "files_before", "files_after", "bytes_before", "bytes_after"]


def compact_history(
    path: str | os.PathLike[str], *, target_file_size: int = DEFAULT_TARGET
) -> pd.DataFrame:
    """Merge each partition's parts smaller than ``target_file_size`` into parts of that size.

    Afterwards every partition has at most one part below the target. The rewrite is
    atomic: the merged parts are staged, the manifest is swapped to list them instead of
    the small ones, then the small ones are deleted; readers going through the manifest
    (:func:`read_history`) see the old parts or the new ones, never both or neither.

    A dataset of the old per-conversation layout (``agent_id=…/conversation_id=…/``, no
    manifest) is migrated: its rows are rewritten as ``agent_id=…/month=…`` parts with a
    manifest holding each conversation's high-water mark, then the old files are deleted.

    Returns one row per partition: ``agent_id``, ``month``, ``files_before``,
    ``files_after``, ``bytes_before``, ``bytes_after``.

    Raises
    ------
    DatasetLocked
        An export or another compaction is writing ``path``.
    DatasetLayoutError
        ``path`` holds no history dataset.
    """
    if target_file_size <= 0:
        raise ValueError(f"target_file_size must be positive, not {target_file_size!r}")
    root = Path(path)
    if not root.is_dir():
        raise errors.DatasetLayoutError(
            f"{root} is not a directory", "pass the path export_history wrote to"
        )
    with dataset_lock(root, "compaction"):
        manifest = read_manifest(root)
        if manifest is None:
            if not legacy_files(root):
                raise errors.DatasetLayoutError(
                    f"{root} holds no history dataset (no _manifest.parquet, no old-layout parts)",
                    "pass the path export_history wrote to",
                )
            manifest = _migrate(root, target_file_size)
            rows = []
            for (agent_id, month), files in manifest.partition_files().items():
                rows.append(
                    {
                        "agent_id": agent_id,
                        "month": month,
                        "files_before": 0,
                        "files_after": len(files),
                        "bytes_before": 0,
                        "bytes_after": sum(f.bytes for f in files),
                    }
                )
            return pd.DataFrame(rows, columns=_REPORT)
        recover(root, manifest)
        return _compact(root, manifest, target_file_size)


def _compact(root: Path, manifest: Manifest, target: int) -> pd.DataFrame:
    _pa, pq = pa_modules()
    rows: list[dict[str, Any]] = []
    added: list[DataFile] = []
    removed: list[str] = []
    for (agent_id, month), files in manifest.partition_files().items():
        small = [f for f in files if f.bytes < target]
        after = len(files)
        new: list[DataFile] = []
        kept = files
        if len(small) >= 2:
            raw = any("raw" in pq.read_schema(root / f.path).names for f in small)
            schema = file_schema(raw)
            writer = DatasetWriter(root, schema, target_file_size=target)
            try:
                for f in small:
                    for batch in pq.ParquetFile(root / f.path).iter_batches(batch_size=65536):
                        writer.append(agent_id, month, _conformed(batch, schema))
                new = writer.close()
            except BaseException:
                writer.abort()
                raise
            added += new
            removed += [f.path for f in small]
            kept = [f for f in files if f not in small]
            after = len(kept) + len(new)
        rows.append(
            {
                "agent_id": agent_id,
                "month": month,
                "files_before": len(files),
                "files_after": after,
                "bytes_before": sum(f.bytes for f in files),
                "bytes_after": sum(f.bytes for f in (kept + new)),
            }
        )
    if added or removed:
        commit(root, manifest, added, removed)
    return pd.DataFrame(rows, columns=_REPORT)


def _conformed(batch: Any, schema: Any) -> Any:
    """A record batch as a table of ``schema`` (a missing ``raw`` column as nulls)."""
    pa, _pq = pa_modules()
    cols = []
    for field in schema:
        if field.name in batch.schema.names:
            cols.append(batch.column(field.name).cast(field.type))
        else:
            cols.append(pa.nulls(batch.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _migrate(root: Path, target: int) -> Manifest:
    """Rewrite an old-layout dataset as the current one (under the lock); its manifest."""
    pa, pq = pa_modules()
    files = legacy_files(root)
    raw = any("raw" in pq.read_schema(p).names for p in files)
    schema = file_schema(raw)
    manifest = Manifest(include_raw=raw)
    writer = DatasetWriter(root, schema, target_file_size=target)
    conv_dirs = sorted({p.parent for p in files})
    try:
        for cdir in conv_dirs:
            agent_id = cdir.parent.name.split("=", 1)[1]
            cid = cdir.name.split("=", 1)[1]
            frame = stored_frame(cdir)
            if frame.empty:
                continue
            frame["conversation_id"] = cid
            if "raw" not in frame.columns and raw:
                frame["raw"] = None
            table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
            keys = months(frame["date"])
            for month in dict.fromkeys(keys):
                idx = [i for i, m in enumerate(keys) if m == month]
                writer.append(agent_id, month, table.take(idx))
            manifest.conversations[cid] = Conversation(agent_id, cid, mark_of(frame))
        added = writer.close()
    except BaseException:
        writer.abort()
        raise
    commit(root, manifest, added)
    recover(root, manifest)  # deletes the old layout's files, now unlisted
    return manifest
