"""One writer at a time: the dataset's ``_lock`` file.

The lock is created with ``O_CREAT | O_EXCL`` (atomic on local filesystems and NFSv3+) and
holds the owner's pid, host and start time as JSON. A lock left by a process that is gone
(same host, pid not alive: e.g. an export killed with SIGKILL) is taken over with a
warning; a lock of a live process, or of another host, refuses with
:class:`~letta_widgets.errors.DatasetLocked`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from letta_widgets import errors

LOCK = "_lock"
"""The lock's file name, at the dataset root."""


class StaleLockWarning(UserWarning):
    """A lock left by a dead process was taken over."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except ValueError:  # a lock being written, or truncated by a crash
        return {}


def _create(path: Path, record: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _describe(held: dict[str, Any]) -> str:
    when = held.get("time")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when)) if when else "?"
    return f"pid {held.get('pid', '?')} on {held.get('host', '?')} since {stamp}"


@contextlib.contextmanager
def dataset_lock(root: Path, what: str = "export") -> Iterator[dict[str, Any]]:
    """Hold ``root``'s lock for the block; raises DatasetLocked if another writer has it."""
    path = root / LOCK
    host = socket.gethostname()
    record = {
        "pid": os.getpid(),
        "host": host,
        "time": time.time(),
        "what": what,
        "token": uuid.uuid4().hex,
    }
    for _attempt in range(3):
        if _create(path, record):
            break
        held = _read(path)
        if held is None:  # released meanwhile
            continue
        pid = held.get("pid")
        if held.get("host") == host and isinstance(pid, int) and not _alive(pid):
            # Take it over: rename it aside (only one contender wins the rename), check we
            # moved the stale lock and not a fresh one, then create ours.
            aside = root / f"{LOCK}.stale-{record['token']}"
            try:
                os.rename(path, aside)
            except FileNotFoundError:
                continue
            moved = _read(aside)
            if moved is not None and moved.get("token") != held.get("token"):
                with contextlib.suppress(OSError):
                    os.rename(aside, path)  # someone else's fresh lock: put it back
                continue
            with contextlib.suppress(OSError):
                aside.unlink()
            warnings.warn(
                f"{path}: took over the lock of a {held.get('what', 'writer')} that is gone "
                f"({_describe(held)}); its uncommitted files are removed",
                StaleLockWarning,
                stacklevel=3,
            )
            continue
        raise errors.DatasetLocked(
            f"{root} is locked by another {held.get('what', 'writer')} ({_describe(held)})",
            f"wait for it to finish; if no export or compaction runs on that host, delete {path}",
        )
    else:
        raise errors.DatasetLocked(
            f"{root}: could not take the lock {path}", "try again in a moment"
        )
    try:
        yield record
    finally:
        held = _read(path)
        if held is not None and held.get("token") == record["token"]:
            path.unlink()
