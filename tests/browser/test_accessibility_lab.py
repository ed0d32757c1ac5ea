"""Accessibility in a real JupyterLab: axe-core on every widget in the light and dark
themes, the keyboard alone through ChatCell and ConversationBrowser, and the polite live
region that announces each finished answer once (not once per token).

One notebook per theme holds every widget: a ChatCell after turns that wrote memory (its
notice), sent a code block and a long message (folded, "Show more"), with an error banner; a
ChatCell waiting for an approval; a ConversationBrowser with a conversation selected (stale
memory, its diff); a CompareView after a round (voted, judged, its summary chart); a
ConnectionCard. axe runs on each widget's root element only (JupyterLab's own chrome is not
ours); a serious or critical violation fails the test, with each violation's id, impact,
help and the offending nodes. The keyboard test has a notebook of its own (a paced client,
so there are tokens to count).
"""

from __future__ import annotations

import time

import pytest
from axe import axe_run, axe_script, describe, serious
from jlab import (
    cell,
    open_notebook,
    page_problems,
    run_all_cells,
    set_theme,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SETUP = """\
import letta_widgets as lw
from letta_widgets.widgets.browser import ConversationBrowser
from letta_widgets.widgets.compare import CompareView, Variant
client = lw.connect()
agent = client.agents.create(
    name="a11y-@TAG@", model="openai/gpt-4o-mini", embedding="openai/text-embedding-3-small",
    memory_blocks=[{"label": "human", "value": "The human's name is Ada."},
                   {"label": "persona", "value": "I am a helpful assistant."}])"""

CHAT = """\
chat = lw.ChatCell(client, agent_id=agent.id, height="260px")
chat.send("remember that I love green tea")  # a memory write: the notice, stale marks
chat.send("My name is Grace.\\n\\n```python\\nprint('hi')\\n```")  # a code block
chat.send("\\n\\n".join(f"line {n}" for n in range(60)))  # a long message, folded
chat.show_error(lw.LettaWidgetsError("the server said no (409: busy)", "wait and send again"))
chat"""

APPROVAL = """\
pending = lw.ChatCell(client, agent_id=agent.id, height="220px")
pending.send("Please send an email to bob@example.com about the report.")
pending"""

BROWSER = """\
browser = ConversationBrowser(client, agent.id, lineage_path=@LINEAGE@, height="420px")
browser.select(chat.conversation_id)
browser"""

COMPARE = """\
cmp = CompareView(client, [Variant(agent_id=agent.id), Variant(agent_id=agent.id)])
cmp.send("hello")
cmp.vote("A")  # the summary chart shows
cmp.judge(lambda prompt, a, b: {"winner": "tie", "rationale": "the same"})
cmp"""

CARD = "lw.ConnectionCard(client)"

# name: (cell, the widget's root, what must be on screen before axe runs)
WIDGETS = {
    "ChatCell, memory notice and error banner": (
        1,
        ".lw-chat",
        (
            ".lw-item--assistant_message",
            ".lw-memory-notice",
            ".lw-error-close",
            ".lw-item--user_message .lw-code-wrap",
            ".lw-show-more:not([hidden])",
        ),
    ),
    "ChatCell, a pending approval": (2, ".lw-chat", (".lw-approve", ".lw-deny-reason")),
    "ConversationBrowser, a conversation selected": (
        3,
        ".lw-browser",
        (
            ".lw-conv-row[aria-selected='true']",
            ".lw-stale .lw-recompile",
            ".lw-badge--stale",
            ".lw-messages .lw-item--assistant_message",
        ),
    ),
    "CompareView after a round, voted and judged": (
        4,
        ".lw-compare",
        (".lw-vote-btn", ".lw-diff", ".lw-judge", ".lw-chart svg"),
    ),
    "ConnectionCard": (5, ".lw-connection", (".lw-connection-card[data-status='ok']",)),
}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_violation(lab, page, theme: str, tmp_path) -> None:
    axe_script()  # npm install on first use, before the clock of the page starts
    started = time.monotonic()
    cells = [SETUP.replace("@TAG@", theme), CHAT, APPROVAL, BROWSER, COMPARE, CARD]
    cells[3] = cells[3].replace("@LINEAGE@", repr(str(tmp_path / "lineage.json")))
    write_notebook(lab.root / f"a11y_{theme}.ipynb", cells)
    page.set_viewport_size({"width": 1280, "height": 1200})
    open_notebook(page, lab, f"a11y_{theme}.ipynb")
    set_theme(page, theme)
    try:
        run_all_cells(page)
        wait_for_cells_done(page)
        found = {}
        for name, (index, root, ready) in WIDGETS.items():
            widget = cell(page, index).locator(root).first
            wait_for_widget(page, widget.locator(ready[0]).first, timeout=60)
            for selector in ready:
                expect(widget.locator(selector).first).to_be_visible(timeout=30_000)
            widget.scroll_into_view_if_needed()  # axe skips the contrast of text out of view
            violations, contrast = axe_run(page, widget)
            # axe's color-contrast skips text it counts as hidden: most text must be checked
            assert contrast["checked"] >= contrast["texts"] / 2, (name, contrast)
            found[name] = violations
        report = "\n".join(describe(v, f"[{theme}] {n}: ") for n, v in found.items() if v)
        print(f"\n[a11y] {theme}: axe on {len(found)} widgets, {time.monotonic() - started:.1f} s")
        if report:
            print(report)  # moderate and minor ones too, for the record
        bad = {n: serious(v) for n, v in found.items() if serious(v)}
        assert not bad, "serious or critical axe violations:\n" + "\n".join(
            describe(v, f"[{theme}] {n}: ") for n, v in bad.items()
        )
        assert page_problems(page) == []
    finally:
        set_theme(page, "light")


KEYBOARD_CELLS = [
    SETUP.replace("@TAG@", "keyboard"),
    """\
paced = lw.connect(default_headers={"X-Devserver-Token-Delay-Ms": "40"})
chat = lw.ChatCell(paced, agent_id=agent.id, height="200px")
chat""",
    """\
browser = ConversationBrowser(client, agent.id, lineage_path=@LINEAGE@, height="360px")
browser""",
    """\
cmp = CompareView(paced, [Variant(agent_id=agent.id), Variant(agent_id=agent.id)])
cmp""",
]

# The focused element, and whether it shows a focus ring: :focus-visible, with an outline or
# a box-shadow drawn.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { where: "body", ring: false, inside: "" };
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== "none";
  const root = el.closest(".lw-root");
  return {
    where: el.tagName.toLowerCase() + "." + [...el.classList].join("."),
    ring: el.matches(":focus-visible") && (outline || shadow),
    inside: root ? [...root.classList].join(".") : "",
  };
}"""

# Counts what changes during a turn: the live token areas (every flush) and the polite live
# regions of finished messages (once per message): [region index, text] per addition.
WATCH = """root => {
  const count = { tokens: 0, announced: [] };
  const all = { childList: true, characterData: true, subtree: true };
  for (const live of root.querySelectorAll(".lw-live-area")) {
    new MutationObserver((records) => { count.tokens += records.length; }).observe(live, all);
  }
  root.querySelectorAll(".lw-announce").forEach((region, i) => {
    new MutationObserver((records) => {
      const added = records.flatMap((r) => [...r.addedNodes]);
      for (const n of added) count.announced.push([i, n.textContent]);
    }).observe(region, all);
  });
  window.__lwCount = count;
}"""


def spoken(locator) -> str:  # type: ignore[no-untyped-def]
    """A card's text as the live region says it."""
    return " ".join(locator.inner_text().split())


def focused(page, inside: str) -> str:  # type: ignore[no-untyped-def]
    """The focused control's name; fails unless it is in the widget and shows a focus ring."""
    info = page.evaluate(FOCUS)
    assert inside in info["inside"].split("."), f"the focus left the widget: {info}"
    assert info["ring"], f"no visible focus ring on {info['where']}"
    return info["where"]


def tab(page, inside: str, key: str = "Tab") -> str:  # type: ignore[no-untyped-def]
    page.keyboard.press(key)
    return focused(page, inside)


def test_keyboard_only_and_each_answer_announced_once(lab, page, tmp_path) -> None:
    """ChatCell: type, Send (Tab, Space), Shift+Tab, Enter, Tab to Stop, Enter, Escape;
    ConversationBrowser: Tab to the list, Space and ArrowDown select; CompareView: a round
    and a vote. Every control reached shows its focus ring; each finished answer changes the
    polite live region once while the tokens changed the (hidden) live area many times."""
    started = time.monotonic()
    cells = [c.replace("@LINEAGE@", repr(str(tmp_path / "lineage.json"))) for c in KEYBOARD_CELLS]
    write_notebook(lab.root / "a11y_keyboard.ipynb", cells)
    open_notebook(page, lab, "a11y_keyboard.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)
    chat = cell(page, 1).locator(".lw-chat")
    wait_for_widget(page, chat.locator(".lw-input"), timeout=60)
    browser = cell(page, 2).locator(".lw-browser")
    wait_for_widget(page, browser.locator(".lw-conv-row").first, timeout=60)

    # ChatCell. The prompt box is where the keyboard enters (Tab from the notebook would go
    # into the next cell's editor first): type, Tab to Send, Space sends.
    chat.locator(".lw-input").focus()
    assert "lw-input" in focused(page, "lw-chat")
    chat.evaluate(WATCH)
    page.keyboard.type("hi, what can you do?")
    assert "lw-send" in tab(page, "lw-chat")
    page.keyboard.press("Space")
    expect(chat).to_have_attribute("data-status", "streaming", timeout=30_000)
    expect(chat).to_have_attribute("data-status", "done", timeout=60_000)
    count = page.evaluate("() => window.__lwCount")
    answers = chat.locator(".lw-item--assistant_message .lw-msg__body")
    expect(answers).to_have_count(1)
    assert count["tokens"] > 5, f"the answer did not stream: {count}"
    # the polite region changed once, for the one finished message, with its whole text
    assert count["announced"] == [[0, f"Assistant: {spoken(answers.first)}"]], count
    assert chat.locator(".lw-announce").get_attribute("aria-live") == "polite"
    assert chat.locator(".lw-live-area").get_attribute("aria-hidden") == "true"
    assert chat.locator(".lw-status").get_attribute("role") == "status"
    # Send turned off while the turn ran without losing the focus
    assert "lw-send" in focused(page, "lw-chat")

    # Shift+Tab back to the box, a slow answer sent with Enter, Tab Tab to Stop, Enter stops
    assert "lw-input" in tab(page, "lw-chat", "Shift+Tab")
    page.keyboard.type("tell me a slow story")
    page.keyboard.press("Enter")
    expect(chat).to_have_attribute("data-status", "streaming", timeout=30_000)
    assert "lw-send" in tab(page, "lw-chat")
    assert "lw-stop" in tab(page, "lw-chat")
    expect(chat.locator(".lw-stop")).not_to_have_attribute("aria-disabled", "true")
    page.keyboard.press("Enter")
    expect(chat).to_have_attribute("data-status", "stopped", timeout=30_000)
    assert "lw-stop" in focused(page, "lw-chat")  # Stop turned off, the focus stayed
    # Shift+Tab walks back through the composer and the bar above it to Regenerate, every
    # control ringed
    walked = []
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        walked.append(focused(page, "lw-chat"))
        if "lw-regenerate" in walked[-1]:
            break
    for want in ("lw-send", "lw-input", "lw-image-button", "lw-export-html", "lw-export-md"):
        assert any(want in w for w in walked), (want, walked)
    assert "lw-regenerate" in walked[-1], walked
    # Escape gives the keys back to the notebook (its cell has the focus)
    page.keyboard.press("Escape")
    assert page.evaluate(
        "() => !document.activeElement.closest('.lw-root')"
        " && !!document.activeElement.closest('.jp-Cell')"
    )

    # ConversationBrowser: from its first control, Tab through the toolbar and the list's
    # tools to the list; Space selects the first conversation, ArrowDown the next.
    browser.locator(".lw-change-agent").focus()
    reached = [tab(page, "lw-browser") for _ in range(6)]
    assert "lw-conv-list" in reached[-1], reached
    for want in ("lw-new", "lw-refresh", "lw-conv-search", "lw-archive-filter", "lw-msg-search"):
        assert any(want in r for r in reached), (want, reached)
    page.keyboard.press("Space")
    row = browser.locator(".lw-conv-row[aria-selected='true']")
    expect(row).to_have_count(1, timeout=15_000)
    first = row.get_attribute("data-id")
    expect(browser).to_have_attribute("data-selected", first)
    listbox = browser.locator(".lw-conv-list")
    expect(listbox).to_have_attribute("aria-activedescendant", row.get_attribute("id"))
    page.keyboard.press("ArrowDown")
    expect(browser.locator(".lw-conv-row[aria-selected='true']")).not_to_have_attribute(
        "data-id", first, timeout=15_000
    )
    second = browser.locator(".lw-conv-row[aria-selected='true']")
    expect(listbox).to_have_attribute("aria-activedescendant", second.get_attribute("id"))
    expect(browser).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    assert "lw-conv-list" in focused(page, "lw-browser")
    # on into the selected conversation: its header's buttons and the messages, all ringed
    onward = [tab(page, "lw-browser") for _ in range(4)]
    onward.append(tab(page, "lw-browser"))
    assert any("lw-open-chat" in r for r in onward), onward
    page.keyboard.press("Escape")
    assert page.evaluate("() => !document.activeElement.closest('.lw-root')")

    # CompareView: a round sent from the keyboard; each column says its answer once; a vote
    # by keyboard keeps the focus on the (redrawn) vote button
    compare = cell(page, 3).locator(".lw-compare")
    compare.locator(".lw-input").focus()
    compare.evaluate(WATCH)
    page.keyboard.type("hello")
    assert "lw-send" in tab(page, "lw-compare")
    page.keyboard.press("Enter")
    expect(compare).to_have_attribute("data-status", "streaming", timeout=30_000)
    expect(compare).to_have_attribute("data-status", "done", timeout=60_000)
    count = page.evaluate("() => window.__lwCount")
    assert count["tokens"] > 5, f"the answers did not stream: {count}"
    said = []
    for i, label in enumerate(("A", "B")):
        body = compare.locator(f".lw-col[data-col='{i}'] .lw-item--assistant_message .lw-msg__body")
        said.append([i, f"{label}, Assistant: {spoken(body)}"])
    assert sorted(count["announced"]) == said, count
    expect(compare.locator(".lw-vote-btn").first).to_be_visible()
    reached = [tab(page, "lw-compare", "Shift+Tab") for _ in range(5)]
    assert "lw-vote-btn" in reached[-1], reached
    assert compare.locator(".lw-vote-btn[data-choice='B']").evaluate(
        "el => el === document.activeElement"
    ), reached
    page.keyboard.press("Enter")
    expect(compare.locator(".lw-vote-btn[data-choice='B']")).to_have_attribute(
        "aria-pressed", "true", timeout=15_000
    )
    assert "lw-vote-btn" in focused(page, "lw-compare")
    assert compare.locator(".lw-vote-btn[data-choice='B']").evaluate(
        "el => el === document.activeElement"
    )
    assert page_problems(page) == []
    print(f"\n[a11y] keyboard test {time.monotonic() - started:.1f} s")
