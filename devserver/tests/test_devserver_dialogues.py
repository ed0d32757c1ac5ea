"""The Conversations guide's example prompts, end to end: the official SDK against a running
devserver (isolation, memory across conversations after a recompile or when new, forks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from letta_client import Letta

from letta_devserver.testing import LettaServer, ServerOptions, ServerPool


@pytest.fixture(scope="module", params=["cloud", "letta-0.16"])
def server(request: pytest.FixtureRequest) -> Iterator[LettaServer]:
    with ServerPool() as pool:
        yield pool.get(ServerOptions(profile=request.param))


@pytest.fixture
def client(server: LettaServer) -> Letta:
    return server.client(max_retries=0)


@pytest.fixture
def agent(client: Letta) -> str:
    return client.agents.create(
        name="guide",
        model="openai/gpt-4o-mini",
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a helpful assistant."},
        ],
    ).id


def ask(client: Letta, conv_id: str, text: str) -> str:
    stream = client.conversations.messages.create(
        conv_id, messages=[{"role": "user", "content": text}]
    )
    return "".join(c.content for c in stream if c.message_type == "assistant_message")


def test_name_and_favourite_food(client: Letta, agent: str) -> None:
    conv = client.conversations.create(agent_id=agent).id
    ask(client, conv, "My name is Alice and I love pizza.")
    assert ask(client, conv, "What's my name and favorite food?") == (
        "Your name is Alice and your favourite food is pizza."
    )
    other = client.conversations.create(agent_id=agent).id  # isolation: memory only
    assert ask(client, other, "What's my name?") == "According to my memory, your name is Ada."


def test_a_core_memory_update_reaches_new_and_recompiled_conversations(
    client: Letta, agent: str
) -> None:
    before = client.conversations.create(agent_id=agent).id
    writer = client.conversations.create(agent_id=agent).id
    question = "What is the project deadline according to your memory?"
    saved = ask(
        client,
        writer,
        "Please update your core memory to note that the project deadline is Friday.",
    )
    assert "Friday" in saved
    blocks = {b.label: b.value for b in client.agents.blocks.list(agent).items}
    assert "The project deadline is Friday." in blocks["persona"]
    assert (
        ask(client, writer, question) == "According to my memory, the project deadline is Friday."
    )
    fresh = client.conversations.create(agent_id=agent).id
    assert ask(client, fresh, question) == "According to my memory, the project deadline is Friday."
    stale = ask(client, before, question)  # compiled before the write: it does not know yet
    assert stale.startswith("My memory has nothing about the project deadline")
    client.conversations.recompile(before)
    assert (
        ask(client, before, question) == "According to my memory, the project deadline is Friday."
    )


def test_a_fork_keeps_what_was_said(client: Letta, agent: str) -> None:
    conv = client.conversations.create(agent_id=agent).id
    ask(client, conv, "My dog is called Rex.")
    fork = client.conversations.fork(conv).id
    assert ask(client, fork, "What is my dog called?") == "Your dog is called Rex."
    unrelated = client.conversations.create(agent_id=agent).id
    assert "Rex" not in ask(client, unrelated, "What is my dog called?")
