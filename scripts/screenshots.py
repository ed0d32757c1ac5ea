"""`make screenshots`: every notebook in JupyterLab, light and dark, run -> docs/images/*.png.

Starts a devserver (the demo data, seeded afresh for every screenshot) and one JupyterLab
(loopback, token, isolated dirs), opens each notebook under notebooks/ in Debian's
Chromium, runs all cells and writes
``docs/images/<notebook>-<theme>.png``. A screenshot that would show an error output, an
empty widget output, a widget in an error state or a dialog is not written: the script
saves it as ``artifacts/FAILED-<notebook>-<theme>.png`` and exits 1.

    .venv/bin/python scripts/screenshots.py [--only quickstart] [--themes light dark]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from jlab import (  # noqa: E402
    NON_LOOPBACK,
    NOTEBOOK,
    JupyterServer,
    launch_chromium,
    open_notebook,
    page_problems,
    run_all_cells,
    set_theme,
    start_jupyter,
    wait_for_cells_done,
    wait_for_widgets_rendered,
)
from letta_client import Letta  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from letta_devserver.process import DevServerProcess  # noqa: E402

IMAGES = REPO / "docs" / "images"
ARTIFACTS = REPO / "artifacts"
VIEWPORT = {"width": 1280, "height": 1000}
MAX_HEIGHT = 4000


def reseed(base_url: str) -> None:
    """Fresh demo data, so each screenshot shows what a new user sees (not what the
    notebooks shot before it created)."""
    client = Letta(base_url=base_url)
    client.post("/v1/_devserver/reset", cast_to=object)
    client.post("/v1/_devserver/seed", body={"name": "demo"}, cast_to=object)


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait for widget views to fill in and for the UI to stop moving."""
    wait_for_widgets_rendered(page)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.evaluate("() => window.jupyterapp.shell.collapseRight()")
    # No cursor or selection highlight: command mode, first cell, scrolled to the top.
    page.keyboard.press("Escape")
    page.locator(f"{NOTEBOOK} .jp-Cell").first.click(position={"x": 2, "y": 2})
    page.keyboard.press("Escape")
    page.locator(f"{NOTEBOOK}").evaluate("el => el.scrollTo(0, 0)")
    time.sleep(0.5)


def shoot(server: JupyterServer, browser, name: str, theme: str) -> tuple[Path, list[str]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    blocked: list[str] = []

    def abort(route):  # type: ignore[no-untyped-def]
        blocked.append(route.request.url)
        route.abort()

    context.route(NON_LOOPBACK, abort)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_notebook(page, server, f"{name}.ipynb")
        set_theme(page, theme)  # type: ignore[arg-type]
        run_all_cells(page)
        wait_for_cells_done(page, timeout=180_000)
        settle(page)
        problems = page_problems(page) + [f"request left loopback: {u}" for u in blocked]
        shot = IMAGES / f"{name}-{theme}.png"
        if problems:
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"FAILED-{name}-{theme}.png"
        # The whole notebook: grow the window to its height, then clip below the last cell.
        height = VIEWPORT["height"]
        for _ in range(4):  # windowed notebooks refine their height estimate as they render
            needed = page.evaluate(
                """() => {
                  const nb = window.jupyterapp.shell.currentWidget.content.node;
                  const outer = nb.querySelector('.jp-WindowedPanel-outer') || nb;
                  return outer.getBoundingClientRect().top + outer.scrollHeight + 60;
                }"""
            )
            want = int(min(MAX_HEIGHT, max(VIEWPORT["height"], needed)))
            if want <= height:
                break
            height = want
            page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
            page.wait_for_timeout(700)
        bottom = page.locator(f"{NOTEBOOK} .jp-Cell").last.evaluate(
            "el => el.getBoundingClientRect().bottom"
        )
        clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": min(height, int(bottom) + 24)}
        page.screenshot(path=str(shot), clip=clip)
        return shot, problems
    finally:
        context.close()
        server.shutdown_kernels()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="notebook stems (default: all)")
    ap.add_argument("--themes", nargs="*", default=["light", "dark"], choices=["light", "dark"])
    args = ap.parse_args(argv)
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.stem in args.only]
    if not notebooks:
        print("no notebooks to shoot", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    failures = 0
    t0 = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="lw-shots-") as tmp,
        DevServerProcess(["--memory", "--seed", "demo"]) as devserver,
    ):
        root, state = Path(tmp) / "root", Path(tmp) / "state"
        root.mkdir()
        for nb in notebooks:
            shutil.copy(nb, root / nb.name)
        server = start_jupyter("lab", root, state, env={"LETTA_BASE_URL": devserver.base_url})
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                try:
                    for nb in notebooks:
                        for theme in args.themes:
                            try:
                                reseed(devserver.base_url)
                                shot, problems = shoot(server, browser, nb.stem, theme)
                            except Exception as exc:  # a hung notebook must not stop the rest
                                shot, problems = Path("-"), [f"{type(exc).__name__}: {exc}"]
                            if problems:
                                failures += 1
                                print(f"FAILED {nb.stem} ({theme}) -> {shot}")
                                for problem in problems:
                                    print(f"  - {problem}")
                            else:
                                print(f"wrote {shot.relative_to(REPO)}")
                finally:
                    browser.close()
        finally:
            server.stop()
    print(f"{len(notebooks) * len(args.themes)} screenshots in {time.monotonic() - t0:.0f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
