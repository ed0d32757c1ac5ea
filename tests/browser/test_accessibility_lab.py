"""Every widget passes axe-core in JupyterLab, light and dark, and works from the keyboard.

axe-core (``make browser-deps`` puts ``axe.min.js`` in ``.venv/share/letta-widgets-axe/``)
runs on each widget's root only (JupyterLab's own chrome is not ours): no violation of
impact ``serious`` or ``critical``, colour contrast included. The widgets are in the states a
user meets: ChatCell after a turn with a pending approval, with an error banner and with a
long message folded; the browser with a conversation selected; CompareView after a round;
the connection card in error. A failure prints each violation's rule, impact, help and the
offending nodes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from jlab import (
    cell,
    open_notebook,
    run_all_cells,
    set_theme,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE = Path(sys.prefix) / "share" / "letta-widgets-axe" / "axe.min.js"

CELLS = [
    """\
import letta_widgets as lw
from letta_widgets.widgets.browser import ConversationBrowser
from letta_widgets.widgets.compare import CompareView, Variant
client = lw.connect()
agent = client.agents.create(name="a11y", model="openai/gpt-4o-mini",
                             embedding="openai/text-embedding-3-small")
chat = lw.ChatCell(client, agent_id=agent.id, height="260px")
chat.send("My name is Grace.\\n\\n```python\\nprint('hi')\\n```")
chat.send("Send an email to bob@example.com about the report")
chat""",
    """\
oops = lw.ChatCell(client, agent_id=agent.id, height="120px")
oops.send("\\n".join(f"line {n}" for n in range(60)))
oops.show_error(lw.LettaWidgetsError("the server said no (409: busy)", "wait and send again"))
oops""",
    """\
browser = ConversationBrowser(client, agent.id)
browser.select(chat.conversation_id)
browser""",
    """\
cmp = CompareView(client, [Variant(agent_id=agent.id),
                           Variant(agent_id=agent.id, model="openai/gpt-4o")])
cmp.send("hello")
cmp.vote("A")  # the summary chart shows
cmp.judge(lambda prompt, a, b: {"winner": "tie", "rationale": "the same"})
cmp""",
    "lw.ConnectionCard(lw.connect('http://127.0.0.1:9'))",
]
ROOTS = {"chat": 0, "chat with an error": 1, "browser": 2, "compare": 3, "connection card": 4}

RUN_AXE = """async (el) => {
  const result = await axe.run(el, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5)
      .map((n) => n.target.join(" ") + " :: " + n.html.slice(0, 160)) }));
}"""


@pytest.fixture
def widgets(lab, page):  # type: ignore[no-untyped-def]
    """A notebook with every widget in the state above, run in JupyterLab, axe injected."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make browser-deps`")
    write_notebook(lab.root / "a11y.ipynb", CELLS)
    open_notebook(page, lab, "a11y.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)
    for index in ROOTS.values():
        wait_for_widget(
            page, cell(page, index).locator(".lw-root, .lw-connection").first, timeout=60
        )
    expect(cell(page, 0).locator(".lw-approve")).to_be_visible(timeout=30_000)
    expect(cell(page, 2).locator(".lw-pages .lw-item").first).to_be_visible(timeout=30_000)
    page.add_script_tag(path=str(AXE))
    return page


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_violation(widgets, theme: str) -> None:
    page = widgets
    set_theme(page, theme)
    try:
        found = {}
        for name, index in ROOTS.items():
            root = cell(page, index).locator(".lw-root, .lw-connection").first
            violations = root.evaluate(RUN_AXE)
            if violations:
                found[name] = violations
        report = "\n".join(
            f"{name}: {v['impact']} {v['id']}: {v['help']}\n      " + "\n      ".join(v["nodes"])
            for name, vs in found.items()
            for v in vs
        )
        assert not found, f"axe ({theme}):\n{report}"
    finally:
        set_theme(page, "light")


FOCUS_SHOWN = """el => {
  const s = getComputedStyle(el);
  return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
}"""


def test_the_chat_works_from_the_keyboard(widgets) -> None:
    """Tab reaches the chat's controls with a visible focus ring; Enter sends; Escape leaves."""
    page = widgets
    root = cell(page, 0).locator(".lw-chat")
    # the pending approval is answered from the keyboard
    approve = root.locator(".lw-approve")
    approve.focus()
    assert approve.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")
    expect(root.locator(".lw-approve")).to_have_count(0, timeout=30_000)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    box = root.locator(".lw-input")
    box.focus()
    box.type("What is my name?")
    page.keyboard.press("Enter")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    expect(root.locator(".lw-items")).to_contain_text("Your name is Grace")
    # Shift+Tab walks back from the prompt through the composer and the chat's controls
    reached = []
    box.focus()
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate_handle("document.activeElement")
        inside = root.evaluate("(el, f) => el.contains(f)", focused)
        if not inside:
            break
        name = focused.evaluate("el => el.getAttribute('aria-label') || el.textContent.trim()")
        assert focused.evaluate(FOCUS_SHOWN), f"no visible focus on {name!r}"
        reached.append(name)
    assert any("Export" in n for n in reached), reached
    assert "Regenerate" in reached, reached


WATCH = """el => {
  const region = el.querySelector(".lw-announce");
  window.__lwAnnounced = [];
  new MutationObserver(() => window.__lwAnnounced.push(region.textContent))
    .observe(region, { childList: true, characterData: true, subtree: true });
  return region.getAttribute("aria-live");
}"""


def test_a_streamed_answer_is_announced_once(widgets) -> None:
    """The streaming text is not a live region; the finished answer goes to the polite one
    once (not per token)."""
    page = widgets
    root = cell(page, 1).locator(".lw-chat")
    assert root.evaluate(WATCH) == "polite"
    assert root.locator(".lw-live-area").get_attribute("aria-live") is None
    box = root.locator(".lw-input")
    box.focus()
    box.type("Tell me a long story about the sea.")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__lwAnnounced.length > 0", timeout=30_000)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    page.wait_for_timeout(500)  # anything said late would be counted too
    announced = page.evaluate("() => window.__lwAnnounced")
    assert len(announced) == 1, announced
    assert announced[0].startswith("Agent: ") and "sea" in announced[0]
