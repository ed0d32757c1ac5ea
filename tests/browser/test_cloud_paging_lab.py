"""Scrolled to the very first message of a 300-message conversation on a server with Letta
Cloud's cursors (the session devserver runs the ``cloud`` profile): in ChatCell and in the
browser's message pane, every message shows up once, in order."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from jlab import (
    cell,
    open_notebook,
    page_problems,
    run_all_cells,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from letta_client import Letta
from playwright.sync_api import expect

import letta_widgets as lw

pytestmark = pytest.mark.browser


@pytest.fixture
def long_conversation(seeded_devserver) -> tuple[Letta, str, str, list[str]]:  # type: ignore[no-untyped-def]
    """(client, agent id, conversation id, every message key oldest first), >= 300 messages."""
    client = lw.connect(seeded_devserver.base_url, max_retries=0)
    agent = client.agents.create(
        name=f"paging-{uuid.uuid4().hex[:6]}",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
    )
    conv = client.conversations.create(agent_id=agent.id).id
    client.post(
        f"/v1/_devserver/conversations/{conv}/synthetic", body={"turns": 85}, cast_to=object
    )
    stored = client.conversations.messages.list(conv, limit=100_000, order="asc").items
    keys = [f"{m.id}|{m.message_type}" for m in stored]
    assert len(keys) >= 300
    return client, agent.id, conv, keys


def _check_order(seen: list[str], every: list[str]) -> None:
    """``seen`` (DOM order) holds each key once, in thread order."""
    assert len(seen) == len(set(seen)), "a message shows twice"
    assert seen == [k for k in every if k in set(seen)], "out of order"


def _check_complete(seen: set[str], every: list[str]) -> None:
    """What ``seen`` lacks of ``every`` are tool returns shown inside their call's card."""
    missing = set(every) - seen
    assert {k.split("|")[1] for k in missing} <= {"tool_return_message"}, sorted(missing)[:5]


_NEW_TOP = """([el, k]) => {
  const first = el.querySelector('.lw-item');
  return first && first.dataset.key !== k;
}"""


def _scroll_to_top(page, scroller, items, done_js: str, every: list[str]):  # type: ignore[no-untyped-def]
    """Scroll ``scroller`` to the top until ``done_js(scroller)`` holds, checking the shown
    messages after every page; return (pages loaded, every key shown on the way)."""
    rounds = 0
    shown: set[str] = set()
    while True:
        now = items.evaluate_all("els => els.map(e => e.dataset.key)")
        _check_order(now, every)
        shown.update(now)
        if scroller.evaluate(done_js):
            return rounds, shown
        rounds += 1
        assert rounds < 60, "never reached the first message"
        before = now[0]
        scroller.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        page.wait_for_function(
            _NEW_TOP,
            arg=[scroller.element_handle(), before],
            timeout=30_000,
        )


def test_chat_cell_scrolls_to_the_first_message_once_each(lab, page, long_conversation) -> None:
    _client, _agent, conv, every = long_conversation
    src = (
        "import letta_widgets as lw\n"
        f"chat = lw.ChatCell(lw.connect(), conversation_id={conv!r}, history=20, height='320px')\n"
        "chat"
    )
    write_notebook(lab.root / "cloud_chat.ipynb", [src])
    open_notebook(page, lab, "cloud_chat.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)
    root = cell(page, 0).locator(".lw-chat")
    wait_for_widget(page, root, timeout=60)
    expect(root.locator(".lw-items > .lw-item").first).to_be_visible(timeout=30_000)
    items = root.locator(".lw-items > .lw-item")
    done = "el => el.closest('.lw-chat').querySelector('.lw-older').hidden"
    rounds, _ = _scroll_to_top(page, root.locator(".lw-transcript"), items, done, every)
    assert rounds >= 5
    seen = items.evaluate_all("els => els.map(e => e.dataset.key)")
    _check_complete(set(seen), every)  # the chat keeps every page
    assert seen[0] == every[0]  # the system message: the very first one
    assert page_problems(page) == []


def test_browser_pane_scrolls_to_the_first_message_once_each(
    lab, page, long_conversation, tmp_path: Path
) -> None:
    _client, agent, conv, every = long_conversation
    src = (
        "import letta_widgets as lw\n"
        "from letta_widgets.widgets.browser import ConversationBrowser\n"
        f"browser = ConversationBrowser(lw.connect(), {agent!r}, "
        f"lineage_path={str(tmp_path / 'lineage.json')!r})\n"
        f"browser.select({conv!r})\n"
        "browser"
    )
    write_notebook(lab.root / "cloud_browser.ipynb", [src])
    open_notebook(page, lab, "cloud_browser.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)
    root = cell(page, 0).locator(".lw-browser")
    wait_for_widget(page, root, timeout=60)
    root.locator(f'.lw-conv-row[data-id="{conv}"]').click()
    items = root.locator(".lw-messages .lw-item")
    expect(items.first).to_be_visible(timeout=30_000)
    done = "el => el.closest('.lw-browser').dataset.hasOlder === 'false'"
    rounds, shown = _scroll_to_top(page, root.locator(".lw-messages"), items, done, every)
    assert rounds >= 2
    _check_complete(shown, every)  # the pane keeps 3 pages in the DOM: all were shown on the way
    top = items.evaluate_all("els => els.map(e => e.dataset.key)")
    assert top[0] == every[0]  # the first message, at the top
    assert page_problems(page) == []
