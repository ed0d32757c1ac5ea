"""SQLite storage for the devserver (stdlib sqlite3, indexed; ``:memory:`` or a file).

A conversation's messages live in ``conv_messages`` (conversation, position, message id,
in-context flag), so a fork shares the stored messages of its source, as on the real
server, and paging by position is one indexed range scan.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MESSAGE_COLUMNS", "Store", "StoredMessage", "indexed_text", "text_of"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS agents_created ON agents(created_at);
CREATE TABLE IF NOT EXISTS blocks (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, label TEXT NOT NULL, value TEXT NOT NULL,
  updated_at REAL NOT NULL, data TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS blocks_agent_label ON blocks(agent_id, label);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,
  summary TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL, last_message_at REAL,
  archived INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, model TEXT,
  system_message_id TEXT, compiled_at REAL, next_pos INTEGER NOT NULL DEFAULT 1,
  data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS conversations_agent ON conversations(agent_id, created_at);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, role TEXT NOT NULL, date REAL NOT NULL,
  run_id TEXT, step_id TEXT, otid TEXT, body TEXT NOT NULL, letta TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS conv_messages (
  conv_id TEXT NOT NULL, pos INTEGER NOT NULL, message_id TEXT NOT NULL,
  in_context INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (conv_id, pos)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conv_messages_by_id ON conv_messages(message_id, conv_id);
CREATE INDEX IF NOT EXISTS conv_messages_ctx ON conv_messages(conv_id, in_context, pos);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, conv_id TEXT NOT NULL, agent_id TEXT NOT NULL, status TEXT NOT NULL,
  background INTEGER NOT NULL, created_at REAL NOT NULL, stop_reason TEXT,
  data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS runs_conv ON runs(conv_id, created_at);
CREATE TABLE IF NOT EXISTS otids (
  conv_id TEXT NOT NULL, otid TEXT NOT NULL, run_id TEXT NOT NULL,
  PRIMARY KEY (conv_id, otid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS otids_otid ON otids(otid);
CREATE TABLE IF NOT EXISTS steps (
  id TEXT PRIMARY KEY, run_id TEXT, agent_id TEXT NOT NULL, created_at REAL NOT NULL,
  data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS steps_run ON steps(run_id, created_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(
  text, tokenize='unicode61 remove_diacritics 2');
"""

_LAST_RUN_COMPLETION = (
    "(SELECT MAX(json_extract(r.data, '$.completed_at')) FROM runs r "
    "WHERE r.conv_id = conversations.id AND json_extract(r.data, '$.streaming') IS NOT 0)"
)
"""When the conversation's last run ended (0.16.8: ``MAX(runs.completed_at)``; a
``streaming=false`` run has no conversation there)."""
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
MESSAGE_COLUMNS = "m.id, m.role, m.date, m.run_id, m.step_id, m.otid, m.body"


@dataclass
class StoredMessage:
    """One stored message; it becomes one or more Letta messages (see serialize.py)."""

    id: str
    role: str
    date: float
    body: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    step_id: str | None = None
    otid: str | None = None
    agent_id: str = ""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> StoredMessage:
        """Build from a ``MESSAGE_COLUMNS`` row."""
        return cls(row[0], row[1], row[2], json.loads(row[6]), row[3], row[4], row[5])


class Store:
    """All persistent state; methods are synchronous and guarded by one lock."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        self.render: Callable[[StoredMessage], str] = lambda m: ""
        """Serializes a stored message's Letta messages (JSON objects joined by commas)."""
        self.db.execute(
            "PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY"
        )
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.executescript(_SCHEMA)
        self._backfill_index()

    def _backfill_index(self) -> None:
        """Index the messages of a database written before the index existed."""
        if self.one("SELECT 1 FROM message_fts LIMIT 1") or not self.one(
            "SELECT 1 FROM messages LIMIT 1"
        ):
            return
        rows = self.q(f"SELECT {MESSAGE_COLUMNS} FROM messages m")
        with self.transaction():
            _index_messages(self.db, map(StoredMessage.from_row, rows))

    # ------------------------------------------------------------------ generic
    def q(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return all rows."""
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Run a query and return the first row (or None)."""
        with self.lock:
            return self.db.execute(sql, args).fetchone()

    def x(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a statement; returns the number of changed rows."""
        with self.lock:
            return self.db.execute(sql, args).rowcount

    def transaction(self) -> _Tx:
        """``with store.transaction():`` groups writes (fast bulk inserts)."""
        return _Tx(self)

    def reset(self) -> None:
        """Delete everything."""
        with self.lock:
            for table in (
                "agents",
                "blocks",
                "conversations",
                "messages",
                "conv_messages",
                "runs",
                "otids",
                "message_fts",
                "steps",
            ):
                self.db.execute(f"DELETE FROM {table}")

    # ------------------------------------------------------------------ agents
    def put_agent(
        self, agent_id: str, name: str, created: float, updated: float, data: dict[str, Any]
    ) -> None:
        """Insert or replace an agent."""
        self.x(
            "INSERT OR REPLACE INTO agents VALUES (?,?,?,?,?)",
            (agent_id, name, created, updated, json.dumps(data)),
        )

    def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        """The agent record (``id``, ``name``, ``created_at``, ``updated_at`` + data)."""
        row = self.one(
            "SELECT id, name, created_at, updated_at, data FROM agents WHERE id=?", (agent_id,)
        )
        return _agent(row) if row else None

    def list_agents(self) -> list[dict[str, Any]]:
        """All agents, oldest first."""
        rows = self.q(
            "SELECT id, name, created_at, updated_at, data FROM agents ORDER BY created_at, id"
        )
        return [_agent(r) for r in rows]

    def delete_agent(self, agent_id: str) -> bool:
        """Remove an agent and its blocks; its conversations become deleted."""
        with self.transaction():
            n = self.x("DELETE FROM agents WHERE id=?", (agent_id,))
            self.x("DELETE FROM blocks WHERE agent_id=?", (agent_id,))
            self.x("UPDATE conversations SET deleted=1 WHERE agent_id=?", (agent_id,))
        return n > 0

    # ------------------------------------------------------------------ blocks
    def put_block(
        self,
        block_id: str,
        agent_id: str,
        label: str,
        value: str,
        updated: float,
        data: dict[str, Any],
    ) -> None:
        """Insert or replace a block."""
        self.x(
            "INSERT OR REPLACE INTO blocks VALUES (?,?,?,?,?,?)",
            (block_id, agent_id, label, value, updated, json.dumps(data)),
        )

    def blocks(self, agent_id: str) -> list[dict[str, Any]]:
        """An agent's blocks in creation order."""
        rows = self.q(
            "SELECT id, agent_id, label, value, updated_at, data FROM blocks "
            "WHERE agent_id=? ORDER BY rowid",
            (agent_id,),
        )
        return [_block(r) for r in rows]

    def block(self, agent_id: str, label: str) -> dict[str, Any] | None:
        """One block by label."""
        row = self.one(
            "SELECT id, agent_id, label, value, updated_at, data FROM blocks "
            "WHERE agent_id=? AND label=?",
            (agent_id, label),
        )
        return _block(row) if row else None

    def set_block_value(self, agent_id: str, label: str, value: str, updated: float) -> None:
        """Change a block's value."""
        self.x(
            "UPDATE blocks SET value=?, updated_at=? WHERE agent_id=? AND label=?",
            (value, updated, agent_id, label),
        )

    def update_block_data(self, agent_id: str, label: str, data: dict[str, Any]) -> None:
        """Replace a block's extra fields."""
        self.x(
            "UPDATE blocks SET data=? WHERE agent_id=? AND label=?",
            (json.dumps(data), agent_id, label),
        )

    def memory_changed_at(self, agent_id: str) -> float:
        """When any of the agent's blocks last changed."""
        row = self.one("SELECT MAX(updated_at) FROM blocks WHERE agent_id=?", (agent_id,))
        return float(row[0] or 0.0) if row else 0.0

    # ------------------------------------------------------------------ conversations
    _CONV_COLS = (
        "id, agent_id, is_default, summary, created_at, updated_at, last_message_at, "
        "archived, deleted, model, system_message_id, compiled_at, next_pos, data"
    )

    def put_conversation(self, conv: dict[str, Any]) -> None:
        """Insert a conversation record (see ``_conv`` for the keys)."""
        self.x(
            f"INSERT INTO conversations ({self._CONV_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                conv["id"],
                conv["agent_id"],
                int(conv.get("is_default", 0)),
                conv.get("summary"),
                conv["created_at"],
                conv["updated_at"],
                conv.get("last_message_at"),
                int(conv.get("archived", 0)),
                0,
                conv.get("model"),
                conv.get("system_message_id"),
                conv.get("compiled_at"),
                1,
                json.dumps(conv.get("data") or {}),
            ),
        )

    def get_conversation(
        self, conv_id: str, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """A conversation record, or None."""
        row = self.one(f"SELECT {self._CONV_COLS} FROM conversations WHERE id=?", (conv_id,))
        if not row:
            return None
        conv = _conv(row)
        if conv["deleted"] and not include_deleted:
            return None
        return conv

    def update_conversation(self, conv_id: str, **fields: Any) -> None:
        """Set columns of a conversation (``data`` is JSON-encoded)."""
        if not fields:
            return
        if "data" in fields:
            fields["data"] = json.dumps(fields["data"])
        cols = ", ".join(f"{k}=?" for k in fields)
        self.x(f"UPDATE conversations SET {cols} WHERE id=?", (*fields.values(), conv_id))

    def list_conversations(
        self,
        agent_id: str | None,
        *,
        archive_status: str = "unarchived",
        summary_search: str | None = None,
        order_by: str = "created_at",
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        """Visible (non-default, non-deleted) conversations, sorted."""
        where = ["is_default=0", "deleted=0"]
        args: list[Any] = []
        if agent_id:
            where.append("agent_id=?")
            args.append(agent_id)
        if archive_status == "unarchived":
            where.append("archived=0")
        elif archive_status == "archived":
            where.append("archived=1")
        if summary_search:
            where.append("LOWER(COALESCE(summary,'')) LIKE ?")
            args.append(f"%{summary_search.lower()}%")
        col = {
            "last_message_at": "last_message_at",
            "last_run_completion": _LAST_RUN_COMPLETION,
        }.get(order_by, "created_at")
        direction = "ASC" if ascending else "DESC"
        # as 0.16.8: conversations without a value come last in both directions
        rows = self.q(
            f"SELECT {self._CONV_COLS} FROM conversations WHERE {' AND '.join(where)} "
            f"ORDER BY {col} {direction} NULLS LAST, created_at {direction}, id {direction}",
            args,
        )
        return [_conv(r) for r in rows]

    # ------------------------------------------------------------------ messages
    def put_messages(self, messages: Iterable[StoredMessage]) -> None:
        """Insert stored messages (not yet linked to a conversation) and index their text."""
        messages = list(messages)
        dumps = _ENCODER.encode
        render = self.render
        self.db.executemany(
            # an upsert keeps a rewritten message's rowid, which keys its index row
            "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "agent_id=excluded.agent_id, role=excluded.role, date=excluded.date, "
            "run_id=excluded.run_id, step_id=excluded.step_id, otid=excluded.otid, "
            "body=excluded.body, letta=excluded.letta",
            [
                (
                    m.id,
                    m.agent_id,
                    m.role,
                    m.date,
                    m.run_id,
                    m.step_id,
                    m.otid,
                    dumps(m.body),
                    render(m),
                )
                for m in messages
            ],
        )
        _index_messages(self.db, messages)
        self.db.executemany(  # every step id a message carries resolves (steps.retrieve)
            "INSERT OR IGNORE INTO steps VALUES (?,?,?,?,'{}')",
            list(
                {
                    m.step_id: (m.step_id, m.run_id, m.agent_id, m.date)
                    for m in reversed(messages)
                    if m.step_id
                }.values()
            ),
        )

    def append(
        self, conv_id: str, messages: Sequence[StoredMessage], in_context: bool = True
    ) -> None:
        """Store messages and append them to a conversation."""
        with self.transaction():
            self.put_messages(messages)
            self.link(conv_id, [m.id for m in messages], in_context)

    def link(self, conv_id: str, message_ids: Sequence[str], in_context: bool = True) -> None:
        """Append existing messages to a conversation (forks share stored messages)."""
        with self.lock:
            row = self.db.execute(
                "SELECT next_pos FROM conversations WHERE id=?", (conv_id,)
            ).fetchone()
            start = int(row[0]) if row else 1
            self.db.executemany(
                "INSERT INTO conv_messages VALUES (?,?,?,?)",
                [(conv_id, start + i, mid, int(in_context)) for i, mid in enumerate(message_ids)],
            )
            self.db.execute(
                "UPDATE conversations SET next_pos=? WHERE id=?",
                (start + len(message_ids), conv_id),
            )

    def position(self, conv_id: str, message_id: str) -> int | None:
        """A message's position in a conversation (None if absent)."""
        row = self.one(
            "SELECT pos FROM conv_messages WHERE message_id=? AND conv_id=? ORDER BY pos LIMIT 1",
            (message_id, conv_id),
        )
        return int(row[0]) if row else None

    def page(
        self,
        conv_id: str,
        *,
        after_pos: int | None,
        before_pos: int | None,
        limit: int | None,
        descending: bool,
    ) -> list[StoredMessage]:
        """Stored messages of a conversation between two positions, ordered, limited."""
        sql, args = _page_query(MESSAGE_COLUMNS, conv_id, after_pos, before_pos, limit, descending)
        return [StoredMessage.from_row(r) for r in self.q(sql, args)]

    def page_json(
        self,
        conv_id: str,
        *,
        after_pos: int | None,
        before_pos: int | None,
        limit: int | None,
        descending: bool,
    ) -> str:
        """Like :meth:`page`, but the JSON array of Letta messages, from pre-rendered rows."""
        sql, args = _page_query("m.letta", conv_id, after_pos, before_pos, limit, descending)
        return "[" + ",".join(r[0] for r in self.q(sql, args) if r[0]) + "]"

    def in_context(self, conv_id: str) -> list[StoredMessage]:
        """The conversation's in-context messages, oldest first."""
        rows = self.q(
            f"SELECT {MESSAGE_COLUMNS} FROM conv_messages c JOIN messages m "
            "ON m.id=c.message_id WHERE c.conv_id=? AND c.in_context=1 ORDER BY c.pos",
            (conv_id,),
        )
        return [StoredMessage.from_row(r) for r in rows]

    def in_context_ids(self, conv_id: str) -> list[str]:
        """Ids of the in-context messages, oldest first."""
        return [
            r[0]
            for r in self.q(
                "SELECT message_id FROM conv_messages WHERE conv_id=? AND "
                "in_context=1 ORDER BY pos",
                (conv_id,),
            )
        ]

    def evict(self, conv_id: str, message_ids: Sequence[str]) -> None:
        """Take messages out of the conversation's context window."""
        with self.lock:
            self.db.executemany(
                "UPDATE conv_messages SET in_context=0 WHERE conv_id=? AND message_id=?",
                [(conv_id, m) for m in message_ids],
            )

    def count(self, conv_id: str) -> int:
        """Number of stored messages in a conversation."""
        row = self.one("SELECT COUNT(*) FROM conv_messages WHERE conv_id=?", (conv_id,))
        return int(row[0]) if row else 0

    def get_message(self, message_id: str) -> StoredMessage | None:
        """One stored message by id."""
        row = self.one(f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id=?", (message_id,))
        return StoredMessage.from_row(row) if row else None

    def set_message_body(self, message_id: str, body: dict[str, Any], date: float) -> None:
        """Rewrite a stored message (used to recompile system messages)."""
        m = self.get_message(message_id)
        letta = ""
        if m is not None:
            m.body, m.date = body, date
            letta = self.render(m)
        with self.transaction():
            self.x(
                "UPDATE messages SET body=?, date=?, letta=? WHERE id=?",
                (json.dumps(body), date, letta, message_id),
            )
            if m is not None:
                _reindex_message(self.db, m)

    def rerender_for(self, profile: str, roles: Sequence[str]) -> None:
        """Render the pre-rendered Letta JSON of ``roles`` again when the database was last
        served under another profile (the roles whose listing differs by profile)."""
        row = self.one("SELECT value FROM meta WHERE key='profile'")
        if row and row[0] == profile:
            return
        marks = ",".join("?" * len(roles))
        rows = self.q(f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.role IN ({marks})", roles)
        with self.transaction():
            self.db.executemany(
                "UPDATE messages SET letta=? WHERE id=?",
                [(self.render(m), m.id) for m in map(StoredMessage.from_row, rows)],
            )
            self.x("INSERT OR REPLACE INTO meta VALUES ('profile', ?)", (profile,))

    def search(self, agent_id: str, query: str, limit: int = 200) -> list[StoredMessage]:
        """User/assistant messages of an agent (all conversations) whose body has ``query``."""
        rows = self.q(
            f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.agent_id=? "
            "AND m.role IN ('user','assistant') AND LOWER(m.body) LIKE ? "
            "ORDER BY m.date DESC LIMIT ?",
            (agent_id, f"%{query.lower()}%", limit),
        )
        return [StoredMessage.from_row(r) for r in rows]

    # ------------------------------------------------------------------ steps
    def put_step(
        self, step_id: str, run_id: str | None, agent_id: str, created: float, data: dict[str, Any]
    ) -> None:
        """Insert or replace a step record."""
        self.x(
            "INSERT OR REPLACE INTO steps VALUES (?,?,?,?,?)",
            (step_id, run_id, agent_id, created, json.dumps(data)),
        )

    def get_step(self, step_id: str) -> dict[str, Any] | None:
        """A step record (``id``, ``run_id``, ``agent_id``, ``created_at`` + data)."""
        row = self.one(f"SELECT {_STEP_COLUMNS} FROM steps WHERE id=?", (step_id,))
        return _step_record(row) if row else None

    def run_steps(self, run_id: str, ascending: bool) -> list[dict[str, Any]]:
        """A run's steps by creation time."""
        direction = "ASC" if ascending else "DESC"
        rows = self.q(
            f"SELECT {_STEP_COLUMNS} FROM steps WHERE run_id=? "
            f"ORDER BY created_at {direction}, rowid {direction}",
            (run_id,),
        )
        return [_step_record(r) for r in rows]

    # ------------------------------------------------------------------ runs, otids
    def put_run(
        self,
        run_id: str,
        conv_id: str,
        agent_id: str,
        status: str,
        background: bool,
        created: float,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Insert a run."""
        self.x(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)",
            (
                run_id,
                conv_id,
                agent_id,
                status,
                int(background),
                created,
                None,
                json.dumps(data or {}),
            ),
        )

    def finish_run(
        self, run_id: str, status: str, stop_reason: str | None, data: dict[str, Any] | None = None
    ) -> None:
        """Record a run's end (``data`` replaces the run's extra fields when given)."""
        if data is None:
            self.x(
                "UPDATE runs SET status=?, stop_reason=? WHERE id=?", (status, stop_reason, run_id)
            )
        else:
            self.x(
                "UPDATE runs SET status=?, stop_reason=?, data=? WHERE id=?",
                (status, stop_reason, json.dumps(data), run_id),
            )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run record."""
        row = self.one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,))
        return _run_record(row) if row else None

    def list_runs(
        self, *, agent_ids: Sequence[str] = (), conv_id: str | None = None, ascending: bool = False
    ) -> list[dict[str, Any]]:
        """Run records of some agents and/or one conversation, by creation time."""
        where, args = [], []
        if agent_ids:
            where.append(f"agent_id IN ({','.join('?' * len(agent_ids))})")
            args += list(agent_ids)
        if conv_id is not None:
            where.append("conv_id=?")
            args.append(conv_id)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created_at {'ASC' if ascending else 'DESC'}, id"
        return [_run_record(row) for row in self.q(sql, args)]

    def otid_run(self, otid: str) -> str | None:
        """The run an otid already started (in any conversation, as the real server's
        Redis lookup is keyed on the otid alone)."""
        row = self.one("SELECT run_id FROM otids WHERE otid=? LIMIT 1", (otid,))
        return row[0] if row else None

    def put_otids(self, conv_id: str, otids: Iterable[str], run_id: str) -> None:
        """Remember which run each otid started."""
        with self.lock:
            self.db.executemany(
                "INSERT OR IGNORE INTO otids VALUES (?,?,?)", [(conv_id, o, run_id) for o in otids]
            )


# ---------------------------------------------------------------------- full-text index
_INDEXED_ROLES = ("user", "assistant", "system")


def indexed_text(m: StoredMessage) -> str | None:
    """The text the index holds for a stored message (None: not indexed)."""
    if m.role not in _INDEXED_ROLES:
        return None
    parts = [m.body.get("reasoning") or "", text_of(m.body.get("content"))]
    text = " ".join(p for p in parts if p).strip()
    return text or None


def _index_messages(db: sqlite3.Connection, messages: Iterable[StoredMessage]) -> None:
    """Index messages just inserted into ``messages``."""
    rows = [(text, m.id) for m in messages if (text := indexed_text(m)) is not None]
    db.executemany(
        "INSERT OR REPLACE INTO message_fts(rowid, text) SELECT rowid, ? FROM messages WHERE id=?",
        rows,
    )


def _reindex_message(db: sqlite3.Connection, m: StoredMessage) -> None:
    """Index a message's new text (a recompiled system message)."""
    row = db.execute("SELECT rowid FROM messages WHERE id=?", (m.id,)).fetchone()
    if row is None:
        return
    db.execute("DELETE FROM message_fts WHERE rowid=?", (row[0],))
    text = indexed_text(m)
    if text is not None:
        db.execute("INSERT INTO message_fts(rowid, text) VALUES (?, ?)", (row[0], text))


def text_of(content: Any) -> str:
    """The text of a message ``content`` (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


class _Tx:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> Store:
        self.store.lock.acquire()
        if not self.store.db.in_transaction:
            self.store.db.execute("BEGIN")
            self.owner = True
        else:
            self.owner = False
        return self.store

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self.owner:
                self.store.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store.lock.release()


def _agent(row: Sequence[Any]) -> dict[str, Any]:
    data = json.loads(row[4])
    data.update(id=row[0], name=row[1], created_at=row[2], updated_at=row[3])
    return data


def _block(row: Sequence[Any]) -> dict[str, Any]:
    data = json.loads(row[5])
    data.update(id=row[0], agent_id=row[1], label=row[2], value=row[3], updated_at=row[4])
    return data


def _conv(row: Sequence[Any]) -> dict[str, Any]:
    keys = (
        "id",
        "agent_id",
        "is_default",
        "summary",
        "created_at",
        "updated_at",
        "last_message_at",
        "archived",
        "deleted",
        "model",
        "system_message_id",
        "compiled_at",
        "next_pos",
    )
    out = dict(zip(keys, row[:13], strict=False))
    out["data"] = json.loads(row[13])
    return out


def _page_query(
    columns: str,
    conv_id: str,
    after_pos: int | None,
    before_pos: int | None,
    limit: int | None,
    descending: bool,
) -> tuple[str, list[Any]]:
    """SQL and arguments for one page of a conversation's messages between positions."""
    where = ["c.conv_id=?"]
    args: list[Any] = [conv_id]
    if after_pos is not None:
        where.append("c.pos>?")
        args.append(after_pos)
    if before_pos is not None:
        where.append("c.pos<?")
        args.append(before_pos)
    sql = (
        f"SELECT {columns} FROM conv_messages c JOIN messages m "
        f"ON m.id=c.message_id WHERE {' AND '.join(where)} "
        f"ORDER BY c.pos {'DESC' if descending else 'ASC'}"
    )
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return sql, args


_STEP_COLUMNS = "id, run_id, agent_id, created_at, data"


def _step_record(row: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(row[4])
    out.update(id=row[0], run_id=row[1], agent_id=row[2], created_at=row[3])
    return out


_RUN_COLUMNS = "id, conv_id, agent_id, status, background, created_at, stop_reason, data"
_RUN_KEYS = ("id", "conv_id", "agent_id", "status", "background", "created_at", "stop_reason")


def _run_record(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(_RUN_KEYS, row[:7], strict=True))
    out["data"] = json.loads(row[7])
    return out
