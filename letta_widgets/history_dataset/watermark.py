"""Where a stored thread ends, and how a fetch of its new messages moves that mark (pure).

The next fetch of a conversation starts after the id group *before* the newest stored one,
because the newest stored message may have grown since (Letta lists several messages under
one id, e.g. a reasoning and a tool call of one step, and the step may still have been
running): the rows of the newest group already stored are skipped by their keys
``(id, message_type, n)``, ``n`` counting the rows of one ``(id, message_type)`` in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Watermark:
    """A conversation's high-water mark: what an incremental fetch needs, and nothing more."""

    next_seq: int = 0
    """``seq`` of the next row to store."""
    cursor: str | None = None
    """The id the next fetch starts after (the id before the newest group), or None."""
    tail: tuple[Key, ...] = field(default_factory=tuple)
    """The keys of the newest id group's stored rows (skipped when fetched again)."""
    rows: int = 0
    """Rows stored for the conversation."""

    @property
    def last_id(self) -> str | None:
        """The id of the newest stored row."""
        return self.tail[-1][0] if self.tail else None

    def advance(self, ids: Sequence[str], types: Sequence[str], seqs: Sequence[int]) -> Watermark:
        """The mark after storing new rows (in thread order) fetched from this mark."""
        if not ids:
            return self
        last = ids[-1]
        j = len(ids)
        while j > 0 and ids[j - 1] == last:
            j -= 1
        if j == 0 and last == self.last_id:
            # The newest group grew: same cursor, its keys continue.
            counts: dict[tuple[str, str], int] = {}
            for mid, mtype, _n in self.tail:
                counts[(mid, mtype)] = counts.get((mid, mtype), 0) + 1
            keys = list(self.tail)
            cursor = self.cursor
        else:
            counts = {}
            keys = []
            cursor = ids[j - 1] if j > 0 else self.last_id
            if j == 0 and cursor is None:
                cursor = self.cursor
        for mtype in types[j:]:
            n = counts.get((last, mtype), 0)
            counts[(last, mtype)] = n + 1
            keys.append((last, mtype, n))
        return replace(
            self,
            next_seq=max(self.next_seq, max(int(s) for s in seqs) + 1),
            cursor=cursor,
            tail=tuple(keys),
            rows=self.rows + len(ids),
        )
