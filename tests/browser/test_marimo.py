"""The widgets in marimo: ``notebooks/marimo_tour.py`` in ``marimo edit --headless``, in Chromium.

One marimo server for the module, on a copy of the tour in a temporary directory (marimo
must not write next to the repository's notebooks), with a marimo config of its own (cells
run on open, no autosave, no update check) and its own seeded devserver: the tour adds a
conversation and two forks to the demo agent, which other tests read as seeded. The page
refuses every request that is not to loopback (``pw_fixtures.page``).

``marimo edit`` by default, how a notebook is worked on (its kernel is a process of its own,
as in Jupyter). ``LETTA_WIDGETS_MARIMO_MODE=run`` serves the tour as an app instead
(``marimo run``: the kernel is a thread of the server process); the same test passes there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import letta_client
import pytest
from jlab import free_loopback_port, stop_by_pid
from letta_client import Letta
from playwright.sync_api import Page, expect
from pw_fixtures import REPO

import letta_widgets as lw
from letta_devserver.process import DevServerProcess

pytestmark = pytest.mark.browser

MARIMO = [sys.executable, "-m", "marimo"]
CONFIG = """\
[runtime]
auto_instantiate = true

[save]
autosave = "off"

[completion]
activate_on_typing = false
"""
"""A user config for the test's marimo: run the cells on open (marimo's default is to wait
for a click), never write the notebook, no completion requests while typing."""
START_TIMEOUT = float(os.environ.get("LETTA_WIDGETS_MARIMO_TIMEOUT", "90"))
MODE = os.environ.get("LETTA_WIDGETS_MARIMO_MODE", "edit")


@dataclass
class MarimoServer:
    """A ``marimo edit`` server on one notebook, and the devserver it talks to."""

    url: str
    notebook: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    devserver: DevServerProcess
    startup_seconds: float


@pytest.fixture(scope="module")
def marimo(tmp_path_factory, artifacts_dir) -> Iterator[MarimoServer]:  # type: ignore[no-untyped-def]
    """``marimo edit --headless`` on a copy of the tour, on a free loopback port, stopped by
    PID (its kernel process too)."""
    root = tmp_path_factory.mktemp("marimo")
    notebook = root / "marimo_tour.py"
    shutil.copy(REPO / "notebooks" / "marimo_tour.py", notebook)
    (root / "xdg-config" / "marimo").mkdir(parents=True)
    (root / "xdg-config" / "marimo" / "marimo.toml").write_text(CONFIG)
    dev_log = artifacts_dir / "devserver-marimo.log"
    dev_log.unlink(missing_ok=True)
    with DevServerProcess(["--memory", "--seed", "demo"], log_path=str(dev_log)) as dev:
        port = free_loopback_port()
        env = {
            **os.environ,
            "LETTA_BASE_URL": dev.base_url,
            "XDG_CONFIG_HOME": str(root / "xdg-config"),
            "XDG_STATE_HOME": str(root / "xdg-state"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
            "PYTHONUNBUFFERED": "1",
            "MARIMO_SKIP_UPDATE_CHECK": "1",  # no request to marimo.io for the latest version
        }
        if MODE not in ("edit", "run"):
            raise pytest.UsageError(f"LETTA_WIDGETS_MARIMO_MODE={MODE!r}: use edit or run")
        cmd = [
            *MARIMO,
            MODE,
            "--headless",
            "--no-token",
            *(["--skip-update-check"] if MODE == "edit" else []),
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            notebook.name,
        ]
        log_path = artifacts_dir / "marimo.log"
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(proc, url, log_path)
            server = MarimoServer(url, notebook, proc, log_path, dev, time.monotonic() - t0)
            print(f"\n[marimo] pid {proc.pid} on {url} up in {server.startup_seconds:.1f}s")
            yield server
        finally:
            stop_by_pid(proc)
    # the copy was opened, never written (autosave off, nothing edited)
    assert notebook.read_bytes() == (REPO / "notebooks" / "marimo_tour.py").read_bytes()


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/health", timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"marimo did not start on {url}:\n{tail}")


def show_state(page: Page, *expected: str | re.Pattern[str]) -> str:
    """Press the tour's "Show the results" button (re-runs the cell that reads the widgets
    in Python) and wait until its output says each of ``expected``."""
    page.get_by_role("button", name="Show the results").click()
    out = page.locator(".lw-tour-state")
    for text in expected:
        expect(out).to_contain_text(text, timeout=30_000)
    return out.inner_text()


def outside_connections(pid: int) -> list[str]:
    """The internet connections of a process and its children: remote ends not on loopback."""
    import psutil

    proc = psutil.Process(pid)
    found = []
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            for conn in p.net_connections(kind="inet"):
                if conn.raddr and conn.raddr.ip not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
                    found.append(f"{p.name()} {p.pid} -> {conn.raddr.ip}:{conn.raddr.port}")
    return found


def has_active_run(sdk: Letta, conversation_id: str) -> bool:
    """Whether the server still runs something on the conversation (cancel says 409 if not)."""
    try:
        sdk.conversations.cancel(conversation_id)
    except letta_client.ConflictError:
        return False
    return True


def test_marimo_tour_chat_stop_browse_older_compare_vote(
    marimo: MarimoServer, page: Page, shots_dir: Path, images, tmp_path: Path
):
    """The tour in marimo: a ChatCell streams a turn, sends an attached image and stops a slow
    turn, lw.ask's cell streams on its own, the browser selects a long conversation (a cell
    follows the selection) and loads older pages, CompareView runs a prompt and takes a vote;
    each checked in the DOM, in the marimo kernel (a cell that reads the widgets) and on the
    server (through the SDK)."""
    sdk = Letta(base_url=marimo.devserver.base_url, max_retries=0)
    t0 = time.monotonic()
    page.goto(f"{marimo.url}/")
    cells = page.locator(".lw-chat")
    expect(cells).to_have_count(2, timeout=90_000)  # the kernel ran every cell
    chat, asked = cells.nth(0), cells.nth(1)
    expect(chat).to_have_attribute("data-status", "idle", timeout=60_000)
    print(f"[marimo] widgets shown {time.monotonic() - t0:.1f}s after opening the page")
    # without JupyterLab's theme variables the views take their own (light: marimo's page)
    expect(chat).to_have_class(re.compile(r"\blw-themeless\b"))
    assert "lw-themeless-dark" not in (chat.get_attribute("class") or "")

    # lw.ask, the function form of %%letta: its turn streamed without a click
    expect(asked).to_have_attribute("data-status", "done", timeout=30_000)
    expect(asked.locator(".lw-item--user_message")).to_contain_text("What do you remember")
    expect(asked.locator(".lw-item--assistant_message")).to_have_count(1)

    # ChatCell: type, Enter sends, tokens arrive, the turn ends
    box = chat.locator(".lw-input")
    box.click()
    box.fill("Hello there, what can you do?")
    box.press("Enter")
    expect(chat).to_have_attribute("data-status", "done", timeout=30_000)
    expect(chat.locator(".lw-status")).to_contain_text("done · end_turn")
    expect(chat.locator(".lw-item--user_message")).to_contain_text("what can you do?")
    expect(chat.locator(".lw-item--assistant_message")).to_have_count(1)
    expect(chat.locator(".lw-live-area")).to_be_empty()
    state = show_state(page, "done", "last stop reason end_turn")
    conv = re.search(r"conv-[0-9a-f-]{36}", state)
    assert conv, state
    conversation_id = conv.group(0)
    stored = list(sdk.conversations.messages.list(conversation_id, limit=50))
    kinds = [m.message_type for m in stored]
    assert "assistant_message" in kinds, kinds
    assert any(
        m.message_type == "user_message" and "what can you do?" in str(m.content) for m in stored
    ), kinds

    # an attached image: its bytes go to the kernel as a binary buffer of a custom message
    cat = tmp_path / "cat.png"
    cat.write_bytes(images.png(96, 64))
    chat.locator("input.lw-image-input").set_input_files(str(cat))
    expect(chat.locator(".lw-attachment")).to_have_count(1)
    box.click()
    box.fill("what is this?")
    box.press("Enter")
    expect(chat).to_have_attribute("data-status", "done", timeout=30_000)
    expect(chat.locator(".lw-item--assistant_message").last).to_contain_text(
        "I see 1 image (PNG, 96×64)."
    )
    expect(chat.locator(".lw-item--user_message img.lw-image")).to_have_count(1)

    # Stop during a slow answer (the devserver paces a text with "slow" in it)
    box.click()
    box.fill("slow: please count to twenty")
    box.press("Enter")
    expect(chat).to_have_attribute("data-status", "streaming", timeout=30_000)
    page.wait_for_function(
        "el => el.querySelector('.lw-live-area').innerText.includes('deliberately')",
        arg=chat.element_handle(),
        timeout=30_000,
    )
    chat.locator(".lw-stop").click()
    expect(chat).to_have_attribute("data-status", "stopped", timeout=15_000)
    show_state(page, "stopped", "last stop reason cancelled")
    assert not has_active_run(sdk, conversation_id)
    live = chat.locator(".lw-live-area").inner_text()
    page.wait_for_timeout(1000)
    assert chat.locator(".lw-live-area").inner_text() == live  # nothing streams on
    assert chat.get_attribute("data-status") == "stopped"

    # ConversationBrowser: select the longest conversation, scroll up for older pages
    browser = page.locator(".lw-browser")
    expect(browser.locator(".lw-conv-row").first).to_be_visible(timeout=30_000)
    agent_id = browser.get_attribute("data-agent")
    assert agent_id
    counts = lw.conversations_frame(sdk, agent_id, counts=True)
    longest = str(counts.sort_values("message_count")["id"].iloc[-1])
    row = browser.locator(f".lw-conv-row[data-id='{longest}']")
    row.scroll_into_view_if_needed()
    row.click()
    expect(browser).to_have_attribute("data-selected", longest)
    # the selection is a trait the view wrote: marimo re-ran the cell that reads it
    expect(page.get_by_text(f"Selected {longest}:")).to_contain_text(
        re.compile(r": \d{3,} messages"), timeout=30_000
    )
    expect(browser).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    expect(browser).to_have_attribute("data-has-older", "true")
    items = browser.locator(".lw-pages .lw-item")
    first_page = set(items.evaluate_all("els => els.map(e => e.dataset.key)"))
    assert first_page
    browser.locator(".lw-messages").evaluate("el => { el.scrollTop = 0; }")
    page.wait_for_function(
        "([el, n]) => el.querySelectorAll('.lw-pages .lw-item').length > n",
        arg=[browser.element_handle(), len(first_page)],
        timeout=30_000,
    )
    expect(browser).to_have_attribute("data-msg-state", "ready", timeout=30_000)
    both_pages = set(items.evaluate_all("els => els.map(e => e.dataset.key)"))
    assert first_page < both_pages  # an older page above the first one

    # CompareView: one prompt into both forks, then a vote the kernel sees
    cmp = page.locator(".lw-compare")
    cmp.scroll_into_view_if_needed()
    prompt = cmp.locator(".lw-input")
    prompt.click()
    prompt.fill("What's my name?")
    prompt.press("Enter")
    expect(cmp.locator(".lw-round-label")).to_have_text("round 1 / 1", timeout=60_000)
    expect(cmp).to_have_attribute("data-status", "done", timeout=60_000)
    for i in range(2):
        expect(cmp.locator(".lw-col").nth(i).locator(".lw-answer .lw-items")).to_contain_text(
            "Grace"
        )
    cmp.locator(".lw-vote-btn[data-choice='B']").click()
    expect(cmp.locator(".lw-vote-state")).to_have_text("voted: B", timeout=30_000)
    show_state(page, "Votes: What's my name?: B")
    assert page.blocked_requests == []  # type: ignore[attr-defined]
    assert outside_connections(marimo.proc.pid) == []  # marimo and its kernel stay local
    print(f"[marimo] click-through {time.monotonic() - t0:.1f}s")
    # the README's picture (docs/images/marimo.png with LETTA_WIDGETS_SCREENSHOTS=docs/images)
    page.wait_for_timeout(1000)  # marimo scrolls to the cell it just ran; then the browser's
    browser.evaluate("el => el.getRootNode().host.closest('.marimo-cell').scrollIntoView()")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots_dir / "marimo.png"))
