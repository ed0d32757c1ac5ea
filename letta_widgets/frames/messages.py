"""One conversation's messages as a DataFrame: :func:`messages_frame`, :func:`amessages_frame`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets._messages import RowCollector, empty_frame, rows_from_messages
from letta_widgets.client import sync_twin
from letta_widgets.frames._aio import scoped_async
from letta_widgets.frames._paging import MAX_PAGE, new_pager
from letta_widgets.frames._requests import (
    context_async,
    context_sync,
    fetch_async,
    fetch_sync,
    newest_sync,
)


def _check_order(order: str) -> None:
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")


def row_sink(
    rows: RowCollector, conversation_id: str, agent_id: str, in_context: list[str]
) -> Callable[[list[dict[str, Any]]], None]:
    """A pager ``sink`` adding each page's messages to ``rows``, ``seq`` running on."""
    in_ctx = frozenset(in_context)
    seq = 0

    def sink(batch: list[dict[str, Any]]) -> None:
        nonlocal seq
        seq = rows.add(
            batch,
            conversation_id=conversation_id,
            agent_id=agent_id,
            in_context_ids=in_ctx,
            seq_start=seq,
        )

    return sink


def _finish(
    messages: list[dict[str, Any]],
    *,
    conversation_id: str,
    agent_id: str,
    in_context: list[str],
    order: str,
    limit: int | None,
    include_raw: bool,
) -> pd.DataFrame:
    """The frame of ``messages`` (oldest first), cut to the ``limit`` oldest or newest."""
    if limit is not None:
        messages = messages[:limit] if order == "asc" else messages[-limit:]
    frame = rows_from_messages(
        messages,
        conversation_id=conversation_id,
        agent_id=agent_id,
        in_context_ids=in_context,
        include_raw=include_raw,
    )
    if order == "desc" and len(frame):
        frame = frame.iloc[::-1].reset_index(drop=True)
    return frame


def messages_frame(
    client: Letta | AsyncLetta,
    conversation_id: str,
    *,
    agent_id: str | None = None,
    order: Literal["asc", "desc"] = "asc",
    limit: int | None = None,
    include_raw: bool = False,
    page_size: int | None = None,
) -> pd.DataFrame:
    """Every message of one conversation as a DataFrame (one row per Letta message).

    Parameters
    ----------
    client
        A ``letta_client.Letta`` (e.g. from :func:`letta_widgets.connect`) or ``AsyncLetta``.
    conversation_id
        ``conv-…``, or ``"default"`` together with ``agent_id`` for an agent's default thread.
    agent_id
        Needed only for ``conversation_id="default"``; otherwise taken from the conversation.
    order
        ``"asc"`` (oldest first, the default) or ``"desc"`` (newest first).
    limit
        At most this many messages: the oldest (``asc``) or newest (``desc``). ``seq`` then
        counts within the window for ``desc``.
    include_raw
        Add a ``raw`` column with each message's JSON dict.
    page_size
        Messages per request (default: the largest the server accepts, up to
        :data:`MAX_PAGE`). For tests and tuning.

    Returns
    -------
    pandas.DataFrame
        The schema in the docstring of :mod:`letta_widgets.frames`; an empty conversation
        gives an empty frame with every column and dtype.

    Raises
    ------
    letta_widgets.NotFound
        The conversation (or, for ``"default"``, the agent) does not exist; the message
        names the id.
    """
    _check_order(order)
    client = sync_twin(client)
    agent, in_context = context_sync(client, conversation_id, agent_id)
    if limit is not None and limit <= 0:
        return empty_frame(include_raw=include_raw)
    if limit is None:
        frame = _pipelined_sync(
            client,
            conversation_id,
            agent,
            in_context,
            page_size=page_size,
            include_raw=include_raw,
        )
        return frame.iloc[::-1].reset_index(drop=True) if order == "desc" else frame
    msgs: list[dict[str, Any]] | None = None
    if order == "desc" and limit <= MAX_PAGE:
        msgs = newest_sync(client, conversation_id, agent, limit)
    if msgs is None:
        want = limit if order == "asc" else None
        pager = new_pager(client, page_size, want=want)
        msgs = fetch_sync(client, conversation_id, agent, pager)
    return _finish(
        msgs,
        conversation_id=conversation_id,
        agent_id=agent,
        in_context=in_context,
        order=order,
        limit=limit,
        include_raw=include_raw,
    )


def _pipelined_sync(
    client: Letta,
    conversation_id: str,
    agent_id: str,
    in_context: list[str],
    *,
    page_size: int | None,
    include_raw: bool,
) -> pd.DataFrame:
    """Fetch all pages, turning each into rows as soon as it arrives.

    Each page's dicts are dropped once normalized, so peak memory is one page of JSON
    plus the growing columns. (A worker thread normalizing while the next page downloads
    was measured slower: the reading thread then waits for the GIL after every 64 KiB
    ``recv``.)
    """
    rows = RowCollector(include_raw=include_raw)
    sink = row_sink(rows, conversation_id, agent_id, in_context)
    fetch_sync(client, conversation_id, agent_id, new_pager(client, page_size, sink=sink))
    return rows.frame(stacklevel=3)


async def amessages_frame(
    client: Letta | AsyncLetta,
    conversation_id: str,
    *,
    agent_id: str | None = None,
    order: Literal["asc", "desc"] = "asc",
    limit: int | None = None,
    include_raw: bool = False,
    page_size: int | None = None,
) -> pd.DataFrame:
    """:func:`messages_frame`, awaitable (through ``AsyncLetta``; same arguments and result)."""
    _check_order(order)
    async with scoped_async(client) as aclient:
        agent, in_context = await context_async(aclient, conversation_id, agent_id)
        if limit is not None and limit <= 0:
            return empty_frame(include_raw=include_raw)
        want = limit if order == "asc" else None
        msgs = await fetch_async(
            aclient, conversation_id, agent, new_pager(aclient, page_size, want=want)
        )
    return _finish(
        msgs,
        conversation_id=conversation_id,
        agent_id=agent,
        in_context=in_context,
        order=order,
        limit=limit,
        include_raw=include_raw,
    )
