"""All conversations of an agent, fetched concurrently: :func:`agent_history` and its async twin."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets._messages import RowCollector
from letta_widgets.frames._aio import in_order, run_blocking, scoped_async
from letta_widgets.frames._paging import new_pager
from letta_widgets.frames._requests import (
    context_async,
    fetch_async,
    list_conversations_async,
)
from letta_widgets.frames.messages import row_sink


async def aagent_history(
    client: Letta | AsyncLetta,
    agent_id: str,
    *,
    conversations: Sequence[str] | None = None,
    concurrency: int = 8,
    include_raw: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """:func:`agent_history`, awaitable: ``df = await lw.aagent_history(client, agent_id)``.

    Same arguments and result; runs on the caller's event loop.
    """
    async with scoped_async(client) as aclient:
        return await _agent_history(
            aclient,
            agent_id,
            conversations=conversations,
            concurrency=concurrency,
            include_raw=include_raw,
            bar=_bar(progress, agent_id),
        )


def _bar(progress: bool, agent_id: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=None, desc=f"history {agent_id[:14]}…", unit="conv", disable=not progress, leave=False
    )


async def _agent_history(
    aclient: AsyncLetta,
    agent_id: str,
    *,
    conversations: Sequence[str] | None,
    concurrency: int,
    include_raw: bool,
    bar: Any,
) -> pd.DataFrame:
    rows = RowCollector(include_raw=include_raw)
    try:
        if conversations is None:
            convs = await list_conversations_async(aclient, agent_id)
            conv_ids = [c["id"] for c in convs]
        else:
            conv_ids = list(conversations)
        bar.reset(total=len(conv_ids))
        sem = asyncio.Semaphore(max(1, concurrency))

        async def one(cid: str) -> RowCollector:
            async with sem:
                agent, in_context = await context_async(aclient, cid, agent_id)
                part = rows.segment()  # each page normalized as it comes, its JSON dropped
                sink = row_sink(part, cid, agent, in_context)
                await fetch_async(aclient, cid, agent, new_pager(aclient, None, sink=sink))
            bar.update(1)
            return part

        # The conversations' rows joined in the order listed, each as soon as its turn
        # comes: no sort of the finished frame.
        await in_order(conv_ids, one, lambda _cid, part: rows.join(part))
    finally:
        bar.close()
    frame = rows.frame(stacklevel=3)
    if len(frame) and len(set(conv_ids)) < len(conv_ids):
        # A conversation listed twice: its copies' rows interleave by seq at the place of
        # its last mention (as they always have).
        rank = {cid: i for i, cid in enumerate(conv_ids)}
        conv_rank = frame["conversation_id"].map(rank).to_numpy()
        frame = frame.take(np.lexsort((frame["seq"].to_numpy(), conv_rank)))
        frame = frame.reset_index(drop=True)
    return frame


def agent_history(
    client: Letta | AsyncLetta,
    agent_id: str,
    *,
    conversations: Sequence[str] | None = None,
    concurrency: int = 8,
    include_raw: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """All messages of all (or the given) conversations of an agent, fetched concurrently.

    Runs through ``AsyncLetta`` with at most ``concurrency`` conversations in flight and a
    ``tqdm.auto`` progress bar (a widget in a notebook, text in a terminal). Works from a
    plain script and from a notebook cell, where an event loop is already running (the
    work then runs on a private event loop in a worker thread; see ``run_blocking``). In
    async code, ``await aagent_history(...)`` instead.

    Parameters
    ----------
    conversations
        Conversation ids (``"default"`` for the agent's default thread); default: every
        conversation of the agent, archived ones included.
    concurrency
        Conversations fetched at the same time.
    include_raw
        Add the ``raw`` column.
    progress
        Show the progress bar.

    Returns
    -------
    pandas.DataFrame
        One frame of the history schema, conversations in creation order, each in ``seq``
        order.

    Raises
    ------
    letta_widgets.NotFound
        The agent or one of the given conversations does not exist (the message names it).
    """
    bar = _bar(progress, agent_id)  # made here, in the caller's thread (a notebook widget)
    return run_blocking(
        lambda ac: _agent_history(
            ac,
            agent_id,
            conversations=conversations,
            concurrency=concurrency,
            include_raw=include_raw,
            bar=bar,
        ),
        client,
    )
