"""Attached images (letta_widgets.letta.images): the kind told by the bytes, the size limit,
shown names, the content part sent, and which listed parts may be shown inline."""

from __future__ import annotations

import base64
import json

import pytest

from letta_widgets.errors import ImageRefused, LettaWidgetsError, images_refused
from letta_widgets.letta.images import (
    MAX_IMAGE_BYTES,
    RULES,
    Attachment,
    attachment,
    display_name,
    inline_image,
    rules_json,
    size_text,
    sniff,
    user_content,
)


def test_the_kind_is_read_from_the_bytes(images) -> None:
    assert sniff(images.png()) == "image/png"
    assert sniff(images.jpeg()) == "image/jpeg"
    assert sniff(images.gif()) == "image/gif"
    assert sniff(b"GIF87a" + b"\0" * 8) == "image/gif"
    assert sniff(images.webp()) == "image/webp"
    for other in (images.bmp(), images.svg(), b"", b"\x89PN", b"RIFF\0\0\0\0WAVE", b"%PDF-1.7"):
        assert sniff(other) is None


def test_a_name_or_a_claim_does_not_make_an_image(images) -> None:
    fake = Attachment("cat.png", b"<html><script>alert(1)</script></html>")
    assert fake.media_type is None
    assert fake.problem() == "cat.png: not an image type Letta accepts (PNG, JPEG, GIF, WebP)"
    with pytest.raises(ValueError):
        fake.part()
    # a real JPEG named .png is sent as what it is
    assert Attachment("photo.png", images.jpeg()).part()["source"]["media_type"] == "image/jpeg"


def test_the_size_limit_is_5_mb(images) -> None:
    png = images.png()
    at_limit = png + b"\0" * (MAX_IMAGE_BYTES - len(png))
    assert Attachment("ok.png", at_limit).problem() is None
    over = Attachment("big.png", at_limit + b"\0")
    assert over.problem() == "big.png: 5.0 MB, images are at most 5 MB"
    big = Attachment("big.png", png + b"\0" * int(7.2 * 1024 * 1024))
    assert big.problem() == "big.png: 7.2 MB, images are at most 5 MB"
    assert Attachment("empty.png", b"").problem() == "empty.png: the file is empty"


def test_the_part_is_the_sdk_image_content_param(images) -> None:
    png = images.png(640, 480)
    part = Attachment("cat.png", png).part()
    assert part == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(png).decode(),
        },
    }
    assert user_content("what is this?", [part]) == [
        {"type": "text", "text": "what is this?"},
        part,
    ]
    assert user_content("", [part]) == [part]
    assert user_content("just text", []) == "just text"


def test_paths_are_read_and_unreadable_ones_say_why(tmp_path, images) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(images.png())
    assert attachment(path).name == "cat.png"
    assert attachment(str(path)).problem() is None
    assert attachment(path, name="Kitty").name == "Kitty"
    missing = attachment(tmp_path / "gone.png")
    assert missing.problem() == "gone.png: could not be read (No such file or directory)"
    assert attachment(tmp_path).problem().startswith(f"{tmp_path.name}: could not be read (")
    # of a file over the limit only the start is read, and the message has its real size
    huge = tmp_path / "huge.png"
    with huge.open("wb") as fh:
        fh.write(images.png())
        fh.truncate(12 * 1024 * 1024)
    big = attachment(huge)
    assert len(big.data) == MAX_IMAGE_BYTES
    assert big.problem() == "huge.png: 12.0 MB, images are at most 5 MB"
    assert attachment(images.png()).name == "image 1"
    assert attachment(images.png(), index=3).name == "image 3"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("C:\\Users\\ada\\cat.png", "cat.png"),
        ("../../etc/passwd", "passwd"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # a right-to-left override would hide ".exe"
        ("a\nb\r\x00c\x1b[31m.png", "abc[31m.png"),
        ("<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),  # shown as text
        ("   ", "image 2"),
        (None, "image 2"),
        ("x" * 500 + ".png", "x" * 79 + "…"),
    ],
)
def test_hostile_names_are_shown_harmlessly(raw, shown) -> None:
    assert display_name(raw, 2) == shown


def test_a_refusal_is_one_error_naming_every_image() -> None:
    err = images_refused(["a.bmp: not an image type Letta accepts (PNG, JPEG, GIF, WebP)", "b"])
    assert isinstance(err, ImageRefused) and isinstance(err, LettaWidgetsError)
    assert str(err).startswith("a.bmp: not an image type Letta accepts (PNG, JPEG, GIF, WebP); b: ")
    assert (
        err.remedy == "attach PNG, JPEG, GIF or WebP images of at most 5 MB each; nothing was sent"
    )


def test_the_rules_reach_the_front_end_as_json() -> None:
    rules = json.loads(rules_json())
    assert rules["max_bytes"] == MAX_IMAGE_BYTES and rules["limit"] == "5 MB"
    assert rules["names"] == "PNG, JPEG, GIF or WebP"
    assert rules["kinds"] == {
        "image/png": "PNG",
        "image/jpeg": "JPEG",
        "image/gif": "GIF",
        "image/webp": "WebP",
    }
    assert rules == RULES


def test_sizes_read_as_people_say_them() -> None:
    assert size_text(12) == "12 bytes"
    assert size_text(340 * 1024) == "340 KB"
    assert size_text(int(7.25 * 1024 * 1024)) == "7.2 MB"


def test_only_base64_data_of_an_accepted_kind_is_shown_inline(images) -> None:
    data = base64.b64encode(images.png()).decode()
    assert inline_image({"source": {"type": "base64", "media_type": "image/png", "data": data}})
    # letta 0.16.8 lists an attached image as a `letta` source that keeps its data
    listed = {"type": "letta", "file_id": "file-1", "media_type": "image/png", "data": data}
    assert inline_image({"type": "image", "source": listed}) == ("image/png", data)
    # the kind comes from the bytes, not from media_type
    gif = base64.b64encode(images.gif()).decode()
    claimed = {"type": "base64", "media_type": "image/png", "data": gif}
    assert inline_image({"source": claimed}) == ("image/gif", gif)
    svg = base64.b64encode(images.svg()).decode()
    for source in (
        {"type": "base64", "media_type": "image/svg+xml", "data": svg},
        {"type": "base64", "media_type": "image/png", "data": base64.b64encode(b"hello").decode()},
        {"type": "base64", "media_type": "image/png", "data": data + '"><script>'},
        {"type": "base64", "media_type": "image/png", "data": ""},
        {"type": "base64", "media_type": "image/png", "data": None},
        {"type": "letta", "file_id": "file-1", "media_type": "image/png"},  # no data listed
        {"type": "url", "url": "https://example.com/cat.png"},
        {"type": "url", "url": f"data:image/png;base64,{data}"},
        "data:image/png;base64,AAAA",
        None,
    ):
        assert inline_image({"type": "image", "source": source}) is None, source
