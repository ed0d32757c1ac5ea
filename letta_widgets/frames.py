"""Letta history as pandas DataFrames, and the ``.letta`` accessor on them.

Every function here returns frames of one schema (:data:`letta_widgets._messages.SCHEMA`):

{schema_table}

How rows are formed, paged and keyed
------------------------------------
* One row per Letta message as ``conversations.messages.list`` returns it. A tool call
  message with several tool calls (parallel tool calling), a tool return message with
  several returns and an approval response with several approvals become one row per
  call; they share ``id``, ``message_type`` and ``seq`` and differ in ``tool_call_id``
  (``df.drop_duplicates(["id", "message_type"])`` gives one row per Letta message).
* Paging is explicit, oldest first, with the largest page the server accepts (up to
  :data:`MAX_PAGE`; a server that rejects that size is asked again with smaller pages).
  Several Letta messages share one id (a step's reasoning, tool call and answer are one
  stored message) and the ``after`` cursor is a stored message id. Letta 0.16 and the
  devserver count ``limit`` in stored messages, so a page ends on an id boundary (and
  can hold more than ``limit`` rows); a server that counted Letta messages could end a
  page inside a group, and ``after=<last id>`` (what the SDK's auto-pagination sends)
  would then skip the rest of it. So each next page starts after the *previous* id
  group: the boundary group is fetched again, and rows are keyed by
  ``(id, message_type, n-th of that pair)``, so nothing is lost and nothing repeated
  on either kind of server.
* ``in_context`` comes from ``conversations.retrieve(...).in_context_message_ids`` (for
  ``conversation_id="default"``: the agent's ``message_ids``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets import errors
from letta_widgets._messages import (
    SCHEMA,
    SCHEMA_DOC,
    RowCollector,
    empty_frame,
    rows_from_messages,
)
from letta_widgets.client import async_twin, base_url_of

__all__ = [
    "MAX_PAGE",
    "LettaAccessor",
    "aagent_history",
    "agent_history",
    "amessages_frame",
    "conversations_frame",
    "messages_frame",
    "schema_table",
]

MAX_PAGE = 5000
"""Largest page asked of the server (smaller if it rejects this size with 400/422)."""

_CONV_PAGE = 1000
_MIN_PAGE = 10
_SHORT_PAGE_IS_LAST = 200
_page_limit: dict[str, int] = {}  # base URL -> largest page size the server accepted
T = TypeVar("T")


def schema_table() -> str:
    """The schema as a markdown table (column, dtype, meaning): used in the README."""
    lines = ["| column | dtype | meaning |", "|---|---|---|"]
    for col, dtype in [*SCHEMA.items(), ("raw", "object")]:
        shown = "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype)
        if col == "tool_args":
            shown = "object (dict)"
        if col == "raw":
            shown = "object (dict)"
        lines.append(f"| `{col}` | `{shown}` | {SCHEMA_DOC[col]} |")
    return "\n".join(lines)


__doc__ = (__doc__ or "").replace("{schema_table}", schema_table())


# --------------------------------------------------------------------------- paging


class _Pager:
    """The paging state machine shared by the sync and async drivers.

    ``request()`` says what to ask next (``after``, ``limit``) or ``None`` when done;
    ``feed(page)`` takes the server's answer (a list of message dicts, oldest first).
    """

    def __init__(
        self,
        *,
        page_size: int,
        max_page: int,
        want: int | None = None,
        start_after: str | None = None,
        seen: Iterable[tuple[str, str, int]] = (),
        sink: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.sink = sink  # gets each page's new messages instead of keeping them
        self.count = 0
        self.size = page_size
        self.max_page = max_page
        self.want = want
        self.cursor = start_after
        self.seen: set[tuple[str, str, int]] = set(seen)
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.done = False

    def request(self) -> tuple[str | None, int] | None:
        if self.done:
            return None
        return self.cursor, self.size

    def shrink(self) -> bool:
        """The server rejected the page size: halve it. False when it cannot shrink."""
        if self.size <= _MIN_PAGE:
            return False
        self.size = max(_MIN_PAGE, self.size // 2)
        self.max_page = min(self.max_page, self.size)
        return True

    def feed(self, page: list[dict[str, Any]], asked: int) -> None:
        self.requests += 1
        if not page:
            self.done = True
            return
        last_id = page[-1].get("id")
        boundary = None  # the id of the last group before the final one
        for m in reversed(page):
            if m.get("id") != last_id:
                boundary = m.get("id")
                break
        if boundary is None and len(page) >= asked and self.size < self.max_page:
            # One id group fills the whole page: it may go on. Ask again, bigger.
            self.size = min(self.size * 2, self.max_page)
            return
        # Repeats can only open the page: the group fetched again from the last page.
        seen = self.seen
        held = {k[0] for k in seen}
        i = 0
        fresh: list[dict[str, Any]] = []
        if held:
            ordinal: dict[tuple[str, str], int] = {}
            while i < len(page) and page[i].get("id") in held:
                m = page[i]
                pair = (m.get("id"), m.get("message_type"))
                n = ordinal.get(pair, 0)
                ordinal[pair] = n + 1
                if (pair[0], pair[1], n) not in seen:
                    fresh.append(m)
                i += 1
        fresh = fresh + page[i:] if i else page
        added = len(fresh)
        self.count += added
        if fresh:
            if self.sink is not None:
                self.sink(fresh)
            else:
                self.messages.extend(fresh)
        # Remember the keys of the last group: the next page starts with it again.
        j = len(page)
        while j > 0 and page[j - 1].get("id") == last_id:
            j -= 1
        tail: dict[tuple[str, str], int] = {}
        keys = set()
        for m in page[j:]:
            pair = (m.get("id"), m.get("message_type"))
            n = tail.get(pair, 0)
            tail[pair] = n + 1
            keys.add((pair[0], pair[1], n))
        self.seen = keys
        if added == 0 or (self.want is not None and self.count >= self.want):
            self.done = True
            return
        if len(page) < asked and asked >= _SHORT_PAGE_IS_LAST:
            # A short page is the last one: Letta's limit counts stored messages and each
            # yields at least one Letta message, except hidden error messages. A large page
            # cannot be short because of those, so skip the confirming request. (Small
            # pages, e.g. page_size in tests, always confirm with one more request.)
            self.done = True
            return
        # Start the next page after the previous group so the boundary group comes again
        # whole; with a single group in the page, after it.
        self.cursor = boundary if boundary is not None else last_id


def _list_kwargs(
    conversation_id: str, agent_id: str | None, after: str | None, limit: int, order: str = "asc"
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"limit": limit, "order": order}
    if after is not None:
        kwargs["after"] = after
    if conversation_id == "default":
        kwargs["agent_id"] = agent_id
    return kwargs


def _what(conversation_id: str, agent_id: str | None) -> str:
    if conversation_id == "default":
        return f"the default conversation of agent {agent_id}"
    return f"conversation {conversation_id}"


def _fetch_sync(
    client: Letta,
    conversation_id: str,
    agent_id: str | None,
    pager: _Pager,
    order: str = "asc",
) -> list[dict[str, Any]]:
    """Drive ``pager`` with the sync client's raw responses (no pydantic objects built)."""
    base = base_url_of(client)
    what = _what(conversation_id, agent_id)
    raw_list = client.conversations.messages.with_raw_response.list
    while (req := pager.request()) is not None:
        after, limit = req
        try:
            with errors.sdk_errors(base_url=base, what=what):
                resp = raw_list(
                    conversation_id, **_list_kwargs(conversation_id, agent_id, after, limit, order)
                )
        except errors.InvalidRequest:
            if after is None and pager.shrink():
                _page_limit[base] = pager.size
                continue
            raise
        pager.feed(json.loads(resp.http_response.content), limit)
    return pager.messages


async def _fetch_async(
    aclient: AsyncLetta,
    conversation_id: str,
    agent_id: str | None,
    pager: _Pager,
    order: str = "asc",
) -> list[dict[str, Any]]:
    """:func:`_fetch_sync` for ``AsyncLetta``."""
    base = base_url_of(aclient)
    what = _what(conversation_id, agent_id)
    raw_list = aclient.conversations.messages.with_raw_response.list
    while (req := pager.request()) is not None:
        after, limit = req
        try:
            with errors.sdk_errors(base_url=base, what=what):
                resp = await raw_list(
                    conversation_id, **_list_kwargs(conversation_id, agent_id, after, limit, order)
                )
        except errors.InvalidRequest:
            if after is None and pager.shrink():
                _page_limit[base] = pager.size
                continue
            raise
        pager.feed(json.loads(resp.http_response.content), limit)
    return pager.messages


def _newest_sync(
    client: Letta, conversation_id: str, agent_id: str | None, limit: int
) -> list[dict[str, Any]] | None:
    """The newest ``limit`` messages in one ``order="desc"`` request, oldest first.

    ``None`` if the server rejects a page that large (the caller then pages it all).
    """
    if limit <= 0:
        return []
    base = base_url_of(client)
    try:
        with errors.sdk_errors(base_url=base, what=_what(conversation_id, agent_id)):
            resp = client.conversations.messages.with_raw_response.list(
                conversation_id, **_list_kwargs(conversation_id, agent_id, None, limit, "desc")
            )
    except errors.InvalidRequest:
        return None
    page = json.loads(resp.http_response.content)
    # Newest first by stored message; the Letta messages of one stored message (one id)
    # keep their natural order inside the group (as Letta's server sends them), so
    # reverse the groups, not the items. Letta's limit counts stored messages, so the
    # page may hold more than `limit` Letta messages: keep the newest `limit`.
    groups: list[list[dict[str, Any]]] = []
    for m in page:
        if groups and groups[-1][0].get("id") == m.get("id"):
            groups[-1].append(m)
        else:
            groups.append([m])
    return [m for group in reversed(groups) for m in group][-limit:]


@functools.lru_cache(maxsize=1)
def _ssl_context() -> Any:
    """httpx's default verifying SSL context, built once (building one costs ~0.1 s)."""
    import httpx

    return httpx.create_ssl_context()


@contextlib.asynccontextmanager
async def _scoped_async(client: Letta | AsyncLetta) -> Any:
    """The ``AsyncLetta`` to use for one awaited call.

    An ``AsyncLetta`` passed in is used as it is. For a sync ``Letta`` we copy its async
    twin (same URL, key, headers, timeout, retries) with a connection pool of its own and
    close it afterwards: a pooled connection opened on one event loop breaks on the next
    (each ``asyncio.run`` in a script is a new loop).
    """
    if isinstance(client, AsyncLetta):
        yield client
        return
    import letta_client

    pool = letta_client.DefaultAsyncHttpxClient(verify=_ssl_context())
    aclient = async_twin(client).copy(http_client=pool)
    try:
        yield aclient
    finally:
        await aclient.close()


def _new_pager(client: Letta | AsyncLetta, page_size: int | None, **kwargs: Any) -> _Pager:
    cap = _page_limit.get(base_url_of(client), MAX_PAGE)
    size = min(page_size, cap) if page_size else cap
    return _Pager(
        page_size=max(1, size), max_page=max(size, cap if not page_size else size), **kwargs
    )


# ------------------------------------------------------------------ in-context ids


def _context_sync(
    client: Letta, conversation_id: str, agent_id: str | None
) -> tuple[str, list[str]]:
    """(agent_id, in_context_message_ids); raises NotFound naming the unknown id."""
    base = base_url_of(client)
    if conversation_id == "default":
        if not agent_id:
            raise errors.InvalidRequest(
                'conversation_id="default" needs agent_id',
                "pass agent_id= to address the agent's default conversation",
            )
        with errors.sdk_errors(base_url=base, what=f"agent {agent_id}"):
            agent = client.agents.retrieve(agent_id)
        return agent.id, list(agent.message_ids or [])
    with errors.sdk_errors(base_url=base, what=f"conversation {conversation_id}"):
        conv = client.conversations.retrieve(conversation_id)
    return conv.agent_id, list(conv.in_context_message_ids or [])


async def _context_async(
    aclient: AsyncLetta, conversation_id: str, agent_id: str | None
) -> tuple[str, list[str]]:
    base = base_url_of(aclient)
    if conversation_id == "default":
        if not agent_id:
            raise errors.InvalidRequest(
                'conversation_id="default" needs agent_id',
                "pass agent_id= to address the agent's default conversation",
            )
        with errors.sdk_errors(base_url=base, what=f"agent {agent_id}"):
            agent = await aclient.agents.retrieve(agent_id)
        return agent.id, list(agent.message_ids or [])
    with errors.sdk_errors(base_url=base, what=f"conversation {conversation_id}"):
        conv = await aclient.conversations.retrieve(conversation_id)
    return conv.agent_id, list(conv.in_context_message_ids or [])


# --------------------------------------------------------------------- messages


def _check_order(order: str) -> None:
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")


def _finish(
    messages: list[dict[str, Any]],
    *,
    conversation_id: str,
    agent_id: str,
    in_context: list[str],
    order: str,
    include_raw: bool,
) -> pd.DataFrame:
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
    client: Letta,
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
        A ``letta_client.Letta`` (e.g. from :func:`letta_widgets.connect`).
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
        The schema in this module's docstring; an empty conversation gives an empty frame
        with every column and dtype.

    Raises
    ------
    letta_widgets.NotFound
        The conversation (or, for ``"default"``, the agent) does not exist; the message
        names the id.
    """
    _check_order(order)
    agent, in_context = _context_sync(client, conversation_id, agent_id)
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
        msgs = _newest_sync(client, conversation_id, agent, limit)
    if msgs is None:
        want = limit if order == "asc" else None
        pager = _new_pager(client, page_size, want=want)
        msgs = _fetch_sync(client, conversation_id, agent, pager)
        if limit is not None:
            msgs = msgs[:limit] if order == "asc" else msgs[-limit:]
    return _finish(
        msgs,
        conversation_id=conversation_id,
        agent_id=agent,
        in_context=in_context,
        order=order,
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

    _fetch_sync(client, conversation_id, agent_id, _new_pager(client, page_size, sink=sink))
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
    async with _scoped_async(client) as aclient:
        agent, in_context = await _context_async(aclient, conversation_id, agent_id)
        if limit is not None and limit <= 0:
            return empty_frame(include_raw=include_raw)
        want = limit if order == "asc" else None
        msgs = await _fetch_async(
            aclient, conversation_id, agent, _new_pager(aclient, page_size, want=want)
        )
    if limit is not None:
        msgs = msgs[:limit] if order == "asc" else msgs[-limit:]
    return _finish(
        msgs,
        conversation_id=conversation_id,
        agent_id=agent,
        in_context=in_context,
        order=order,
        include_raw=include_raw,
    )


# ---------------------------------------------------------------- conversations

_CONV_COLUMNS: dict[str, Any] = {
    "id": pd.StringDtype(),
    "agent_id": pd.StringDtype(),
    "created_at": pd.DatetimeTZDtype(unit="us", tz="UTC"),
    "last_message_at": pd.DatetimeTZDtype(unit="us", tz="UTC"),
    "summary": pd.StringDtype(),
    "archived": "boolean",
    "in_context_count": "Int64",
}


def _list_conversations_sync(
    client: Letta,
    agent_id: str | None,
    *,
    archived: str,
    search: str | None,
    page_size: int = _CONV_PAGE,
) -> list[dict[str, Any]]:
    base = base_url_of(client)
    what = f"the conversations of agent {agent_id}" if agent_id else "the conversations"
    if agent_id:
        with errors.sdk_errors(base_url=base, what=f"agent {agent_id}"):
            client.agents.retrieve(agent_id)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    after: str | None = None
    size = page_size
    while True:
        kwargs: dict[str, Any] = {"limit": size, "order": "asc", "archive_status": archived}
        if agent_id:
            kwargs["agent_id"] = agent_id
        if search:
            kwargs["summary_search"] = search
        if after:
            kwargs["after"] = after
        try:
            with errors.sdk_errors(base_url=base, what=what):
                resp = client.conversations.with_raw_response.list(**kwargs)
        except errors.InvalidRequest:
            if after is None and size > _MIN_PAGE:
                size //= 2
                continue
            raise
        page = json.loads(resp.http_response.content)
        new = [c for c in page if c.get("id") not in seen]
        if not new:
            break
        for c in new:
            seen.add(c["id"])
        out.extend(new)
        after = page[-1]["id"]
    if archived != "all":
        # Servers that ignore archive_status but report `archived` are filtered here.
        want = archived == "archived"
        out = [c for c in out if c.get("archived") is None or bool(c.get("archived")) == want]
    return out


def _archive_labelled(
    client: Letta, agent_id: str | None, *, archived: str, search: str | None
) -> list[dict[str, Any]]:
    """The conversations to show, each with ``archived`` set when it can be known.

    Servers differ: Letta Cloud filters by ``archive_status`` and reports ``archived``;
    self-hosted Letta 0.16 does neither; the devserver filters without reporting. So both
    lists are fetched: disjoint lists label every conversation, identical lists mean
    the server does not archive (``archived`` stays ``<NA>`` and nothing is filtered out).
    """
    live = _list_conversations_sync(client, agent_id, archived="unarchived", search=search)
    gone = _list_conversations_sync(client, agent_id, archived="archived", search=search)
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
            values = [
                len(c["in_context_message_ids"])
                if isinstance(c.get("in_context_message_ids"), list)
                else None
                for c in convs
            ]
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
    client: Letta,
    agent_id: str | None = None,
    *,
    archived: Literal["unarchived", "archived", "all"] = "unarchived",
    search: str | None = None,
    counts: bool = False,
    concurrency: int = 8,
) -> pd.DataFrame:
    """Every conversation (all pages) as a DataFrame, newest first.

    Columns: ``id``, ``agent_id``, ``created_at``, ``last_message_at`` (UTC),
    ``summary``, ``archived`` (``<NA>`` where the server does not report it),
    ``in_context_count`` and, with ``counts=True``, ``message_count``.

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
        returned (``<NA>`` if the server leaves it out; Letta 0.16 lists send ``[]``).
    concurrency
        Parallel requests for ``counts=True``.
    """
    if archived not in ("unarchived", "archived", "all"):
        raise ValueError(f"archived must be 'unarchived', 'archived' or 'all', not {archived!r}")
    convs = _archive_labelled(client, agent_id, archived=archived, search=search)
    frame = _conversation_rows(convs)
    if counts:
        ids = list(frame["id"])
        results = _run_sync(lambda ac: _counts_async(ac, ids, concurrency), client)
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
            _agent, in_context = await _context_async(aclient, cid, None)
            pager = _new_pager(aclient, None, sink=lambda _batch: None)  # count, keep nothing
            await _fetch_async(aclient, cid, None, pager)
            return len(in_context), pager.count

    return await _gather(one(cid) for cid in ids)


async def _gather(coros: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather`` that cancels the others when one fails."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# ---------------------------------------------------------------- agent history


async def _list_conversations_async(
    aclient: AsyncLetta, agent_id: str, page_size: int = _CONV_PAGE
) -> list[dict[str, Any]]:
    base = base_url_of(aclient)
    with errors.sdk_errors(base_url=base, what=f"agent {agent_id}"):
        await aclient.agents.retrieve(agent_id)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    after: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "limit": page_size,
            "order": "asc",
            "agent_id": agent_id,
            "archive_status": "all",
        }
        if after:
            kwargs["after"] = after
        try:
            with errors.sdk_errors(base_url=base, what=f"the conversations of agent {agent_id}"):
                resp = await aclient.conversations.with_raw_response.list(**kwargs)
        except errors.InvalidRequest:
            if after is None and page_size > _MIN_PAGE:
                page_size //= 2
                continue
            raise
        page = json.loads(resp.http_response.content)
        new = [c for c in page if c.get("id") not in seen]
        if not new:
            break
        seen.update(c["id"] for c in new)
        out.extend(new)
        after = page[-1]["id"]
    return out


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
    async with _scoped_async(client) as aclient:
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
    try:
        if conversations is None:
            convs = await _list_conversations_async(aclient, agent_id)
            conv_ids = [c["id"] for c in convs]
        else:
            conv_ids = list(conversations)
        bar.reset(total=len(conv_ids))
        sem = asyncio.Semaphore(max(1, concurrency))
        rows = RowCollector(include_raw=include_raw)

        async def one(cid: str) -> None:
            async with sem:
                agent, in_context = await _context_async(aclient, cid, agent_id)
                in_ctx = frozenset(in_context)
                seq = 0

                def sink(batch: list[dict[str, Any]]) -> None:
                    nonlocal seq
                    seq = rows.add(
                        batch,
                        conversation_id=cid,
                        agent_id=agent,
                        in_context_ids=in_ctx,
                        seq_start=seq,
                    )

                await _fetch_async(aclient, cid, agent, _new_pager(aclient, None, sink=sink))
            bar.update(1)

        await _gather(one(cid) for cid in conv_ids)
    finally:
        bar.close()
    frame = rows.frame(stacklevel=3)
    if len(frame) and len(conv_ids) > 1:
        # Pages arrive interleaved: order by conversation (as listed), then seq.
        rank = {cid: i for i, cid in enumerate(conv_ids)}
        conv_rank = frame["conversation_id"].map(rank).to_numpy()
        frame = frame.take(np.lexsort((frame["seq"].to_numpy(), conv_rank)))
        frame = frame.reset_index(drop=True)
    return frame


def agent_history(
    client: Letta,
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
    work then runs on a private event loop in a worker thread; see ``_run_sync``). In
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
        One frame of the module's schema, conversations in creation order, each in ``seq``
        order.

    Raises
    ------
    letta_widgets.NotFound
        The agent or one of the given conversations does not exist (the message names it).
    """
    bar = _bar(progress, agent_id)  # made here, in the caller's thread (a notebook widget)
    return _run_sync(
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


def _run_sync(make: Callable[[AsyncLetta], Awaitable[T]], client: Letta | AsyncLetta) -> T:
    """Run async work to completion from synchronous code, with or without a running loop.

    The coroutine gets an ``AsyncLetta`` from :func:`_scoped_async` (its own connection
    pool, closed afterwards: an httpx pool must not outlive the event loop that opened
    its connections).

    In a notebook cell an event loop is already running in this thread. We do NOT nest
    it with nest-asyncio there: measured in JupyterLab + ipykernel 7.4
    (shared/async-patterns, pattern E), a shell/comm message arriving during a nested
    ``run_until_complete`` is lost with "cannot enter context", and later cells then
    fail ("Task was destroyed but it is pending", ``KeyError: '__import__'``). A history
    load renders a tqdm *widget*, so front-end messages can arrive meanwhile. Instead the
    coroutine runs on a private loop in a worker thread and this thread waits (pattern
    F: no errors, output routed to the cell). Kernel interrupt cancels the work.
    """

    async def main() -> T:
        async with _scoped_async(client) as aclient:
            return await make(aclient)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())

    result: dict[str, Any] = {}
    loop = asyncio.new_event_loop()
    task_box: dict[str, asyncio.Task[T]] = {}

    def worker() -> None:
        asyncio.set_event_loop(loop)
        try:
            task = loop.create_task(main())
            task_box["task"] = task
            result["value"] = loop.run_until_complete(task)
        except BaseException as exc:
            result["error"] = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=worker, name="letta-widgets-history", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        task = task_box.get("task")
        if task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        thread.join(5)
        raise
    if "error" in result:
        raise result["error"]
    return result["value"]


# ---------------------------------------------------------------------- accessor


@pd.api.extensions.register_dataframe_accessor("letta")
class LettaAccessor:
    """Views derived from a history frame: ``df.letta.turns()``, ``.tool_calls()``, …

    Works on any frame of the history schema (``messages_frame``, ``agent_history``,
    ``read_history``, ``turn.frame()``), also after filtering rows.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = {"id", "message_type", "date", "conversation_id"} - set(frame.columns)
        if missing:
            raise AttributeError(
                f"not a letta history frame (missing {sorted(missing)}): build it with "
                "lw.messages_frame / lw.agent_history"
            )
        self._df = frame

    def _chron(self) -> pd.DataFrame:
        df = self._df
        if "seq" in df.columns:
            return df.sort_values(["conversation_id", "seq"], kind="stable")
        return df.sort_values(["conversation_id", "date"], kind="stable")

    def turns(self) -> pd.DataFrame:
        """One row per run (a user turn and everything the agent did for it).

        Columns: ``conversation_id``, ``run_id``, ``user_text``, ``assistant_text``,
        ``start``, ``end``, ``latency`` (end - start, a Timedelta), ``steps`` (distinct
        step ids), ``tool_calls``, ``reasoning`` (reasoning messages), ``messages``,
        ``error`` (an error flag, a failed tool or a denied approval). Rows without a
        ``run_id`` (system messages, summaries) are not part of any turn.
        """
        df = self._chron()
        df = df[df["run_id"].notna()]
        cols = [
            "conversation_id",
            "run_id",
            "user_text",
            "assistant_text",
            "start",
            "end",
            "latency",
            "steps",
            "tool_calls",
            "reasoning",
            "messages",
            "error",
        ]
        if df.empty:
            return pd.DataFrame(
                {
                    c: pd.Series([], dtype=t)
                    for c, t in {
                        "conversation_id": "string",
                        "run_id": "string",
                        "user_text": "string",
                        "assistant_text": "string",
                        "start": SCHEMA["date"],
                        "end": SCHEMA["date"],
                        "latency": "timedelta64[us]",
                        "steps": "int64",
                        "tool_calls": "int64",
                        "reasoning": "int64",
                        "messages": "int64",
                        "error": "bool",
                    }.items()
                }
            )
        mt = df["message_type"].astype("object")
        one = df.drop_duplicates(
            ["id", "message_type", "seq"] if "seq" in df else ["id", "message_type"]
        )
        keys = ["conversation_id", "run_id"]
        g = df.groupby(keys, sort=False, observed=True)
        first_seen = g["date"].min()

        def joined(kind: str) -> pd.Series:
            part = df[mt == kind]
            if part.empty:
                return pd.Series(dtype="object")
            return part.groupby(keys, sort=False, observed=True)["text"].agg(
                lambda s: "\n".join(t for t in s.dropna())
            )

        failed = df["is_err"].fillna(False).astype(bool) | df["tool_status"].isin(
            ["error", "denied"]
        ).fillna(False).astype(bool)
        out = pd.DataFrame(
            {
                "start": first_seen,
                "end": g["date"].max(),
                "steps": g["step_id"].nunique(),
                "tool_calls": df[mt.isin(["tool_call_message", "approval_request_message"])]
                .drop_duplicates(["conversation_id", "run_id", "tool_call_id"])
                .groupby(keys, observed=True)
                .size(),
                "reasoning": df[mt.isin(["reasoning_message", "hidden_reasoning_message"])]
                .groupby(keys, observed=True)
                .size(),
                "messages": one.groupby(keys, sort=False, observed=True).size(),
                "error": failed.groupby([df["conversation_id"], df["run_id"]], sort=False).any(),
            }
        )
        out["user_text"] = joined("user_message")
        out["assistant_text"] = joined("assistant_message")
        for c in ("tool_calls", "reasoning", "messages"):
            out[c] = out[c].fillna(0).astype("int64")
        out["error"] = out["error"].fillna(False).astype(bool)
        out["latency"] = out["end"] - out["start"]
        out = out.reset_index().sort_values(["start", "conversation_id"], kind="stable")
        out["user_text"] = out["user_text"].astype("string")
        out["assistant_text"] = out["assistant_text"].astype("string")
        return out[cols].reset_index(drop=True)

    def tool_calls(self) -> pd.DataFrame:
        """Each tool call joined with its return (and approval, if it needed one).

        Columns: ``conversation_id``, ``run_id``, ``step_id``, ``tool_call_id``,
        ``tool_name``, ``tool_args`` (dict), ``status`` (``success`` / ``error``, ``denied``
        for a denied approval, ``pending`` when no return arrived yet), ``return_text``,
        ``called_at``, ``returned_at``, ``duration`` (Timedelta), ``approval``
        (``approved`` / ``denied`` / ``pending`` / ``<NA>`` when none was required).
        """
        df = self._chron()
        mt = df["message_type"].astype("object")
        calls = df[
            mt.isin(["tool_call_message", "approval_request_message"]) & df["tool_call_id"].notna()
        ]
        requested = set(calls.loc[mt[calls.index] == "approval_request_message", "tool_call_id"])
        calls = calls.drop_duplicates(["conversation_id", "tool_call_id"], keep="first")
        returns = df[(mt == "tool_return_message") & df["tool_call_id"].notna()]
        returns = returns.drop_duplicates(["conversation_id", "tool_call_id"], keep="last")
        approvals = df[(mt == "approval_response_message") & df["tool_call_id"].notna()]
        approvals = approvals.drop_duplicates(["conversation_id", "tool_call_id"], keep="last")
        out = calls[
            [
                "conversation_id",
                "run_id",
                "step_id",
                "tool_call_id",
                "tool_name",
                "tool_args",
                "date",
            ]
        ].rename(columns={"date": "called_at"})
        out = out.merge(
            returns[["conversation_id", "tool_call_id", "tool_status", "text", "date"]].rename(
                columns={"tool_status": "status", "text": "return_text", "date": "returned_at"}
            ),
            on=["conversation_id", "tool_call_id"],
            how="left",
        )
        out = out.merge(
            approvals[["conversation_id", "tool_call_id", "tool_status"]].rename(
                columns={"tool_status": "approval"}
            ),
            on=["conversation_id", "tool_call_id"],
            how="left",
        )
        needs = out["tool_call_id"].isin(requested)
        out["approval"] = out["approval"].astype("string")
        out.loc[needs & out["approval"].isna(), "approval"] = "pending"
        out["status"] = out["status"].astype("string")
        denied = out["approval"] == "denied"
        out.loc[denied.fillna(False) & out["status"].isna(), "status"] = "denied"
        out.loc[out["status"].isna(), "status"] = "pending"
        out["duration"] = out["returned_at"] - out["called_at"]
        cols = [
            "conversation_id",
            "run_id",
            "step_id",
            "tool_call_id",
            "tool_name",
            "tool_args",
            "status",
            "return_text",
            "called_at",
            "returned_at",
            "duration",
            "approval",
        ]
        return out[cols].reset_index(drop=True)

    def in_context(self) -> pd.DataFrame:
        """The rows still in the context window (``in_context`` is True)."""
        return self._df[self._df["in_context"].astype(bool)]

    def transcript(
        self,
        *,
        reasoning: bool = True,
        tools: bool = True,
        system: bool = False,
        width: int | None = 2000,
    ) -> str:
        """The conversation(s) as readable text, one block per message, oldest first.

        ``reasoning``, ``tools`` and ``system`` include those messages; ``width`` cuts
        each message's text (``None``: never).
        """
        df = self._chron().drop_duplicates(
            ["conversation_id", "id", "message_type", "tool_call_id"]
        )
        labels = {
            "user_message": "user",
            "assistant_message": "assistant",
            "reasoning_message": "reasoning",
            "hidden_reasoning_message": "reasoning",
            "tool_call_message": "tool call",
            "tool_return_message": "tool return",
            "approval_request_message": "approval request",
            "approval_response_message": "approval",
            "system_message": "system",
            "summary_message": "summary",
            "event_message": "event",
        }
        skip = set()
        if not reasoning:
            skip |= {"reasoning_message", "hidden_reasoning_message"}
        if not tools:
            skip |= {
                "tool_call_message",
                "tool_return_message",
                "approval_request_message",
                "approval_response_message",
            }
        if not system:
            skip |= {"system_message"}
        lines: list[str] = []
        current = None
        for row in df.itertuples(index=False):
            mtype = str(row.message_type)
            if mtype in skip:
                continue
            if row.conversation_id != current:
                current = row.conversation_id
                if lines:
                    lines.append("")
                lines.append(f"=== {current} ===")
            text = "" if row.text is None or row.text is pd.NA else str(row.text)
            if width is not None and len(text) > width:
                text = text[: width - 1] + "…"
            stamp = row.date.strftime("%Y-%m-%d %H:%M:%S") if not pd.isna(row.date) else "?"
            label = labels.get(mtype, mtype)
            if (
                mtype == "tool_return_message"
                and row.tool_status is not pd.NA
                and row.tool_status is not None
            ):
                label = f"{label} [{row.tool_status}]"
            lines.append(f"[{stamp}] {label}: {text}")
        return "\n".join(lines)
