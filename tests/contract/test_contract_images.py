"""Image content parts on user messages: accepted, stored and listed back as the real server
does (measured on letta 0.16.8 through letta-client 1.12.1; docs/devserver.md, "Profiles").

letta 0.16.8 lists an attached ``base64`` image as a ``letta`` source with a placeholder
``file_id`` that keeps ``media_type``, ``data`` and ``detail``; text parts gain
``signature: null``. Letta Cloud (chosen): parts list back as sent. Neither checks the bytes.
A ``data:`` URL becomes base64 data; an http(s) URL the server cannot reach fails the run.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib

import _support as sup
import letta_client
import pytest
from letta_client import Letta

FILE_ID = re.compile(r"file-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\0" + b"\x00\x80\xff" * width for _ in range(height))
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = base64.b64encode(_png(4, 3)).decode()


def _image(data: str = PNG, media_type: str = "image/png", **extra: object) -> dict:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": data, **extra},
    }


def _send(client: Letta, conv_id: str, content: list) -> list:
    return list(
        client.conversations.messages.create(
            conv_id, messages=[{"role": "user", "content": content}]
        )
    )


def _listed_content(client: Letta, conv_id: str) -> list:
    """The raw JSON ``content`` of every user message, oldest first."""
    body = sup.raw_json(client.conversations.messages.with_raw_response.list, conv_id, order="asc")
    return [m["content"] for m in body if m["message_type"] == "user_message"]


def _as_listed(source: dict, profile: str) -> dict:
    """What a ``base64`` source lists back as on a server of ``profile``."""
    if profile == "cloud":
        return source
    return {
        "type": "letta",
        "file_id": "<file-uuid4>",
        "media_type": source["media_type"],
        "data": source["data"],
        "detail": source.get("detail"),
    }


def _placeholder_ids(content: list) -> list:
    out = []
    for part in content:
        src = part.get("source") if isinstance(part, dict) else None
        if isinstance(src, dict) and "file_id" in src:
            assert FILE_ID.fullmatch(src["file_id"]), src["file_id"]
            part = {**part, "source": {**src, "file_id": "<file-uuid4>"}}
        out.append(part)
    return out


def test_an_attached_image_is_stored_and_listed_back(
    client: Letta, conv: object, profile: str
) -> None:
    chunks = sup.without_state(
        _send(client, conv.id, [{"type": "text", "text": "what is this?"}, _image()])
    )
    assert sup.stop_reason(chunks) == "end_turn"
    assert "user_message" not in sup.types(chunks)  # the input is not echoed
    (content,) = _listed_content(client, conv.id)
    text = {"type": "text", "text": "what is this?"}
    if profile != "cloud":
        text["signature"] = None
    assert _placeholder_ids(content) == [
        text,
        {"type": "image", "source": _as_listed(_image()["source"], profile)},
    ]
    # the SDK reads both forms; the data comes back byte for byte
    (listed,) = sup.of_type(sup.history(client, conv.id), "user_message")
    assert base64.b64decode(listed.content[1].source.data) == _png(4, 3)
    assert listed.content[1].source.type == ("base64" if profile == "cloud" else "letta")


def test_each_image_gets_its_own_placeholder_file_id(
    client: Letta, conv: object, profile: str
) -> None:
    _send(client, conv.id, [_image(), _image(detail="low")])
    (content,) = _listed_content(client, conv.id)
    assert [p["type"] for p in content] == ["image", "image"]  # images alone are a message
    assert content[1]["source"]["detail"] == "low"
    if profile != "cloud":
        ids = [p["source"]["file_id"] for p in content]
        assert len(set(ids)) == 2 and all(FILE_ID.fullmatch(i) for i in ids)


def test_the_server_does_not_check_the_bytes(client: Letta, conv: object, profile: str) -> None:
    """Base64 of text claimed as a PNG is kept as it came (the widgets check, not the server)."""
    hello = base64.b64encode(b"hello").decode()
    assert (
        sup.stop_reason(_send(client, conv.id, [{"type": "text", "text": "bad"}, _image(hello)]))
        == "end_turn"
    )
    (content,) = _listed_content(client, conv.id)
    assert content[1]["source"]["data"] == hello
    assert content[1]["source"]["media_type"] == "image/png"


def test_a_data_url_image_becomes_base64_data(client: Letta, conv: object, profile: str) -> None:
    gif = base64.b64encode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").decode()
    url = {"type": "image", "source": {"type": "url", "url": f"data:image/gif;base64,{gif}"}}
    _send(client, conv.id, [{"type": "text", "text": "look"}, url])
    (content,) = _listed_content(client, conv.id)
    src = content[1]["source"]
    assert (src["media_type"], src["data"]) == ("image/gif", gif)
    assert src["type"] == ("base64" if profile == "cloud" else "letta")


def test_one_text_part_lists_as_text(client: Letta, conv: object, profile: str) -> None:
    _send(client, conv.id, [{"type": "text", "text": "only text"}])
    _send(client, conv.id, [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
    first, second = _listed_content(client, conv.id)
    if profile == "cloud":
        assert first == [{"type": "text", "text": "only text"}]
        assert second == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    else:
        assert first == "only text"
        assert second == [
            {"type": "text", "text": "a", "signature": None},
            {"type": "text", "text": "b", "signature": None},
        ]


def test_an_image_url_that_cannot_be_fetched_fails_the_run(
    client: Letta, conv: object, profile: str
) -> None:
    url = "http://127.0.0.1:9/cat.png"  # the discard port: refused at once, never the internet
    content = [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "url", "url": url}},
    ]
    detail = f"INVALID_ARGUMENT: Failed to fetch image from {url}: "
    resp = client.conversations.messages.with_raw_response.create(
        conv.id, messages=[{"role": "user", "content": content}]
    )
    resp.http_response.read()
    lines = resp.http_response.text.splitlines()
    events = sup.without_state(json.loads(x[6:]) for x in lines if x.startswith("data: {"))
    assert [e["message_type"] for e in events] == ["ping", "stop_reason", "error_message"]
    assert events[1]["stop_reason"] == "error" and "event: error" in lines
    error = events[2]
    assert error["error_type"] == "internal_error" and error["detail"].startswith(detail)
    assert error["message"] == error["detail"]
    assert set(error) == sup.error_fields(profile)
    with pytest.raises(letta_client.BadRequestError) as info:
        client.conversations.messages.create(
            conv.id, messages=[{"role": "user", "content": content}], streaming=False
        )
    assert info.value.body["detail"].startswith(detail)
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]  # nothing stored


@pytest.mark.parametrize(
    "source",
    [
        {"type": "base64", "data": PNG},  # no media_type
        {"type": "base64", "media_type": "image/png"},  # no data
        {"type": "url"},
        {"type": "letta"},  # no file_id
        {"type": "svg", "data": PNG},
        None,
    ],
)
def test_a_malformed_image_part_is_422(client: Letta, conv: object, source: object) -> None:
    with pytest.raises(letta_client.UnprocessableEntityError):
        _send(client, conv.id, [{"type": "image", "source": source}])
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]
