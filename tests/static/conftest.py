"""Static tier: a notebook's saved widget state, exported to HTML, rendered in Chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for sub in ("browser", "notebooks"):  # shared helpers: jlab / pw_fixtures, nbrun
    if str(TESTS / sub) not in sys.path:
        sys.path.insert(0, str(TESTS / sub))

from pw_fixtures import artifacts_dir, browser, page, pytest_runtest_makereport  # noqa: E402

from letta_devserver.process import DevServerProcess  # noqa: E402

__all__ = ["artifacts_dir", "browser", "page", "pytest_runtest_makereport"]


@pytest.fixture(scope="session")
def seeded_devserver(artifacts_dir: Path) -> Iterator[DevServerProcess]:
    """The offline devserver seeded with the demo data, on a free loopback port."""
    log = artifacts_dir / "devserver-static.log"
    log.unlink(missing_ok=True)
    with DevServerProcess(["--memory", "--seed", "demo"], log_path=str(log)) as server:
        yield server
