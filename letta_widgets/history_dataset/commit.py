"""The commit protocol: staged parts become live in one atomic step, the manifest's swap.

1. Parts are written and fsynced under ``_staging/`` (:mod:`.writer`).
2. The new manifest, listing them at their final paths, is written and ``os.replace``d
   over the old one: **the commit point**. Killed before it, the run left only orphans in
   ``_staging/``; killed after it, the run is committed.
3. The staged parts are moved into place (``os.replace``, same filesystem), then the files
   the manifest no longer lists (compacted parts) are deleted.

:func:`recover`, run under the lock before every write, rolls step 3 forward (a listed part
still staged is moved into place) and deletes what no manifest lists: staged orphans,
data files of an interrupted step 3, and old-layout files after a migration.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from letta_widgets import errors
from letta_widgets.history_dataset.manifest import (
    MANIFEST,
    DataFile,
    Manifest,
    fsync_dir,
    write_manifest,
)
from letta_widgets.history_dataset.writer import STAGING, staged_path


def _promote(root: Path, rel: str) -> bool:
    src = staged_path(root, rel)
    dst = root / rel
    if not src.exists():
        return dst.exists()
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    return True


def commit(
    root: Path, manifest: Manifest, added: Iterable[DataFile], removed: Iterable[str] = ()
) -> None:
    """Make ``added`` (staged, fsynced) live and ``removed`` gone, in that order; updates
    ``manifest`` in place and writes it (the commit point)."""
    added = list(added)
    removed = [r for r in removed if r in manifest.files]
    for rel in removed:
        del manifest.files[rel]
    for f in added:
        manifest.files[f.path] = f
    if (root / STAGING).exists():
        fsync_dir(root / STAGING)
    write_manifest(root, manifest)
    dirs = set()
    for f in added:
        _promote(root, f.path)
        dirs.add((root / f.path).parent)
    for d in dirs:
        fsync_dir(d)
    for rel in removed:
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()
    _prune(root / STAGING)
    if removed:
        _prune_empty_dirs(root)


def data_files_on_disk(root: Path) -> list[str]:
    """Every ``*.parquet`` under the ``agent_id=*`` directories, relative to the root."""
    out = []
    for agent_dir in root.glob("agent_id=*"):
        for p in agent_dir.rglob("*.parquet"):
            out.append(p.relative_to(root).as_posix())
    return out


def recover(root: Path, manifest: Manifest) -> list[str]:
    """Roll an interrupted commit forward and remove what no manifest lists (under the
    lock). Returns the paths removed."""
    for rel in manifest.files:
        if not _promote(root, rel):
            raise errors.DatasetLayoutError(
                f"{root / rel} is listed in {root / MANIFEST} but missing",
                "the dataset was changed outside export_history; export again with "
                "incremental=False to rebuild it",
            )
    removed = []
    for rel in data_files_on_disk(root):
        if rel not in manifest.files:
            (root / rel).unlink()
            removed.append(rel)
    if (root / STAGING).exists():
        for p in (root / STAGING).rglob("*.tmp"):
            removed.append(p.relative_to(root).as_posix())
        shutil.rmtree(root / STAGING)
    with contextlib.suppress(FileNotFoundError):
        (root / (MANIFEST + ".tmp")).unlink()
    _prune_empty_dirs(root)
    return removed


def _prune(top: Path) -> None:
    """Remove the empty directories under ``top``, and ``top`` if it ends up empty."""
    if not top.is_dir():
        return
    for d in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
    with contextlib.suppress(OSError):
        top.rmdir()


def _prune_empty_dirs(root: Path) -> None:
    for agent_dir in root.glob("agent_id=*"):
        _prune(agent_dir)
