"""``messages.search``: a full-text index over message text (SQLite FTS5, BM25 ranks).

The index (``message_fts``, kept by :mod:`.storage` on every insert: the run engine, the seed
and the bulk synthetic insert alike, and on rewritten system messages) holds one row per
stored user, assistant and system message (an assistant message's reasoning and answer
together), keyed by the message's rowid. A forked conversation shares its source's stored
messages, so they are found under the fork too.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .ids import fmt_timestamp
from .serialize import letta_messages
from .storage import MESSAGE_COLUMNS, StoredMessage

__all__ = ["SEARCH_TYPES", "SearchQuery", "fts_query", "search"]

SEARCH_TYPES = ("system_message", "user_message", "reasoning_message", "assistant_message")
"""What a result can be (the SDK's ``MessageSearchResponseItem`` union)."""


def fts_query(text: str) -> str | None:
    """An FTS5 query for free text: its words, each quoted, any of them (BM25 ranks the
    messages holding more of them, and rarer ones, first). None when it has no word."""
    words = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words)) or None


@dataclass(frozen=True)
class SearchQuery:
    """A ``messages.search`` request (dates as epoch seconds)."""

    query: str
    agent_id: str | None = None
    conversation_id: str | None = None
    start: float | None = None
    """Messages created after this."""
    end: float | None = None
    """Messages created on or before this."""
    limit: int = 50


def search(db: sqlite3.Connection, q: SearchQuery) -> list[dict[str, Any]]:
    """The matching messages as search results, best BM25 rank first (newest first on ties),
    ``limit`` stored messages; each becomes its Letta messages of the result types, in the
    reversed order 0.16.8 gives them (``to_letta_messages(reverse=True)``)."""
    match = fts_query(q.query)
    if match is None:
        return []
    where = ["message_fts MATCH ?"]
    args: list[Any] = [match]
    for cond, value in (
        ("m.agent_id = ?", q.agent_id),
        ("m.date > ?", q.start),
        ("m.date <= ?", q.end),
    ):
        if value is not None:
            where.append(cond)
            args.append(value)
    home, home_args = _conversation_of(q.conversation_id)
    sql = (
        f"SELECT {MESSAGE_COLUMNS}, m.agent_id, ({home}) AS conv FROM message_fts f "
        f"JOIN messages m ON m.rowid = f.rowid WHERE {' AND '.join(where)} AND conv IS NOT NULL "
        "ORDER BY f.rank, m.date DESC LIMIT ?"
    )
    rows = db.execute(sql, [*home_args, *args, q.limit]).fetchall()
    return [item for row in rows for item in _results(row)]


def _conversation_of(conversation_id: str | None) -> tuple[str, list[Any]]:
    """SQL for the conversation a result is reported under: the one asked for (when the
    message is in it), else the oldest live conversation holding it (where it was written;
    forks are younger). Messages of deleted conversations only are not found."""
    sql = (
        "SELECT c.id FROM conv_messages cm JOIN conversations c ON c.id = cm.conv_id "
        "WHERE cm.message_id = m.id AND c.deleted = 0"
    )
    if conversation_id:
        return sql + " AND c.id = ?", [conversation_id]
    return sql + " ORDER BY c.created_at LIMIT 1", []


def _results(row: Sequence[Any]) -> list[dict[str, Any]]:
    m = StoredMessage.from_row(row)
    conv_id = row[-1]
    common = {
        "message_id": m.id,
        "agent_id": row[-2],
        # the agent's default thread has no conversation id on the real server
        "conversation_id": None if conv_id.startswith("default-") else conv_id,
        "created_at": fmt_timestamp(m.date),
    }
    out = []
    for d in reversed(letta_messages(m)):
        kind = d["message_type"]
        if kind not in SEARCH_TYPES:
            continue
        key = "reasoning" if kind == "reasoning_message" else "content"
        out.append({"message_type": kind, key: d[key], **common})
    return out
