"""Every notebook under notebooks/ runs top to bottom in a real kernel against a devserver,
tells the story it claims, and leaves the demo data as it found it (so Run All twice gives
the same story)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbrun import WIDGET_VIEW, anywidget_states, check_esm, demo_data, execute

import letta_widgets as lw
from letta_devserver.process import DevServerProcess
from letta_widgets.cli import DEMO_STEP_DELAY_MS, DEMO_TOKEN_DELAY_MS

pytestmark = pytest.mark.notebooks

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; clear it"


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Every printed stream and text/plain result of an executed notebook, joined."""
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _b_is_slower(text: str) -> None:
    m = re.search(r"B takes ([\d.]+)x as long as A", text)
    assert m and float(m.group(1)) > 1.5, "the A/B example must show B slower, as it says"


def _quickstart_story(text: str) -> None:
    assert "<NA>" not in text, "the quickstart's conversations table shows unknown counts"
    assert "I can remember facts" in text, "'What can you do?' must say what the agent can do"


STORIES: dict[str, Callable[[str], None]] = {
    "ab-compare": _b_is_slower,
    "quickstart": _quickstart_story,
}
"""What a notebook's outputs must show, beyond running."""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, seeded_devserver, tmp_path):
    before = demo_data(seeded_devserver.base_url)
    nb = execute(path, seeded_devserver.base_url)  # a failing cell raises here
    assert demo_data(seeded_devserver.base_url) == before, "the notebook changed the demo data"
    STORIES.get(path.stem, lambda _text: None)(outputs_text(nb))
    views = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if WIDGET_VIEW in o.get("data", {})
    ]
    states = anywidget_states(nb)
    assert len(views) >= len(states), "a widget was created but never displayed"
    for state in states:
        # The ESM travels in the saved state; Node must load it and find `render`.
        assert state.get("_esm"), f"{state.get('_anywidget_id')}: empty _esm"
        problem = check_esm(state["_esm"])
        assert not problem, f"{state.get('_anywidget_id')}: ESM does not load:\n{problem}"
        if state.get("_anywidget_id", "").endswith("ConnectionCard"):
            assert state["status"] == "ok", state["error"]
            assert state["url"] == seeded_devserver.base_url
        else:  # no widget ends in an error banner (e.g. a turn racing a later cell)
            assert not state.get("error"), f"{state.get('_anywidget_id')}: {state['error']}"
    nbformat.write(nb, tmp_path / path.name)  # the executed copy, for a look when debugging


def test_ab_compare_tells_its_story_on_the_demo_server(tmp_path):
    """`make demo` runs the devserver with delays of its own: B must still be the slower."""
    pacing = [
        "--token-delay-ms",
        str(DEMO_TOKEN_DELAY_MS),
        "--step-delay-ms",
        str(DEMO_STEP_DELAY_MS),
    ]
    path = next(p for p in NOTEBOOKS if p.stem == "ab-compare")
    with DevServerProcess(["--memory", "--seed", "demo", *pacing]) as server:
        nb = execute(path, server.base_url, timeout=300)
    _b_is_slower(outputs_text(nb))
