"""Saved widget state renders without a kernel: nbclient -> nbconvert HTML -> Chromium.

The page loads require.js, @jupyter-widgets/html-manager's embed-amd.js and anywidget's AMD
bundle from next to itself (``scripts/install-browser-deps.sh`` fetches the first two), so
no request leaves loopback (browser-check pitfalls 11-12).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from jlab import wait_for_widget
from nbrun import anywidget_states, execute
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
EMBED_JS = Path(sys.prefix) / "share" / "letta-widgets-static-embed"
ANYWIDGET_AMD = Path(sys.prefix) / "share" / "jupyter" / "nbextensions" / "anywidget" / "index.js"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def executed_quickstart(seeded_devserver):  # type: ignore[no-untyped-def]
    return execute(REPO / "notebooks" / "quickstart.ipynb", seeded_devserver.base_url)


@pytest.fixture
def static_site(executed_quickstart, tmp_path: Path) -> Iterator[str]:
    """The executed notebook as nbconvert HTML plus its JS, served on 127.0.0.1."""
    missing = [p for p in (EMBED_JS / "embed-amd.js", EMBED_JS / "require.js") if not p.is_file()]
    if missing:
        pytest.fail(f"missing {missing}: run `make browser-deps`")
    assert ANYWIDGET_AMD.is_file(), f"anywidget's AMD bundle is missing: {ANYWIDGET_AMD}"
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        require_js_url="require.js",
        widget_renderer_url="embed-amd.js",
        mathjax_url="mathjax-not-used.js",  # the default is a CDN
    )
    body, _ = exporter.from_notebook_node(executed_quickstart)
    (tmp_path / "index.html").write_text(body)
    shutil.copy(EMBED_JS / "require.js", tmp_path / "require.js")
    shutil.copy(EMBED_JS / "embed-amd.js", tmp_path / "embed-amd.js")
    # html-manager tries require(["anywidget"]) -> ./anywidget.js before its CDN fallback.
    shutil.copy(ANYWIDGET_AMD, tmp_path / "anywidget.js")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
