"""ChatCell with images against a server, through the SDK: ``chat.send(..., images=[...])``,
what the front-end sends (an ``image`` message per file, then ``send``), the refusals (nothing
is sent), and the images shown again when the conversation is opened anew."""

from __future__ import annotations

import base64
import re

import pytest

from letta_widgets.errors import ImageRefused
from letta_widgets.widgets.chat import ChatCell

pytestmark = [pytest.mark.real_server, pytest.mark.both_profiles]

IMG = re.compile(r'<img class="lw-image" src="data:(image/\w+);base64,([^"]+)" alt="([^"]*)">')


def _user_messages(client, conversation: str) -> list:
    page = client.conversations.messages.list(conversation, order="asc", limit=100)
    return [m for m in page.items if m.message_type == "user_message"]


def _shown(chat: ChatCell) -> list[tuple[str, str, str]]:
    html = " ".join(i["html"] for i in chat.items if i["type"] == "user_message")
    return IMG.findall(html)


def test_send_with_a_path_and_bytes_sends_image_parts(
    client, conversation, images, tmp_path
) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(images.png(640, 480))
    gif = images.gif()
    chat = ChatCell(client, conversation_id=conversation)
    turn = chat.send("what is this?", images=[path, gif])
    assert turn.stop_reason == "end_turn"
    assert turn.prompt == "what is this?[image][image]"
    # the optimistic card shows both images at once
    assert [(kind, alt) for kind, _, alt in _shown(chat)] == [
        ("image/png", "image (PNG)"),
        ("image/gif", "image (GIF)"),
    ]
    (listed,) = _user_messages(client, conversation)
    text, png_part, gif_part = listed.content
    assert text.type == "text" and text.text == "what is this?"
    sent = [base64.b64decode(p.source.data) for p in (png_part, gif_part)]
    assert sent == [images.png(640, 480), gif]
    assert [p.source.media_type for p in (png_part, gif_part)] == ["image/png", "image/gif"]
    # opened anew (a re-run cell, a reload): the history shows them again, from the server
    again = ChatCell(client, conversation_id=conversation)
    assert [kind for kind, _, _ in _shown(again)] == ["image/png", "image/gif"]


def test_images_alone_are_a_message(client, conversation, images) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    assert chat.send(images=[images.jpeg()]).stop_reason == "end_turn"
    (listed,) = _user_messages(client, conversation)
    assert [p.type for p in listed.content] == ["image"]


def test_refused_images_say_why_and_send_nothing(client, conversation, images, tmp_path) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    shown = len(chat.items)
    big = tmp_path / "big.png"
    big.write_bytes(images.png() + b"\0" * int(7.2 * 1024 * 1024))
    fake = tmp_path / "cat.png"
    fake.write_text("<svg onload=alert(1)>")
    cases = {
        "photo.bmp: not an image type Letta accepts (PNG, JPEG, GIF, WebP)": [
            ("photo.bmp", images.bmp())
        ],
        "big.png: 7.2 MB, images are at most 5 MB": [big],
        "cat.png: not an image type Letta accepts (PNG, JPEG, GIF, WebP)": [fake],
        "gone.png: could not be read (No such file or directory)": [tmp_path / "gone.png"],
        "image 2: the file is empty": [images.png(), b""],
    }
    for expected, given in cases.items():
        if isinstance(given[0], tuple):  # bytes with a name: as the front-end sends them
            name, data = given[0]
            chat._dispatch(chat, {"kind": "image", "id": "f1", "name": name}, [data])
            chat._dispatch(chat, {"kind": "send", "text": "look", "images": [{"id": "f1"}]}, [])
            assert chat.error.startswith(expected), chat.error
            continue
        with pytest.raises(ImageRefused) as err:
            chat.send("look at this", images=given)
        assert str(err.value).startswith(expected), str(err.value)
        assert "nothing was sent" in str(err.value)
    assert _user_messages(client, conversation) == []
    assert len(chat.items) == shown and not chat.busy


def test_the_front_end_stages_each_image_then_sends(client, conversation, images) -> None:
    """What chat.js sends: one ``image`` message per file (its bytes as the message's one
    buffer), then ``send`` naming them; a name that is not staged is refused, by name."""
    chat = ChatCell(client, conversation_id=conversation)
    chat._dispatch(chat, {"kind": "image", "id": "a", "name": "cat.png"}, [images.png()])
    chat._dispatch(chat, {"kind": "image", "id": "b", "name": "dog.webp"}, [images.webp()])
    chat._dispatch(
        chat, {"kind": "send", "text": "two pets", "images": [{"id": "a"}, {"id": "b"}]}, []
    )
    chat._job.result()
    (listed,) = _user_messages(client, conversation)
    assert [p.type for p in listed.content] == ["text", "image", "image"]
    assert listed.content[2].source.media_type == "image/webp"
    assert chat._staged == {}
    # a send naming an image that never arrived: refused, nothing sent
    chat._dispatch(
        chat, {"kind": "send", "text": "x", "images": [{"id": "z", "name": "z.png"}]}, []
    )
    assert chat.error.startswith("z.png: could not be read (it did not arrive)")
    assert len(_user_messages(client, conversation)) == 1


@pytest.mark.devserver_only
def test_the_scripted_agent_says_what_it_sees(client, conversation, images) -> None:
    chat = ChatCell(client, conversation_id=conversation)
    turn = chat.send("what is this?", images=[images.png(640, 480)])
    assert turn.assistant_text.startswith("I see 1 image (PNG, 640×480).")
