"""Integration tests run the toolkit against a devserver through the official SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from letta_client import Letta


@pytest.fixture
def conversation(client: Letta, agent: object) -> Iterator[str]:
    """A fresh conversation on the test's agent."""
    conv = client.conversations.create(agent_id=agent.id)  # type: ignore[attr-defined]
    yield conv.id
