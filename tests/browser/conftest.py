"""Browser tier: one seeded devserver, one JupyterLab and one Notebook 7 server per session."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
if str(NOTEBOOKS) not in sys.path:  # nbrun: executing notebooks, the demo data they must keep
    sys.path.insert(0, str(NOTEBOOKS))
from jlab import JupyterServer, start_jupyter  # noqa: E402
from pw_fixtures import REPO, artifacts_dir, browser, page, pytest_runtest_makereport  # noqa: E402

from letta_devserver.process import DevServerProcess  # noqa: E402

__all__ = ["artifacts_dir", "browser", "page", "pytest_runtest_makereport"]


@pytest.fixture(scope="session")
def shots_dir(artifacts_dir: Path) -> Path:
    """Where screenshot tests write: ``$LETTA_WIDGETS_SCREENSHOTS`` (``make screenshots``
    sets docs/images) or ``artifacts/`` (so ``make test`` never rewrites tracked files)."""
    path = Path(os.environ.get("LETTA_WIDGETS_SCREENSHOTS") or artifacts_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def seeded_devserver(artifacts_dir: Path) -> Iterator[DevServerProcess]:
    """The offline devserver (Letta Cloud's profile), seeded with the demo data, on a free
    loopback port."""
    log = artifacts_dir / "devserver-browser.log"
    log.unlink(missing_ok=True)
    args = ["--memory", "--seed", "demo", "--profile", "cloud"]
    with DevServerProcess(args, log_path=str(log)) as server:
        yield server


def _serve(kind, tmp_path_factory, seeded_devserver, artifacts_dir):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp(f"{kind}-root")
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy(nb, root / nb.name)
    state = tmp_path_factory.mktemp(f"{kind}-state")
    server = start_jupyter(kind, root, state, env={"LETTA_BASE_URL": seeded_devserver.base_url})
    print(
        f"\n[browser] {kind} pid {server.pid} on {server.url} up in {server.startup_seconds:.1f}s"
    )
    try:
        yield server
    finally:
        server.stop()
        shutil.copy(server.log_path, artifacts_dir / f"jupyter-{kind}.log")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, seeded_devserver, artifacts_dir) -> Iterator[JupyterServer]:
    """JupyterLab: token, allow_root, isolated dirs, notebooks/ copied into its root."""
    yield from _serve("lab", tmp_path_factory, seeded_devserver, artifacts_dir)


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory, seeded_devserver, artifacts_dir) -> Iterator[JupyterServer]:
    """Notebook 7 (`jupyter notebook`), set up like ``lab_server``."""
    yield from _serve("notebook", tmp_path_factory, seeded_devserver, artifacts_dir)


@pytest.fixture
def lab(lab_server: JupyterServer) -> Iterator[JupyterServer]:
    """The session's JupyterLab; the test's kernels are shut down afterwards."""
    yield lab_server
    lab_server.shutdown_kernels()


@pytest.fixture
def nb7(notebook_server: JupyterServer) -> Iterator[JupyterServer]:
    """The session's Notebook 7 server; the test's kernels are shut down afterwards."""
    yield notebook_server
    notebook_server.shutdown_kernels()
