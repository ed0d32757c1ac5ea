"""Ids, id patterns and date formats shared by the devserver modules (pure, no I/O)."""

from __future__ import annotations

import functools
import random
import re
import time
import uuid
from datetime import datetime, timezone

__all__ = [
    "ACTOR_ID",
    "ID_PATTERNS",
    "ORG_ID",
    "IdSequence",
    "fmt_message_date",
    "fmt_timestamp",
    "is_valid_id",
    "new_id",
    "next_message_id",
    "now",
    "otid_for",
    "parse_timestamp",
    "pattern_for",
]

ACTOR_ID = "user-00000000-0000-4000-8000-000000000000"
"""The real server's default user (``created_by_id``, and in its 404 details)."""
ORG_ID = "org-00000000-0000-4000-8000-000000000000"
"""The real server's default organization."""
_UUID4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def pattern_for(prefix: str) -> str:
    """The real server's id pattern for a primitive, e.g. ``^conv-<uuid4>$``."""
    return f"^{prefix}-{_UUID4}$"


ID_PATTERNS = {p: re.compile(pattern_for(p)) for p in ("conv", "agent", "message", "run", "block")}


def is_valid_id(prefix: str, value: str) -> bool:
    """True when ``value`` is ``<prefix>-<uuid4>`` (lower-case hex, version 4)."""
    pat = ID_PATTERNS.get(prefix) or re.compile(pattern_for(prefix))
    return bool(pat.match(value))


def new_id(prefix: str) -> str:
    """A fresh ``<prefix>-<uuid4>`` id."""
    return f"{prefix}-{uuid.uuid4()}"


class IdSequence:
    """Fast, increasing ``<prefix>-<uuid4>`` ids for bulk inserts (B-tree appends, no urandom)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counter = rng.getrandbits(44) << 4

    def __call__(self, prefix: str) -> str:
        """The next id."""
        self.counter += 1
        h = f"{self.counter:012x}{self.rng.getrandbits(80):020x}"
        return f"{prefix}-{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def next_message_id(message_id: str) -> str:
    """The id whose uuid is one more than ``message_id``'s (the real server streams a tokens-mode
    step's reasoning under it when the step ends in an approval request stored as ``message_id``).
    """
    prefix, raw = message_id.split("-", 1)
    h = f"{int(raw.replace('-', ''), 16) + 1:032x}"
    return f"{prefix}-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def otid_for(message_id: str, index: int) -> str:
    """The otid the real server derives for the ``index``-th Letta message of a stored message.

    The uuid of the stored message with its lowest 7 bits replaced by ``index``.
    """
    raw = message_id.split("-", 1)[1] if "-" in message_id else message_id
    value = (int(raw.replace("-", ""), 16) & ~0x7F) | (index & 0x7F)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def now() -> float:
    """Seconds since the epoch (UTC), as stored in the database."""
    return time.time()


def fmt_message_date(ts: float) -> str:
    """Message dates as the real server sends them: whole seconds, ``+00:00``."""
    return _second(int(ts))


@functools.lru_cache(maxsize=65536)
def _second(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def fmt_timestamp(ts: float | None) -> str | None:
    """Object timestamps (agents, conversations) as pydantic writes them: microseconds, ``Z``."""
    if ts is None:
        return None
    iso = datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="microseconds")
    return iso.replace("+00:00", "Z")


def fmt_naive_timestamp(ts: float | None) -> str | None:
    """UTC without a zone, as letta 0.16.8 writes a run's ``completed_at``."""
    stamp = fmt_timestamp(ts)
    return stamp[:-1] if stamp else None


def parse_timestamp(value: object) -> float:
    """Epoch seconds of an ISO 8601 timestamp (``Z`` or an offset; naive is UTC).

    Raises ValueError when ``value`` is not one.
    """
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
