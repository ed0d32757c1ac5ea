"""Health, agents (create / list with cursor pages / retrieve / delete) and memory blocks."""

from __future__ import annotations

import uuid

import _support as sup
import letta_client
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract


def test_health(client: Letta, profile: str, is_devserver: bool) -> None:
    body = sup.raw_json(client.with_raw_response.health)
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]
    assert client.health().status == "ok"
    if profile == "letta-0.16":  # the last Python server release
        assert body["version"].startswith("0.16.")
    elif is_devserver:  # Letta Cloud's version is not on record: a devserver label
        assert "devserver" in body["version"]


def _make_agent(client: Letta, name: str) -> object:
    return client.agents.create(
        name=name,
        model=sup.MODEL,
        embedding=sup.EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a test agent."},
        ],
    )


def test_agent_create_retrieve_delete(client: Letta) -> None:
    name = f"contract-{uuid.uuid4().hex[:8]}"
    created = _make_agent(client, name)
    try:
        assert created.id.startswith("agent-")
        assert created.name == name
        assert created.agent_type == "letta_v1_agent"
        tools = {t.name for t in created.tools or []}
        assert {"memory_insert", "memory_replace", "conversation_search"} <= tools
        assert "send_message" not in tools
        labels = {b.label: b.value for b in created.blocks or []}
        assert labels["human"] == "The human's name is Ada."
        assert labels["persona"] == "I am a test agent."

        got = client.agents.retrieve(created.id)
        assert got.id == created.id and got.name == name
        body = sup.raw_json(client.agents.with_raw_response.retrieve, created.id)
        missing = sup.AGENT_FIELDS_USED - set(body)
        assert not missing, f"agent JSON lacks {missing}"
    finally:
        client.agents.delete(created.id)
    with pytest.raises(letta_client.NotFoundError):
        client.agents.retrieve(created.id)


def test_agents_list_cursor_pages(client: Letta) -> None:
    tag = uuid.uuid4().hex[:6]
    made = [_make_agent(client, f"contract-list-{tag}-{i}") for i in range(3)]
    try:
        ids = {a.id for a in made}
        every = [a.id for a in client.agents.list(limit=1000).items]
        assert ids <= set(every)
        assert len(every) == len(set(every))

        first = client.agents.list(limit=2)
        assert len(first.items) == 2
        assert first.has_next_page()
        # walk every page with the SDK's cursor (after = last id): nothing lost or repeated
        walked = [a.id for a in sup.walk_pages(client.agents.list, limit=2)]
        assert len(walked) == len(set(walked))
        assert ids <= set(walked)
        assert set(walked) == set(every)

        nxt = client.agents.list(limit=2, after=first.items[-1].id).items
        assert not {a.id for a in nxt} & {a.id for a in first.items}
    finally:
        for a in made:
            client.agents.delete(a.id)


def test_blocks_list_retrieve_update(client: Letta, agent: object) -> None:
    blocks = client.agents.blocks.list(agent.id).items
    by_label = {b.label: b for b in blocks}
    assert {"human", "persona"} <= set(by_label)
    # cursor pages of blocks: nothing lost or repeated
    walked = sup.walk_pages(lambda **kw: client.agents.blocks.list(agent.id, **kw), limit=1)
    assert sorted(b.id for b in walked) == sorted(b.id for b in blocks)

    human = client.agents.blocks.retrieve("human", agent_id=agent.id)
    assert human.value == "The human's name is Ada."
    assert human.id == by_label["human"].id
    body = sup.raw_json(client.agents.blocks.with_raw_response.retrieve, "human", agent_id=agent.id)
    missing = sup.BLOCK_FIELDS_USED - set(body)
    assert not missing, f"block JSON lacks {missing}"

    updated = client.agents.blocks.update(
        "human", agent_id=agent.id, value="The human's name is Linus."
    )
    assert updated.value == "The human's name is Linus."
    assert updated.id == human.id
    assert client.agents.blocks.retrieve("human", agent_id=agent.id).value == (
        "The human's name is Linus."
    )
    # the agent's own view of its memory agrees (relationships only with include=)
    again = client.agents.retrieve(agent.id, include=["agent.blocks"])
    assert {b.label: b.value for b in again.blocks}["human"] == "The human's name is Linus."


def test_agent_retrieve_relationships_need_include(client: Letta, agent: object) -> None:
    """Like the real server, retrieve leaves blocks/tools empty unless ``include=`` asks."""
    bare = client.agents.retrieve(agent.id)
    assert bare.blocks == []
    assert bare.tools == []
    full = client.agents.retrieve(agent.id, include=["agent.blocks", "agent.tools"])
    assert {b.label for b in full.blocks} >= {"human", "persona"}
    assert {t.name for t in full.tools} >= {"memory_insert", "memory_replace"}


def test_block_unknown_label_is_404(client: Letta, agent: object) -> None:
    with pytest.raises(letta_client.NotFoundError):
        client.agents.blocks.retrieve("no-such-label", agent_id=agent.id)


def test_agent_unknown_404_malformed_422(client: Letta) -> None:
    with pytest.raises(letta_client.NotFoundError):
        client.agents.retrieve(f"agent-{uuid.uuid4()}")
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.agents.retrieve("agent-not-a-uuid")
