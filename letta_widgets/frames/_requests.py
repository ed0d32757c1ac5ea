"""What the frames ask the server, as plans (see :mod:`._drivers`), with sync and async entries.

Each plan holds one request loop once: the requests in order, the error translation
(:func:`letta_widgets.errors.sdk_errors`) and the page-size shrink when the server
rejects a page size. The ``_sync`` entries run it with ``Letta`` (no event loop), the
``_async`` ones with ``AsyncLetta``.
"""

from __future__ import annotations

import json
from typing import Any

from letta_client import AsyncLetta, Letta

from letta_widgets import errors
from letta_widgets.client import base_url_of
from letta_widgets.frames import _paging
from letta_widgets.frames._drivers import Call, Plan, run_async, run_sync
from letta_widgets.frames._paging import MIN_PAGE, Pager, page_limit
from letta_widgets.letta.conversation import ConversationRef

# ------------------------------------------------------------------ message pages


def _list_kwargs(
    conversation_id: str, agent_id: str | None, after: str | None, limit: int, order: str = "asc"
) -> dict[str, Any]:
    """One page's list arguments. ``after`` pages oldest first: every server reads ascending
    cursors the same way; newest-first cursors differ by server (:mod:`..letta.paging`)."""
    kwargs: dict[str, Any] = {"limit": limit, "order": order}
    if after is not None:
        if order != "asc":
            raise ValueError(
                "newest-first pages with a cursor go through letta_widgets.letta.paging"
            )
        kwargs["after"] = after
    kwargs.update(ConversationRef(conversation_id, agent_id).sdk_kwargs())
    return kwargs


def _what(conversation_id: str, agent_id: str | None) -> str:
    return ConversationRef(conversation_id, agent_id).describe()


def _fetch_plan(
    base: str, conversation_id: str, agent_id: str | None, pager: Pager, order: str
) -> Plan[list[dict[str, Any]]]:
    """Drive ``pager`` with raw responses (no pydantic objects built); its messages."""
    what = _what(conversation_id, agent_id)
    while (req := pager.request()) is not None:
        after, limit = req
        try:
            with errors.sdk_errors(base_url=base, what=what):
                resp = yield Call(
                    "conversations.messages.with_raw_response.list",
                    (conversation_id,),
                    _list_kwargs(conversation_id, agent_id, after, limit, order),
                )
        except errors.InvalidRequest:
            if after is None and pager.shrink():
                page_limit[base] = pager.size
                continue
            raise
        pager.feed(json.loads(resp.http_response.content), limit)
    return pager.messages


def fetch_sync(
    client: Letta, conversation_id: str, agent_id: str | None, pager: Pager, order: str = "asc"
) -> list[dict[str, Any]]:
    """Drive ``pager`` with the sync client's raw responses (no pydantic objects built)."""
    plan = _fetch_plan(base_url_of(client), conversation_id, agent_id, pager, order)
    return run_sync(client, plan)


async def fetch_async(
    aclient: AsyncLetta,
    conversation_id: str,
    agent_id: str | None,
    pager: Pager,
    order: str = "asc",
) -> list[dict[str, Any]]:
    """:func:`fetch_sync` for ``AsyncLetta``."""
    plan = _fetch_plan(base_url_of(aclient), conversation_id, agent_id, pager, order)
    return await run_async(aclient, plan)


def newest_sync(
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


# ------------------------------------------------------------------ in-context ids


def _context_plan(
    base: str, conversation_id: str, agent_id: str | None
) -> Plan[tuple[str, list[str]]]:
    """(agent_id, in_context_message_ids); raises NotFound naming the unknown id.

    Read from the raw JSON: no SDK object is built for an agent or conversation whose two
    fields are all we need.
    """
    if ConversationRef(conversation_id, agent_id).is_default:
        if not agent_id:
            raise errors.InvalidRequest(
                'conversation_id="default" needs agent_id',
                "pass agent_id= to address the agent's default conversation",
            )
        with errors.sdk_errors(base_url=base, what=f"agent {agent_id}"):
            resp = yield Call("agents.with_raw_response.retrieve", (agent_id,))
        agent = json.loads(resp.http_response.content)
        return agent["id"], list(agent.get("message_ids") or [])
    with errors.sdk_errors(base_url=base, what=f"conversation {conversation_id}"):
        resp = yield Call("conversations.with_raw_response.retrieve", (conversation_id,))
    conv = json.loads(resp.http_response.content)
    return conv["agent_id"], list(conv.get("in_context_message_ids") or [])


def context_sync(
    client: Letta, conversation_id: str, agent_id: str | None
) -> tuple[str, list[str]]:
    """(agent_id, in_context_message_ids); raises NotFound naming the unknown id."""
    return run_sync(client, _context_plan(base_url_of(client), conversation_id, agent_id))


async def context_async(
    aclient: AsyncLetta, conversation_id: str, agent_id: str | None
) -> tuple[str, list[str]]:
    """:func:`context_sync` for ``AsyncLetta``."""
    return await run_async(aclient, _context_plan(base_url_of(aclient), conversation_id, agent_id))


# ------------------------------------------------------------------ conversations


def _conversations_plan(
    base: str, agent_id: str | None, *, archived: str, search: str | None, page_size: int
) -> Plan[list[dict[str, Any]]]:
    """Every conversation (of ``agent_id``, if given) as dicts, oldest first, all pages."""
    what = f"the conversations of agent {agent_id}" if agent_id else "the conversations"
    if agent_id:
        with errors.sdk_errors(base_url=base, what=f"agent {agent_id}"):
            yield Call("agents.retrieve", (agent_id,))
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
                resp = yield Call("conversations.with_raw_response.list", (), kwargs)
        except errors.InvalidRequest:
            if after is None and size > MIN_PAGE:
                size //= 2
                continue
            raise
        page = json.loads(resp.http_response.content)
        new = [c for c in page if c.get("id") not in seen]
        if not new:
            break
        seen.update(c["id"] for c in new)
        out.extend(new)
        after = page[-1]["id"]
    if archived != "all":
        # Servers that ignore archive_status but report `archived` are filtered here.
        want = archived == "archived"
        out = [c for c in out if c.get("archived") is None or bool(c.get("archived")) == want]
    return out


def list_conversations_sync(
    client: Letta,
    agent_id: str | None,
    *,
    archived: str,
    search: str | None,
    page_size: int | None = None,
) -> list[dict[str, Any]]:
    """Every conversation as dicts, oldest first; ``archived`` is the ``archive_status``."""
    size = page_size or _paging.CONV_PAGE
    plan = _conversations_plan(
        base_url_of(client), agent_id, archived=archived, search=search, page_size=size
    )
    return run_sync(client, plan)


async def list_conversations_async(
    aclient: AsyncLetta, agent_id: str, page_size: int | None = None
) -> list[dict[str, Any]]:
    """Every conversation of ``agent_id`` (archived ones too) as dicts, oldest first."""
    size = page_size or _paging.CONV_PAGE
    plan = _conversations_plan(
        base_url_of(aclient), agent_id, archived="all", search=None, page_size=size
    )
    return await run_async(aclient, plan)
