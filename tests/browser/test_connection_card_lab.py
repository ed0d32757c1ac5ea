"""The connection card in a real JupyterLab (and Notebook 7), driven in Chromium."""

from __future__ import annotations

import re

import pytest
from jlab import (
    add_cell_and_run,
    cell,
    free_loopback_port,
    open_notebook,
    output_text,
    page_problems,
    run_all_cells,
    run_cell,
    set_theme,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from playwright.sync_api import expect

import letta_widgets as lw

pytestmark = pytest.mark.browser

CARD_CELL = "import letta_widgets as lw\ncard = lw.ConnectionCard(lw.connect({url}))\ncard"
PROBE_CELL = 'print(f"CHECKS={card.checks} STATUS={card.status}")'


def counts(base_url: str) -> tuple[int, int]:
    client = lw.connect(base_url, max_retries=0)
    return len(list(client.agents.list())), len(client.conversations.list(limit=1000))


def test_card_renders_and_refresh_reaches_kernel(lab, page, seeded_devserver):
    write_notebook(lab.root / "card_ok.ipynb", [CARD_CELL.format(url=""), PROBE_CELL])
    n_agents, n_convs = counts(seeded_devserver.base_url)
    open_notebook(page, lab, "card_ok.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)

    card = cell(page, 0).locator(".lw-connection-card")
    wait_for_widget(page, card)
    expect(card).to_have_attribute("data-status", "ok", timeout=30_000)
    # The kernel got LETTA_BASE_URL from the Lab's environment: the seeded devserver.
    expect(card.locator(".lw-connection-url")).to_have_text(seeded_devserver.base_url)
    expect(card.locator(".lw-connection-agents")).to_have_text(str(n_agents))
    expect(card.locator(".lw-connection-conversations")).to_have_text(str(n_convs))
    expect(card.locator(".lw-connection-version")).not_to_have_text("—")
    expect(card.locator(".lw-connection-rtt")).to_have_text(re.compile(r"^\d+\.\d ms$"))
    expect(card.locator(".lw-connection-error")).to_be_hidden()
    assert "CHECKS=1 STATUS=ok" in output_text(page, 1)

    # Click -> custom message -> Python re-checks -> traits update the DOM.
    card.locator(".lw-connection-refresh").click()
    expect(card).to_have_attribute("data-checks", "2", timeout=30_000)
    expect(card).to_have_attribute("data-status", "ok")
    card.locator(".lw-connection-refresh").click()
    expect(card).to_have_attribute("data-checks", "3", timeout=30_000)
    # The kernel saw both clicks.
    run_cell(page, 1)
    expect(cell(page, 1).locator(".jp-OutputArea-output")).to_have_text(
        re.compile(r"CHECKS=3 STATUS=ok"), timeout=30_000
    )
    # Kernel -> browser: a refresh started from Python shows up too.
    add_cell_and_run(page, "card.refresh()")
    expect(card).to_have_attribute("data-checks", "4", timeout=30_000)
    assert page_problems(page) == []
    assert page.blocked_requests == []


def test_card_shows_error_when_server_is_down(lab, page):
    down = f"http://127.0.0.1:{free_loopback_port()}"
    write_notebook(lab.root / "card_down.ipynb", [CARD_CELL.format(url=repr(down)), PROBE_CELL])
    open_notebook(page, lab, "card_down.ipynb")
    run_all_cells(page)
    wait_for_cells_done(page)

    card = cell(page, 0).locator(".lw-connection-card")
    wait_for_widget(page, card)
    expect(card).to_have_attribute("data-status", "error", timeout=30_000)
    expect(card.locator(".lw-connection-status")).to_have_text("unreachable")
    error = card.locator(".lw-connection-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(f"no Letta server at {down}")
    expect(error).to_contain_text("letta-devserver")
    expect(card.locator(".lw-connection-url")).to_have_text(down)
    assert "STATUS=error" in output_text(page, 1)
    # Refresh still works (the widget stays usable) and still reports the error.
    card.locator(".lw-connection-refresh").click()
    expect(card).to_have_attribute("data-checks", "2", timeout=30_000)
    expect(card).to_have_attribute("data-status", "error")


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_card_follows_dark_theme(lab, page):
    write_notebook(lab.root / "card_dark.ipynb", [CARD_CELL.format(url="")])
    open_notebook(page, lab, "card_dark.ipynb")
    set_theme(page, "dark")
    try:
        run_all_cells(page)
        card = cell(page, 0).locator(".lw-connection-card")
        wait_for_widget(page, card)
        expect(card).to_have_attribute("data-status", "ok", timeout=30_000)
        bg = card.evaluate("el => getComputedStyle(el).backgroundColor")
        fg = card.locator(".lw-connection-url").evaluate("el => getComputedStyle(el).color")
        assert _luminance(bg) < 0.35, f"card background {bg} is not dark in the dark theme"
        assert _luminance(fg) > 0.6, f"card text {fg} is not light in the dark theme"
    finally:
        set_theme(page, "light")
    bg = card.evaluate("el => getComputedStyle(el).backgroundColor")
    assert _luminance(bg) > 0.8, f"card background {bg} is not light in the light theme"


def test_quickstart_in_notebook7(nb7, page, seeded_devserver):
    open_notebook(page, nb7, "quickstart.ipynb")
    run_all_cells(page, kind="notebook")
    wait_for_cells_done(page)
    card = page.locator(".lw-connection-card")
    wait_for_widget(page, card)
    expect(card).to_have_attribute("data-status", "ok", timeout=30_000)
    expect(card.locator(".lw-connection-url")).to_have_text(seeded_devserver.base_url)
    assert page_problems(page) == []
    assert page.blocked_requests == []
