"""Attached images in the devserver (pure: no server): what the scripted agent sees and says,
how parts are stored per profile, which parts are refused."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from letta_devserver import images
from letta_devserver.images import Seen
from letta_devserver.script import Context, plan, seen_images


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"".join(b"\0" + b"\0\0\0" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _part(data: bytes, media_type: str = "image/png") -> dict:
    encoded = base64.b64encode(data).decode()
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": encoded},
    }


def test_the_agent_sees_the_kind_and_a_png_or_gif_size() -> None:
    gif = b"GIF89a" + struct.pack("<HH", 32, 16) + b"\0\0\0;"
    content = [
        {"type": "text", "text": "look"},
        _part(_png(640, 480)),
        _part(gif, "image/gif"),
        _part(b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
        _part(b"hello"),  # claimed PNG, is not
    ]
    assert images.seen(content) == [
        Seen("PNG", 640, 480),
        Seen("GIF", 32, 16),
        Seen("JPEG"),
        Seen(None),
    ]
    assert seen_images(images.seen(content)) == (
        "I see 4 images (PNG, 640×480; GIF, 32×16; JPEG; one I cannot read)."
    )
    # a stored (0.16.8) part and a data: URL read the same
    stored = images.stored(content, letta_sources=True)
    assert images.seen(stored) == images.seen(content)
    url = f"data:image/png;base64,{base64.b64encode(_png(2, 5)).decode()}"
    assert images.seen([{"type": "image", "source": {"type": "url", "url": url}}]) == [
        Seen("PNG", 2, 5)
    ]


def test_the_agent_acknowledges_images_then_answers() -> None:
    ctx = Context(memory={"human": "The human's name is Ada."})
    one = images.seen([_part(_png(640, 480))])
    for text in ("what is this?", "", "Describe it.", "What do you see?"):
        step = plan(ctx, text, images=one)
        assert step.text.startswith("I see 1 image (PNG, 640×480). ")
        assert "format and size" in step.text
    step = plan(ctx, "My name is Alice.", images=one)
    assert step.text == "I see 1 image (PNG, 640×480). " + plan(ctx, "My name is Alice.").text
    call = plan(ctx, "remember that I like tea", images=one)
    assert call.tool_call is not None and call.reasoning.startswith("I see 1 image")
    assert plan(ctx, "what is this?").text == plan(ctx, "what is this?", images=()).text


def test_parts_are_stored_as_each_profile_lists_them() -> None:
    png = _part(_png(1, 1))
    content = [{"type": "text", "text": "hi"}, png]
    assert images.stored(content, letta_sources=False) == content  # cloud: as sent
    text, image = images.stored(content, letta_sources=True)  # letta 0.16.8
    assert text == {"type": "text", "text": "hi", "signature": None}
    src = image["source"]
    assert src["type"] == "letta" and src["file_id"].startswith("file-")
    assert (src["media_type"], src["data"], src["detail"]) == (
        "image/png",
        png["source"]["data"],
        None,
    )
    assert images.stored([{"type": "text", "text": "only"}], letta_sources=True) == "only"
    assert images.stored("plain", letta_sources=True) == "plain"


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ({"type": "base64", "data": "AAAA"}, "base64.media_type"),
        ({"type": "base64", "media_type": "image/png"}, "base64.data"),
        ({"type": "url"}, "url.url"),
        ({"type": "letta"}, "letta.file_id"),
        ({"type": "svg"}, "does not match"),
        (None, "Field required"),
    ],
)
def test_a_malformed_part_is_named(source: object, why: str) -> None:
    problem = images.malformed([{"type": "text", "text": "x"}, {"type": "image", "source": source}])
    assert problem is not None and problem.startswith("content[1].source") and why in problem
    assert images.malformed([_part(b"x")]) is None
    assert images.malformed("just text") is None


def test_an_image_url_is_never_fetched() -> None:
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
    assert images.unfetchable([url]) == (
        "INVALID_ARGUMENT: Failed to fetch image from https://example.com/cat.png: "
        "Unexpected error: All connection attempts failed"
    )
    data = {"type": "image", "source": {"type": "url", "url": "data:image/png;base64,AAAA"}}
    assert images.unfetchable([data]) is None
