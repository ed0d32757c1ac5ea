"""Server-sent events framing exactly as the real server writes it.

Only ``data: {json}`` lines separated by blank lines (no ``event:`` names), compact JSON,
``data: [DONE]`` at the end; errors mid-stream are ``event: error`` + ``data: {...}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["CONTENT_TYPE", "Chunk", "frame"]

CONTENT_TYPE = "text/event-stream; charset=utf-8"


@dataclass(frozen=True)
class Chunk:
    """One event of a run: ``data`` (a JSON object), ``error``, ``done`` or ``malformed``."""

    kind: str
    payload: dict[str, Any] | None = None


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def frame(chunk: Chunk, seq: int | None = None) -> bytes:
    """The bytes of one SSE event; ``seq`` fills a null ``seq_id`` (background runs)."""
    if chunk.kind == "done":
        return b"data: [DONE]\n\n"
    if chunk.kind == "malformed":
        return b"data: {not-json\n\n"
    payload = chunk.payload or {}
    if seq is not None and "seq_id" in payload and payload["seq_id"] is None:
        payload = {**payload, "seq_id": seq}
    text = _dumps(payload)
    if chunk.kind == "error":
        return f"event: error\ndata: {text}\n\n".encode()
    return f"data: {text}\n\n".encode()
