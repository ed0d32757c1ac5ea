"""The devserver's message search: the FTS5 index kept by the store, queries, results."""

from __future__ import annotations

import pytest

from letta_devserver import seed
from letta_devserver.analytics import search_query
from letta_devserver.errors import ApiError
from letta_devserver.search import SearchQuery, fts_query, search
from letta_devserver.service import Service
from letta_devserver.storage import Store, StoredMessage, indexed_text


def _svc(path: str = ":memory:") -> tuple[Service, dict]:
    svc = Service(Store(path))
    agent = svc.create_agent({"name": "t", "memory_blocks": [{"label": "human", "value": "v"}]})
    return svc, svc.create_conversation(agent["id"])


def _msg(i: int, role: str, body: dict, agent_id: str) -> StoredMessage:
    return StoredMessage(
        f"message-{i:08d}-0000-4000-8000-000000000000", role, 1000.0 + i, body, agent_id=agent_id
    )


def _ids(svc: Service, query: str, **kw: object) -> list[str]:
    rows = search(svc.store.db, SearchQuery(query, **kw))
    return list(dict.fromkeys(r["message_id"] for r in rows))


def test_fts_query_quotes_words_and_ors_them() -> None:
    assert fts_query('Tea AND "coffee"? tea') == '"tea" OR "and" OR "coffee"'
    assert fts_query("  ?! ") is None


def test_indexed_text_per_role() -> None:
    reasoning = StoredMessage("m", "assistant", 0, {"reasoning": "think", "content": "say"})
    assert indexed_text(reasoning) == "think say"
    parts = StoredMessage("m", "user", 0, {"content": [{"type": "text", "text": "hi"}]})
    assert indexed_text(parts) == "hi"
    assert indexed_text(StoredMessage("m", "tool", 0, {"tool_return": "x"})) is None
    assert indexed_text(StoredMessage("m", "summary", 0, {"summary": "x"})) is None


def test_results_expand_a_message_reversed_and_rank_by_bm25() -> None:
    svc, conv = _svc()
    aid = conv["agent_id"]
    svc.store.append(
        conv["id"],
        [
            _msg(1, "user", {"content": "apples"}, aid),
            _msg(2, "assistant", {"reasoning": "apples and pears", "content": "pears"}, aid),
        ],
    )
    rows = search(svc.store.db, SearchQuery("apples pears"))
    # the message with both words first; its answer before its reasoning (reverse=True)
    assert [r["message_type"] for r in rows] == [
        "assistant_message",
        "reasoning_message",
        "user_message",
    ]
    assert rows[0]["content"] == "pears" and rows[1]["reasoning"] == "apples and pears"
    assert rows[0]["conversation_id"] == conv["id"] and rows[0]["agent_id"] == aid
    assert len(_ids(svc, "apples", limit=1)) == 1


def test_a_rewritten_message_is_indexed_once_with_its_new_text() -> None:
    svc, conv = _svc()
    aid = conv["agent_id"]
    svc.store.append(conv["id"], [_msg(1, "user", {"content": "old words"}, aid)])
    svc.store.put_messages([_msg(1, "user", {"content": "new words"}, aid)])
    assert _ids(svc, "old") == []
    assert len(search(svc.store.db, SearchQuery("words"))) == 1
    system = svc.store.in_context(conv["id"])[0]
    svc.store.set_message_body(system.id, {"content": "recompiled zanzibar"}, 5.0)
    assert _ids(svc, "zanzibar") == [system.id]


def test_the_bulk_insert_is_indexed_and_an_old_database_is_backfilled(tmp_path) -> None:
    path = str(tmp_path / "db.sqlite")
    svc, conv = _svc(path)
    seed.synthetic(svc, conv, 12)
    found = _ids(svc, "version", conversation_id=conv["id"])
    assert found
    svc.store.x("DELETE FROM message_fts")  # as a database written before the index existed
    svc.store.db.close()
    again = Service(Store(path))
    assert _ids(again, "version", conversation_id=conv["id"]) == found


def test_default_conversation_results_have_no_conversation_id() -> None:
    svc, conv = _svc()
    default = svc.default_conversation(conv["agent_id"])
    svc.store.append(default["id"], [_msg(1, "user", {"content": "quokka"}, conv["agent_id"])])
    rows = search(svc.store.db, SearchQuery("quokka"))
    assert [r["conversation_id"] for r in rows] == [None]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": 3},
        {"query": "x", "limit": 0},
        {"query": "x", "limit": 101},
        {"query": "x", "search_mode": "magic"},
        {"query": "x", "end_date": "yesterday"},
    ],
)
def test_search_body_validation(body: dict) -> None:
    with pytest.raises(ApiError) as info:
        search_query(body)
    assert info.value.status == 422


def test_search_body_defaults() -> None:
    q = search_query({"query": "x", "start_date": "2024-01-01T00:00:00Z"})
    assert (q.limit, q.start, q.end) == (50, 1704067200.0, None)
