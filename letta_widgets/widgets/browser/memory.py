"""Stale-memory detection: the memory compiled into a conversation vs the current blocks.

A Letta conversation keeps the memory blocks as they were compiled into its system
message (the conversation's first message) when it was created, forked or last
recompiled; block edits made later (through the blocks API or a ``memory_*`` tool call in
*another* conversation) do not reach it until ``conversations.recompile``. This module
reads the ``<memory_blocks>`` section of that system message back into
``{label: value}`` and compares it with the agent's current blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from letta_widgets.compare_stats import word_diff
from letta_widgets.errors import sdk_errors
from letta_widgets.widgets.browser.session import BrowserSession

__all__ = ["MemoryDiff", "MemoryPane", "diff_memory", "parse_compiled_memory"]

_SECTION = re.compile(r"<memory_blocks>\n(.*?)\n</memory_blocks>", re.S)
_BLOCK = re.compile(
    r"^<(?P<label>[A-Za-z0-9_.\-]+)>\n"
    r"(?:<description>\n.*?\n</description>\n)?"
    r"(?:<metadata>\n.*?\n</metadata>\n)?"
    r"<value>\n(?P<value>.*?)\n</value>\n</(?P=label)>$",
    re.S | re.M,
)


def parse_compiled_memory(system_text: str) -> dict[str, str] | None:
    """The ``{label: value}`` blocks compiled into a system message, or ``None``.

    ``None`` means the text has no ``<memory_blocks>`` section in the layout Letta
    compiles (an agent type with another prompt layout): staleness is then unknown.
    """
    if not isinstance(system_text, str):
        return None
    match = _SECTION.search(system_text)
    if match is None:
        return None
    section = match.group(1)
    return {m.group("label"): m.group("value") for m in _BLOCK.finditer(section)}


@dataclass
class MemoryDiff:
    """How a conversation's compiled memory differs from the agent's current blocks."""

    changed: list[str] = field(default_factory=list)
    """Labels whose value changed since the conversation's system message was compiled."""
    added: list[str] = field(default_factory=list)
    """Blocks the agent has now that the compiled memory lacks."""
    removed: list[str] = field(default_factory=list)
    """Blocks in the compiled memory that the agent no longer has."""
    known: bool = True
    """False when the system message could not be parsed (staleness unknown)."""
    compiled: dict[str, str] = field(default_factory=dict)
    """The compiled (old) values of the differing blocks."""
    current: dict[str, str] = field(default_factory=dict)
    """The current values of the differing blocks."""
    compiled_at: str | None = None
    """When the conversation's system prompt was compiled (its date), if known."""

    @property
    def stale(self) -> bool:
        """True when any block differs."""
        return bool(self.changed or self.added or self.removed)

    @property
    def labels(self) -> list[str]:
        """Every differing label (changed, added, removed), sorted."""
        return sorted({*self.changed, *self.added, *self.removed})

    def as_dict(self, *, details: bool = False) -> dict[str, Any]:
        """A JSON-able summary (what the widget syncs); ``details``: each differing block's
        old and new value and a word diff (the header shows them)."""
        out: dict[str, Any] = {
            "known": self.known,
            "stale": self.stale,
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
            "labels": self.labels,
            "compiled_at": self.compiled_at,
        }
        if details:
            out["details"] = [
                {
                    "label": label,
                    "kind": "changed"
                    if label in self.changed
                    else ("added" if label in self.added else "removed"),
                    "ops": word_diff(self.compiled.get(label, ""), self.current.get(label, "")),
                }
                for label in self.labels
            ]
        return out


def diff_memory(
    system_text: str | None,
    blocks: Iterable[Mapping[str, Any]],
    compiled_at: str | None = None,
) -> MemoryDiff:
    """Compare the memory compiled into ``system_text`` with the current ``blocks``."""
    compiled = parse_compiled_memory(system_text or "")
    if compiled is None:
        return MemoryDiff(known=False, compiled_at=compiled_at)
    current = {str(b.get("label")): str(b.get("value") or "") for b in blocks}
    changed = sorted(
        label
        for label, value in current.items()
        if label in compiled and compiled[label].rstrip() != value.rstrip()
    )
    added = sorted(set(current) - set(compiled))
    removed = sorted(set(compiled) - set(current))
    labels = {*changed, *added, *removed}
    return MemoryDiff(
        changed=changed,
        added=added,
        removed=removed,
        compiled={k: v for k, v in compiled.items() if k in labels},
        current={k: v for k, v in current.items() if k in labels},
        compiled_at=compiled_at,
    )


class MemoryPane:
    """The agent's memory blocks as the panel shows them, and each conversation's staleness."""

    def __init__(self, session: BrowserSession) -> None:
        self.s = session
        self.cache = session.cache

    async def load(self) -> list[dict[str, Any]] | None:
        """The blocks as panel rows (what changed since they were last shown); None when
        another agent was chosen meanwhile."""
        agent_id = self.s.agent_id
        with sdk_errors(base_url=self.s.base_url, what=f"the memory blocks of agent {agent_id}"):
            page = await self.s.aclient.agents.blocks.list(agent_id, limit=1000)
        raw = [b.to_dict(mode="json") for b in page.items]
        if agent_id != self.s.agent_id:
            return None
        seen = self.cache.seen_blocks
        rows = []
        for b in sorted(raw, key=lambda b: str(b.get("label"))):
            label = str(b.get("label"))
            value = str(b.get("value") or "")
            changed = seen is not None and seen.get(label) != value
            previous = " ".join(str((seen or {}).get(label, "")).split())
            rows.append(
                {
                    "label": label,
                    "value": value,
                    "chars": len(value),
                    "limit": b.get("limit"),
                    "read_only": bool(b.get("read_only")),
                    "description": str(b.get("description") or ""),
                    "changed": changed,
                    "new": seen is not None and label not in seen,
                    "previous": (previous if len(previous) <= 400 else previous[:399] + "…")
                    if changed
                    else "",
                }
            )
        self.cache.seen_blocks = {r["label"]: r["value"] for r in rows}
        self.cache.blocks = raw
        return rows

    def stale(self, system_text: str | None, compiled_at: str | None) -> MemoryDiff:
        """How a conversation's compiled memory differs from the blocks last loaded."""
        if system_text is None:
            return MemoryDiff(known=False)
        return diff_memory(system_text, self.cache.blocks, compiled_at)
