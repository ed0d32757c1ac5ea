"""A notebook as nbconvert's HTML, with the widget JS beside it, served on 127.0.0.1.

The page loads require.js, @jupyter-widgets/html-manager's embed-amd.js and anywidget's AMD
bundle from next to itself (``scripts/install-browser-deps.sh`` fetches the first two), so
no request leaves loopback (browser-check pitfalls 11-12).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

EMBED_JS = Path(sys.prefix) / "share" / "letta-widgets-static-embed"
ANYWIDGET_AMD = Path(sys.prefix) / "share" / "jupyter" / "nbextensions" / "anywidget" / "index.js"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_site(nb: nbformat.NotebookNode, folder: Path) -> Iterator[str]:
    """Write ``nb`` as ``folder/index.html`` and serve ``folder``; yields the base URL."""
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
    body, _ = exporter.from_notebook_node(nb)
    (folder / "index.html").write_text(body)
    shutil.copy(EMBED_JS / "require.js", folder / "require.js")
    shutil.copy(EMBED_JS / "embed-amd.js", folder / "embed-amd.js")
    # html-manager tries require(["anywidget"]) -> ./anywidget.js before its CDN fallback.
    shutil.copy(ANYWIDGET_AMD, folder / "anywidget.js")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
