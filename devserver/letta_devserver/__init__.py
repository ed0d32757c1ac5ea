"""letta-devserver: an offline, SDK-faithful Letta server with fault injection.

Run it with ``letta-devserver`` (or ``python -m letta_devserver``); start it from Python
with :class:`DevServerProcess`; in pytest, use the ``letta_server`` and ``letta_client``
fixtures of the bundled plugin (:mod:`letta_devserver.pytest_plugin`). The package README
documents every option, fault spec, header and admin endpoint.
"""

from .process import READY_PREFIX, DevServerProcess

__version__ = "0.1.0"
"""In step with letta-widgets: the two are released together."""

__all__ = ["READY_PREFIX", "DevServerProcess", "__version__"]
