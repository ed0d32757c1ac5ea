"""Saved widget state renders without a kernel: nbclient -> nbconvert HTML -> Chromium.

The page and its JS are served by ``static_site`` (tests/browser/static_site.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jlab import wait_for_widget
from nbrun import anywidget_states, execute
from playwright.sync_api import expect
from static_site import static_site as serve_static

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def executed_quickstart(seeded_devserver):  # type: ignore[no-untyped-def]
    return execute(REPO / "notebooks" / "quickstart.ipynb", seeded_devserver.base_url)


@pytest.fixture
def static_site(executed_quickstart, tmp_path: Path) -> Iterator[str]:
    """The executed notebook as nbconvert HTML plus its JS, served on 127.0.0.1."""
    with serve_static(executed_quickstart, tmp_path) as url:
        yield url


def test_saved_widget_state_renders_without_kernel(
    static_site, executed_quickstart, page, artifacts_dir
):
    cards = [s for s in anywidget_states(executed_quickstart) if s["url"]]
    assert len(cards) == 1, "quickstart should show one connection card"
    saved = cards[0]
    page.goto(f"{static_site}/index.html")
    card = page.locator(".lw-connection-card")
    wait_for_widget(page, card)
    expect(card).to_have_attribute("data-status", "ok", timeout=30_000)
    expect(card.locator(".lw-connection-url")).to_have_text(saved["url"])
    expect(card.locator(".lw-connection-agents")).to_have_text(str(saved["agents"]))
    expect(card.locator(".lw-connection-conversations")).to_have_text(str(saved["conversations"]))
    expect(card.locator(".lw-connection-version")).to_have_text(saved["server_version"])
    expect(card.locator(".lw-connection-rtt")).to_have_text(f"{saved['rtt_ms']:.1f} ms")
    page.screenshot(path=str(artifacts_dir / "static-quickstart.png"), full_page=True)
    assert page.blocked_requests == [], f"requests left loopback: {page.blocked_requests}"
