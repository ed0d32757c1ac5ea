"""Every widget and helper takes an ``AsyncLetta`` as readily as a ``Letta`` (the same server,
key and headers), through the SDK against the devserver."""

from __future__ import annotations

from pathlib import Path

import pytest
from letta_client import AsyncLetta, Letta

import letta_widgets as lw
from letta_widgets.client import async_twin, sync_twin

pytestmark = pytest.mark.real_server


@pytest.fixture
def async_client(base_url: str) -> AsyncLetta:
    return AsyncLetta(
        base_url=base_url, api_key="k", max_retries=0, default_headers={"X-Trace": "t"}
    )


def test_twins_keep_the_settings(async_client: AsyncLetta) -> None:
    sync = sync_twin(async_client)
    assert isinstance(sync, Letta) and sync is sync_twin(async_client)
    assert (sync.base_url, sync.api_key, sync.max_retries) == (
        async_client.base_url,
        "k",
        0,
    )
    assert sync.default_headers["X-Trace"] == "t"
    assert sync_twin(sync) is sync and async_twin(async_client) is async_client
    with pytest.raises(TypeError, match=r"letta_client\.Letta or AsyncLetta"):
        sync_twin("http://localhost:8283")  # type: ignore[arg-type]


def test_chat_cell_with_an_async_client(
    async_client: AsyncLetta, client: Letta, conversation: str
) -> None:
    chat = lw.ChatCell(async_client, conversation_id=conversation)
    turn = chat.send("hi")
    assert turn.ok and turn.assistant_text
    listed = client.conversations.messages.list(conversation, order="asc").items
    assert [m.message_type for m in listed].count("user_message") == 1


def test_browser_and_compare_with_an_async_client(
    async_client: AsyncLetta, agent: object, conversation: str
) -> None:
    browser = lw.ConversationBrowser(async_client, agent_id=agent.id)  # type: ignore[attr-defined]
    assert browser.agent_id == agent.id  # type: ignore[attr-defined]
    browser.select(conversation)
    assert browser.selected == conversation
    cmp = lw.CompareView(async_client, [lw.Variant(fork_of=conversation, label="A")])
    rnd = cmp.send("hello", fresh=True)
    assert rnd.errors == {"A": None} and rnd.turns["A"] is not None and rnd.turns["A"].ok
    card = lw.ConnectionCard(async_client)
    assert card.status == "ok"


def test_helpers_with_an_async_client(
    async_client: AsyncLetta, client: Letta, agent: object, conversation: str, tmp_path: Path
) -> None:
    lw.ChatCell(client, conversation_id=conversation).send("hello")
    frame = lw.messages_frame(async_client, conversation)
    assert (frame["conversation_id"] == conversation).all() and len(frame) >= 2
    convs = lw.conversations_frame(async_client, agent.id)  # type: ignore[attr-defined]
    assert conversation in set(convs["id"])
    history = lw.agent_history(async_client, agent.id, progress=False)  # type: ignore[attr-defined]
    assert conversation in set(history["conversation_id"])
    pytest.importorskip("pyarrow")
    written = lw.export_history(async_client, tmp_path, agent_ids=[agent.id])  # type: ignore[attr-defined]
    assert conversation in set(written["conversation_id"])
