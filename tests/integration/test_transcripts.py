"""export_transcript: a conversation as Markdown or one self-contained, script-free HTML page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from letta_client import Letta

import letta_widgets as lw

pytestmark = pytest.mark.real_server

HOSTILE = 'Look: <script>alert(1)</script> <img src="http://evil.example/x.png" onerror="alert(2)">'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.found


def _say(client: Letta, conv: str, text: str) -> None:
    for _ in client.conversations.messages.create(
        conv, messages=[{"role": "user", "content": text}]
    ):
        pass


@pytest.fixture
def talked(client: Letta, conversation: str) -> str:
    _say(client, conversation, "My name is Grace and I live in Paris.")
    _say(client, conversation, HOSTILE)
    _say(client, conversation, "search for Paris")
    return conversation


def test_markdown_has_every_message_in_order(client: Letta, talked: str, tmp_path: Path) -> None:
    path = lw.export_transcript(client, talked, tmp_path / "chat.md")
    text = path.read_text()
    assert text.startswith(f"# Conversation {talked}\n")
    assert text.index("My name is Grace") < text.index("search for Paris")
    assert "### User" in text and "### Assistant" in text
    listed = client.conversations.messages.list(talked, order="asc", limit=1000).items
    assert f"{len({(m.id, m.message_type) for m in listed})} messages" in text


def test_html_is_self_contained_sanitized_and_script_free(
    client: Letta, talked: str, tmp_path: Path
) -> None:
    path = lw.export_transcript(client, talked, tmp_path / "chat.html", title="Grace <3")
    page = path.read_text()
    assert page.startswith("<!doctype html>") and "<title>Grace &lt;3</title>" in page
    tags = _tags(page)
    assert "script" not in {t for t, _ in tags}
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on")]
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "prefers-color-scheme: dark" in page and ".lw-root" in page  # CSS inlined
    assert "My name is Grace" in page and 'class="lw-msg' in page
    assert "&lt;script&gt;" in page  # the hostile text is shown, as text
    # nothing loads from anywhere: no src or link to another origin, no @import, no url(http…)
    loads = [
        v for t, attrs in tags for a, v in attrs if a == "src" or (t == "link" and a == "href")
    ]
    assert not [v for v in loads if v and not v.startswith("data:")]
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?https?:", page)


def test_bad_format_and_unknown_conversation(client: Letta, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.md or \.html"):
        lw.export_transcript(client, "conv-x", tmp_path / "chat.pdf")
    with pytest.raises(lw.NotFound):
        lw.export_transcript(client, "conv-00000000-0000-4000-8000-000000000000", tmp_path / "a.md")
    assert not (tmp_path / "a.md").exists()  # nothing half-written
