"""CompareView's shared-memory notice: say so when a round changed an agent's memory.

Memory blocks are shared by every conversation of an agent, so a variant whose turn
edits a block changes what the other variants (and every fresh fork) start from. The
view reads the blocks of every agent involved before and after a round, and names the
variants whose memory tool calls changed them; a change with no such call is reported
too (another client edited the block).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from letta_client import AsyncLetta, Letta

from letta_widgets.client import async_twin
from letta_widgets.widgets.compare.rounds import Round

__all__ = ["MEMORY_TOOLS", "Blocks", "agent_blocks", "memory_notice"]

MEMORY_TOOLS = frozenset(
    {
        "memory_insert",
        "memory_replace",
        "memory_rethink",
        "memory_apply_patch",
        "memory",
        "core_memory_append",
        "core_memory_replace",
    }
)
"""Tools that edit a memory block (any tool whose name contains ``memory`` also counts)."""

Blocks = dict[str, dict[str, str]]
"""Memory block values of several agents: agent id -> block label -> value."""


async def agent_blocks(
    client: Letta | AsyncLetta, agent_ids: Iterable[str | None]
) -> Blocks | None:
    """The memory blocks of every agent named (``None`` if none, or on any failure)."""
    agents = sorted({a for a in agent_ids if a})
    if not agents:
        return None

    async def one(agent_id: str) -> dict[str, str]:
        page = await async_twin(client).agents.blocks.list(agent_id)
        blocks = getattr(page, "items", page)
        return {str(b.label): str(b.value) for b in blocks}

    try:
        got = await asyncio.gather(*(one(a) for a in agents))
    except Exception:  # memory notice is best effort; tool calls still tell
        return None
    return dict(zip(agents, got, strict=True))


def memory_notice(
    rnd: Round,
    agent_of: Mapping[str, str | None],
    before: Blocks | None,
    after: Blocks | None,
) -> str:
    """The round's shared-memory notice ("" if nothing changed).

    Sets each cell's ``blocks_changed`` to the blocks its turn changed. ``agent_of``
    maps a variant label to its agent; ``before`` / ``after`` are :func:`agent_blocks`
    around the round (``None`` when unknown: the memory tool calls alone then tell).
    """
    changed = _changed_blocks(before, after)
    editors: list[str] = []
    for cell in rnd._cells:
        if cell.turn is None:
            continue
        agent_id = agent_of.get(cell.label) or ""
        edited = [
            c
            for c in cell.turn.tool_calls
            if c.get("status") == "success" and _is_memory_tool(c.get("name") or "")
        ]
        if not edited:
            continue
        named = {
            str(c["arguments"].get("label"))
            for c in edited
            if isinstance(c.get("arguments"), dict) and c["arguments"].get("label")
        }
        seen = changed.get(agent_id)
        labels = (named & seen) or seen if seen is not None else named
        if before is not None and after is not None and not seen:
            continue  # the tool ran but no block actually changed
        cell.blocks_changed = sorted(labels or named)
        tools = sorted({str(c.get("name")) for c in edited})
        blocks = ", ".join(f"'{b}'" for b in cell.blocks_changed) or "a block"
        editors.append(f"{cell.label}'s turn changed memory {blocks} ({', '.join(tools)})")
    if editors:
        return (
            "Shared memory changed: "
            + "; ".join(editors)
            + ". Memory blocks are shared by every conversation of the agent: new forks "
            "and new conversations (every fresh round) start from the new value, and the "
            "other variants' conversations see it after a recompile."
        )
    if changed:
        labels = sorted({b for v in changed.values() for b in v})
        return (
            f"Shared memory changed during this round (block(s) {', '.join(labels)}), "
            "though no variant called a memory tool: another client may have edited it. "
            "The variants may see different memory from now on."
        )
    return ""


def _is_memory_tool(name: str) -> bool:
    return name in MEMORY_TOOLS or "memory" in name


def _changed_blocks(before: Blocks | None, after: Blocks | None) -> dict[str, set[str]]:
    """Agent -> labels of the blocks whose value changed (or that went away)."""
    changed: dict[str, set[str]] = {}
    if before is None or after is None:
        return changed
    for agent_id, blocks in after.items():
        old = before.get(agent_id, {})
        labels = {k for k, v in blocks.items() if old.get(k) != v}
        labels |= set(old) - set(blocks)
        if labels:
            changed[agent_id] = labels
    return changed
