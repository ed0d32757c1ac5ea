"""CompareView's variants: the :class:`Variant` spec and its resolution into conversations.

A variant names where a column's turns go: an existing conversation, a fork of one
(at a message, its latest by default), or a new conversation on an agent, each with
optional per-request ``model`` / ``system`` overrides and extra headers. Resolving a
variant creates its conversation once (the constructors are synchronous) and remembers
its starting point, so fresh rounds (``fresh=True``) can fork a new copy of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from letta_client import AsyncLetta, Letta

from letta_widgets import compare_stats as cs
from letta_widgets.client import async_twin, base_url_of, sync_twin
from letta_widgets.errors import sdk_errors
from letta_widgets.letta.conversation import ConversationRef

__all__ = [
    "ResolvedVariant",
    "Variant",
    "fresh_conversation",
    "latest_message_id",
    "resolve_variant",
    "run_options",
    "spread_variants",
    "variant_labels",
]


@dataclass
class Variant:
    """One column of a comparison.

    Exactly one of ``conversation_id`` (an existing conversation), ``fork_of`` (fork
    that conversation, at message ``at`` or its latest message) or ``agent_id`` alone
    (a new conversation on the agent). ``model`` / ``system`` are per-request
    overrides (``override_model`` / ``override_system``). ``headers`` are extra HTTP
    headers for this variant's requests (never synced to the front-end).
    """

    conversation_id: str | None = None
    agent_id: str | None = None
    fork_of: str | None = None
    at: str | None = None
    model: str | None = None
    system: str | None = None
    label: str | None = None
    headers: Mapping[str, str] | None = None

    @property
    def kind(self) -> str:
        """``"fork"``, ``"conversation"`` or ``"new"``."""
        if self.fork_of:
            return "fork"
        if self.conversation_id:
            return "conversation"
        return "new"

    @classmethod
    def coerce(cls, spec: Any) -> Variant:
        """A Variant from a Variant, a conversation id string, or a dict of fields."""
        if isinstance(spec, Variant):
            return replace(spec)
        if isinstance(spec, str):
            return cls(conversation_id=spec)
        if isinstance(spec, Mapping):
            unknown = sorted(set(spec) - set(cls.__dataclass_fields__))
            if unknown:
                raise TypeError(f"unknown variant field(s): {', '.join(unknown)}")
            return cls(**spec)
        raise TypeError(f"a variant is a Variant, a conversation id or a dict, not {spec!r}")


@dataclass
class ResolvedVariant:
    """A variant after construction: its conversation and how to make fresh copies."""

    spec: Variant
    label: str
    conversation_id: str
    agent_id: str | None
    base_conversation: str | None  # fork this (at base_at) for fresh rounds
    base_at: str | None

    def info(self) -> dict[str, Any]:
        """What the front-end shows of this variant (no headers: they may hold secrets)."""
        system = self.spec.system or ""
        return {
            "label": self.label,
            "kind": self.spec.kind,
            "conversation_id": self.conversation_id,
            "agent_id": self.agent_id or "",
            "model": self.spec.model or "",
            "system": system if len(system) <= 200 else system[:199] + "…",
        }


def variant_labels(specs: Sequence[Variant], labels: Sequence[str] | None) -> list[str]:
    """The column labels: ``labels``, else each spec's label, else A, B, …; checked."""
    names = list(labels) if labels else [s.label or "" for s in specs]
    defaults = cs.default_labels(len(specs))
    if len(names) != len(specs):
        raise ValueError(f"{len(names)} labels for {len(specs)} variants")
    names = [n or d for n, d in zip(names, defaults, strict=True)]
    if len(set(names)) != len(names):
        raise ValueError(f"variant labels must be distinct: {names}")
    bad = [n for n in names if n in cs.SPECIAL_VOTES]
    if bad:
        raise ValueError(f"{bad} cannot be a variant label (reserved for votes)")
    return names


def spread_variants(
    n: int,
    models: Sequence[str | None] | None,
    systems: Sequence[str | None] | None,
    **fields: Any,
) -> list[Variant]:
    """``n`` variants with the same ``fields``, the i-th with the i-th model / system.

    ``n`` grows to the number of ``models`` or ``systems`` when they are more.
    """
    n = max(n, len(models or ()), len(systems or ()))
    return [Variant(**fields, model=_nth(models, i), system=_nth(systems, i)) for i in range(n)]


def resolve_variant(
    client: Letta | AsyncLetta,
    spec: Variant,
    label: str,
    *,
    readonly: bool,
    base_url: str,
) -> ResolvedVariant:
    """Create the variant's conversation (fork / new) and remember its base.

    ``readonly`` (a history view) creates nothing and looks up only the agent.
    """
    sync = client if isinstance(client, Letta) else None
    kind = spec.kind
    if kind in ("fork", "conversation"):
        source = spec.fork_of or spec.conversation_id or ""
        agent_id = spec.agent_id
        if sync is not None and not ConversationRef(source).is_default and agent_id is None:
            with sdk_errors(base_url=base_url, what=f"conversation {source}"):
                agent_id = sync.conversations.retrieve(source).agent_id
        if readonly:
            return ResolvedVariant(spec, label, source, agent_id, None, None)
        at = spec.at or latest_message_id(client, source, agent_id)
        if kind == "conversation":
            return ResolvedVariant(spec, label, source, agent_id, source, at)
        conv = _call(
            client,
            lambda c: c.conversations.fork(source, **_fork_args(source, at, agent_id)),
            base_url,
            f"conversation {source}",
        )
        return ResolvedVariant(spec, label, conv.id, agent_id or conv.agent_id, source, at)
    if not spec.agent_id:
        raise TypeError("a variant needs conversation_id=, fork_of= or agent_id=")
    conv = _call(
        client,
        lambda c: c.conversations.create(agent_id=spec.agent_id),
        base_url,
        f"agent {spec.agent_id}",
    )
    return ResolvedVariant(spec, label, conv.id, spec.agent_id, None, None)


async def fresh_conversation(client: Letta | AsyncLetta, v: ResolvedVariant, base_url: str) -> str:
    """A new copy of the variant's starting point (fork at its base, or a new conv)."""
    aclient = async_twin(client)
    if v.base_conversation:
        what = f"conversation {v.base_conversation}"
        with sdk_errors(base_url=base_url, what=what):
            conv = await aclient.conversations.fork(
                v.base_conversation,
                **_fork_args(v.base_conversation, v.base_at, v.agent_id),
                hidden=True,
            )
        return conv.id
    with sdk_errors(base_url=base_url, what=f"agent {v.agent_id}"):
        conv = await aclient.conversations.create(agent_id=v.agent_id or "")
    return conv.id


def run_options(spec: Variant) -> dict[str, Any]:
    """The variant's keyword arguments for ``TurnEngine.run``: overrides and headers."""
    return {
        "override_model": spec.model,
        "override_system": spec.system,
        "extra_headers": dict(spec.headers or {}) or None,
    }


def latest_message_id(
    client: Letta | AsyncLetta, conversation_id: str, agent_id: str | None
) -> str | None:
    """The newest message of a conversation (forks at it are identical)."""

    def latest(c: Letta) -> str | None:
        ref = ConversationRef(conversation_id, agent_id)
        page = c.conversations.messages.list(
            conversation_id, limit=1, order="desc", **ref.sdk_kwargs()
        )
        items = list(getattr(page, "items", page))
        return items[0].id if items else None

    return _call(client, latest, base_url_of(client), f"conversation {conversation_id}")


def _nth(values: Sequence[Any] | None, i: int) -> Any:
    return values[i] if values and i < len(values) else None


def _fork_args(source: str, at: str | None, agent_id: str | None) -> dict[str, Any]:
    args: dict[str, Any] = ConversationRef(source, agent_id).sdk_kwargs()
    if at:
        args["message_id"] = at
    return args


def _call(client: Letta | AsyncLetta, fn: Callable[[Letta], Any], base_url: str, what: str) -> Any:
    """Run one SDK call with the sync client (constructors are synchronous)."""
    with sdk_errors(base_url=base_url, what=what):
        return fn(sync_twin(client))
