"""Fixtures for the contract suite: the same tests against any Letta server.

The session's server comes from ``tests/conftest.py`` (``LETTA_BASE_URL`` or a devserver
of our own). Tests marked ``devserver_only`` need a devserver feature (fault injection,
the admin API) and are skipped, with the reason, when ``LETTA_BASE_URL`` points elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import _support as sup
import pytest
from letta_client import Letta

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``devserver_only`` contract tests (with a reason) against another server."""
    url = os.environ.get("LETTA_BASE_URL")
    if not url:
        return
    skip = pytest.mark.skip(
        reason=f"devserver-only feature (fault injection / admin API); LETTA_BASE_URL={url} "
        "is another server"
    )
    for item in items:
        if _HERE in Path(str(item.fspath)).parents and item.get_closest_marker("devserver_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server_version(client: Letta) -> str:
    """The version string the server reports in ``GET /v1/health/``."""
    return client.health().version


@pytest.fixture(scope="session")
def server_label(server_version: str, is_devserver: bool) -> str:
    """A human name for the server, used in skip reasons."""
    return f"devserver {server_version}" if is_devserver else f"Letta server {server_version}"


@pytest.fixture
def conv(client: Letta, agent: object) -> object:
    """A fresh conversation of the test's agent."""
    return client.conversations.create(agent_id=agent.id)


@pytest.fixture(scope="module")
def module_agent(client: Letta) -> Iterator[object]:
    """One agent shared by a module's read-only tests (saves server round trips)."""
    created = client.agents.create(
        name=f"contract-{uuid.uuid4().hex[:8]}",
        model=sup.MODEL,
        embedding=sup.EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a test agent."},
        ],
    )
    yield created
    with contextlib.suppress(Exception):
        client.agents.delete(created.id)
