"""Fork lineage, recorded by the toolkit: the Letta server keeps no parent link.

Every fork made through the toolkit (the browser's Fork, ChatCell's edit and regenerate:
:func:`letta_widgets.branches.fork_at`) is written to a small JSON file in the user's data
directory (``$LETTA_WIDGETS_DATA_DIR`` or the platform's user data dir, e.g.
``~/.local/share/letta-widgets/lineage.json``): ``{child_id: {"parent", "message_id",
"agent_id", "server", "created_at", "tip", "group"}}``. ``tip`` is the fork's newest message
right after forking (the fork point as the fork holds it), ``group`` the branch point the
fork is a sibling at (``[conversation, message_id]``; see :mod:`letta_widgets.branches`).
One file serves every server: a store made for a server (``LineageStore(path,
server=base_url)``) sees that server's links only, and :meth:`LineageStore.forget` drops the
links of conversations that are gone (a deleted fork, or an in-memory devserver that
restarted).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["LineageStore", "default_lineage_path"]


def default_lineage_path() -> Path:
    """Where lineage is kept: ``$LETTA_WIDGETS_DATA_DIR/lineage.json`` or the user data dir."""
    root = os.environ.get("LETTA_WIDGETS_DATA_DIR")
    if not root:
        try:
            import platformdirs

            root = platformdirs.user_data_dir("letta-widgets", appauthor=False)
        except ImportError:  # pragma: no cover - platformdirs ships with jupyter_core
            root = str(Path.home() / ".local" / "share" / "letta-widgets")
    return Path(root) / "lineage.json"


class LineageStore:
    """Parent links between conversations, persisted as JSON (thread-safe, atomic writes)."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, server: str | None = None
    ) -> None:
        self.path = Path(path) if path is not None else default_lineage_path()
        self.server = server
        """The server whose links this store shows (``None``: every server's)."""
        self._lock = threading.Lock()

    def _read_all(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _read(self) -> dict[str, dict[str, Any]]:
        data = self._read_all()
        if self.server is None:
            return data
        return {k: v for k, v in data.items() if v.get("server") in (None, self.server)}

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".lineage-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def record(
        self,
        child: str,
        parent: str,
        *,
        message_id: str | None,
        agent_id: str | None,
        tip: str | None = None,
        group: tuple[str, str] | None = None,
    ) -> None:
        """Remember that ``child`` was forked from ``parent`` at ``message_id`` (its newest
        message then: ``tip``; the branch point it is a sibling at: ``group``)."""
        with self._lock:
            data = self._read_all()
            data[child] = {
                "parent": parent,
                "message_id": message_id,
                "agent_id": agent_id,
                "server": self.server,
                "created_at": time.time(),
                "tip": tip,
                "group": list(group) if group else None,
            }
            self._write(data)

    def forget(self, conversation_ids: list[str] | set[str]) -> None:
        """Drop the links of conversations that are gone (this store's server only)."""
        gone = set(conversation_ids) & set(self._read())
        if not gone:
            return
        with self._lock:
            data = self._read_all()
            for cid in gone:
                data.pop(cid, None)
            self._write(data)

    def all(self) -> dict[str, dict[str, Any]]:
        """Every recorded link, keyed by child id."""
        with self._lock:
            return self._read()

    def parent_of(self, conversation_id: str) -> dict[str, Any] | None:
        """The link of ``conversation_id`` to its parent, if it was forked here."""
        return self.all().get(conversation_id)

    def children_of(self, conversation_id: str) -> list[str]:
        """Conversations forked from ``conversation_id``, oldest first."""
        data = self.all()
        kids = [(v.get("created_at") or 0, k) for k, v in data.items()]
        return [k for _t, k in sorted(kids) if data[k].get("parent") == conversation_id]

    def chain(self, conversation_id: str, limit: int = 50) -> list[str]:
        """Ancestors of ``conversation_id``, nearest first (cycles and depth bounded)."""
        data = self.all()
        out: list[str] = []
        node = conversation_id
        while len(out) < limit:
            link = data.get(node)
            parent = link.get("parent") if link else None
            if not parent or parent in out or parent == conversation_id:
                break
            out.append(parent)
            node = parent
        return out
