"""Browser fixtures shared by the browser and static tiers (imported by their conftests).

``page`` aborts every request that is not to loopback (recorded in ``page.blocked_requests``)
and, when the test fails, saves a screenshot and the console log under ``artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from jlab import NON_LOOPBACK, launch_chromium

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``artifacts/`` at the repo root (or ``$LETTA_WIDGETS_ARTIFACTS``): failure evidence."""
    path = Path(os.environ.get("LETTA_WIDGETS_ARTIFACTS", REPO / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


_SHARED: dict[str, object] = {"users": 0}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium (never `playwright install`); a missing binary fails, not skips.

    One Playwright and one Chromium per process: the browser and static conftests each
    register this fixture, and a second sync Playwright would refuse to start.
    """
    from playwright.sync_api import sync_playwright

    if not _SHARED["users"]:
        pw = sync_playwright().start()
        try:
            _SHARED["browser"] = launch_chromium(pw)
        except BaseException:
            pw.stop()
            raise
        _SHARED["playwright"] = pw
    _SHARED["users"] += 1  # type: ignore[operator]
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1  # type: ignore[operator]
        if not _SHARED["users"]:
            _SHARED.pop("browser").close()  # type: ignore[attr-defined]
            _SHARED.pop("playwright").stop()  # type: ignore[attr-defined]


@pytest.fixture
def page(browser, request, artifacts_dir):  # type: ignore[no-untyped-def]
    """A fresh context + page; non-loopback requests aborted; evidence saved on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    console: list[str] = []
    blocked: list[str] = []

    def abort(route):  # type: ignore[no-untyped-def]
        blocked.append(route.request.url)
        route.abort()

    context.route(NON_LOOPBACK, abort)
    pg = context.new_page()
    pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    pg.blocked_requests = blocked
    pg.console_log = console
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(artifacts_dir / f"FAILED-{stem}.png"), full_page=True)
        (artifacts_dir / f"FAILED-{stem}.console.txt").write_text(
            "\n".join(console + [f"blocked: {u}" for u in blocked])
        )
    context.close()
