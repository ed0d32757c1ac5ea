"""The offline Letta-compatible devserver (see docs/devserver.md).

Run it with ``letta-widgets devserver`` or ``python -m letta_widgets.devserver``; start it
from Python with :class:`DevServerProcess`.
"""

from .process import READY_PREFIX, DevServerProcess

__all__ = ["READY_PREFIX", "DevServerProcess"]
