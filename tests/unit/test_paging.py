"""letta_widgets.letta.paging: older pages on servers that read cursors either way.

A unit test of the paging functions alone, against an in-memory list that pages like each
server generation (the integration and contract tiers do the same against real servers).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from letta_widgets.letta import paging

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _thread(n_stored: int) -> list[dict[str, Any]]:
    """Letta messages oldest first; every third stored message is a reasoning + reply group."""
    out: list[dict[str, Any]] = []
    for i in range(n_stored):
        date = (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        types = ["reasoning_message", "assistant_message"] if i % 3 == 2 else ["user_message"]
        out += [{"id": f"message-{i:04d}", "date": date, "message_type": t} for t in types]
    return out


class FakeServer:
    """Pages ``thread`` like letta 0.16.8 (``positional``) or Letta Cloud (``ordered``)."""

    def __init__(self, thread: list[dict[str, Any]], style: str) -> None:
        self.thread = thread
        self.style = style
        self.ids = list(dict.fromkeys(m["id"] for m in thread))
        self.calls: list[dict[str, Any]] = []

    async def list_page(self, *, order: str, limit: int, after=None, before=None):  # type: ignore[no-untyped-def]
        self.calls.append({"order": order, "limit": limit, "after": after, "before": before})
        if self.style == "ordered" and order == "desc":
            after, before = before, after  # Cloud: relative to the sort order
        pos = {mid: i for i, mid in enumerate(self.ids)}
        keep = [
            mid
            for mid in self.ids
            if (after is None or pos[mid] > pos[after])
            and (before is None or pos[mid] < pos[before])
        ]
        if order == "desc":
            keep.reverse()
        chosen = set(keep[:limit])  # limit counts stored messages
        groups = [[m for m in self.thread if m["id"] == mid] for mid in keep if mid in chosen]
        return [m for g in groups for m in g]


def _walk(server: FakeServer, base: str, limit: int, newest: int = 5) -> list[tuple[str, str]]:
    """What a chat shows after loading the newest page, then older pages to the first message."""

    async def run() -> list[dict[str, Any]]:
        first = await server.list_page(order="desc", limit=newest)
        shown, _, more = paging.whole_groups(first, newest)
        cursor = shown[-1]
        while more:
            held = {m["id"] for m in shown}
            page, cursor_msg, more = await paging.older_page(
                server.list_page, base, cursor, limit=limit, newer_ids=held
            )
            shown += page
            cursor = cursor_msg or cursor
        return shown

    shown = asyncio.run(run())
    return [(m["id"], m["message_type"]) for m in paging.oldest_first(shown)]


@pytest.fixture(autouse=True)
def _forget_servers():
    paging._styles.clear()
    yield
    paging._styles.clear()


@pytest.mark.parametrize("style", ["ordered", "positional"])
@pytest.mark.parametrize("limit", [1, 2, 4, 7])
def test_a_walk_to_the_first_message_shows_each_message_once(style: str, limit: int) -> None:
    thread = _thread(40)
    server = FakeServer(thread, style)
    assert _walk(server, f"http://{style}", limit) == [(m["id"], m["message_type"]) for m in thread]
    assert paging.cursor_style(f"http://{style}") == style


@pytest.mark.parametrize("style", ["ordered", "positional"])
def test_a_wrong_belief_about_the_server_is_corrected(style: str) -> None:
    wrong = "positional" if style == "ordered" else "ordered"
    paging._styles["http://x"] = wrong  # type: ignore[assignment]
    thread = _thread(30)
    assert _walk(FakeServer(thread, style), "http://x", 4) == [
        (m["id"], m["message_type"]) for m in thread
    ]
    assert paging.cursor_style("http://x") == style


def test_a_learned_server_costs_one_request_per_page() -> None:
    thread = _thread(30)
    server = FakeServer(thread, "positional")
    _walk(server, "http://old", 5)  # learns
    server.calls.clear()
    assert _walk(server, "http://old", 5) == [(m["id"], m["message_type"]) for m in thread]
    pages = [c for c in server.calls if c["before"] or c["after"]]
    assert pages and all(c["order"] == "desc" and c["before"] for c in pages)
    assert len(server.calls) == len(pages) + 1  # the newest page, then one per older page


def test_undated_messages_are_told_apart_by_asking() -> None:
    """Dates that tie (0.16.8 lists whole seconds) or are missing: the probe decides."""
    for style in ("ordered", "positional"):
        paging._styles.clear()
        thread = [{**m, "date": None} for m in _thread(25)]
        server = FakeServer(thread, style)
        assert _walk(server, f"http://{style}", 4) == [(m["id"], m["message_type"]) for m in thread]
        assert paging.cursor_style(f"http://{style}") == style


def test_the_first_page_after_a_one_group_start_needs_both_keys() -> None:
    """With only the newest message held, a wrong key answers [] (nothing newer): ask again."""
    thread = _thread(10)
    server = FakeServer(thread, "positional")
    assert _walk(server, "http://one", 3, newest=1) == [
        (m["id"], m["message_type"]) for m in thread
    ]


def test_page_direction_reads_ids_and_dates() -> None:
    thread = _thread(6)
    cursor = thread[3]
    assert paging.page_direction(thread[:3], cursor) == "older"
    assert paging.page_direction(thread[4:], cursor) == "newer"
    undated = [{**m, "date": None} for m in thread[4:]]
    assert paging.page_direction(undated, cursor) is None
    assert paging.page_direction(undated, cursor, newer_ids={thread[5]["id"]}) == "newer"
    assert paging.page_direction([], cursor) is None
    same = [{**thread[2], "date": cursor["date"]}]
    assert paging.page_direction(same, cursor) is None  # a tie tells nothing


def test_cursor_keys() -> None:
    assert paging.cursor_key("u", "asc", "newer") == "after"
    assert paging.cursor_key("u", "asc", "older") == "before"
    assert paging.cursor_key("u", "desc", "older") == "after"  # assumed Cloud until learned
    paging._styles["u"] = "positional"
    assert paging.cursor_key("u", "desc", "older") == "before"
    assert paging.cursor_key("u", "desc", "newer") == "after"


def test_a_recompiled_system_message_does_not_fool_the_dates() -> None:
    """The system message is re-dated by a recompile: a page of it alone is still older."""
    thread = _thread(4)
    system = {"id": "message-sys", "date": "2030-01-01T00:00:00Z", "message_type": "system_message"}
    assert paging.page_direction([system], thread[0]) is None
    assert paging.page_direction([system, thread[0]], thread[1]) == "older"
