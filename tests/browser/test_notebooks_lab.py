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

# Notebooks that show none of our widgets gain little from a browser run (the nbclient tier
# executes them, `make screenshots` checks them in JupyterLab) and cost the most here.
NOT_IN_LAB = {"history-analysis.ipynb": "pandas + matplotlib only; 40-90 s in Lab on 2 cores"}
NOTEBOOKS = [
    p
    for p in sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
    if p.name not in NOT_IN_LAB
]


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_in_lab(lab, page, name):
    open_notebook(page, lab, name)
    run_all_cells(page)
    wait_for_cells_done(page, timeout=120_000)
    wait_for_widgets_rendered(page)  # views fill in after their cell finishes
    assert page_problems(page) == []
    assert page.blocked_requests == [], page.blocked_requests
