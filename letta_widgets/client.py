"""Connecting to Letta: the only module that constructs the official SDK clients.

``connect()`` builds a synchronous :class:`letta_client.Letta`. Widgets and helpers
accept whatever ``Letta`` client the user already has and derive an
:class:`letta_client.AsyncLetta` twin with :func:`async_twin` when they need async I/O.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from letta_client import AsyncLetta, Letta

__all__ = ["DEFAULT_BASE_URL", "async_twin", "base_url_of", "connect"]

DEFAULT_BASE_URL = "http://localhost:8283"
"""Where a self-hosted Letta server (and ``letta-devserver``) listens by default."""

# client -> {event loop -> twin}: an AsyncLetta's connection pool belongs to one loop.
_TWINS: weakref.WeakKeyDictionary[
    Letta, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLetta]
] = weakref.WeakKeyDictionary()


def connect(base_url: str | None = None, api_key: str | None = None, **client_kwargs: Any) -> Letta:
    """Return a ``letta_client.Letta`` for ``base_url`` (or ``LETTA_BASE_URL``).

    ``api_key`` defaults to ``LETTA_API_KEY``; without either the client sends no
    key, which a local server accepts. Extra keyword arguments (``timeout``,
    ``max_retries``, ``default_headers``, ...) go to the SDK unchanged.
    """
    url = base_url or os.environ.get("LETTA_BASE_URL") or DEFAULT_BASE_URL
    key = api_key if api_key is not None else os.environ.get("LETTA_API_KEY")
    return Letta(base_url=url.rstrip("/"), api_key=key, **client_kwargs)


def base_url_of(client: Letta | AsyncLetta) -> str:
    """The server URL a client talks to, without a trailing slash."""
    return str(client.base_url).rstrip("/")


def async_twin(client: Letta | AsyncLetta) -> AsyncLetta:
    """An ``AsyncLetta`` with the same base URL, key, headers, timeout and retries.

    Inside a running event loop the twin is cached per (client, loop), so repeated
    calls share one connection pool and a pool is never used from another loop
    (``asyncio.run`` twice in a script is fine). An ``AsyncLetta`` passed in is
    returned as it is.
    """
    if isinstance(client, AsyncLetta):
        return client
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _make_twin(client)
    per_loop = _TWINS.get(client)
    if per_loop is None:
        per_loop = _TWINS[client] = weakref.WeakKeyDictionary()
    twin = per_loop.get(loop)
    if twin is None:
        twin = per_loop[loop] = _make_twin(client)
    return twin


def _make_twin(client: Letta) -> AsyncLetta:
    return AsyncLetta(
        base_url=base_url_of(client),
        api_key=client.api_key,
        project_id=client.project_id,
        project=client.project,
        timeout=client.timeout,
        max_retries=client.max_retries,
        default_headers=_custom_headers(client),
    )


def _custom_headers(client: Letta) -> dict[str, str]:
    """Headers the user configured on ``client`` (not the SDK's own defaults)."""
    return {k: v for k, v in client._custom_headers.items() if isinstance(v, str)}
