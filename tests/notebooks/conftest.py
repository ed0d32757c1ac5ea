"""Notebook tier: a seeded devserver for the notebooks to talk to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from letta_devserver.process import DevServerProcess

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def seeded_devserver() -> Iterator[DevServerProcess]:
    """The offline devserver seeded with the demo data, on a free loopback port."""
    log = REPO / "artifacts" / "devserver-notebooks.log"
    log.parent.mkdir(exist_ok=True)
    log.unlink(missing_ok=True)
    with DevServerProcess(["--memory", "--seed", "demo"], log_path=str(log)) as server:
        yield server
