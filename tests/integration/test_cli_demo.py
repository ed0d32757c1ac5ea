"""`letta-widgets demo`: stopped by PID (SIGTERM) or Ctrl-C (SIGINT), it leaves nothing running."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t", timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_demo_stops_its_devserver_and_jupyterlab(tmp_path: Path, sig: signal.Signals) -> None:
    notebook = tmp_path / "quickstart.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import letta_widgets")]), notebook)
    env = {
        **os.environ,
        **{name: str(tmp_path / name.lower()) for name in ("JUPYTER_CONFIG_DIR", "IPYTHONDIR")},
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    port = _free_port()
    log = tmp_path / "demo.log"
    cmd = [sys.executable, "-m", "letta_widgets.cli", "demo", "--notebook", str(notebook)]
    cmd += ["--lab-port", str(port), "--no-browser", "--profile", "letta-0.16"]
    cmd += ["--ServerApp.token=t"]  # an unknown option goes to jupyter lab
    with log.open("w") as out:
        demo = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while not _lab_up(port):
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        match = re.search(r"devserver: (http://127\.0\.0\.1:\d+) \(pid (\d+)", log.read_text())
        assert match, log.read_text()
        with urllib.request.urlopen(f"{match.group(1)}/v1/health/", timeout=5) as health:
            assert b"0.16.8" in health.read()  # --profile reached the devserver
        # a running kernel too: JupyterLab must shut it down, not leave it behind
        start = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/kernels?token=t", data=b"{}", method="POST"
        )
        urllib.request.urlopen(start, timeout=30).close()
        while len(children := psutil.Process(demo.pid).children(recursive=True)) < 3:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        pids = {p.pid for p in children}
        assert int(match.group(2)) in pids  # the devserver, JupyterLab and its kernel

        demo.send_signal(sig)
        assert demo.wait(60) == 0
        _gone, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]
        assert not _lab_up(port)
    finally:
        for proc in [*children, psutil.Process(demo.pid)] if demo.poll() is None else children:
            if proc.is_running():
                proc.kill()


def test_demo_help_names_its_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "letta_widgets.cli", "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--lab-port", "--no-browser", "--profile", "--notebook"):
        assert option in out


def test_make_demo_passes_lab_port_and_no_browser() -> None:
    repo = Path(__file__).resolve().parents[2]
    dry = subprocess.run(
        ["make", "-n", "-C", str(repo), "demo", "LAB_PORT=9999", "NO_BROWSER=1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--lab-port 9999" in dry and "--no-browser" in dry
