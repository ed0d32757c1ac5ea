"""Every notebook under notebooks/ runs top to bottom in a real kernel against a devserver."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbrun import WIDGET_VIEW, anywidget_states, check_esm, execute

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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, seeded_devserver, tmp_path):
    nb = execute(path, seeded_devserver.base_url)  # a failing cell raises here
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
    nbformat.write(nb, tmp_path / path.name)  # the executed copy, for a look when debugging
