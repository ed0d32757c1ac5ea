"""Isolation between conversations, memory shared across them, and compiled system messages.

On the real server a conversation's system message holds the memory blocks as compiled when
the conversation was created, forked or last recompiled. A block change (blocks API or a
memory tool call) reads back at once through the blocks API and shows in conversations
created afterwards, in forks and in the agent's default conversation, but an existing
conversation's system message keeps the old value until ``conversations.recompile``. These
tests assert on the system message content that ``messages.list`` returns.
"""

from __future__ import annotations

import _support as sup
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract

OLD = "The human's name is Ada."
NEW = "The human's name is Linus."


def test_conversations_are_isolated(client: Letta, agent: object) -> None:
    a = client.conversations.create(agent_id=agent.id).id
    b = client.conversations.create(agent_id=agent.id).id
    sup.send(client, a, "secret for a: pineapple")
    sup.send(client, b, "note for b: walnut")
    ha, hb = sup.history(client, a), sup.history(client, b)
    assert [m.content for m in sup.of_type(ha, "user_message")] == ["secret for a: pineapple"]
    assert [m.content for m in sup.of_type(hb, "user_message")] == ["note for b: walnut"]
    assert not {m.id for m in ha} & {m.id for m in hb}
    assert not any("pineapple" in (getattr(m, "content", "") or "") for m in hb)
    ctx_a = client.conversations.retrieve(a).in_context_message_ids
    ctx_b = client.conversations.retrieve(b).in_context_message_ids
    assert not set(ctx_a) & set(ctx_b)
    # the agent's default conversation sees neither
    default = sup.history(client, "default", agent_id=agent.id)
    assert not sup.of_type(default, "user_message")


def test_block_update_visibility(client: Letta, agent: object) -> None:
    existing = client.conversations.create(agent_id=agent.id).id
    sup.send(client, existing, "hello before the change")
    untouched = client.conversations.create(agent_id=agent.id).id  # created, never used
    assert OLD in sup.system_message(client, existing).content

    client.agents.blocks.update("human", agent_id=agent.id, value=NEW)
    # the blocks API has it at once
    assert client.agents.blocks.retrieve("human", agent_id=agent.id).value == NEW
    # existing conversations keep the system message compiled at creation
    for cid in (existing, untouched):
        content = sup.system_message(client, cid).content
        assert OLD in content and NEW not in content, cid
    sup.send(client, untouched, "first message after the change")
    assert OLD in sup.system_message(client, untouched).content
    # a NEW conversation is compiled with the new value
    fresh = client.conversations.create(agent_id=agent.id).id
    assert NEW in sup.system_message(client, fresh).content
    assert OLD not in sup.system_message(client, fresh).content
    # so is a fork of the stale conversation
    fork = client.conversations.fork(existing).id
    assert NEW in sup.system_message(client, fork).content
    # and the agent's default conversation
    assert NEW in sup.system_message(client, "default", agent_id=agent.id).content
    # recompile brings the existing conversation up to date, in place
    before = sup.system_message(client, existing)
    client.conversations.recompile(existing)
    after = sup.system_message(client, existing)
    assert after.id == before.id
    assert NEW in after.content and OLD not in after.content
    assert client.conversations.retrieve(existing).in_context_message_ids[0] == after.id


def test_memory_tool_call_is_shared_but_not_recompiled(client: Letta, agent: object) -> None:
    a = client.conversations.create(agent_id=agent.id).id
    b = client.conversations.create(agent_id=agent.id).id
    chunks = sup.send(
        client,
        a,
        'call:memory_replace {"label": "human", "old_string": "Ada", "new_string": "Grace"}',
    )
    ret = sup.of_type(chunks, "tool_return_message")
    assert ret and ret[0].status == "success"
    value = client.agents.blocks.retrieve("human", agent_id=agent.id).value
    assert value == "The human's name is Grace."
    # neither the editing conversation nor its sibling is recompiled by the edit
    for cid in (a, b):
        content = sup.system_message(client, cid).content
        assert OLD in content and "Grace" not in content, cid
    sup.send(client, a, "and now?")
    assert "Grace" not in sup.system_message(client, a).content
    # a new conversation sees the edit; recompile brings `b` up to date
    fresh = client.conversations.create(agent_id=agent.id).id
    assert "Grace" in sup.system_message(client, fresh).content
    client.conversations.recompile(b)
    assert "Grace" in sup.system_message(client, b).content


def test_memory_insert_tool_call(client: Letta, conv: object) -> None:
    chunks = sup.send(
        client, conv.id, 'call:memory_insert {"label": "persona", "new_string": "I like chess."}'
    )
    call = sup.of_type(chunks, "tool_call_message")[0]
    assert call.tool_call.name == "memory_insert"
    value = client.agents.blocks.retrieve("persona", agent_id=conv.agent_id).value
    assert "I am a test agent." in value and "I like chess." in value


def test_conversation_search_tool_searches_the_whole_agent(client: Letta, agent: object) -> None:
    """The real server's conversation_search is agent-wide recall: it finds messages of the
    agent's other conversations too. Its return is a Python-repr dict string."""
    a = client.conversations.create(agent_id=agent.id).id
    b = client.conversations.create(agent_id=agent.id).id
    sup.send(client, b, "my secret nut is walnut")
    chunks = sup.send(client, a, 'call:conversation_search {"query": "walnut"}')
    ret = sup.of_type(chunks, "tool_return_message")
    assert len(ret) == 1 and ret[0].status == "success" and ret[0].name == "conversation_search"
    assert ret[0].tool_return.startswith("{'message': 'Showing ")
    assert "my secret nut is walnut" in ret[0].tool_return
    assert sup.stop_reason(chunks) == "end_turn"
    chunks = sup.send(client, a, 'call:conversation_search {"query": "zzzqqq"}')
    ret = sup.of_type(chunks, "tool_return_message")
    assert ret[0].tool_return == "{'message': 'No results found.', 'results': []}"
