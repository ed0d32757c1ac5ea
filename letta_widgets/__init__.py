"""letta-widgets: Jupyter widgets and pandas helpers for Letta's Conversations API.

```python
import letta_widgets as lw
client = lw.connect()                       # LETTA_BASE_URL / LETTA_API_KEY, default local
chat = lw.ChatCell(client, agent_id="agent-…")
turn = chat.send("Hello")
```

Every name is imported on first use, so ``import letta_widgets`` starts quickly. The
offline server for tests and demos is the separate package ``letta-devserver``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from letta_widgets._messages import UnknownMessageTypeWarning
    from letta_widgets.branches import BranchPoint
    from letta_widgets.client import async_twin, connect
    from letta_widgets.compare_stats import align_turns
    from letta_widgets.errors import (
        AgentRunError,
        ApprovalPending,
        AuthenticationFailed,
        ConversationBusy,
        DatasetLayoutError,
        DatasetLocked,
        ForkPointIgnored,
        ImageRefused,
        InvalidRequest,
        LettaWidgetsError,
        NotFound,
        RateLimited,
        RequestTimedOut,
        ServerError,
        ServerUnreachable,
        StreamInterrupted,
    )
    from letta_widgets.frames import (
        aagent_history,
        agent_history,
        amessages_frame,
        conversations_frame,
        messages_frame,
    )
    from letta_widgets.history_dataset import compact_history, export_history, read_history
    from letta_widgets.judge import LettaJudge
    from letta_widgets.stream import Turn, TurnEngine
    from letta_widgets.widgets.browser import ConversationBrowser
    from letta_widgets.widgets.chat import ChatCell, ask
    from letta_widgets.widgets.compare import CompareView, Variant
    from letta_widgets.widgets.connection import ConnectionCard

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "connect": "letta_widgets.client",
    "BranchPoint": "letta_widgets.branches",
    "async_twin": "letta_widgets.client",
    "AgentRunError": "letta_widgets.errors",
    "ApprovalPending": "letta_widgets.errors",
    "AuthenticationFailed": "letta_widgets.errors",
    "ConversationBusy": "letta_widgets.errors",
    "DatasetLayoutError": "letta_widgets.errors",
    "DatasetLocked": "letta_widgets.errors",
    "ForkPointIgnored": "letta_widgets.errors",
    "ImageRefused": "letta_widgets.errors",
    "InvalidRequest": "letta_widgets.errors",
    "LettaJudge": "letta_widgets.judge",
    "LettaWidgetsError": "letta_widgets.errors",
    "NotFound": "letta_widgets.errors",
    "RateLimited": "letta_widgets.errors",
    "RequestTimedOut": "letta_widgets.errors",
    "ServerError": "letta_widgets.errors",
    "ServerUnreachable": "letta_widgets.errors",
    "StreamInterrupted": "letta_widgets.errors",
    "ChatCell": "letta_widgets.widgets.chat",
    "ask": "letta_widgets.widgets.chat",
    "CompareView": "letta_widgets.widgets.compare",
    "ConnectionCard": "letta_widgets.widgets.connection",
    "ConversationBrowser": "letta_widgets.widgets.browser",
    "Turn": "letta_widgets.turn",
    "TurnEngine": "letta_widgets.stream",
    "Variant": "letta_widgets.widgets.compare",
    "UnknownMessageTypeWarning": "letta_widgets._messages",
    "aagent_history": "letta_widgets.frames",
    "agent_history": "letta_widgets.frames",
    "amessages_frame": "letta_widgets.frames",
    "align_turns": "letta_widgets.compare_stats",
    "conversations_frame": "letta_widgets.frames",
    "compact_history": "letta_widgets.history_dataset",
    "export_history": "letta_widgets.history_dataset",
    "export_transcript": "letta_widgets.transcripts",
    "messages_frame": "letta_widgets.frames",
    "read_history": "letta_widgets.history_dataset",
}

__all__ = [
    "AgentRunError",
    "ApprovalPending",
    "AuthenticationFailed",
    "BranchPoint",
    "ChatCell",
    "CompareView",
    "ConnectionCard",
    "ConversationBrowser",
    "ConversationBusy",
    "DatasetLayoutError",
    "DatasetLocked",
    "ForkPointIgnored",
    "ImageRefused",
    "InvalidRequest",
    "LettaJudge",
    "LettaWidgetsError",
    "NotFound",
    "RateLimited",
    "RequestTimedOut",
    "ServerError",
    "ServerUnreachable",
    "StreamInterrupted",
    "Turn",
    "TurnEngine",
    "UnknownMessageTypeWarning",
    "Variant",
    "__version__",
    "aagent_history",
    "agent_history",
    "align_turns",
    "amessages_frame",
    "ask",
    "async_twin",
    "compact_history",
    "connect",
    "conversations_frame",
    "export_history",
    "export_transcript",
    "load_ipython_extension",
    "messages_frame",
    "read_history",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'letta_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext letta_widgets``: registers the ``%%letta`` cell magic."""
    from letta_widgets.magics import load_ipython_extension as load

    load(ipython)
