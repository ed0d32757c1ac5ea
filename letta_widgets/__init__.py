"""letta-widgets: Jupyter widgets and pandas helpers for Letta's Conversations API.

```python
import letta_widgets as lw
client = lw.connect()          # LETTA_BASE_URL / LETTA_API_KEY, default http://localhost:8283
```
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "AgentRunError",
    "ApprovalPending",
    "AuthenticationFailed",
    "ConversationBusy",
    "InvalidRequest",
    "LettaWidgetsError",
    "NotFound",
    "RateLimited",
    "RequestTimedOut",
    "ServerError",
    "ServerUnreachable",
    "StreamInterrupted",
    "__version__",
    "async_twin",
    "connect",
]
