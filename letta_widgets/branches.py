"""Branches: edit or regenerate a turn by forking, and the sibling branches at each point.

Letta keeps no parent links and never rewrites history. Editing an earlier user message is a
fork of the conversation at the message before it (a fork copies the in-context messages up
to and including its ``message_id``) with the new text sent there; regenerating is the same
with the old text. Nothing is deleted: the old branch stays as it was.

:func:`fork_at` makes such a fork, checks that the server honoured the fork point (letta
0.16.8 ignores ``message_id`` and copies everything: that fork is deleted again and
:class:`~letta_widgets.errors.ForkPointIgnored` raised, and the server is remembered) and
records it in the :class:`~letta_widgets.lineage.LineageStore`. Forks at one point are
*siblings*: the point's conversation and every fork made there (also forks of a fork at its
own tip, the same point again). :func:`branch_points` reads them back for one conversation:
where its history has siblings, and which one it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from letta_client import AsyncLetta
from letta_client.types import Conversation

from letta_widgets.errors import ForkPointIgnored, InvalidRequest, NotFound, sdk_errors
from letta_widgets.letta.conversation import ConversationRef
from letta_widgets.letta.messages import as_dict, text_of
from letta_widgets.letta.paging import ListPage, older_page, whole_groups
from letta_widgets.lineage import LineageStore

__all__ = [
    "BranchPoint",
    "branch_points",
    "find_message",
    "fork_at",
    "fork_point_ignored",
    "fork_stopped_at",
]

_log = logging.getLogger(__name__)

_ignoring: set[str] = set()  # servers seen forking everything despite message_id

_IGNORED_REMEDY = (
    "this server (letta 0.16.8 does this) forks the whole conversation whatever the fork point, "
    "so an edit or regenerate there would keep the old answer in the history; nothing was "
    "changed. Letta Cloud and current servers fork at the message"
)


@dataclass(frozen=True)
class BranchPoint:
    """Where a conversation's history has sibling branches."""

    message_id: str
    """The last message the siblings share (the fork point), as this conversation holds it."""
    conversation_ids: tuple[str, ...]
    """The siblings, oldest first: the conversation forked from, then each fork made there."""
    index: int
    """Which sibling the conversation is on (``conversation_ids[index]``)."""

    @property
    def current(self) -> str:
        """The sibling the conversation is on."""
        return self.conversation_ids[self.index]

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (what the widget syncs)."""
        return {"point": self.message_id, "ids": list(self.conversation_ids), "index": self.index}


def fork_point_ignored(base_url: str | None) -> bool:
    """Whether this process saw the server ignore a fork point (then edits are refused)."""
    return (base_url or "") in _ignoring


def _ignored(what: str, base_url: str | None) -> ForkPointIgnored:
    return ForkPointIgnored(f"cannot branch {what} at a message", _IGNORED_REMEDY, url=base_url)


def fork_stopped_at(
    point: Mapping[str, Any], tip: Mapping[str, Any] | None, newest: Mapping[str, Any] | None
) -> bool:
    """Whether a fork whose newest message is ``tip`` stopped at ``point`` (``newest``: the
    source's newest message). A server may share the source's messages (same ids) or copy
    them (new ids, the same type, text and date: Letta Code's local Cloud backend does)."""
    if tip is None:
        return False
    if point.get("message_type") == "system_message":  # the fork has a new system message only
        return tip.get("message_type") == "system_message"
    if tip.get("id") == point.get("id"):
        return True
    if newest is not None and tip.get("id") == newest.get("id"):
        return False  # the source's newest message: the whole history
    fields = ("message_type", "date")
    return all(tip.get(f) == point.get(f) for f in fields) and text_of(tip) == text_of(point)


def _group_of(lineage: LineageStore, source: str, point_id: str) -> tuple[str, str]:
    """The branch point a fork of ``source`` at ``point_id`` is a sibling at: a fork forked
    again at its own tip joins its siblings; anything else starts a point of its own."""
    link = lineage.parent_of(source)
    if link and point_id in (link.get("tip"), link.get("message_id")):
        group = link.get("group") or [link.get("parent"), link.get("message_id")]
        return (str(group[0]), str(group[1]))
    return (source, point_id)


async def fork_at(
    aclient: AsyncLetta,
    ref: ConversationRef,
    point: Mapping[str, Any],
    *,
    lineage: LineageStore,
    base_url: str | None = None,
) -> Conversation:
    """Fork ``ref`` with its history up to and including ``point`` (a message dict); return
    the fork (the SDK's conversation), recorded in ``lineage``.

    Raises :class:`ForkPointIgnored` (and deletes the wrong fork) on a server that copies the
    whole history, and :class:`InvalidRequest` when the point left the context window.
    """
    what = ref.describe()
    if fork_point_ignored(base_url):
        raise _ignored(what, base_url)
    mid = str(point["id"])
    conv = aclient.conversations
    newest = await _newest(aclient, ref.id, base_url, ref.sdk_kwargs())
    try:
        with sdk_errors(base_url=base_url, what=what):
            forked = await conv.fork(ref.id, message_id=mid, **ref.sdk_kwargs())
    except NotFound as err:
        if not await _exists(aclient, ref):
            raise
        raise InvalidRequest(
            f"message {mid} cannot be a fork point of {what} ({err.detail})",
            "fork at a message still in the context window (a fork copies it); "
            "compacted messages are kept in history but cannot start a fork",
            status=404,
            url=base_url,
            detail=err.detail,
        ) from None
    tip = await _newest(aclient, forked.id, base_url)
    if not fork_stopped_at(point, tip, newest):
        _ignoring.add(base_url or "")
        try:
            await conv.delete(forked.id)
        except Exception:
            _log.warning("could not delete the whole-history fork %s", forked.id, exc_info=True)
        raise _ignored(what, base_url)
    lineage.record(
        forked.id,
        ref.id,
        message_id=mid,
        agent_id=forked.agent_id,
        tip=str(tip["id"]) if tip else None,
        group=_group_of(lineage, ref.id, mid),
    )
    return forked


async def _newest(
    aclient: AsyncLetta, cid: str, base_url: str | None, kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """A conversation's newest message (``None`` if it has none)."""
    with sdk_errors(base_url=base_url, what=f"conversation {cid}"):
        page = await aclient.conversations.messages.list(
            cid, order="desc", limit=1, **(kwargs or {})
        )
    return as_dict(page.items[0]) if page.items else None


async def _exists(aclient: AsyncLetta, ref: ConversationRef) -> bool:
    """Whether the conversation is still there (a 404 may be about a message in it)."""
    if ref.is_default:
        return True
    try:
        with sdk_errors(what=ref.describe()):
            await aclient.conversations.retrieve(ref.id)
    except NotFound:
        return False
    return True


async def find_message(
    list_page: ListPage,
    server: str | None,
    match: Callable[[Mapping[str, Any]], bool],
    *,
    page_size: int = 50,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The newest message ``match`` accepts and the message before it (``None``: it is the
    first), paging back from the newest; :class:`NotFound` if no message matches."""
    page = await list_page(order="desc", limit=page_size)
    kept, _, more = whole_groups(page, page_size)
    seen: list[dict[str, Any]] = []
    while True:
        seen.extend(kept)
        for n, msg in enumerate(seen):
            if match(msg):
                before = next((m for m in seen[n + 1 :] if m.get("id") != msg.get("id")), None)
                if before is not None or not more:
                    return msg, before
        if not more or not kept:
            raise NotFound("no such message in this conversation", "it may have been deleted")
        kept, _, more = await older_page(
            list_page, server, seen[-1], limit=page_size, newer_ids={m["id"] for m in seen}
        )


def branch_points(
    lineage: LineageStore, conversation_id: str, shown_ids: Collection[str]
) -> list[BranchPoint]:
    """Where the history of ``conversation_id`` (the message ids in ``shown_ids``) has
    siblings recorded in ``lineage``, and which sibling it is on, in no particular order."""
    links = lineage.all()
    groups: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for child, link in links.items():
        if not link.get("message_id") or not link.get("parent"):
            continue
        root, point = link.get("group") or (link["parent"], link["message_id"])
        groups.setdefault((str(root), str(point)), []).append((link.get("created_at") or 0, child))
    ancestry = [conversation_id, *lineage.chain(conversation_id)]
    shown = set(shown_ids)
    out: list[BranchPoint] = []
    for (root, point), kids in groups.items():
        members = [root, *(child for _t, child in sorted(kids))]
        here = next((c for c in ancestry if c in members), None)
        if here is None:
            continue
        held = point if point in shown else (links.get(here) or {}).get("tip")
        if held in shown:
            out.append(BranchPoint(str(held), tuple(members), members.index(here)))
    return out
