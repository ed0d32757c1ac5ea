"""A notebook run headless (nbclient) and saved, opened where no kernel runs.

- With its widget state, as nbconvert's HTML (what nbviewer does): every widget shows its
  last state, read-only, and says it is a saved view.
- Without widget state (JupyterLab's default save, GitHub's preview, nbconvert of such a
  file): each output's ``text/html`` fallback shows the transcript, not an empty box.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import nbformat
import pytest
from jlab import wait_for_widget
from nbrun import WIDGET_STATE, WIDGET_VIEW, anywidget_states, execute
from playwright.sync_api import expect
from static_site import static_site

pytestmark = pytest.mark.browser

CELLS = [
    """import letta_widgets as lw
client = lw.connect()
agent = next(a for a in client.agents.list() if a.name == "ada-research-assistant")""",
    "chat = lw.ChatCell(client, agent_id=agent.id)\nchat",
    """turn = chat.send("My name is Grace and I live in Paris.")
print("CHAT:", turn.assistant_text)""",
    "%load_ext letta_widgets",
    "%%letta {chat.conversation_id}\nWhere do I live?",
    """print("MAGIC:", _letta.wait().assistant_text)""",
    """cmp = lw.CompareView(client, [lw.Variant(agent_id=agent.id),
                               lw.Variant(agent_id=agent.id, model="openai/gpt-4o")],
                    labels=["A", "B"])
cmp""",
    """cmp.send("Hi there!")
cmp.send("What is my name?")
cmp.vote("B")
print("ROUND:", cmp.results["text"].iloc[-1])""",
    "browser = lw.ConversationBrowser(client, agent.id)\nbrowser",
    """browser.select(chat.conversation_id)
page = browser.messages_page()""",
    "card = lw.ConnectionCard(client)\ncard",
    """for cid in {chat.conversation_id, *cmp.conversation_ids.values()}:
    client.conversations.delete(cid)""",
]


def _printed(nb: nbformat.NotebookNode, tag: str) -> str:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("name") == "stdout" and f"{tag}: " in out.get("text", ""):
                return out["text"].split(f"{tag}: ", 1)[1].strip()
    raise AssertionError(f"no {tag!r} line printed")


def _fallbacks(nb: nbformat.NotebookNode) -> list[str]:
    return [
        out["data"]["text/html"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if WIDGET_VIEW in out.get("data", {}) and "text/html" in out.get("data", {})
    ]


@pytest.fixture(scope="module")
def saved(seeded_devserver, tmp_path_factory) -> nbformat.NotebookNode:
    from jlab import write_notebook

    path = write_notebook(tmp_path_factory.mktemp("saved") / "saved.ipynb", CELLS)
    return execute(path, seeded_devserver.base_url, timeout=180)


@pytest.fixture
def with_state(saved, tmp_path) -> Iterator[str]:
    with static_site(saved, tmp_path) as url:
        yield url


@pytest.fixture
def without_state(saved, tmp_path) -> Iterator[str]:
    bare = nbformat.from_dict(saved)
    bare.metadata.pop("widgets", None)  # what JupyterLab saves by default
    with static_site(bare, tmp_path) as url:
        yield url


def test_the_saved_state_is_the_last_state(saved) -> None:
    states = anywidget_states(saved)
    magic = [s for s in states if s.get("items") and s.get("status")]
    assert magic and all(s["status"] != "streaming" for s in magic), (
        "a %%letta turn waited for by a later cell is saved mid-stream"
    )
    assert WIDGET_STATE in saved.metadata["widgets"]


def test_saved_widgets_show_their_last_state_read_only(with_state, saved, page, artifacts_dir):
    page.goto(f"{with_state}/index.html")
    chats = page.locator(".lw-chat")
    wait_for_widget(page, chats.first)
    expect(chats).to_have_count(2)
    # the last answers, from the saved state, in the cells that showed them
    expect(chats.nth(0)).to_contain_text(_printed(saved, "CHAT"))
    expect(chats.nth(1)).to_contain_text(_printed(saved, "MAGIC"))
    cmp = page.locator(".lw-compare")
    expect(cmp).to_contain_text("round 2 / 2")
    expect(cmp).to_contain_text(_printed(saved, "ROUND")[:40])
    expect(page.locator(".lw-connection-card")).to_have_attribute("data-status", "ok")
    # read-only: each says it is saved, and nothing that needs a kernel is offered
    for root in (".lw-chat", ".lw-compare", ".lw-browser", ".lw-connection"):
        for i in range(page.locator(root).count()):
            node = page.locator(root).nth(i)
            expect(node).to_have_attribute("data-saved", "true")
            expect(node.locator(".lw-saved-view")).to_contain_text("no kernel is running")
    for control in (".lw-send", ".lw-input", ".lw-regenerate", ".lw-vote-btn", ".lw-edit"):
        expect(page.locator(control).filter(visible=True)).to_have_count(0)
    # the browser was never shown live here (nbclient): it says what it lacks, no spinner
    browser = page.locator(".lw-browser")
    expect(browser).to_contain_text("not saved with this notebook")
    expect(browser.locator(".lw-conv-heading, h3, .lw-conv-title-row").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "static-saved-state.png"), full_page=True)
    assert page.blocked_requests == [], f"requests left loopback: {page.blocked_requests}"


def test_without_widget_state_the_fallback_shows_the_transcript(
    without_state, saved, page, artifacts_dir
):
    fallbacks = _fallbacks(saved)
    assert len(fallbacks) == 5  # two chats, the comparison, the browser, the card
    assert not any(re.search(r"<script|\son\w+=", f, re.IGNORECASE) for f in fallbacks)
    page.goto(f"{without_state}/index.html")
    boxes = page.locator(".lw-saved")
    expect(boxes).to_have_count(5)
    expect(page.locator(".jupyter-widgets script")).to_have_count(0)  # no widget to load
    expect(boxes.nth(0)).to_contain_text(_printed(saved, "CHAT"))  # rewritten after the turn
    expect(boxes.nth(1)).to_contain_text(_printed(saved, "MAGIC"))  # by the cell that waited
    expect(boxes.nth(2)).to_contain_text("2 rounds")
    expect(boxes.nth(2)).to_contain_text(_printed(saved, "ROUND")[:40])
    expect(boxes.nth(2)).to_contain_text("B: 1")
    expect(boxes.nth(3)).to_contain_text("My name is Grace and I live in Paris.")
    expect(boxes.nth(3)).to_contain_text("memory: human")
    expect(boxes.nth(4)).to_contain_text("ok")
    page.screenshot(path=str(artifacts_dir / "static-fallback.png"), full_page=True)
    assert page.blocked_requests == [], f"requests left loopback: {page.blocked_requests}"
