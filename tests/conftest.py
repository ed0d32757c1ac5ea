"""Fixtures shared by every tier: a Letta server (a devserver unless LETTA_BASE_URL is set)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from letta_client import AsyncLetta, Letta

from letta_widgets.devserver.process import DevServerProcess

MODEL = os.environ.get("LETTA_MODEL", "openai/gpt-4o-mini")
EMBEDDING = os.environ.get("LETTA_EMBEDDING", "openai/text-embedding-3-small")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against another server (LETTA_BASE_URL), skip ``devserver_only`` tests, saying why."""
    url = os.environ.get("LETTA_BASE_URL")
    if not url:
        return
    skip = pytest.mark.skip(
        reason=f"needs the devserver (fault injection, admin API or its scripted agent); "
        f"LETTA_BASE_URL={url} is another server"
    )
    for item in items:
        if item.get_closest_marker("devserver_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def devserver() -> Iterator[DevServerProcess]:
    """A devserver of our own (in-memory SQLite) on a free loopback port, stopped by PID."""
    with DevServerProcess(["--memory"]) as server:
        yield server


@pytest.fixture(scope="session")
def is_devserver() -> bool:
    """True when the session talks to our devserver (fault injection is available)."""
    return not os.environ.get("LETTA_BASE_URL")


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    """LETTA_BASE_URL when given (e.g. the real Letta server), else the session devserver."""
    url = os.environ.get("LETTA_BASE_URL")
    if url:
        return url.rstrip("/")
    return request.getfixturevalue("devserver").base_url


@pytest.fixture(scope="session")
def client(base_url: str) -> Letta:
    """The official synchronous SDK client for the session's server."""
    return Letta(base_url=base_url, api_key=os.environ.get("LETTA_API_KEY"), max_retries=0)


@pytest.fixture
def aclient(base_url: str) -> AsyncLetta:
    """The official async SDK client (per test: it binds to the test's event loop)."""
    return AsyncLetta(base_url=base_url, api_key=os.environ.get("LETTA_API_KEY"), max_retries=0)


@pytest.fixture
def agent(client: Letta) -> Iterator[object]:
    """A fresh agent with `human` and `persona` blocks, deleted afterwards."""
    created = client.agents.create(
        name=f"test-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a test agent."},
        ],
    )
    yield created
    with contextlib.suppress(Exception):
        client.agents.delete(created.id)
