"""letta-widgets: Jupyter widgets and pandas helpers for Letta's Conversations API.

```python
import letta_widgets as lw
client = lw.connect()                       # LETTA_BASE_URL / LETTA_API_KEY, default local
chat = lw.ChatCell(client, agent_id="agent-…")
turn = chat.send("Hello")
```

Heavy parts (widgets, pandas helpers) are imported on first use, so
``import letta_widgets`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from letta_widgets.client import async_twin, connect
from letta_widgets.errors import (
    AgentRunError,
    ApprovalPending,
    AuthenticationFailed,
    ConversationBusy,
    InvalidRequest,
    LettaWidgetsError,
    NotFound,
    RateLimited,
    RequestTimedOut,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
)

if TYPE_CHECKING:
    from letta_widgets.stream import Turn, TurnEngine
    from letta_widgets.widgets.chat import ChatCell

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "ChatCell": "letta_widgets.widgets.chat",
    "Turn": "letta_widgets.stream",
    "TurnEngine": "letta_widgets.stream",
}

__all__ = [
    "AgentRunError",
    "ApprovalPending",
    "AuthenticationFailed",
    "ChatCell",
    "ConversationBusy",
    "InvalidRequest",
    "LettaWidgetsError",
    "NotFound",
    "RateLimited",
    "RequestTimedOut",
    "ServerError",
    "ServerUnreachable",
    "StreamInterrupted",
    "Turn",
    "TurnEngine",
    "__version__",
    "async_twin",
    "connect",
    "load_ipython_extension",
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
