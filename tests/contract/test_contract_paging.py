"""Conversation messages list: defaults, after/before/limit/order, cursor pagination edges.

Behaviour these tests pin down:

* ``limit`` counts stored message rows, not Letta messages. One row can become several
  Letta messages that share its id (reasoning + assistant, reasoning + tool call), so a
  page can hold more than ``limit`` items, and a page never splits such a group.
* letta 0.16.8 (``letta-0.16``): ``after`` / ``before`` are chronological whatever
  ``order`` is: ``after=X`` keeps rows newer than X, ``before=X`` rows older than X;
  ``order`` sorts the rows, and ``limit`` takes the first rows of that sort. So
  ``order=desc, before=X`` is the next (older) page of a newest-first walk, while
  ``order=asc, before=X`` gives the OLDEST rows before X.
* Letta Cloud (``cloud``): the cursors are relative to the sort order
  (letta-ai/letta-agent-sdk#239): under ``desc``, ``after=X`` keeps rows older than X (the
  next page of a newest-first walk) and ``before=X`` rows newer than X, the NEWEST first
  (``WHERE pos > X ORDER BY pos DESC LIMIT n``); ``asc`` is as on 0.16.8.
* Within a row, Letta messages keep their natural order (reasoning first) in both orders.
* A cursor id that is not in the conversation is ignored.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import _support as sup
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract

TURNS = ["one", "two", 'call:memory_insert {"label": "human", "new_string": "Ada likes tea."}',
         "three", "four"]  # fmt: skip


@pytest.fixture(scope="module")
def hist(client: Letta, module_agent: object) -> Iterator[dict[str, Any]]:
    """A conversation with a few real turns (one with a tool call), listed in full."""
    conv = client.conversations.create(agent_id=module_agent.id)
    for text in TURNS:
        chunks = sup.send(client, conv.id, text)
        assert sup.stop_reason(chunks) == "end_turn"
    full = sup.history(client, conv.id)
    yield {"conv": conv.id, "full": full, "rows": _rows(full)}


def _rows(messages: list[Any]) -> list[list[Any]]:
    """Group consecutive messages sharing an id (one stored row each)."""
    rows: list[list[Any]] = []
    for m in messages:
        if rows and rows[-1][0].id == m.id:
            rows[-1].append(m)
        else:
            rows.append([m])
    return rows


def _flat(rows: list[list[Any]]) -> list[tuple[str, str]]:
    return [sup.key(m) for row in rows for m in row]


def _keys(messages: list[Any]) -> list[tuple[str, str]]:
    return [sup.key(m) for m in messages]


def _desc_cursors(profile: str) -> tuple[str, str]:
    """Under ``order=desc``: the (older-than, newer-than) cursor parameter names.

    Letta Cloud: cursors relative to the sort order (letta-agent-sdk#239), so ``after`` is
    older; letta 0.16.8 compares positions, so ``before`` is older."""
    return ("after", "before") if profile == "cloud" else ("before", "after")


def test_history_shape(hist: dict[str, Any]) -> None:
    full = hist["full"]
    assert full[0].message_type == "system_message"
    assert len(sup.of_type(full, "user_message")) == len(TURNS)
    assert [m.content for m in sup.of_type(full, "user_message")] == TURNS
    # a row id appears in one place only (its Letta messages are adjacent)
    ids = [row[0].id for row in hist["rows"]]
    assert len(ids) == len(set(ids))
    # the order of types inside a row is natural: reasoning before what it leads to
    for row in hist["rows"]:
        t = sup.types(row)
        if "reasoning_message" in t:
            assert t[0] == "reasoning_message", t


def test_default_is_desc_limit_100(client: Letta, hist: dict[str, Any]) -> None:
    got = sup.page(client, hist["conv"])
    assert _keys(got) == _flat(list(reversed(hist["rows"])))
    desc = sup.page(client, hist["conv"], order="desc")
    assert _keys(desc) == _keys(got)
    # the default limit is 100 rows: a short history fits in one page
    assert len({m.id for m in got}) == len(hist["rows"]) < 100


@pytest.mark.parametrize("limit", [1, 2, 3, "rows", "half", "rows+1"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_walk_every_page(
    client: Letta, hist: dict[str, Any], order: str, limit: Any, profile: str
) -> None:
    """Forward walk: asc with after=<last id>; newest-first walk: desc with the older-than
    cursor (``before`` on letta 0.16.8, ``after`` on Letta Cloud)."""
    rows = hist["rows"]
    n = len(rows)
    size = {"rows": n, "half": n // 2 if n % 2 == 0 else (n + 1) // 2, "rows+1": n + 1}.get(
        limit, limit
    )
    expected_rows = rows if order == "asc" else list(reversed(rows))
    cursor_param = "after" if order == "asc" else _desc_cursors(profile)[0]
    walked: list[Any] = []
    pages: list[list[Any]] = []
    cursor = None
    for _ in range(4 * n + 4):
        params: dict[str, Any] = {"order": order, "limit": size}
        if cursor:
            params[cursor_param] = cursor
        got = sup.page(client, hist["conv"], **params)
        if not got:
            break
        pages.append(got)
        walked += got
        cursor = got[-1].id
    else:
        pytest.fail("pagination did not end")
    sup.assert_no_loss_no_repeat(walked, hist["full"])
    assert _keys(walked) == _flat(expected_rows)
    # every page but the last holds exactly `size` rows; no page splits a row
    for i, pg in enumerate(pages):
        row_ids = list(dict.fromkeys(m.id for m in pg))
        if i < len(pages) - 1:
            assert len(row_ids) == size
        else:
            assert 1 <= len(row_ids) <= size
        for rid in row_ids:
            whole = next(r for r in rows if r[0].id == rid)
            assert [m for m in pg if m.id == rid] == whole, f"page {i} splits row {rid}"
    # exact multiples end with a full page, then an empty one
    assert len(pages) == -(-n // size)


def test_page_of_one_row_returns_the_whole_shared_id_group(
    client: Letta, hist: dict[str, Any]
) -> None:
    shared = sup.shared_ids(hist["full"])
    if not shared:
        pytest.skip("this server's model produced no Letta messages sharing an id")
    newest = hist["rows"][-1]
    assert len(newest) > 1, "the newest row is reasoning + assistant"
    got = sup.page(client, hist["conv"], order="desc", limit=1)
    assert _keys(got) == _keys(newest)  # more items than limit: one row, natural order
    assert sup.types(got)[0] == "reasoning_message"


def test_cursor_on_a_shared_id_skips_its_whole_group(
    client: Letta, hist: dict[str, Any], profile: str
) -> None:
    rows = hist["rows"]
    i = next((i for i, r in enumerate(rows) if len(r) > 1 and 0 < i < len(rows) - 1), None)
    if i is None:
        pytest.skip("this server's model produced no Letta messages sharing an id")
    row = rows[i]
    # whichever message of the group the client took the id from, the cursor is the row
    after = sup.page(client, hist["conv"], order="asc", limit=1, after=row[0].id)
    assert _keys(after) == _keys(rows[i + 1])
    after_last = sup.page(client, hist["conv"], order="asc", limit=1, after=row[-1].id)
    assert _keys(after_last) == _keys(rows[i + 1])
    older = _desc_cursors(profile)[0]
    before = sup.page(client, hist["conv"], order="desc", limit=1, **{older: row[-1].id})
    assert _keys(before) == _keys(rows[i - 1])


def test_cursors_by_profile(client: Letta, hist: dict[str, Any], profile: str) -> None:
    """What each cursor means, as the SQL each server runs: ``asc`` pages the same way on
    both; under ``desc`` letta 0.16.8 keeps ``before`` = older, ``after`` = newer, while
    Letta Cloud swaps them (relative to the sort order, letta-agent-sdk#239)."""
    rows = hist["rows"]
    mid = len(rows) // 2
    cur = rows[mid][0].id
    older, newer = _desc_cursors(profile)
    # asc + after: the next rows; desc + older-than: the previous rows, nearest first
    assert _keys(sup.page(client, hist["conv"], order="asc", after=cur, limit=2)) == _flat(
        rows[mid + 1 : mid + 3]
    )
    assert _keys(sup.page(client, hist["conv"], order="desc", limit=2, **{older: cur})) == _flat(
        [rows[mid - 1], rows[mid - 2]]
    )
    # asc + before: the OLDEST rows before the cursor (WHERE pos < X ORDER BY pos LIMIT n);
    # desc + newer-than: the NEWEST rows after it (WHERE pos > X ORDER BY pos DESC LIMIT n)
    assert _keys(sup.page(client, hist["conv"], order="asc", before=cur, limit=2)) == _flat(
        rows[0:2]
    )
    assert _keys(sup.page(client, hist["conv"], order="desc", limit=2, **{newer: cur})) == _flat(
        [rows[-1], rows[-2]]
    )
    # without a limit each returns the whole side of the cursor
    assert _keys(sup.page(client, hist["conv"], order="asc", after=cur)) == _flat(rows[mid + 1 :])
    assert _keys(sup.page(client, hist["conv"], order="desc", **{older: cur})) == _flat(
        list(reversed(rows[:mid]))
    )
    assert _keys(sup.page(client, hist["conv"], order="desc", **{newer: cur})) == _flat(
        list(reversed(rows[mid + 1 :]))
    )
    assert _keys(sup.page(client, hist["conv"], order="asc", before=cur)) == _flat(rows[:mid])


def test_after_and_before_together(client: Letta, hist: dict[str, Any], profile: str) -> None:
    rows = hist["rows"]
    lo, hi = rows[1][0].id, rows[5][0].id
    got = sup.page(client, hist["conv"], order="asc", after=lo, before=hi)
    assert _keys(got) == _flat(rows[2:5])
    older, newer = _desc_cursors(profile)  # desc: the window is (newer-than lo, older-than hi)
    got = sup.page(client, hist["conv"], order="desc", **{newer: lo, older: hi})
    assert _keys(got) == _flat(list(reversed(rows[2:5])))
    assert sup.page(client, hist["conv"], order="asc", after=hi, before=lo) == []
    assert sup.page(client, hist["conv"], order="desc", **{newer: hi, older: lo}) == []


def test_cursor_at_the_ends(client: Letta, hist: dict[str, Any], profile: str) -> None:
    rows = hist["rows"]
    older, newer = _desc_cursors(profile)
    assert sup.page(client, hist["conv"], order="asc", after=rows[-1][0].id) == []
    assert sup.page(client, hist["conv"], order="desc", **{older: rows[0][0].id}) == []
    assert sup.page(client, hist["conv"], order="desc", **{newer: rows[-1][0].id}) == []
    assert _keys(sup.page(client, hist["conv"], order="asc", after=rows[0][0].id, limit=1)) == (
        _keys(rows[1])
    )
    # the default order is desc: the newest row before (0.16.8) / after (Cloud) the oldest
    assert _keys(sup.page(client, hist["conv"], limit=1, **{newer: rows[0][0].id})) == _keys(
        rows[-1]
    )


def test_unknown_cursor_is_ignored(client: Letta, hist: dict[str, Any]) -> None:
    everything = _keys(sup.page(client, hist["conv"], order="asc"))
    stranger = f"message-{uuid.uuid4()}"
    assert _keys(sup.page(client, hist["conv"], order="asc", after=stranger)) == everything
    assert _keys(sup.page(client, hist["conv"], order="asc", before=stranger)) == everything


def test_sdk_auto_pagination_asc(client: Letta, hist: dict[str, Any]) -> None:
    pages = client.conversations.messages.list(hist["conv"], order="asc", limit=2)
    walked = list(itertools.islice(pages, 2 * len(hist["full"]) + 10))  # bounded
    sup.assert_no_loss_no_repeat(walked, hist["full"])
    assert _keys(walked) == _keys(hist["full"])


def test_include_return_message_types(client: Letta, hist: dict[str, Any]) -> None:
    got = sup.page(client, hist["conv"], order="asc", include_return_message_types=["user_message"])
    assert sup.types(got) == ["user_message"] * len(TURNS)
    got = sup.page(
        client,
        hist["conv"],
        order="asc",
        include_return_message_types=["tool_call_message", "tool_return_message"],
    )
    assert sup.types(got) == ["tool_call_message", "tool_return_message"]


def test_unknown_conversation_lists_empty(client: Letta) -> None:
    assert sup.page(client, f"conv-{uuid.uuid4()}") == []


def test_malformed_conversation_id_is_422(client: Letta) -> None:
    import letta_client

    with pytest.raises(letta_client.UnprocessableEntityError):
        sup.page(client, "conv-not-a-uuid")


def test_type_filter_applies_after_the_limit(client: Letta, hist: dict[str, Any]) -> None:
    """``limit`` picks rows first; ``include_return_message_types`` then filters them, so a
    filtered page can be shorter than ``limit`` (even empty) while more matches exist."""
    rows = hist["rows"]
    got = sup.page(
        client, hist["conv"], order="desc", limit=2, include_return_message_types=["user_message"]
    )
    expected = [m for r in (rows[-1], rows[-2]) for m in r if m.message_type == "user_message"]
    assert _keys(got) == _keys(expected)
    assert len(got) < 2  # the newest two rows hold at most one user message
    newest = sup.page(
        client, hist["conv"], order="desc", limit=1, include_return_message_types=["user_message"]
    )
    if rows[-1][0].message_type != "user_message":
        assert newest == []
