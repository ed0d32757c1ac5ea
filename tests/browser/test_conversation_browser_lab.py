"""ConversationBrowser in a real JupyterLab, driven in Chromium.

Each test gets an agent of its own on the session's seeded devserver, so the demo data
other tests read stays as it was.
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import letta_client
import pytest
from jlab import (
    add_cell_and_run,
    cell,
    open_notebook,
    page_problems,
    run_all_cells,
    set_theme,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from letta_client import Letta
from playwright.sync_api import expect

import letta_widgets as lw

pytestmark = pytest.mark.browser


CELL = (
    "import letta_widgets as lw\n"
    "from letta_widgets.widgets.browser import ConversationBrowser\n"
    "browser = ConversationBrowser(lw.connect(), {agent!r}, lineage_path={lineage!r})\n"
    "browser"
)
HOSTILE = (
    '<script>window.__lwPwned = 1</script><img src=x onerror="window.__lwPwned=2">'
    '[click](javascript:window.__lwPwned=3) <svg onload="window.__lwPwned=4"></svg>'
)


def say(client: Letta, cid: str, text: str) -> None:
    list(client.conversations.messages.create(cid, messages=[{"role": "user", "content": text}]))


def make_agent(client: Letta, name: str) -> Any:
    return client.agents.create(
        name=f"{name}-{uuid.uuid4().hex[:6]}",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a helpful research assistant."},
        ],
    )


@pytest.fixture
def client(seeded_devserver) -> Letta:  # type: ignore[no-untyped-def]
    return lw.connect(seeded_devserver.base_url, max_retries=0)


def open_browser(page, lab, tmp_path: Path, name: str, agent_id: str):  # type: ignore[no-untyped-def]
    lineage = str(tmp_path / "lineage.json")
    write_notebook(lab.root / f"{name}.ipynb", [CELL.format(agent=agent_id, lineage=lineage)])
    open_notebook(page, lab, f"{name}.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)
    root = cell(page, 0).locator(".lw-browser")
    wait_for_widget(page, root)
    expect(root.locator(".lw-conv-row").first).to_be_visible(timeout=30_000)
    return root


def row(root, title: str):  # type: ignore[no-untyped-def]
    return root.locator(
        ".lw-conv-row", has=root.page.locator(".lw-conv-title-text", has_text=title)
    )


def items(root) -> int:  # type: ignore[no-untyped-def]
    return root.locator(".lw-pages .lw-item").count()


def test_scroll_search_select_and_bounded_dom(lab, page, client, seeded_devserver, tmp_path):
    agent = make_agent(client, "browse")
    for i in range(130):
        client.conversations.create(agent_id=agent.id, summary=f"topic {i:03d}")
    long = client.conversations.create(agent_id=agent.id, summary="long history").id
    httpx.post(
        f"{seeded_devserver.base_url}/v1/_devserver/conversations/{long}/synthetic",
        json={"turns": 400},
    ).raise_for_status()
    hostile = client.conversations.create(agent_id=agent.id, summary="hostile text").id
    say(client, hostile, HOSTILE)
    say(client, hostile, "big " * 262_144)  # 1 MB

    root = open_browser(page, lab, tmp_path, "browse_scroll", agent.id)
    # the default conversation has its own row; the newest activity comes first
    first = root.locator(".lw-conv-row").first
    expect(first).to_have_class(re.compile("lw-default"))
    expect(root).to_have_attribute("data-conversations", "51", timeout=30_000)  # default + a page
    recent = root.locator(".lw-conv-row .lw-conv-title-text").all_inner_texts()[1:3]
    assert sorted(recent) == ["hostile text", "long history"]  # the two with messages

    # infinite scroll through the conversation list (50 a page)
    conv_list = root.locator(".lw-conv-list")
    for _ in range(10):
        if root.get_attribute("data-list-done") == "true":
            break
        conv_list.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(400)
    expect(root).to_have_attribute("data-list-done", "true", timeout=30_000)
    expect(root).to_have_attribute("data-conversations", str(1 + 130 + 2))
    assert root.locator(".lw-conv-row").count() < 1 + 130 + 2  # windowed: not every row
    conv_list.evaluate("el => { el.scrollTop = 0; }")
    # rows get their statistics (message count) lazily
    expect(row(root, "long history").locator(".lw-conv-meta")).to_contain_text(
        re.compile(r"\d{4} messages"), timeout=60_000
    )

    # summary search
    root.locator(".lw-conv-search").fill("topic 01")
    expect(root.locator(".lw-conv-row")).to_have_count(10, timeout=30_000)
    root.locator(".lw-conv-search").fill("")
    expect(row(root, "long history")).to_be_visible(timeout=30_000)

    # select the long conversation: newest page first, at most 100 messages
    row(root, "long history").click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    assert 0 < items(root) <= 100
    assert root.get_attribute("data-has-older") == "true"
    paint_ms = float(root.get_attribute("data-first-paint-ms") or "nan")
    assert paint_ms < 5000
    expect(root.locator(".lw-conv-heading")).to_have_text("long history")
    assert root.locator(".lw-item.lw-in-context").count() > 0

    # scroll up through older pages: the DOM stays bounded (at most 3 pages)
    scroller = root.locator(".lw-messages")
    seen_keys: set[str] = set()
    most = 0
    boundaries = 0
    for _ in range(12):
        boundaries += root.locator(".lw-item.lw-boundary, .lw-item.lw-ctx-start").count()
        seen_keys |= set(
            root.locator(".lw-pages .lw-item").evaluate_all("els => els.map(e => e.dataset.key)")
        )
        scroller.evaluate("el => { el.scrollTop = 0; }")
        page.wait_for_timeout(350)
        expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
        most = max(most, items(root))
    assert len(seen_keys) > 600 and most <= 300
    assert root.locator(".lw-item.lw-evicted").count() > 0  # old messages left the context
    assert boundaries > 0  # the compaction summary / start of the context window is drawn
    assert root.get_attribute("data-has-newer") == "true"
    # and back down: newer pages come back
    for _ in range(3):
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(350)
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)

    # text filter and type filter
    root.locator(".lw-type-filter").select_option("user")
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    types = set(
        root.locator(".lw-pages .lw-item").evaluate_all("els => els.map(e => e.dataset.mtype)")
    )
    assert types == {"user_message"}
    root.locator(".lw-type-filter").select_option("")

    # hostile text and a 1 MB message: shown as text, nothing executes
    row(root, "hostile text").click()
    expect(root.locator(".lw-conv-heading")).to_have_text("hostile text", timeout=30_000)
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    expect(root.locator(".lw-pages")).to_contain_text("<script>window.__lwPwned = 1</script>")
    expect(root.locator(".lw-pages .lw-truncated").first).to_be_attached()
    root.locator(".lw-pages .lw-item[data-mtype='user_message']").first.click()
    expect(root.locator(".lw-details .lw-details-fields")).to_be_visible(timeout=30_000)
    expect(root.locator(".lw-details .lw-raw-json")).to_be_attached()
    assert page.evaluate("() => window.__lwPwned === undefined")
    assert page_problems(page) == []
    assert page.blocked_requests == []


def bulk_conversations(base_url: str, agent_id: str, n: int) -> list[str]:
    """``n`` conversations, one short turn each; returned in list order (newest activity first)."""

    def one(i: int) -> str:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            made = http.post(
                "/v1/conversations/",
                params={"agent_id": agent_id},
                json={"summary": f"bulk {i:05d}"},
            )
            cid = str(made.raise_for_status().json()["id"])
            http.post(
                f"/v1/_devserver/conversations/{cid}/synthetic",
                json={"turns": 1, "start": 1_700_000_000 + 60 * i},  # activity order = i
            ).raise_for_status()
            return cid

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(one, range(n)))
    return ids[::-1]


LIST_SHAPE = """(el) => {
  const list = el.querySelector('.lw-conv-list');
  const rows = [...list.querySelectorAll('.lw-conv-row')];
  const smallest = Math.min(...rows.map((r) => r.offsetHeight));
  const overscan = Number(el.dataset.listOverscan);
  return {
    rows: rows.length,
    ids: rows.map((r) => r.dataset.id),
    bound: Math.ceil(list.clientHeight / smallest) + 1 + 2 * overscan,
    smallest,
    scrollHeight: list.scrollHeight,
    overscan,
  };
}"""


def test_thousands_of_conversations_windowed(lab, page, client, seeded_devserver, tmp_path):
    n = 2500
    agent = make_agent(client, "many")
    ids = bulk_conversations(seeded_devserver.base_url, agent.id, n)
    root = open_browser(page, lab, tmp_path, "browse_many", agent.id)
    conv_list = root.locator(".lw-conv-list")
    handle = root.element_handle()

    # selecting from Python a conversation the list has not loaded yet loads pages until it
    # is there, then shows it (only the first page of 50 is loaded so far)
    expect(root).to_have_attribute("data-list-state", "ready", timeout=30_000)
    add_cell_and_run(page, f"browser.select({ids[300]!r})")
    deep = root.locator(f".lw-conv-row[data-id='{ids[300]}']")
    expect(deep).to_have_class(re.compile("lw-selected"), timeout=60_000)
    expect(deep).to_be_in_viewport()
    assert 300 < int(root.get_attribute("data-conversations") or "0") < 400

    # scroll to the end, a page at a time: only the rows near the viewport are in the DOM
    most = 0
    for _ in range(2 * n // 50):
        if root.get_attribute("data-list-done") == "true":
            break
        loaded = int(root.get_attribute("data-conversations") or "0")
        conv_list.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_function(
            "([el, before]) => el.dataset.listDone === 'true'"
            " || Number(el.dataset.conversations) > before",
            arg=[handle, loaded],
            timeout=30_000,
        )
        shape = root.evaluate(LIST_SHAPE)
        assert 0 < shape["rows"] <= shape["bound"], shape
        most = max(most, shape["rows"])
    expect(root).to_have_attribute("data-list-done", "true")
    expect(root).to_have_attribute("data-conversations", str(n + 1))  # and the default row
    conv_list.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = root.locator(".lw-conv-row").last
    expect(last).to_have_attribute("data-id", ids[-1], timeout=30_000)
    shape = root.evaluate(LIST_SHAPE)
    assert shape["rows"] <= shape["bound"] < 100, shape
    assert shape["ids"] == ids[n - shape["rows"] :]  # the oldest, in order
    # the spacers stand for every row: the scrollbar is truthful
    assert shape["scrollHeight"] >= 0.8 * (n + 1) * shape["smallest"], shape

    # the last conversation can be selected and its messages load
    last.click()
    expect(root).to_have_attribute("data-selected", ids[-1])
    expect(last).to_have_class(re.compile("lw-selected"))
    expect(root.locator(".lw-conv-heading")).to_have_text("bulk 00000", timeout=30_000)
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    expect(root.locator(".lw-pages .lw-item[data-mtype='user_message']")).to_have_count(1)
    expect(last.locator(".lw-conv-meta")).to_contain_text(
        re.compile(r"\d+ messages"), timeout=30_000
    )
    # the keyboard moves the selection (the list has the focus after the click)
    page.keyboard.press("ArrowUp")
    expect(root).to_have_attribute("data-selected", ids[-2], timeout=30_000)
    expect(root.locator(".lw-conv-heading")).to_have_text("bulk 00001", timeout=30_000)
    page.keyboard.press("ArrowDown")
    expect(root).to_have_attribute("data-selected", ids[-1], timeout=30_000)
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    add_cell_and_run(page, "print(browser.selected)")
    expect(cell(page, 1).locator(".jp-OutputArea-output")).to_have_text(ids[-1], timeout=30_000)

    # back to the top: the first rows again, the DOM still bounded
    conv_list.evaluate("el => { el.scrollTop = 0; }")
    expect(root.locator(".lw-conv-row").first).to_have_class(re.compile("lw-default"))
    expect(root.locator(".lw-conv-row").nth(1)).to_have_attribute("data-id", ids[0])
    expect(root.locator(".lw-conv-row").nth(1).locator(".lw-conv-title-text")).to_have_text(
        f"bulk {n - 1:05d}"
    )
    shape = root.evaluate(LIST_SHAPE)
    assert shape["rows"] <= shape["bound"], shape
    assert shape["ids"][1:4] == ids[:3]
    # selecting from Python scrolls the row into view, highlighted
    add_cell_and_run(page, f"browser.select({ids[1500]!r}); print(browser.selected)")
    picked = root.locator(f".lw-conv-row[data-id='{ids[1500]}']")
    expect(picked).to_have_class(re.compile("lw-selected"), timeout=30_000)
    expect(picked).to_be_in_viewport()
    shape = root.evaluate(LIST_SHAPE)
    assert shape["rows"] <= shape["bound"], shape
    assert most <= shape["bound"]
    # a refresh (as after every action) reloads the pages but keeps the place in the list
    at = conv_list.evaluate("el => el.scrollTop")
    add_cell_and_run(page, "browser.refresh()")
    expect(root).to_have_attribute("data-list-refreshes", "1", timeout=60_000)
    expect(picked).to_have_class(re.compile("lw-selected"), timeout=30_000)
    expect(picked).to_be_in_viewport()
    assert abs(conv_list.evaluate("el => el.scrollTop") - at) < 5
    assert int(root.get_attribute("data-conversations") or "0") > 1500
    shape = root.evaluate(LIST_SHAPE)
    assert shape["rows"] <= shape["bound"], shape
    assert page_problems(page) == []


def test_fork_archive_delete(lab, page, client, tmp_path):
    agent = make_agent(client, "actions")
    cid = client.conversations.create(agent_id=agent.id, summary="fork source").id
    for text in ["first question", "second question", "third question"]:
        say(client, cid, text)
    root = open_browser(page, lab, tmp_path, "browse_actions", agent.id)

    row(root, "fork source").click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    msg = root.locator(".lw-item[data-mtype='user_message']", has_text="second question")
    msg.click()
    expect(root.locator(".lw-details")).to_be_visible()
    root.locator(".lw-fork-here").click()
    # the fork is selected and shows the history up to that message
    expect(root.locator(".lw-lineage")).to_contain_text("forked from", timeout=30_000)
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    expect(root.locator(".lw-pages")).to_contain_text("second question")
    expect(root.locator(".lw-pages")).not_to_contain_text("third question")
    fork_id = root.get_attribute("data-selected")
    assert fork_id and fork_id != cid
    forked_row = root.locator(f".lw-conv-row[data-id='{fork_id}']")
    expect(forked_row.locator(".lw-fork-mark")).to_be_visible(timeout=30_000)
    # shown as a tree: the fork right under its parent
    order = root.locator(".lw-conv-row").evaluate_all("els => els.map(e => e.dataset.id)")
    assert order.index(fork_id) == order.index(cid) + 1

    # edit summary
    root.locator(".lw-edit-summary").click()
    root.locator(".lw-summary-input").fill("the fork")
    root.locator(".lw-summary-save").click()
    expect(root.locator(".lw-conv-heading")).to_have_text("the fork", timeout=30_000)
    expect(forked_row.locator(".lw-conv-title-text")).to_have_text("the fork", timeout=30_000)

    # archive: gone from the active list, present under Archived
    root.locator(".lw-archive").click()
    expect(root.locator(".lw-archive")).to_have_text("Unarchive", timeout=30_000)
    expect(root).to_have_attribute("data-list-state", "ready", timeout=30_000)
    expect(root.locator(f".lw-conv-row[data-id='{fork_id}']")).to_have_count(0, timeout=30_000)
    expect(root.locator(f".lw-conv-row[data-id='{cid}']")).to_have_count(1)
    root.locator(".lw-archive-filter").select_option("archived")
    expect(root.locator(f".lw-conv-row[data-id='{fork_id}']")).to_have_count(1, timeout=30_000)
    expect(root.locator(f".lw-conv-row[data-id='{cid}']")).to_have_count(0)
    root.locator(".lw-archive").click()  # unarchive
    expect(root.locator(".lw-archive")).to_have_text("Archive", timeout=30_000)
    root.locator(".lw-archive-filter").select_option("unarchived")
    expect(root.locator(f".lw-conv-row[data-id='{fork_id}']")).to_have_count(1, timeout=30_000)

    # export the shown conversation (the header's buttons download it)
    with page.expect_download() as got:
        root.locator(".lw-export-md").click()
    saved = tmp_path / got.value.suggested_filename
    got.value.save_as(saved)
    assert saved.name == f"{fork_id}.md"
    text = saved.read_text()
    assert text.startswith("# the fork") and "second question" in text
    assert "third question" not in text

    # delete asks first
    root.locator(".lw-delete").click()
    expect(root.locator(".lw-confirm")).to_be_visible()
    root.locator(".lw-confirm-delete").click()
    expect(root.locator(f".lw-conv-row[data-id='{fork_id}']")).to_have_count(0, timeout=30_000)
    expect(root.locator(".lw-conv-empty")).to_be_visible()
    with pytest.raises(letta_client.NotFoundError):
        client.conversations.retrieve(fork_id)
    assert page_problems(page) == []


def test_memory_panel_after_memory_turn_and_deleted_elsewhere(lab, page, client, tmp_path):
    agent = make_agent(client, "memory")
    shown = client.conversations.create(agent_id=agent.id, summary="shown").id
    say(client, shown, "Hello!")
    other = client.conversations.create(agent_id=agent.id, summary="other").id
    doomed = client.conversations.create(agent_id=agent.id, summary="doomed").id
    say(client, doomed, "soon gone")
    root = open_browser(page, lab, tmp_path, "browse_memory", agent.id)
    row(root, "shown").click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    human = root.locator(".lw-block[data-label='human']")
    expect(human).to_contain_text("Ada")
    expect(root.locator(".lw-stale")).to_have_count(0)

    say(client, other, "Please remember that I like green tea.")  # a memory-editing turn
    root.locator(".lw-mem-refresh").click()
    expect(human).to_have_class(re.compile("lw-block--changed"), timeout=30_000)
    expect(human.locator(".lw-block-value")).to_contain_text("green tea")
    # the shown conversation still runs on the old copy: stale, with Recompile, saying
    # which block, since when, and what changed (a word diff: green tea is what it lacks)
    stale = root.locator(".lw-stale")
    expect(stale).to_contain_text("human changed since", timeout=30_000)
    expect(stale).to_contain_text("compiled 20")
    stale.locator(".lw-stale-diff > summary").first.click()
    expect(stale.locator(".lw-stale-diff ins.lw-diff-ins")).to_contain_text("green tea")
    expect(human).to_have_class(re.compile("lw-block--stale"))
    # the list's stale marks follow the memory panel's refresh: a quiet mark with a tooltip
    # naming the block, which leaves the title its width
    shown_row = row(root, "shown")
    expect(shown_row).to_have_attribute("data-stale", "true", timeout=30_000)
    mark = shown_row.locator(".lw-stale-mark")
    expect(mark).to_be_visible()
    assert "human" in (mark.get_attribute("title") or "")
    assert mark.evaluate("el => el.getBoundingClientRect().width") < 16
    expect(shown_row.locator(".lw-badge--stale")).to_have_count(0)
    root.locator(".lw-recompile").click()
    expect(root.locator(".lw-stale")).to_have_count(0, timeout=30_000)
    expect(row(root, "shown")).to_have_attribute("data-stale", "false", timeout=30_000)

    # deleted by another client while shown
    row(root, "doomed").click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    client.conversations.delete(doomed)
    root.locator(".lw-refresh").click()
    expect(root.locator(".lw-conv-missing")).to_be_visible(timeout=30_000)
    root.locator(".lw-missing-refresh").click()
    expect(row(root, "doomed")).to_have_count(0, timeout=30_000)
    row(root, "shown").click()  # still usable
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)


def test_server_errors_shown_in_place(lab, page, client, seeded_devserver, tmp_path):
    agent = make_agent(client, "faults")
    for name in ("one", "two"):
        cid = client.conversations.create(agent_id=agent.id, summary=name).id
        say(client, cid, f"hello {name}")
    root = open_browser(page, lab, tmp_path, "browse_faults", agent.id)
    expect(row(root, "two")).to_be_visible(timeout=30_000)
    faults = f"{seeded_devserver.base_url}/v1/_devserver/faults"
    httpx.put(faults, json={"spec": "status=500"}).raise_for_status()
    try:
        row(root, "one").click()
        expect(root).to_have_attribute("data-msg-state", "error", timeout=30_000)
        expect(root.locator(".lw-msg-status")).to_contain_text("server failed")
    finally:
        httpx.delete(faults).raise_for_status()
    root.locator(".lw-msg-status .lw-retry").click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    expect(root.locator(".lw-pages")).to_contain_text("hello one")
    row(root, "two").click()
    expect(root.locator(".lw-pages")).to_contain_text("hello two", timeout=30_000)
    # open in a ChatCell below the browser (same output)
    root.locator(".lw-open-chat").click()
    chat = cell(page, 0).locator(".lw-chat")
    expect(chat).to_be_visible(timeout=30_000)
    expect(chat.locator(".lw-items")).to_contain_text("hello two", timeout=30_000)
    # keys typed in the widget never reach the notebook's shortcuts (Shift+Enter re-runs)
    root.locator(".lw-text-filter").fill("hello")
    root.locator(".lw-text-filter").press("Shift+Enter")
    page.wait_for_timeout(1000)
    expect(cell(page, 0).locator(".jp-InputArea-prompt")).to_have_text("[1]:")
    expect(root.locator(".lw-pages")).to_contain_text("hello two")


@pytest.fixture(scope="module")
def showcase(seeded_devserver) -> str:  # type: ignore[no-untyped-def]
    """An agent of its own whose memory changed after some conversations were compiled."""
    client = lw.connect(seeded_devserver.base_url, max_retries=0)
    agent = client.agents.create(
        name="research-assistant",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[
            {"label": "human", "value": "The human's name is Grace. She works on compilers."},
            {"label": "persona", "value": "I am a careful research assistant. I cite sources."},
        ],
    )
    weekly = client.conversations.create(agent_id=agent.id, summary="Weekly planning").id
    httpx.post(
        f"{seeded_devserver.base_url}/v1/_devserver/conversations/{weekly}/synthetic",
        json={"turns": 30},
    ).raise_for_status()
    grant = client.conversations.create(agent_id=agent.id, summary="Grant proposal outline").id
    say(client, grant, "Help me outline a grant proposal on incremental compilation.")
    grace = client.conversations.create(agent_id=agent.id, summary="Getting to know Grace").id
    for text in ["Hi! My favourite colour is green.", "What do you remember about me?"]:
        say(client, grace, text)
    tea = client.conversations.create(agent_id=agent.id, summary="Tea preferences").id
    say(client, tea, "Please remember that I like green tea.")  # edits the human block
    say(client, grace, "Search for colour")
    return agent.id


@pytest.mark.screenshots
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(lab, page, client, showcase, tmp_path, theme, shots_dir):
    agent_id = showcase
    name = f"browse_shot_{theme}"
    page.set_viewport_size({"width": 1400, "height": 1000})
    lineage = str(tmp_path / "lineage.json")
    write_notebook(lab.root / f"{name}.ipynb", [CELL.format(agent=agent_id, lineage=lineage)])
    open_notebook(page, lab, f"{name}.ipynb")
    set_theme(page, theme)
    try:
        run_all_cells(page)
        wait_for_cells_done(page)
        root = cell(page, 0).locator(".lw-browser")
        wait_for_widget(page, root)
        target = root.locator(".lw-conv-row", has_text="Getting to know")
        expect(target.first).to_be_visible(timeout=30_000)
        target.first.click()
        expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
        expect(root.locator(".lw-conv-meta").nth(1)).to_contain_text("messages", timeout=30_000)
        expect(root.locator(".lw-stale")).to_contain_text("human", timeout=30_000)
        page.wait_for_timeout(500)
        assert page_problems(page) == []
        cell(page, 0).locator(".jp-OutputArea").screenshot(
            path=str(shots_dir / f"browser-{theme}.png")
        )
    finally:
        set_theme(page, "light")


def test_agent_picker(lab, page, client, tmp_path):
    agent = make_agent(client, "pickme")
    write_notebook(
        lab.root / "browse_picker.ipynb",
        [
            "import letta_widgets as lw\n"
            "from letta_widgets.widgets.browser import ConversationBrowser\n"
            "browser = ConversationBrowser(lw.connect(), "
            f"lineage_path={str(tmp_path / 'l.json')!r})\n"
            "browser"
        ],
    )
    open_notebook(page, lab, "browse_picker.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)
    root = cell(page, 0).locator(".lw-browser")
    wait_for_widget(page, root)
    expect(root.locator(".lw-agent-row").first).to_be_visible(timeout=30_000)
    root.locator(".lw-agent-search").fill("pickme")
    expect(root.locator(".lw-agent-row")).to_have_count(1, timeout=30_000)
    root.locator(".lw-agent-row").click()
    expect(root).to_have_attribute("data-agent", agent.id, timeout=30_000)
    expect(root.locator(".lw-conv-row.lw-default")).to_be_visible(timeout=30_000)
    expect(root.locator(".lw-block[data-label='human']")).to_be_visible(timeout=30_000)
    # the Python API sees the choice; select() from a cell drives the view
    add_cell_and_run(page, "browser.select('default'); print(browser.agent_id)")
    expect(root).to_have_attribute("data-selected", "default", timeout=30_000)
    expect(root.locator(".lw-conv-row.lw-default")).to_have_class(re.compile("lw-selected"))


def test_message_search_opens_the_hit_and_the_model_override_shows(
    lab, page, client: Letta, tmp_path: Path
) -> None:
    """Search messages (the cloud profile has the server's search), click a hit: its
    conversation opens at the message, highlighted (DOM and kernel); a conversation on its own
    model is marked in the list and its header."""
    agent = make_agent(client, "search")
    other = client.conversations.create(agent_id=agent.id, summary="crossings").id
    say(client, other, "the zebra crossing is near the station")
    conv = client.conversations.create(
        agent_id=agent.id, summary="pets", model="openai/gpt-4o", description="About my pets"
    ).id
    for n in range(60):
        say(client, conv, f"filler message number {n}")
    say(client, conv, "my zebra is called Zed")
    for n in range(60):
        say(client, conv, f"later message number {n}")
    root = open_browser(page, lab, tmp_path, "browser_search", agent.id)
    row = root.locator(f".lw-conv-row[data-id='{conv}']")
    expect(row.locator(".lw-badge--model")).to_have_text("gpt-4o")
    search = root.locator(".lw-msg-search")
    search.fill("zebra")
    search.press("Enter")
    expect(root).to_have_attribute("data-search", "server", timeout=30_000)
    expect(root.locator(".lw-search-note")).to_contain_text("all conversations")
    hits = root.locator(".lw-search-hit")
    expect(hits.first).to_be_visible()
    assert {conv, other} <= set(hits.evaluate_all("els => els.map(e => e.dataset.conversationId)"))
    hit = root.locator(f".lw-search-hit[data-conversation-id='{conv}']", has_text="Zed").first
    mid = hit.get_attribute("data-message-id")
    hit.click()
    expect(root).to_have_attribute("data-selected", conv, timeout=30_000)
    expect(root).to_have_attribute("data-anchor", mid, timeout=30_000)
    marked = root.locator(".lw-item.lw-hit")  # the hit's id group (e.g. reasoning + answer)
    expect(marked.first).to_be_visible()
    assert marked.count() == root.locator(f".lw-item[data-id='{mid}']").count() >= 1
    zed = root.locator(".lw-item.lw-hit", has_text="Zed")
    expect(zed).to_have_count(1)
    expect(zed).to_be_in_viewport()
    expect(root).to_have_attribute("data-has-older", "true")  # 60 older messages, not loaded
    expect(root).to_have_attribute("data-has-newer", "true")
    expect(root.locator(".lw-conv-config--override")).to_contain_text("model openai/gpt-4o")
    expect(root.locator(".lw-conv-description")).to_have_text("About my pets")
    add_cell_and_run(page, "print(browser.selected)")
    expect(cell(page, 1).locator(".jp-OutputArea-output")).to_have_text(conv, timeout=30_000)
    # back to the list
    root.locator(".lw-search-back").click()
    expect(root.locator(".lw-search-results")).to_be_hidden()
    expect(row).to_be_visible()
    assert page_problems(page) == []


def test_first_hour_labels_and_fork_points(lab, page, client: Letta, tmp_path: Path) -> None:
    """No paging buttons before a selection; a greeting is not a title; a fork says when it
    was forked (not "active —"); an evicted message offers no Fork and says why."""
    agent = make_agent(client, "labels")
    trip = client.conversations.create(agent_id=agent.id).id
    say(client, trip, "Hi there!")
    say(client, trip, "Plan a trip to Lisbon in May")
    long = client.conversations.create(agent_id=agent.id, summary="long one").id
    httpx.post(
        f"{str(client.base_url).rstrip('/')}/v1/_devserver/conversations/{long}/synthetic",
        json={"turns": 120},
    ).raise_for_status()
    root = open_browser(page, lab, tmp_path, "browse_labels", agent.id)
    expect(root.locator(".lw-older")).to_be_hidden()
    expect(root.locator(".lw-newer")).to_be_hidden()
    trip_row = root.locator(f".lw-conv-row[data-id='{trip}']")
    expect(trip_row.locator(".lw-conv-title-text")).to_have_text(
        "Plan a trip to Lisbon in May", timeout=30_000
    )

    # fork the trip at its last message: the fork has no activity of its own yet
    trip_row.click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    root.locator(".lw-item[data-mtype='user_message']", has_text="Lisbon").click()
    root.locator(".lw-fork-here:not([disabled])").click()
    expect(root.locator(".lw-lineage")).to_contain_text("forked from", timeout=30_000)
    fork_id = root.get_attribute("data-selected")
    fork_row = root.locator(f".lw-conv-row[data-id='{fork_id}']")
    expect(fork_row.locator(".lw-conv-meta")).to_contain_text("forked 20", timeout=30_000)
    expect(fork_row.locator(".lw-conv-meta")).not_to_contain_text("active —")
    expect(root.locator(".lw-conv-info")).to_contain_text("no messages of its own yet")

    # an evicted message: Fork is offered no more, and the note says why
    root.locator(f".lw-conv-row[data-id='{long}']").click()
    expect(root).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    gone = root.locator(".lw-item.lw-evicted[data-mtype='user_message']").last
    gone.scroll_into_view_if_needed()
    gone.click()
    details = root.locator(".lw-details")
    expect(details).to_be_visible()
    expect(details.locator(".lw-fork-here")).to_be_disabled()
    expect(details.locator(".lw-fork-note")).to_contain_text("left the context window")
    expect(root.locator(".lw-conv-missing")).to_have_count(0)
    assert page_problems(page) == []
