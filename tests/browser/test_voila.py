"""The chat and A/B compare notebooks served as apps by Voilà, driven in Chromium.

One Voilà server for the module (a temporary copy of notebooks/, a token, 127.0.0.1 on a
free port, LETTA_BASE_URL of the seeded devserver for its kernels), stopped by PID. Voilà
runs each notebook in a kernel of its own and shows only the outputs; the page talks to
that kernel through widget messages alone (Voilà's websocket lets comm messages through,
not execute or interrupt requests). What the kernel holds is read through a second client
on the kernel's connection file (``user_expressions`` of a silent request: nothing is
published to the page); what the server holds, through the SDK.
"""

from __future__ import annotations

import ast
import contextlib
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jlab import NON_LOOPBACK, free_loopback_port, isolated_env, stop_by_pid
from nbrun import demo_data
from playwright.sync_api import Page, expect
from pw_fixtures import REPO

import letta_widgets as lw
from letta_devserver.script import SLOW_REPLY

pytestmark = pytest.mark.browser

APPS = ("chat.ipynb", "ab-compare.ipynb")
START_TIMEOUT = 90.0
RENDER_TIMEOUT = 240_000
"""Voilà sends the page while it runs the notebook; ab-compare runs a batch of rounds first."""
SECRET = f"sk-voila-{secrets.token_hex(8)}"
"""The kernels' LETTA_API_KEY (the devserver takes any): it must never reach the page."""
CDN_KINDS = {"stylesheet", "font"}
"""The only requests a Voilà page may make off the machine (its Font Awesome stylesheet,
blocked here): the apps must work without them."""


@dataclass
class VoilaServer:
    """A running ``voila`` serving a directory of notebooks."""

    url: str
    token: str
    root: Path
    connections: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float

    def app_url(self, name: str) -> str:
        """Where the browser opens notebook ``name`` as an app."""
        return f"{self.url}/voila/render/{name}?token={self.token}"

    def connection_file(self, kernel_id: str) -> Path:
        """The connection file Voilà wrote for ``kernel_id`` (under its own temp folder)."""
        found = sorted(self.connections.glob(f"voila_*/kernel-{kernel_id}.json"))
        assert found, f"no connection file for kernel {kernel_id} in {self.connections}"
        return found[0]

    def stop(self) -> None:
        """SIGTERM Voilà by PID (it shuts its kernels down, so their exit handlers run),
        then SIGKILL any of its child processes still alive: kernels run in sessions of
        their own, out of reach of a signal to Voilà's process group."""
        stop_by_pid(self.proc)


def _start_voila(root: Path, state: Path, env: dict[str, str]) -> VoilaServer:
    token = secrets.token_hex(16)
    connections = state / "connections"
    connections.mkdir(parents=True, exist_ok=True)
    full_env = isolated_env(state, env)
    last_log = ""
    for attempt in range(3):
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable,
            "-m",
            "voila",
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0",  # fail instead of moving to another port
            f"--Voila.token={token}",
            f"--Voila.root_dir={root}",
            f"--Voila.connection_dir_root={connections}",
            "--show_tracebacks=True",  # a failing cell says why in the page and the log
        ]
        log_path = state / f"voila-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=root, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        t0 = time.monotonic()
        while time.monotonic() < t0 + START_TIMEOUT and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        return VoilaServer(
                            url, token, root, connections, proc, log_path, time.monotonic() - t0
                        )
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        stop_by_pid(proc)
        last_log = log_path.read_text(errors="replace")
        if "already in use" not in last_log:
            break
    raise RuntimeError(f"voila failed to start:\n{last_log[-4000:]}")


@dataclass
class Apps:
    """The module's Voilà server, the devserver behind it and the demo data as it was."""

    voila: VoilaServer
    base_url: str
    before: dict[str, object]


@pytest.fixture(scope="module")
def apps(tmp_path_factory, seeded_devserver, artifacts_dir) -> Iterator[Apps]:
    """Voilà on a temporary copy of the two notebooks (nothing is written into the repo)."""
    root = tmp_path_factory.mktemp("voila-root")
    for name in APPS:
        shutil.copy(REPO / "notebooks" / name, root / name)
    state = tmp_path_factory.mktemp("voila-state")
    before = demo_data(seeded_devserver.base_url)
    env = {"LETTA_BASE_URL": seeded_devserver.base_url, "LETTA_API_KEY": SECRET}
    server = _start_voila(root, state, env)
    print(f"\n[voila] pid {server.proc.pid} on {server.url} up in {server.startup_seconds:.1f}s")
    try:
        yield Apps(server, seeded_devserver.base_url, before)
    finally:
        server.stop()
        shutil.copy(server.log_path, artifacts_dir / "voila.log")


# --------------------------------------------------------------------------- helpers
def kernel_id(page: Page) -> str:
    """The id of the kernel Voilà started for this page (from the page's config)."""
    return page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
    )


def in_kernel(voila: VoilaServer, kid: str, **exprs: str) -> dict[str, object]:
    """Evaluate ``exprs`` in the app's kernel (a silent request: no output reaches the
    page) and return their values (``repr`` read back with ``literal_eval``)."""
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_file(str(voila.connection_file(kid)))
    kc.start_channels()
    try:
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions=exprs)
        deadline = time.monotonic() + 30
        while True:
            reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
    finally:
        kc.stop_channels()
    values = {}
    for name, result in reply["content"]["user_expressions"].items():
        assert result["status"] == "ok", f"{name}: {result.get('ename')}: {result.get('evalue')}"
        values[name] = ast.literal_eval(result["data"]["text/plain"])
    return values


@dataclass
class App:
    """One notebook open as an app: its page and the off-machine requests it tried, as
    (resource type, URL), every one of them aborted."""

    page: Page
    outside: list[tuple[str, str]]
    console: list[str]


def _open(context, voila: VoilaServer, name: str) -> App:  # type: ignore[no-untyped-def]
    page = context.new_page()
    app = App(page, [], [])

    def abort(route):  # type: ignore[no-untyped-def]
        app.outside.append((route.request.resource_type, route.request.url))
        route.abort()

    page.route(NON_LOOPBACK, abort)
    page.on("console", lambda m: app.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: app.console.append(f"pageerror: {e}"))
    # Voilà answers at once and sends the page while it runs the notebook
    page.goto(voila.app_url(name), wait_until="commit", timeout=RENDER_TIMEOUT)
    return app


@pytest.fixture(scope="module")
def opened(apps, browser) -> Iterator[dict[str, App]]:
    """Both apps, opened at once: ab-compare's batch runs in its kernel while the chat
    test clicks (one Chromium context, a page each)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        yield {name: _open(context, apps.voila, name) for name in APPS}
    finally:
        context.close()


def _app(opened, request, artifacts_dir, name: str) -> Iterator[App]:  # type: ignore[no-untyped-def]
    app = opened[name]
    yield app
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:  # the evidence pw_fixtures' `page` would keep
        stem = f"FAILED-{request.node.name}"
        with contextlib.suppress(Exception):
            app.page.screenshot(path=str(artifacts_dir / f"{stem}.png"), full_page=True)
        (artifacts_dir / f"{stem}.console.txt").write_text(
            "\n".join(app.console + [f"blocked: {u}" for _k, u in app.outside])
        )


@pytest.fixture
def chat_app(opened, request, artifacts_dir) -> Iterator[App]:
    """chat.ipynb as an app."""
    yield from _app(opened, request, artifacts_dir, "chat.ipynb")


@pytest.fixture
def compare_app(opened, request, artifacts_dir) -> Iterator[App]:
    """ab-compare.ipynb as an app."""
    yield from _app(opened, request, artifacts_dir, "ab-compare.ipynb")


def wait_rendered(page: Page, root) -> None:  # type: ignore[no-untyped-def]
    """Wait for Voilà to finish the notebook (the page's load event) and ``root`` to show."""
    page.wait_for_load_state("load", timeout=RENDER_TIMEOUT)
    expect(root).to_be_visible(timeout=60_000)


def assert_no_code_shown(page: Page, name: str) -> None:
    """No code cell shows its source: no editor, no input prompt, and no code cell's
    first line anywhere in the page's text."""
    for selector in (".jp-CodeCell .jp-InputArea", ".jp-InputPrompt", ".cm-editor", ".CodeMirror"):
        assert page.locator(selector).count() == 0, f"{name}: {selector} is on the page"
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    firsts = [c.source.strip().splitlines()[0].strip() for c in nb.cells if c.cell_type == "code"]
    firsts = [line for line in firsts if line not in prose]  # quoted in the prose: shown
    assert len(firsts) >= 10, firsts
    text = page.locator("body").inner_text()
    shown = [line for line in firsts if line in text]
    assert not shown, f"{name}: code on the page: {shown}"


def assert_page_clean(app: App) -> None:
    """No widget failed, no error output, no uncaught error, no API key in the page, and
    nothing but stylesheets/fonts asked for off the machine (and those were blocked)."""
    page = app.page
    assert SECRET not in page.content(), "the API key is in the page"
    assert page.locator(".jupyter-widgets-error-widget").count() == 0
    assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
    assert page.locator(".lw-root .lw-error:visible").count() == 0
    errors = [m for m in app.console if m.startswith("pageerror")]
    assert not errors, errors
    assert {kind for kind, _url in app.outside} <= CDN_KINDS, app.outside


def tally_text(tally: dict[str, int]) -> str:
    """CompareView's tally line for ``tally`` (label -> votes), in the kernel's order."""
    return "votes: " + " · ".join(
        f"{'all bad' if k == 'all_bad' else k} {v}" for k, v in tally.items()
    )


def type_and_send(root, text: str) -> None:  # type: ignore[no-untyped-def]
    box = root.locator(".lw-input")
    box.click()
    box.fill(text)
    box.press("Enter")


# --------------------------------------------------------------------------- tests
def test_chat_app_sends_streams_and_stops(apps, chat_app, shots_dir):
    voila, client = apps.voila, lw.connect(apps.base_url, max_retries=0)
    page = chat_app.page
    root = page.locator(".lw-chat").first  # `chat`, the notebook's first ChatCell
    wait_rendered(page, root)
    assert_no_code_shown(page, "chat.ipynb")
    # every view renders: `chat`, the older conversation's ChatCell and %%letta's reply
    expect(page.locator(".lw-chat")).to_have_count(3)
    expect(page.locator(".lw-chat").nth(2)).to_contain_text("What do you remember about me?")
    kid = kernel_id(page)
    got = in_kernel(voila, kid, conv="chat.conversation_id", key="client.api_key")
    conv = got["conv"]
    assert got["key"] == SECRET  # the app's client holds the key; the page must not

    # Send: a turn that runs to its end
    answers = root.locator(".lw-item--assistant_message")
    before = answers.count()
    type_and_send(root, "What is my name?")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    expect(answers).to_have_count(before + 1)
    expect(answers.last).to_contain_text("Grace")
    assert in_kernel(voila, kid, stop="chat.last_turn.stop_reason") == {"stop": "end_turn"}

    # a slow reply arrives token by token; Stop during it ends the turn in the widget, the
    # kernel and the server
    type_and_send(root, "Please answer slowly: what is Voilà?")
    expect(root).to_have_attribute("data-status", "streaming", timeout=30_000)
    seen: list[int] = []
    while len({n for n in seen if n}) < 3 and root.get_attribute("data-status") == "streaming":
        seen.append(len(root.locator(".lw-live-area").first.inner_text()))
        page.wait_for_timeout(50)
    assert len({n for n in seen if n}) >= 3, f"the reply did not stream in: {seen}"
    root.locator(".lw-stop").click()
    expect(root).to_have_attribute("data-status", "stopped", timeout=15_000)
    state = in_kernel(
        voila, kid, stop="chat.last_turn.stop_reason", busy="chat.busy", run="chat.last_turn.run_id"
    )
    assert state["stop"] == "cancelled" and state["busy"] is False, state
    run = client.runs.retrieve(state["run"])
    assert (run.status, run.stop_reason) == ("cancelled", "cancelled")
    assert not list(client.runs.list(conversation_id=conv, active=True))
    stored = [
        m.content
        for m in client.conversations.messages.list(conv, limit=100)
        if m.message_type == "assistant_message"
    ]
    assert not any(SLOW_REPLY in str(a) for a in stored), "the stopped reply ran to its end"

    root.scroll_into_view_if_needed()
    page.screenshot(path=str(shots_dir / "voila-chat.png"))
    assert_page_clean(chat_app)


def test_compare_app_sends_votes_and_stops(apps, compare_app, shots_dir):
    voila, client = apps.voila, lw.connect(apps.base_url, max_retries=0)
    page = compare_app.page
    root = page.locator(".lw-compare").first  # `cmp`; the second view is from_history's
    wait_rendered(page, root)
    assert_no_code_shown(page, "ab-compare.ipynb")
    # every view renders: `cmp`, from_history's view, run()'s progress bar, the figures
    expect(page.locator(".lw-compare")).to_have_count(2)
    expect(page.locator(".widget-hprogress")).to_have_count(1)
    expect(page.locator(".jp-RenderedImage img")).to_have_count(2)
    kid = kernel_id(page)
    rounds = in_kernel(voila, kid, n="len(cmp.rounds)")["n"]
    assert rounds == 11  # the notebook's send and its batch of ten
    expect(root.locator(".lw-round-label")).to_have_text(f"round {rounds} / {rounds}")
    tally = in_kernel(voila, kid, tally="cmp.tally")["tally"]  # the notebook's votes
    assert sum(tally.values()) == rounds - 1, tally  # every round of the batch is voted
    expect(root.locator(".lw-tally")).to_have_text(tally_text(tally))

    # a prompt typed in the app goes to both variants and streams in both columns
    prompt = "What do you remember about me, Voilà?"
    type_and_send(root, prompt)
    n = rounds + 1
    expect(root.locator(".lw-round-label")).to_have_text(f"round {n} / {n}", timeout=30_000)
    expect(root).to_have_attribute("data-status", "done", timeout=60_000)
    expect(root.locator(".lw-cmp-prompt-text")).to_have_text(prompt)
    cols = root.locator(".lw-col")
    expect(cols).to_have_count(2)
    for i in range(2):
        expect(cols.nth(i).locator(".lw-answer .lw-items")).to_contain_text("Grace")
    convs = in_kernel(voila, kid, ids="cmp.conversation_ids")["ids"]
    for label, conv in convs.items():  # sent in each variant's own conversation
        users = [
            str(m.content)
            for m in client.conversations.messages.list(conv, limit=100)
            if m.message_type == "user_message"
        ]
        assert any(prompt in u for u in users), (label, users)

    # a vote is a widget message; the buttons, the state line and the tally change only
    # when the kernel has recorded it and sent the round back (the click sends, nothing else)
    vote_b = root.locator(".lw-vote-btn[data-choice='B']")
    expect(vote_b).to_have_attribute("aria-pressed", "false")
    root.locator(".lw-vote-note").fill("voted in Voilà")
    vote_b.click()
    expect(vote_b).to_have_attribute("aria-pressed", "true", timeout=30_000)
    expect(root.locator(".lw-vote-state")).to_have_text("voted: B")
    tally["B"] = tally.get("B", 0) + 1
    expect(root.locator(".lw-tally")).to_have_text(tally_text(tally))
    got = in_kernel(voila, kid, vote="cmp.rounds[-1].vote", note="cmp.rounds[-1].note")
    assert got == {"vote": "B", "note": "voted in Voilà"}
    page.mouse.move(0, 0)  # no hover controls in the picture
    root.screenshot(path=str(shots_dir / "voila-compare.png"))

    # Stop all during a slow round: both columns stop, on the server too
    type_and_send(root, "slow: take your time, both of you")
    expect(root).to_have_attribute("data-status", "streaming", timeout=30_000)
    page.wait_for_function(
        "el => [...el.querySelectorAll('.lw-col .lw-live-area')]"
        ".some(a => a.innerText.trim().length > 0)",
        arg=root.element_handle(),
        timeout=30_000,
    )
    root.locator(".lw-stop").click()
    expect(root).to_have_attribute("data-status", "stopped", timeout=15_000)
    last = in_kernel(
        voila, kid, stops='cmp.results.tail(2)["stop_reason"].tolist()', busy="cmp.busy"
    )
    assert last == {"stops": ["cancelled", "cancelled"], "busy": False}, last
    for conv in convs.values():
        assert not list(client.runs.list(conversation_id=conv, active=True))
    assert_page_clean(compare_app)


def test_apps_tidy_up_when_their_kernels_stop(apps, opened):
    """Served as apps, the notebooks' tidy-up waits for the kernel to stop (the widgets stay
    in use until then): stopping Voilà shuts the kernels down and the demo data is back."""
    for app in opened.values():  # each notebook ran to its end (its tidy-up is registered)
        app.page.wait_for_load_state("load", timeout=RENDER_TIMEOUT)
    kernels = sorted(p.name for p in apps.voila.connections.glob("voila_*/kernel-*.json"))
    assert len(kernels) >= 2, kernels  # both apps' kernels were still running
    apps.voila.stop()
    assert apps.voila.proc.returncode is not None
    assert demo_data(apps.base_url) == apps.before, "the apps did not tidy up"
