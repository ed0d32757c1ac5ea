"""ChatCell's edit, regenerate, branches and switch against a server, through the SDK.

On Letta Cloud (the devserver's ``cloud`` profile) a fork stops at its ``message_id``; letta
0.16.8 ignores it and copies everything, so there an edit is refused and nothing changes
(these tests also run against the real 0.16.8 server in ``make test-real``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.letta.messages import text_of
from letta_widgets.widgets.browser import ConversationBrowser
from letta_widgets.widgets.chat import ChatCell

pytestmark = [pytest.mark.real_server, pytest.mark.both_profiles]


def user_texts(client: Letta, cid: str) -> list[str]:
    """The user messages of a conversation, oldest first."""
    page = client.conversations.messages.list(cid, order="asc", limit=200).items
    return [text_of(m) for m in page if m.message_type == "user_message"]


def user_id(client: Letta, cid: str, text: str) -> str:
    page = client.conversations.messages.list(cid, order="asc", limit=200).items
    return next(m.id for m in page if m.message_type == "user_message" and text_of(m) == text)


def conversation_ids(client: Letta, agent: Any) -> set[str]:
    return {c.id for c in client.conversations.list(agent_id=agent.id, limit=100)}


@pytest.fixture
def chat(client: Letta, conversation: str, tmp_path: Path) -> ChatCell:
    cell = ChatCell(client, conversation_id=conversation, lineage_path=tmp_path / "lineage.json")
    for text in ["first question", "second question", "third question"]:
        cell.send(text)
    return cell


def test_edit_forks_before_the_message_and_keeps_the_old_branch(
    client: Letta, chat: ChatCell, conversation: str, agent: Any, profile: str
) -> None:
    second = user_id(client, conversation, "second question")
    if profile == "letta-0.16":  # forks copy everything there: refused, nothing made or lost
        before = conversation_ids(client, agent)
        with pytest.raises(lw.ForkPointIgnored, match=r"0\.16\.8"):
            chat.edit(second, "second question, edited")
        assert chat.conversation_id == conversation and "0.16.8" in chat.error
        assert conversation_ids(client, agent) == before
        assert "not offered" in chat.branch_note
        with pytest.raises(lw.ForkPointIgnored):  # known now: refused before forking
            chat.regenerate()
        assert conversation_ids(client, agent) == before
        return
    turn = chat.edit(second, "second question, edited")
    fork = chat.conversation_id
    assert fork != conversation and turn.conversation_id == fork
    assert turn.stop_reason == "end_turn"
    assert user_texts(client, fork) == ["first question", "second question, edited"]
    assert user_texts(client, conversation) == [
        "first question",
        "second question",
        "third question",
    ]
    [point] = chat.branches()
    assert point.conversation_ids == (conversation, fork) and point.current == fork
    assert chat.branch_nav == [point.as_dict()]
    assert any("second question, edited" in i["html"] for i in chat.items)

    # the old branch is one switch away, and shows the same point from its side
    [back] = chat.switch(conversation)
    assert chat.conversation_id == conversation and back.index == 0
    assert back.conversation_ids == point.conversation_ids
    assert any("third question" in i["html"] for i in chat.items)

    # editing the same message again in the fork adds a third sibling at the same point
    chat.switch(fork)
    edited = user_id(client, fork, "second question, edited")
    chat.edit(edited, "second question, third try")
    [three] = chat.branches()
    assert three.conversation_ids[:2] == (conversation, fork) and three.index == 2
    assert len(chat.switch(conversation)[0].conversation_ids) == 3


def test_regenerate_answers_the_last_message_again_in_a_fork(
    client: Letta, chat: ChatCell, conversation: str, profile: str
) -> None:
    if profile == "letta-0.16":
        with pytest.raises(lw.ForkPointIgnored):
            chat.regenerate()
        assert chat.conversation_id == conversation
        return
    old = client.conversations.messages.list(conversation, order="asc", limit=200).items
    turn = chat.regenerate()
    fork = chat.conversation_id
    assert fork != conversation and turn.stop_reason == "end_turn"
    assert user_texts(client, fork) == ["first question", "second question", "third question"]
    assert [m.id for m in client.conversations.messages.list(conversation, order="asc").items] == [
        m.id for m in old
    ]  # the old branch is untouched
    [point] = chat.branches()
    assert point.conversation_ids == (conversation, fork)


def test_a_message_sent_in_this_cell_can_be_edited_before_a_reload(
    client: Letta, chat: ChatCell, conversation: str, profile: str
) -> None:
    if profile == "letta-0.16":
        pytest.skip("forks ignore the fork point there (refusal tested above)")
    local = [i for i in chat.items if i["key"].startswith("local-")]
    assert [i["text"] for i in local] == ["first question", "second question", "third question"]
    chat._on_edit({"key": local[1]["key"], "text": "second, from the edit box"})  # the front-end
    chat.wait()
    assert user_texts(client, chat.conversation_id) == [
        "first question",
        "second, from the edit box",
    ]


def test_editing_an_unknown_message_is_a_clear_error_and_changes_nothing(
    client: Letta, chat: ChatCell, conversation: str, agent: Any
) -> None:
    before = conversation_ids(client, agent)
    with pytest.raises(lw.NotFound, match="no such message"):
        chat.edit("message-00000000-0000-4000-8000-000000000000", "x")
    assert chat.conversation_id == conversation and "no such message" in chat.error
    assert conversation_ids(client, agent) == before


def test_switch_to_a_missing_conversation_keeps_the_shown_one(
    chat: ChatCell, conversation: str
) -> None:
    shown = list(chat.items)
    with pytest.raises(lw.NotFound):
        chat.switch("conv-00000000-0000-4000-8000-000000000000")
    assert chat.conversation_id == conversation and chat.items == shown and chat.error


def test_the_browser_shows_the_branches_an_edit_made(
    client: Letta, chat: ChatCell, conversation: str, agent: Any, tmp_path: Path, profile: str
) -> None:
    if profile == "letta-0.16":
        pytest.skip("forks ignore the fork point there (refusal tested above)")
    chat.edit(user_id(client, conversation, "third question"), "third, edited")
    browser = ConversationBrowser(client, agent.id, lineage_path=tmp_path / "lineage.json")
    assert browser.select(chat.conversation_id)["parent"] == conversation
    assert browser.select(conversation)["children"] == [chat.conversation_id]
    out = browser.export(tmp_path / "fork.md", chat.conversation_id)
    assert "third, edited" in out.read_text() and "third question" not in out.read_text()
