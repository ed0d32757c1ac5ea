"""Error banners and notices stay readable in JupyterLab's light and dark themes.

Every widget's error banner (ChatCell, ConversationBrowser, CompareView), CompareView's
column error and notice and the connection card's error are measured in Chromium: the WCAG
contrast ratio of their text against their background must be at least 4.5:1.
"""

from __future__ import annotations

import pytest
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

CELLS = [
    """\
import letta_widgets as lw
from letta_widgets.widgets.browser import ConversationBrowser
from letta_widgets.widgets.compare import CompareView, Variant
client = lw.connect()
agent = client.agents.create(name="contrast", model="openai/gpt-4o-mini",
                             embedding="openai/text-embedding-3-small")
oops = lw.LettaWidgetsError("the server said no (409: busy)", "wait and send again")
chat = lw.ChatCell(client, agent_id=agent.id, height="120px")
chat.show_error(oops)
chat""",
    """\
browser = ConversationBrowser(client, agent.id)
browser.show_error(oops)
browser""",
    """\
cmp = CompareView(client, [Variant(agent_id=agent.id),
                           Variant(agent_id=agent.id, headers={"X-Devserver-Fault": "status=500"})])
cmp.send("hello")
cmp.show_error(oops)
cmp""",
    "lw.ConnectionCard(lw.connect('http://127.0.0.1:9'))",
]

# The WCAG 2 contrast ratio of an element's text colour against the first opaque background
# behind it; colours of any CSS syntax (color-mix(), color(srgb …)) are read back through a
# canvas, which paints them in sRGB.
CONTRAST = """el => {
  const ctx = document.createElement("canvas").getContext("2d");
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "#000"; ctx.fillStyle = css; ctx.fillRect(0, 0, 1, 1);
    return Array.from(ctx.getImageData(0, 0, 1, 1).data);
  };
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let node = el; node && !bg; node = node.parentElement) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c[3] === 255) bg = c;
    else if (c[3] > 0) {  // a translucent tint: blend it over what is behind it
      let under = [255, 255, 255];
      for (let up = node.parentElement; up; up = up.parentElement) {
        const u = rgba(getComputedStyle(up).backgroundColor);
        if (u[3] === 255) { under = u; break; }
      }
      const a = c[3] / 255;
      bg = [0, 1, 2].map((i) => Math.round(c[i] * a + under[i] * (1 - a))).concat(255);
    }
  }
  bg = bg || rgba(getComputedStyle(document.body).backgroundColor);
  const fg = rgba(getComputedStyle(el).color);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""

SELECTORS = {
    "chat banner": (0, ".lw-chat > .lw-error .lw-error-text"),
    "browser banner": (1, ".lw-browser .lw-error .lw-error-text"),
    "compare banner": (2, ".lw-compare > .lw-error .lw-error-text"),
    "compare column error": (2, ".lw-col-error:not([hidden])"),
    "connection card error": (3, ".lw-connection-error"),
}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_error_banners_are_readable(lab, page, theme: str) -> None:
    write_notebook(lab.root / f"contrast_{theme}.ipynb", CELLS)
    open_notebook(page, lab, f"contrast_{theme}.ipynb")
    set_theme(page, theme)
    try:
        run_all_cells(page)
        wait_for_cells_done(page)
        ratios = {}
        for name, (index, selector) in SELECTORS.items():
            node = cell(page, index).locator(selector).first
            wait_for_widget(page, node, timeout=60)
            expect(node).to_be_visible(timeout=30_000)
            expect(node).not_to_have_text("", timeout=30_000)
            ratios[name] = node.evaluate(CONTRAST)
        low = {k: round(v, 2) for k, v in ratios.items() if v < 4.5}
        assert not low, f"{theme}: text/background contrast below 4.5:1: {low}"
        unexpected = [
            p for p in page_problems(page) if not p.startswith("connection card in error")
        ]
        assert unexpected == []  # (the card's error is what this test shows on purpose)
    finally:
        set_theme(page, "light")
