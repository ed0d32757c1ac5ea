"""The conversations of an agent (or of every agent) as a DataFrame: :func:`conversations_frame`."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets.client import sync_twin
from letta_widgets.frames._aio import gather_all, run_blocking
from letta_widgets.frames._paging import new_pager
from letta_widgets.frames._requests import (
    context_async,
    fetch_async,
    list_conversations_sync,
)

_UTC = pd.DatetimeTZDtype(unit="us", tz="UTC")
_CONV_COLUMNS: dict[str, Any] = {
    "id": pd.StringDtype(),
    "agent_id": pd.StringDtype(),
    "created_at": _UTC,
    "updated_at": _UTC,
    "last_message_at": _UTC,
    "summary": pd.StringDtype(),
    "description": pd.StringDtype(),
    "model": pd.StringDtype(),
    "context_window_limit": "Int64",
    "archived": "boolean",
    "archived_at": _UTC,
    "in_context_count": "Int64",
}


def _archive_labelled(
    client: Letta, agent_id: str | None, *, archived: str, search: str | None
) -> list[dict[str, Any]]:
    """The conversations to show, each with ``archived`` set when it can be known.

    Servers differ: Letta Cloud filters by ``archive_status`` and reports ``archived``;
    self-hosted Letta 0.16 does neither; the devserver filters without reporting. So both
    lists are fetched: disjoint lists label every conversation, identical lists mean
    the server does not archive (``archived`` stays ``<NA>`` and nothing is filtered out).
    """
    live = list_conversations_sync(client, agent_id, archived="unarchived", search=search)
    gone = list_conversations_sync(client, agent_id, archived="archived", search=search)
    live_ids = {c["id"] for c in live}
    gone_ids = {c["id"] for c in gone}
    if live_ids == gone_ids:  # archive_status ignored
        convs = live
    else:
        for c in live:
            c.setdefault("archived", False)
            if c["archived"] is None:
                c["archived"] = False
        for c in gone:
            if c.get("archived") is None:
                c["archived"] = True
        convs = live + [c for c in gone if c["id"] not in live_ids]
    if archived == "all":
        return convs
    want = archived == "archived"
    return [c for c in convs if c.get("archived") is None or bool(c["archived"]) == want]


def _conversation_rows(convs: list[dict[str, Any]]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col, dtype in _CONV_COLUMNS.items():
        if col == "in_context_count":
            # A conversation always holds at least its system message in context, so an
            # empty list means "not reported" (Letta 0.16's list answers send []).
            values = [len(c.get("in_context_message_ids") or []) or None for c in convs]
            data[col] = pd.array(values, dtype="Int64")
        elif isinstance(dtype, pd.DatetimeTZDtype):
            values = [c.get(col) for c in convs]
            data[col] = (
                pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601")
                .astype(dtype)
                .array
                if values
                else pd.array([], dtype=dtype)
            )
        else:
            data[col] = pd.array([c.get(col) for c in convs], dtype=dtype)
    return pd.DataFrame(data)


def conversations_frame(
    client: Letta | AsyncLetta,
    agent_id: str | None = None,
    *,
    archived: Literal["unarchived", "archived", "all"] = "unarchived",
    search: str | None = None,
    counts: bool = False,
    concurrency: int = 8,
) -> pd.DataFrame:
    """Every conversation (all pages) as a DataFrame, newest first.

    Columns: ``id``, ``agent_id``, ``created_at``, ``updated_at``, ``last_message_at``
    (UTC), ``summary``, ``description``, ``model`` (the conversation's own model, when it
    overrides the agent's), ``context_window_limit``, ``archived``, ``archived_at``,
    ``in_context_count`` and, with ``counts=True``, ``message_count``. A field the server
    does not report is ``<NA>`` (letta 0.16.8 has no description, context window limit or
    archive fields; Letta Cloud has them all).

    Parameters
    ----------
    agent_id
        Only this agent's conversations (default: every agent's).
    archived
        ``"unarchived"`` (default), ``"archived"`` or ``"all"``. Servers without archiving
        (self-hosted Letta 0.16) ignore it and return every conversation.
    search
        Only conversations whose summary contains this text (server-side search).
    counts
        Also fetch, concurrently, each conversation's ``message_count`` (messages as the
        message list returns them) and its exact ``in_context_count`` (from
        ``conversations.retrieve``). Without it ``in_context_count`` is what the list
        returned, ``<NA>`` where the server leaves it out (Letta 0.16's lists do).
    concurrency
        Parallel requests for ``counts=True``.
    """
    if archived not in ("unarchived", "archived", "all"):
        raise ValueError(f"archived must be 'unarchived', 'archived' or 'all', not {archived!r}")
    client = sync_twin(client)
    convs = _archive_labelled(client, agent_id, archived=archived, search=search)
    frame = _conversation_rows(convs)
    if counts:
        ids = list(frame["id"])
        results = run_blocking(lambda ac: _counts_async(ac, ids, concurrency), client)
        frame["in_context_count"] = pd.array([r[0] for r in results], dtype="Int64")
        frame["message_count"] = pd.array([r[1] for r in results], dtype="Int64")
    if len(frame):
        frame = frame.sort_values(["created_at", "id"], ascending=False, kind="stable")
    return frame.reset_index(drop=True)


async def _counts_async(
    aclient: AsyncLetta, ids: list[str], concurrency: int
) -> list[tuple[int, int]]:
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(cid: str) -> tuple[int, int]:
        async with sem:
            _agent, in_context = await context_async(aclient, cid, None)
            pager = new_pager(aclient, None, sink=lambda _batch: None)  # count, keep nothing
            await fetch_async(aclient, cid, None, pager)
            return len(in_context), pager.count

    return await gather_all(one(cid) for cid in ids)
