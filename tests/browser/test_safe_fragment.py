"""The front-end's second scrub (``lwSafeFragment`` in common.js) in Chromium, on a blank page
(no JupyterLab): hostile HTML that got past Python is left inert, and an image shows only
from inline data of an accepted kind."""

from __future__ import annotations

import re

import pytest

from letta_widgets.widgets.base import bundle

pytestmark = pytest.mark.browser

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
HOSTILE = [
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+">',
    "<img src=\"data:image/svg+xml,<svg onload='window.__pwned=1'>\">",
    '<img src="javascript:window.__pwned=1">',
    '<img src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">',
    '<img src="https://tracker.example/pixel.gif">',
    '<img src="x" onerror="window.__pwned=1">',
    f'<img src="{PNG}" onerror="window.__pwned=1" onload="window.__pwned=2">',
    f'<img src="{PNG}" srcset="https://tracker.example/a.png 1x">',
    f'<a href="{PNG}">a data: link</a>',
    '<a href="javascript:window.__pwned=1">x</a>',
    '<table background="https://tracker.example/bg.png"><tr><td>x</td></tr></table>',
    '<a href="https://example.com/" ping="https://tracker.example/ping">x</a>',
    '<svg><image href="https://tracker.example/i.png"/></svg>',
    '<picture><source srcset="https://tracker.example/p.png"><img src="x"></picture>',
    '<video poster="https://tracker.example/v.png"></video><input type="image" src="x">',
]

SCRUB = """([src, cases]) => {
  const lwSafeFragment = new Function(src + "\\nreturn lwSafeFragment;")();
  return cases.map((html) => {
    const box = document.createElement("div");
    box.appendChild(lwSafeFragment(html));
    document.body.appendChild(box); // live: anything that loads would load now
    return box.innerHTML;
  });
}"""


def test_only_inline_image_data_survives_the_front_end_scrub(page) -> None:
    page.set_content("<!doctype html><html><body></body></html>")
    kept = page.evaluate(SCRUB, [bundle("common.js"), [f'<img src="{PNG}" alt="x">', *HOSTILE]])
    assert kept[0] == f'<img src="{PNG}" alt="x">'
    page.wait_for_function("() => document.images[0].complete && document.images[0].naturalWidth")
    for source, out in zip(HOSTILE, kept[1:], strict=True):
        assert not re.search(r"\son\w+=", out), (source, out)
        for value in re.findall(r'\s(?:src|srcset|background|ping|poster)="([^"]*)"', out):
            assert value == PNG, (source, out)
        assert not re.search(r'href="(?!https?:)', out), (source, out)
        assert "<svg" not in out and "<source" not in out and "<video" not in out, out
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    assert page.blocked_requests == []  # nothing tried to load from anywhere
