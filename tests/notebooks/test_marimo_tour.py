"""notebooks/marimo_tour.py is a valid marimo notebook that runs top to bottom as a script
(the browser tier clicks through it in ``marimo edit``: tests/browser/test_marimo.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import letta_widgets as lw
from letta_devserver.process import DevServerProcess

pytestmark = pytest.mark.notebooks

TOUR = Path(__file__).resolve().parents[2] / "notebooks" / "marimo_tour.py"


def test_the_marimo_tour_passes_marimo_check():
    done = subprocess.run(
        [sys.executable, "-m", "marimo", "check", "--strict", str(TOUR)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_marimo_tour_runs_as_a_script(tmp_path: Path):
    """``python marimo_tour.py`` (marimo's app.run()) against a devserver of its own: the tour
    makes conversations on the demo agent, which the other notebooks read as seeded."""
    script = tmp_path / TOUR.name
    shutil.copy(TOUR, script)
    with DevServerProcess(["--memory", "--seed", "demo"]) as server:
        client = lw.connect(server.base_url, max_retries=0)
        ada = next(a for a in client.agents.list() if a.name == "ada-research-assistant")
        before = {c.id for c in client.conversations.list(agent_id=ada.id, limit=1000)}
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env={**os.environ, "LETTA_BASE_URL": server.base_url},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        now = client.conversations.list(agent_id=ada.id, limit=1000)
        made = [c for c in now if c.id not in before]
    # the ChatCell's new conversation, the one lw.ask talked to, the CompareView's two forks
    assert len(made) == 4, [c.summary for c in made]
    assert "Asked from marimo" in [c.summary for c in made]
