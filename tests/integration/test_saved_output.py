"""What a widget's output leaves for front-ends that cannot run it (the text/html fallback),
through a real kernel-side display: hostile text stays text, no secret is written, and a
headless run rewrites the fallback while no view has rendered."""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell
from letta_client import Letta

import letta_widgets as lw

pytestmark = pytest.mark.real_server

HOSTILE = '<script>window.x=1</script><img src=x onerror="window.x=2"> [a](javascript:alert(3))'
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def bundle(widget) -> dict:  # type: ignore[no-untyped-def]
    data, _meta = widget._repr_mimebundle_()
    assert WIDGET_VIEW in data  # the live widget first; the fallback beside it
    return data


def test_hostile_text_in_the_transcript_stays_text(client: Letta, conversation: str) -> None:
    chat = lw.ChatCell(client, conversation_id=conversation)
    chat.send(HOSTILE)
    html = bundle(chat)["text/html"]
    assert "window.x=1" in html  # the message is there, as text
    tags = re.findall(r"<[a-z][^>]*>", html, re.IGNORECASE)  # real tags, not escaped text
    assert not [t for t in tags if re.search(r"^<(script|img)|\son\w+\s*=|javascript:", t, re.I)]


def test_no_key_reaches_the_fallback(base_url: str) -> None:
    secret = "sk-let-this-never-be-written-0123456789"
    card = lw.ConnectionCard(Letta(base_url=base_url, api_key=secret, max_retries=0))
    data = bundle(card)
    assert secret not in str(data) and card.url in data["text/html"]


def test_a_headless_display_is_rewritten_until_a_view_renders(
    client: Letta, conversation: str
) -> None:
    shell = InteractiveShell.instance()
    published: list[tuple[str, dict]] = []

    def record(data, metadata=None, transient=None, update=False, **_kw):  # type: ignore[no-untyped-def]
        published.append(("update" if update else "display", transient or {}, data))

    original = shell.display_pub.publish
    shell.display_pub.publish = record
    try:
        chat = lw.ChatCell(client, conversation_id=conversation)
        from IPython.display import display

        display(chat)
        chat.send("My name is Grace.")
        chat._on_viewed({})  # a front-end rendered it
        chat.send("Where do I live?")
    finally:
        shell.display_pub.publish = original
    kinds = [k for k, _t, _d in published]
    ids = {t.get("display_id") for _k, t, _d in published}
    assert kinds[0] == "display" and kinds.count("update") >= 1 and len(ids) == 1
    last = published[-1][2]["text/html"]
    assert "My name is Grace." in last and "Where do I live?" not in last
