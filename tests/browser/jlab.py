"""JupyterLab / Notebook 7 servers and Playwright helpers to drive them in Debian's Chromium.

Used by the browser tier's fixtures (``tests/browser/conftest.py``), the static tier and
``scripts/screenshots.py``. Adapted from the verified recipe in
``../shared/tools/browser-check`` (its README lists the pitfalls referred to below).

Servers listen on 127.0.0.1 on a free port with a token, run with isolated Jupyter
config/runtime/data dirs (no user settings, no stale workspace, no news toast), and are
stopped by PID, kernels included (pitfall 10: kernels run in their own process group).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = os.environ.get("LETTA_WIDGETS_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google hosts (pitfall 2).
# Playwright's launch() gives a fresh temporary profile; never pass --user-data-dir (pitfall 3).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NON_LOOPBACK = re.compile(r"^(?:https?|wss?)://(?!127\.0\.0\.1[:/]|localhost[:/]|\[::1\][:/])")
START_TIMEOUT = float(os.environ.get("LETTA_WIDGETS_JUPYTER_TIMEOUT", "90"))
KERNEL = "Python 3 (ipykernel)"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

Kind = Literal["lab", "notebook"]
NOTEBOOK = ".jp-Notebook:visible"
"""The notebook on screen (hidden tabs keep their DOM)."""


def free_loopback_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """Debian's Chromium through Playwright; fails loudly when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"{CHROMIUM} not found: run `make browser-deps` (apt-get install chromium)"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# --------------------------------------------------------------------------- servers
@dataclass
class JupyterServer:
    """A running ``jupyter lab`` or ``jupyter notebook`` (Notebook 7) server."""

    kind: Kind
    url: str
    token: str
    root: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float = 0.0
    _children: list = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def notebook_url(self, relpath: str) -> str:
        """Where the browser opens ``relpath`` (relative to the server's root)."""
        if self.kind == "lab":  # `reset`: a fresh workspace, no tabs restored from a last test
            return f"{self.url}/lab/tree/{relpath}?reset&token={self.token}"
        return f"{self.url}/notebooks/{relpath}?token={self.token}"

    def api(self, method: str, path: str, body: object | None = None) -> object:
        """Call the Jupyter REST API with the token; returns the decoded JSON (or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of this server (between tests: keeps 2 cores free)."""
        try:
            for kernel in self.api("GET", "/api/kernels") or []:  # type: ignore[union-attr]
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError):
            pass

    def log_tail(self, n: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"

    def stop(self) -> None:
        """SIGTERM the server by PID (it shuts its kernels down), then SIGKILL any of its
        child processes still alive: kernels live in their own process group (pitfall 10)."""
        stop_by_pid(self.proc)


def stop_by_pid(proc: subprocess.Popen) -> None:
    """Stop ``proc`` and every descendant recorded before the SIGTERM, by PID only."""
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        children = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for child in children:  # psutil checks create_time: a reused PID is never hit
        with contextlib.suppress(Exception):
            child.kill()


def isolated_env(state: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment with fresh Jupyter dirs and user settings that silence news/updates."""
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (state / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(state / sub)
    # No "get notified about official Jupyter news?" toast over the page (pitfall 6).
    settings = state / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    )
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def _command(kind: Kind, port: int, token: str, root: Path) -> list[str]:
    app = "LabApp" if kind == "lab" else "JupyterNotebookApp"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab" if kind == "lab" else "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # fail instead of moving to another port (pitfall 5)
        "--ServerApp.allow_root=True",  # CI runs as root (pitfall 4)
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--{app}.expose_app_in_browser=True",  # window.jupyterapp: theme + kernel state
    ]
    if kind == "lab":
        cmd += [
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
    return cmd


def _wait_until_up(proc: subprocess.Popen, url: str, token: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"Jupyter did not answer on {url} within {START_TIMEOUT}s")


def start_jupyter(
    kind: Kind,
    root: Path,
    state: Path,
    env: dict[str, str] | None = None,
    attempts: int = 3,
) -> JupyterServer:
    """Start JupyterLab (``kind="lab"``) or Notebook 7 (``"notebook"``) on a free port."""
    full_env = isolated_env(state, env)
    token = secrets.token_hex(16)
    last_log = ""
    for attempt in range(attempts):
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        log_path = state / f"{kind}-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                _command(kind, port, token, root),
                cwd=root,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        t0 = time.monotonic()
        try:
            up = _wait_until_up(proc, url, token, t0 + START_TIMEOUT)
        except BaseException:
            stop_by_pid(proc)
            raise
        if up:
            return JupyterServer(kind, url, token, root, proc, log_path, time.monotonic() - t0)
        last_log = log_path.read_text(errors="replace")
        if "already in use" not in last_log:
            break
    raise RuntimeError(f"jupyter {kind} failed to start:\n{last_log[-4000:]}")


# --------------------------------------------------------------------------- notebooks on disk
def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a tiny notebook of code cells (one string per cell) for a test."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = {"display_name": KERNEL, "language": "python", "name": "python3"}
    nbformat.write(nb, path)
    return path


# --------------------------------------------------------------------------- page helpers
def open_notebook(page: Page, server: JupyterServer, relpath: str) -> None:
    """Open ``relpath`` and wait until its kernel is attached and idle."""
    page.goto(server.notebook_url(relpath))
    wait_for_kernel_idle(page, server.kind)


def save_notebook(page: Page) -> None:
    """Save the open notebook (with its widget state, if JupyterLab saves it) and wait."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-current .jp-mod-dirty, .jp-Document.jp-mod-dirty')",
        timeout=30_000,
    )


def save_and_reload(page: Page) -> None:
    """Save the notebook (with its widget state) and reload the page."""
    save_notebook(page)
    page.reload()


def wait_for_kernel_idle(page: Page, kind: Kind = "lab", timeout: float = 60_000) -> None:
    """Wait until the notebook is open and its kernel is attached and idle.

    JupyterLab: the status bar text ``<kernel> | Idle`` (the toolbar's execution indicator
    turns idle a moment earlier, and Run All right then can open a 'Select Kernel' dialog,
    pitfall 7). Notebook 7 has no status bar: ask the session context itself.
    """
    page.wait_for_selector(NOTEBOOK, timeout=timeout)
    if kind == "lab":
        expect(page.locator("#jp-main-statusbar")).to_contain_text(
            f"{KERNEL} | Idle", timeout=timeout
        )
        return
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const ctx = w && w.sessionContext;
          return !!(ctx && ctx.isReady && ctx.session && ctx.session.kernel
                    && ctx.session.kernel.status === 'idle');
        }""",
        timeout=timeout,
    )


def run_all_cells(page: Page, kind: Kind = "lab", attempts: int = 3) -> None:
    """Run > Run All Cells (``runmenu:run-all``; pitfall 8), retried if 'Select Kernel' shows."""
    select_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
    for _ in range(attempts):
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('li[data-command="runmenu:run-all"]').click()
        try:
            select_kernel.wait_for(state="visible", timeout=1_500)
        except PlaywrightTimeoutError:
            return
        select_kernel.locator("button.jp-mod-accept").click()
        wait_for_kernel_idle(page, kind)
    raise AssertionError("Jupyter kept answering Run All with 'Select Kernel'")


def wait_for_cells_done(page: Page, timeout: float = 90_000) -> None:
    """Wait until nothing is queued or running: no ``[*]`` prompt for half a second and the
    first code cell has run. (After an error Run All stops and the rest keep ``[ ]``.)"""
    page.evaluate("() => { window.__lwDoneSince = undefined; }")
    page.wait_for_function(
        """() => {
          const prompts = [...document.querySelectorAll(
            '.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')].filter(p => p.offsetParent);
          const done = prompts.length > 0 && /\\[\\d+\\]/.test(prompts[0].textContent)
            && !prompts.some(p => p.textContent.includes('*'));
          const now = performance.now();
          if (!done) { window.__lwDoneSince = undefined; return false; }
          window.__lwDoneSince = window.__lwDoneSince ?? now;
          return now - window.__lwDoneSince > 500;
        }""",
        timeout=timeout,
        polling=100,
    )


def cell(page: Page, index: int):  # type: ignore[no-untyped-def]
    """Locator of the ``index``-th cell (markdown cells count)."""
    return page.locator(f"{NOTEBOOK} .jp-Cell").nth(index)


def run_cell(page: Page, index: int) -> None:
    """Put the cursor in cell ``index`` and run it in place (Ctrl+Enter; pitfall 9)."""
    cell(page, index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")


def add_cell_and_run(page: Page, code: str) -> None:
    """Insert a code cell below the active one, type ``code`` into it and run it."""
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(code)
    page.keyboard.press("Control+Enter")


def output_text(page: Page, index: int) -> str:
    """The text of cell ``index``'s outputs (empty string when it has none)."""
    outputs = cell(page, index).locator(".jp-OutputArea-output")
    return "\n".join(outputs.all_inner_texts())


def set_theme(page: Page, theme: Literal["light", "dark"]) -> None:
    """Switch the theme with the command behind the palette's ``apputils:change-theme``.

    The change is saved to the server's user settings, so it holds for later pages.
    """
    name = THEMES[theme]
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate(
        "name => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})",
        name,
    )
    light = "true" if theme == "light" else "false"
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeName === {json.dumps(name)}"
        f" && document.body.dataset.jpThemeLight === '{light}'",
        timeout=30_000,
    )


WIDGET_ERROR = ".jupyter-widgets-error-widget"
"""What ipywidgets renders instead of a view whose model or ESM failed to load."""


def wait_for_widget(page: Page, locator, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``locator`` to appear; fail at once, with the browser's errors, if a widget
    fails to render instead (ipywidgets' error view, or an uncaught page error when there
    is no JupyterLab, as in a static export)."""
    deadline = time.monotonic() + timeout
    while True:
        if locator.count():
            return
        errors = [m for m in getattr(page, "console_log", []) if m.startswith("pageerror")]
        if page.locator(WIDGET_ERROR).count() or errors:
            logged = [
                m for m in getattr(page, "console_log", []) if m.startswith(("error", "page"))
            ]
            raise AssertionError("a widget failed to render:\n" + "\n".join(logged[-10:]))
        if time.monotonic() > deadline:
            raise AssertionError(f"widget {locator} did not appear within {timeout:.0f}s")
        page.wait_for_timeout(100)


STDERR_OUTPUTS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
"""Tracebacks and stderr streams (both render with this mime type)."""

_ERROR_OUTPUTS_JS = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const cells = nb && nb.content && nb.content.model ? nb.content.model.cells : [];
  const found = [];
  for (let i = 0; i < cells.length; i++) {
    const outputs = cells.get(i).toJSON().outputs || [];
    for (const o of outputs) {
      if (o.output_type === 'error') found.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  }
  return found;
}"""


_EMPTY_WIDGETS_JS = """(strict) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const nb = panel && panel.content;
  const empty = [];
  if (!nb || !nb.widgets) return empty;
  nb.widgets.forEach((cw, i) => {
    if (cw.model.type !== 'code' || !cw.outputArea) return;
    const outputs = cw.model.toJSON().outputs || [];
    const children = [...cw.outputArea.node.children]
      .filter(c => c.classList.contains('jp-OutputArea-child'));
    outputs.forEach((o, j) => {
      if (!o.data || !o.data['application/vnd.jupyter.widget-view+json']) return;
      const out = children[j] && children[j].querySelector('.jp-OutputArea-output');
      const shows = out && (out.textContent.trim() ||
        out.querySelector('canvas, svg, img, input, button, select, textarea'));
      // A view with no element at all is a closed widget (e.g. a finished tqdm bar with
      // leave=False) or one still loading: only `strict` counts it.
      if (!shows && (strict || (out && out.children.length > 0))) {
        empty.push(`cell ${i} output ${j}`);
      }
    });
  });
  return empty;
}"""


def empty_widget_outputs(page: Page) -> list[str]:
    """Widget-view outputs (per the notebook model) whose rendered view shows nothing
    (closed widgets, whose view is gone, are not counted)."""
    return page.evaluate(_EMPTY_WIDGETS_JS, False)


def wait_for_widgets_rendered(page: Page, timeout: float = 10_000) -> bool:
    """Wait until every widget output shows something; False on timeout (no raise: the
    caller reports what stayed empty through :func:`page_problems`; a closed widget's
    output stays empty, so keep the timeout short)."""
    try:
        page.wait_for_function(f"() => ({_EMPTY_WIDGETS_JS})(true).length === 0", timeout=timeout)
    except PlaywrightTimeoutError:
        return False
    return True


def page_problems(page: Page) -> list[str]:
    """What a screenshot must not show: error outputs, warnings or tracebacks on stderr,
    empty widget outputs, widgets that failed to render or are in an error state, dialogs.
    (Other stderr, e.g. a finished progress bar, is fine.)"""
    problems = [f"error output: {e[:300]}" for e in page.evaluate(_ERROR_OUTPUTS_JS)]
    for text in page.locator(STDERR_OUTPUTS).all_inner_texts():
        if re.search(r"Traceback|Error|Warning", text):
            problems.append(f"stderr: {text[:300]}")
    problems += [f"empty widget output: {where}" for where in empty_widget_outputs(page)]
    if page.locator(WIDGET_ERROR).count():
        problems.append("a widget failed to render (ipywidgets error view)")
    for text in page.locator(".lw-connection-card[data-status='error']").all_inner_texts():
        problems.append(f"connection card in error: {text[:300]}")
    if page.locator(".jp-Dialog").count():
        problems.append("dialog: " + page.locator(".jp-Dialog").first.inner_text()[:200])
    return problems
