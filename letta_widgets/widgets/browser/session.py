"""What every browser pane shares: the client, the shown agent and selection, the cache,
the lineage store, and how to address and name a conversation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from letta_client import AsyncLetta

from letta_widgets.errors import InvalidRequest
from letta_widgets.letta.conversation import ConversationRef
from letta_widgets.lineage import LineageStore
from letta_widgets.widgets.browser.cache import BrowserCache

__all__ = ["BrowserSession"]


class BrowserSession:
    """The state the panes share; the widget owns it and its traits stay the truth."""

    def __init__(
        self,
        aclient: AsyncLetta,
        base_url: str,
        lineage: LineageStore,
        state: Callable[[], tuple[str, str]],
    ) -> None:
        self.aclient = aclient
        self.base_url = base_url
        self.lineage = lineage
        self.cache = BrowserCache()
        self._state = state  # () -> (agent_id, selected), read from the widget's traits

    @property
    def agent_id(self) -> str:
        """The agent shown ('' when none)."""
        return self._state()[0]

    @property
    def selected(self) -> str:
        """The conversation shown ('' when none)."""
        return self._state()[1]

    def ref(self, cid: str) -> ConversationRef:
        """The conversation ``cid`` of the shown agent."""
        return ConversationRef(cid, self.agent_id or None)

    def describe(self, cid: str) -> str:
        """How an error names ``cid``."""
        return self.ref(cid).describe()

    def sdk_kwargs(self, cid: str) -> dict[str, Any]:
        """The keyword arguments that address ``cid`` in a ``conversations.…`` call."""
        return self.ref(cid).sdk_kwargs()

    def require_agent(self) -> str:
        """The shown agent, or an error saying how to pick one."""
        if not self.agent_id:
            raise InvalidRequest(
                "no agent is selected", "pick one in the widget or set browser.agent_id"
            )
        return self.agent_id
