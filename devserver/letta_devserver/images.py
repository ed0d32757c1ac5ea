"""Image content parts of user messages: checked, stored and listed as the servers do.

letta 0.16.8, measured on the real server through letta-client 1.12.1 (docs/devserver.md,
"Profiles"), as its code says (``services/message_manager.py``
``create_many_messages_async``, ``helpers/message_helper.py``
``_convert_message_create_to_message``, ``schemas/message.py`` ``_convert_user_message``):

* a ``base64`` source is stored, and listed back, as a ``letta`` source with a placeholder
  ``file_id`` (``file-<uuid4>``) that keeps ``media_type``, ``data`` and ``detail`` (null);
  the data is not checked (any base64 claimed as ``image/png`` is kept);
* a ``url`` source with a ``data:`` URL becomes a ``base64`` one first (so: ``letta``);
  an http(s) URL is fetched, and offline the run fails at once with
  ``INVALID_ARGUMENT: Failed to fetch image from <url>: …`` (the devserver never fetches);
* text parts list back with ``signature: null``; content of one text part lists as a string;
* a part without the fields its source type needs is a 422 (pydantic).

Letta Cloud (the ``cloud`` profile): parts list back as sent, a ``data:`` URL as a ``base64``
source (what Letta Code's local backend lists, ``src/backend/local/local-message-projection.ts``
``userContentToStoredContent``; chosen). The scripted agent sees what :func:`seen` reads
from the bytes: the kind, and a PNG's or GIF's size. Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["Seen", "malformed", "seen", "stored", "unfetchable"]

_REQUIRED = {"url": ("url",), "base64": ("media_type", "data"), "letta": ("file_id",)}
"""The fields each image source type requires (0.16.8 ``schemas/letta_message_content.py``)."""
_FETCH_FAILED = (
    "INVALID_ARGUMENT: Failed to fetch image from {url}: Unexpected error: All connection "
    "attempts failed"
)
"""What the real server says of an image URL it cannot reach (offline, measured)."""


@dataclass(frozen=True)
class Seen:
    """What the scripted agent can tell of one attached image."""

    kind: str | None
    """``PNG``, ``JPEG``, ``GIF``, ``WebP``, or None (not an image it knows)."""
    width: int | None = None
    height: int | None = None


def _parts(content: Any) -> list[Any]:
    return content if isinstance(content, list) else []


def _images(content: Any) -> list[dict[str, Any]]:
    return [p for p in _parts(content) if isinstance(p, dict) and p.get("type") == "image"]


def malformed(content: Any) -> str | None:
    """Why an image part of ``content`` does not validate (a 422's detail), or None."""
    for n, part in enumerate(_parts(content)):
        if not isinstance(part, dict) or part.get("type") != "image":
            continue
        src = part.get("source")
        where = f"content[{n}].source"
        if not isinstance(src, dict):
            return f"{where}: Field required"
        kind = src.get("type")
        if kind not in _REQUIRED:
            return (
                f"{where}: Input tag {kind!r} found using 'type' does not match any of the "
                "expected tags: 'url', 'base64', 'letta'"
            )
        for name in _REQUIRED[kind]:
            if not isinstance(src.get(name), str):
                return f"{where}.{kind}.{name}: Field required (a string)"
    return None


def unfetchable(content: Any) -> str | None:
    """The real server's error for the first http(s) image URL (the devserver never fetches
    one: an offline server's answer), or None."""
    for part in _images(content):
        src = part.get("source") or {}
        url = str(src.get("url") or "")
        if src.get("type") == "url" and not url.lower().startswith("data:"):
            return _FETCH_FAILED.format(url=url)
    return None


def _from_data_url(src: dict[str, Any]) -> dict[str, Any]:
    header, _, data = str(src.get("url")).partition(",")
    media_type = header.removeprefix("data:").split(";")[0] or "image/jpeg"
    return {"type": "base64", "media_type": media_type, "data": data, "detail": src.get("detail")}


def stored(content: Any, *, letta_sources: bool) -> Any:
    """``content`` as the server stores and lists it (``letta_sources``: 0.16.8's way)."""
    if not isinstance(content, list):
        return content
    out: list[Any] = []
    for part in content:
        if not isinstance(part, dict):
            out.append(part)
        elif part.get("type") == "text" and letta_sources:
            out.append({"type": "text", "text": part.get("text"), "signature": None})
        elif part.get("type") == "image":
            out.append({**part, "source": _source(dict(part["source"]), letta_sources)})
        else:
            out.append(part)
    if letta_sources and len(out) == 1 and out[0].get("type") == "text":
        return out[0]["text"]  # one text part lists as the string
    return out


def _source(src: dict[str, Any], letta_sources: bool) -> dict[str, Any]:
    if src.get("type") == "url":
        src = _from_data_url(src)
    if not letta_sources or src.get("type") != "base64":
        return src
    return {
        "type": "letta",
        "file_id": f"file-{uuid.uuid4()}",
        "media_type": src.get("media_type"),
        "data": src.get("data"),
        "detail": src.get("detail"),
    }


def _kind(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _seen_one(src: Any) -> Seen:
    data = src.get("data") if isinstance(src, dict) else None
    if not isinstance(data, str):
        return Seen(None)
    try:
        head = base64.b64decode(data[:48] + "=" * (-len(data[:48]) % 4))
    except (binascii.Error, ValueError):
        return Seen(None)
    kind = _kind(head)
    if kind == "PNG" and head[12:16] == b"IHDR" and len(head) >= 24:
        return Seen(kind, *struct.unpack(">II", head[16:24]))
    if kind == "GIF" and len(head) >= 10:
        return Seen(kind, *struct.unpack("<HH", head[6:10]))
    return Seen(kind)


def seen(content: Any) -> list[Seen]:
    """What the agent can tell of each image in ``content`` (as sent or as stored)."""
    out = []
    for part in _images(content):
        src = part.get("source")
        if isinstance(src, dict) and src.get("type") == "url":
            src = _from_data_url(src) if str(src.get("url")).startswith("data:") else {}
        out.append(_seen_one(src))
    return out
