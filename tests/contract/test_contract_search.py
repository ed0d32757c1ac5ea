"""``client.messages.search`` (``POST /v1/messages/search``).

Letta Cloud answers it ("This is a cloud-only feature", SDK ``resources/messages.py``): a list
of system / user / reasoning / assistant results with ``message_id``, ``created_at``,
``agent_id``, ``conversation_id`` and ``content`` (``reasoning``). letta 0.16.8 needs
Turbopuffer for it and answers 400 without (``services/message_manager.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import _support as sup
import letta_client
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract

NEEDS_TURBOPUFFER = (
    "Message search requires message embedding, OpenAI, and Turbopuffer to be enabled."
)
RESULT_TYPES = {"system_message", "user_message", "reasoning_message", "assistant_message"}


def _search(client: Letta, query: str, **params: Any) -> list[dict[str, Any]]:
    return sup.raw_json(client.messages.with_raw_response.search, query=query, **params)


def _cloud_only(profile: str) -> None:
    if profile != "cloud":
        pytest.skip("letta 0.16.8 has no message search without Turbopuffer (Letta Cloud has)")


def _word() -> str:
    """A word no other test's messages hold."""
    return "w" + uuid.uuid4().hex[:10]


def test_search_without_turbopuffer_is_400(client: Letta, profile: str) -> None:
    if profile == "cloud":
        pytest.skip("Letta Cloud searches (test_search_finds_user_and_assistant_text)")
    with pytest.raises(letta_client.BadRequestError) as info:
        client.messages.search(query="anything")
    assert info.value.body == {"detail": NEEDS_TURBOPUFFER}


@pytest.mark.parametrize("limit", [0, 101])
def test_search_limit_is_validated(client: Letta, limit: int) -> None:
    """Both: ``limit`` must be 1..100 (422, before anything else)."""
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.messages.search(query="anything", limit=limit)


def test_search_finds_user_and_assistant_text(client: Letta, conv: object, profile: str) -> None:
    _cloud_only(profile)
    word = _word()
    sup.send(client, conv.id, f"the purple {word} dances")
    got = _search(client, word)
    assert got and {r["message_type"] for r in got} <= RESULT_TYPES
    user = [r for r in got if r["message_type"] == "user_message"]
    stored = sup.of_type(sup.history(client, conv.id), "user_message")[0]
    assert [(r["message_id"], r["content"]) for r in user] == [(stored.id, stored.content)]
    assert set(user[0]) == {
        "message_type", "content", "message_id", "agent_id", "conversation_id", "created_at",
    }  # fmt: skip
    assert (user[0]["agent_id"], user[0]["conversation_id"]) == (conv.agent_id, conv.id)
    assert datetime.fromisoformat(user[0]["created_at"].replace("Z", "+00:00"))
    # the SDK parses the union by message_type
    items = client.messages.search(query=word)
    assert {type(i).__name__ for i in items} <= {
        "MessageSearchResponseItemUserMessageListResult",
        "MessageSearchResponseItemAssistantMessageListResult",
        "MessageSearchResponseItemReasoningMessageListResult",
        "MessageSearchResponseItemSystemMessageListResult",
    }
    # vector and hybrid modes answer from the same index on the devserver
    for mode in ("fts", "vector", "hybrid"):
        assert {r["message_id"] for r in _search(client, word, search_mode=mode)} == {
            r["message_id"] for r in got
        }


def test_search_ranks_and_breaks_ties_newest_first(
    client: Letta, conv: object, profile: str
) -> None:
    _cloud_only(profile)
    a, b = _word(), _word()
    sup.send(client, conv.id, f"only {a} here")
    sup.send(client, conv.id, f"both {a} and {b} here")
    sup.send(client, conv.id, f"only {a} here")
    users = [r for r in _search(client, f"{a} {b}") if r["message_type"] == "user_message"]
    texts = [r["content"] for r in users]
    assert texts == [f"both {a} and {b} here", f"only {a} here", f"only {a} here"]
    # equal ranks: newest first
    assert users[1]["created_at"] >= users[2]["created_at"]
    history = [m.id for m in sup.of_type(sup.history(client, conv.id), "user_message")]
    assert [users[1]["message_id"], users[2]["message_id"]] == [history[2], history[0]]


def test_search_filters(client: Letta, agent: object, module_agent: object, profile: str) -> None:
    _cloud_only(profile)
    word = _word()
    mine = client.conversations.create(agent_id=agent.id).id
    other = client.conversations.create(agent_id=agent.id).id
    elsewhere = client.conversations.create(agent_id=module_agent.id).id
    for conv_id in (mine, other, elsewhere):
        sup.send(client, conv_id, f"note {word}")

    def convs(**params: Any) -> set[str]:
        return {r["conversation_id"] for r in _search(client, word, **params)}

    assert convs() == {mine, other, elsewhere}
    assert convs(agent_id=agent.id) == {mine, other}
    assert convs(conversation_id=mine) == {mine}
    # limit counts stored messages (each a user message, or a reasoning + answer pair)
    assert len({r["message_id"] for r in _search(client, word, limit=2)}) == 2
    now = datetime.now(timezone.utc)
    assert convs(start_date=(now + timedelta(hours=1)).isoformat()) == set()
    assert convs(end_date=(now - timedelta(hours=1)).isoformat()) == set()
    assert convs(start_date=(now - timedelta(hours=1)).isoformat()) == {mine, other, elsewhere}
    # a deleted conversation's messages are not found
    client.conversations.delete(other)
    assert convs(agent_id=agent.id) == {mine}


def test_search_finds_forked_messages_under_the_fork(
    client: Letta, conv: object, profile: str
) -> None:
    _cloud_only(profile)
    word = _word()
    sup.send(client, conv.id, f"before the fork {word}")
    fork = client.conversations.fork(conv.id).id
    sup.send(client, fork, f"after the fork {word}")
    in_fork = _search(client, word, conversation_id=fork)
    assert {r["conversation_id"] for r in in_fork} == {fork}
    assert {r["content"] for r in in_fork if r["message_type"] == "user_message"} == {
        f"before the fork {word}",
        f"after the fork {word}",
    }
    # unfiltered, a shared message is reported once, under the conversation it was written in
    shared = [r for r in _search(client, word) if r.get("content") == f"before the fork {word}"]
    assert [r["conversation_id"] for r in shared] == [conv.id]


def test_search_sees_recompiled_system_messages(client: Letta, conv: object, profile: str) -> None:
    _cloud_only(profile)
    word = _word()
    client.agents.blocks.update("human", agent_id=conv.agent_id, value=f"The human is {word}.")
    assert not [r for r in _search(client, word) if r["conversation_id"] == conv.id]
    client.conversations.recompile(conv.id)
    found = [r for r in _search(client, word) if r["conversation_id"] == conv.id]
    assert [r["message_type"] for r in found] == ["system_message"]
    assert word in found[0]["content"]


@pytest.mark.devserver_only
def test_search_finds_bulk_synthetic_history(client: Letta, conv: object, profile: str) -> None:
    _cloud_only(profile)
    client.post(
        f"/v1/_devserver/conversations/{conv.id}/synthetic", body={"turns": 30}, cast_to=object
    )
    got = _search(client, "Lisbon Alfama", conversation_id=conv.id, limit=100)
    assert got and all(r["conversation_id"] == conv.id for r in got)
    assert any("Lisbon" in (r.get("content") or r.get("reasoning") or "") for r in got)
