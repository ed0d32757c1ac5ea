"""Every notebook under notebooks/ runs in JupyterLab without an error or an empty widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from jlab import (
    open_notebook,
    page_problems,
    run_all_cells,
    wait_for_cells_done,
    wait_for_widgets_rendered,
)

pytestmark = pytest.mark.browser

# `make test` runs the quickstart here; every widget has its own JupyterLab tests, the
# nbclient tier executes every notebook, and `make screenshots` runs every notebook in
# JupyterLab (light and dark) and fails on an error output, an empty widget or a dialog.
NOTEBOOKS = [Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"]


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_in_lab(lab, page, name):
    open_notebook(page, lab, name)
    run_all_cells(page)
    wait_for_cells_done(page, timeout=120_000)
    wait_for_widgets_rendered(page)  # views fill in after their cell finishes
    assert page_problems(page) == []
    assert page.blocked_requests == [], page.blocked_requests
