"""Images a user attaches to a message: the kinds Letta accepts, told by their bytes.

An image's kind is read from its first bytes (the magic numbers of PNG, JPEG, GIF and
WebP), never from a file name or a browser's mime string. :class:`Attachment` is one image
to send (its shown name and bytes), :func:`attachment` reads one from a path or bytes, and
:meth:`Attachment.part` is the Letta content part that carries it (``{"type": "image",
"source": {"type": "base64", "media_type", "data"}}``, letta-client's ``ImageContentParam``).
:func:`inline_image` is the other direction: the data of a listed image part that may be
shown inline (the kind again read from the bytes), or None.

The wording of a refusal is here (:data:`RULES`, also given to the front-end by
``bundle()`` as ``LW_IMAGE_RULES``, so the browser says the same); the error raised for it
is :func:`letta_widgets.errors.images_refused`. Standard library only (ARCHITECTURE.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "MAX_IMAGE_BYTES",
    "RULES",
    "Attachment",
    "ImageSource",
    "attachment",
    "display_name",
    "image_parts_of",
    "inline_image",
    "rules_json",
    "size_text",
    "sniff",
    "user_content",
    "written_text",
]

KINDS: dict[str, str] = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
}
"""The media types an attached image may have, and how a message names them."""
MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""The largest image that is sent (5 MB; Anthropic's models refuse larger ones)."""

_NAMES = ", ".join(KINDS.values())
RULES: dict[str, Any] = {
    "max_bytes": MAX_IMAGE_BYTES,
    "limit": f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB",
    "kinds": KINDS,
    "names": ", ".join(list(KINDS.values())[:-1]) + " or " + list(KINDS.values())[-1],
    "wrong_kind": "{name}: not an image type Letta accepts (" + _NAMES + ")",
    "too_big": "{name}: {size}, images are at most {limit}",
    "empty": "{name}: the file is empty",
    "unreadable": "{name}: could not be read ({why})",
}
"""What is accepted and how a refusal is worded (``{name}``, ``{size}``, ``{limit}``,
``{why}``), for Python and, as ``LW_IMAGE_RULES``, for the browser (``limit``: the size
limit as the messages say it; ``names``: the kinds, "PNG, JPEG, GIF or WebP")."""

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview
"""What ``images=[…]`` takes: a path, or the image's bytes."""

_NAME_LIMIT = 80
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})  # controls, bidi overrides, line breaks
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def rules_json() -> str:
    """:data:`RULES` as JSON for the front-end (``bundle()`` prepends it)."""
    return json.dumps(RULES, sort_keys=True)


def sniff(data: bytes) -> str | None:
    """The media type of an image of an accepted kind, from its first bytes (else None)."""
    head = bytes(data[:12])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def size_text(n: int) -> str:
    """A byte count as people read it: ``7.2 MB``, ``340 KB``, ``12 bytes``."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def display_name(name: object, index: int = 1) -> str:
    """A file name fit to show: its last path component, without control or bidi characters,
    at most 80 characters (``image <index>`` when nothing is left)."""
    raw = re.split(r"[\\/]", str(name or ""))[-1]
    kept = "".join(c for c in raw if unicodedata.category(c) not in _INVISIBLE)
    clean = " ".join(kept.split())
    if len(clean) > _NAME_LIMIT:
        clean = clean[: _NAME_LIMIT - 1] + "…"
    return clean or f"image {index}"


@dataclass(frozen=True)
class Attachment:
    """One image to send: the name it is shown by, and its bytes (or why they are missing)."""

    name: str
    data: bytes = b""
    unreadable: str = ""
    """Why the image could not be read ("" when it was)."""
    size: int | None = None
    """The file's size when only its first bytes were read (a file over the limit)."""

    @property
    def media_type(self) -> str | None:
        """The accepted media type its bytes show, or None."""
        return sniff(self.data)

    def problem(self) -> str | None:
        """Why this image is not sent (a sentence naming it), or None when it may be."""
        if self.unreadable:
            return RULES["unreadable"].format(name=self.name, why=self.unreadable)
        size = len(self.data) if self.size is None else self.size
        if not size:
            return RULES["empty"].format(name=self.name)
        if size > MAX_IMAGE_BYTES:
            limit = RULES["limit"]
            return RULES["too_big"].format(name=self.name, size=size_text(size), limit=limit)
        if self.media_type is None:
            return RULES["wrong_kind"].format(name=self.name)
        return None

    def part(self) -> dict[str, Any]:
        """The Letta image content part (base64 source); only for an image without a problem."""
        if self.problem() is not None:
            raise ValueError(self.problem())
        return {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": self.media_type,
                "data": base64.b64encode(self.data).decode("ascii"),
            },
        }


def attachment(source: ImageSource, name: str | None = None, index: int = 1) -> Attachment:
    """An :class:`Attachment` from a path or bytes; ``name`` is how messages call it (a
    path's file name by default). A file that cannot be read becomes an attachment whose
    :meth:`~Attachment.problem` says so; of a file over the limit only the start is read."""
    if isinstance(source, bytes | bytearray | memoryview):
        return Attachment(display_name(name, index), bytes(source))
    path = Path(os.fspath(source))
    shown = display_name(name or path.name, index)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(min(size, MAX_IMAGE_BYTES) or MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        return Attachment(shown, unreadable=exc.strerror or type(exc).__name__)
    return Attachment(shown, data, size=max(size, len(data)))


def user_content(text: str, parts: Sequence[Mapping[str, Any]]) -> str | list[dict[str, Any]]:
    """A user message's ``content``: the text alone, or a text part then the image parts."""
    if not parts:
        return text
    images = [dict(p) for p in parts]
    return [{"type": "text", "text": text}, *images] if text else images


def inline_image(part: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` of an image part that can be shown inline, else None.

    That is a ``base64`` source, or a ``letta`` source that still carries its data (letta
    0.16.8 lists attached images so), whose data is base64 of an accepted kind, the kind
    read from the bytes (whatever ``media_type`` says). URL sources never qualify: nothing
    is fetched.
    """
    src = part.get("source")
    if not isinstance(src, Mapping) or src.get("type") not in ("base64", "letta"):
        return None
    data = src.get("data")
    if not isinstance(data, str) or not _BASE64.fullmatch(data):
        return None
    try:
        head = base64.b64decode(data[:16])
    except (binascii.Error, ValueError):
        return None
    kind = sniff(head)
    return (kind, data) if kind is not None else None


def image_parts_of(content: Any) -> list[dict[str, Any]]:
    """The images of a listed user message's ``content`` as base64 parts to send again (an
    edit or a regenerate keeps them); images without their data are left out."""
    if not isinstance(content, list | tuple):
        return []
    parts = []
    for part in content:
        shown = inline_image(part) if isinstance(part, Mapping) else None
        if shown is not None:
            kind, data = shown
            parts.append(
                {"type": "image", "source": {"type": "base64", "media_type": kind, "data": data}}
            )
    return parts


def written_text(content: Any) -> str:
    """What the user wrote in a message's ``content``: its text parts (not its images)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list | tuple):
        return ""
    return "".join(
        str(p.get("text") or "")
        for p in content
        if isinstance(p, Mapping) and p.get("type") == "text"
    )
