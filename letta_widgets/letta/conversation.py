"""A reference to one conversation: a ``conv-…`` id, or an agent's default thread.

The Conversations API addresses an agent's default thread as conversation ``"default"``
plus ``agent_id``; every request, error message and in-context lookup that touches a
conversation goes through :class:`ConversationRef`, so that rule lives here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT", "ConversationRef"]

DEFAULT = "default"
"""The conversation id that names an agent's default thread (with ``agent_id``)."""


@dataclass(frozen=True)
class ConversationRef:
    """One conversation, as the SDK addresses it."""

    id: str
    """``conv-…``, or :data:`DEFAULT` for the agent's default thread."""
    agent_id: str | None = None
    """The agent (required for the default thread; optional otherwise)."""

    @property
    def is_default(self) -> bool:
        """True for an agent's default thread."""
        return self.id == DEFAULT

    def sdk_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that address it in a ``conversations.…`` call."""
        return {"agent_id": self.agent_id} if self.is_default and self.agent_id else {}

    def describe(self) -> str:
        """How an error message names it."""
        if self.is_default:
            return f"the default conversation of agent {self.agent_id}"
        return f"conversation {self.id}"

    def check(self) -> ConversationRef:
        """Itself; a ``ValueError`` saying what to pass when the default thread has no agent."""
        if self.is_default and not self.agent_id:
            raise ValueError(
                'conversation_id="default" needs agent_id: pass agent_id= to address the '
                "agent's default conversation"
            )
        return self

    def __str__(self) -> str:
        return self.describe()
