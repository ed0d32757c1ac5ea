"""Connecting to Letta: the only module that constructs the official SDK clients.

``connect()`` builds a synchronous :class:`letta_client.Letta`. Widgets and helpers
accept whatever client the user already has, ``Letta`` or ``AsyncLetta``: they keep a
synchronous one (:func:`sync_twin`) and derive an :class:`letta_client.AsyncLetta` twin for
their own event loop with :func:`async_twin` when they need async I/O.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from letta_client import AsyncLetta, Letta

__all__ = ["DEFAULT_BASE_URL", "async_twin", "base_url_of", "connect", "sync_twin"]

DEFAULT_BASE_URL = "http://localhost:8283"
"""Where a self-hosted Letta server (and ``letta-devserver``) listens by default."""

# client -> {event loop -> twin}: an AsyncLetta's connection pool belongs to one loop.
_TWINS: weakref.WeakKeyDictionary[
    Letta, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLetta]
] = weakref.WeakKeyDictionary()
_SYNC_TWINS: weakref.WeakKeyDictionary[AsyncLetta, Letta] = weakref.WeakKeyDictionary()


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


def sync_twin(client: Letta | AsyncLetta) -> Letta:
    """A ``Letta`` with the same base URL, key, headers, timeout and retries.

    A ``Letta`` passed in is returned as it is; an ``AsyncLetta`` gets one twin, kept for
    as long as it lives. (A widget's async I/O runs on the toolkit's own event loop, where
    an ``AsyncLetta`` made on the kernel's loop cannot be used: it goes through this twin's
    :func:`async_twin`.)
    """
    if isinstance(client, Letta):
        return client
    if not isinstance(client, AsyncLetta):
        raise TypeError(
            f"expected a letta_client.Letta or AsyncLetta, got {type(client).__name__} "
            "(make one with letta_widgets.connect())"
        )
    twin = _SYNC_TWINS.get(client)
    if twin is None:
        twin = _SYNC_TWINS[client] = Letta(**_settings(client))
    return twin


def _make_twin(client: Letta) -> AsyncLetta:
    return AsyncLetta(**_settings(client))


def _settings(client: Letta | AsyncLetta) -> dict[str, Any]:
    return {
        "base_url": base_url_of(client),
        "api_key": client.api_key,
        "project_id": client.project_id,
        "project": client.project,
        "timeout": client.timeout,
        "max_retries": client.max_retries,
        "default_headers": _custom_headers(client),
    }


def _custom_headers(client: Letta | AsyncLetta) -> dict[str, str]:
    """Headers the user configured on ``client`` (not the SDK's own defaults)."""
    return {k: v for k, v in client._custom_headers.items() if isinstance(v, str)}
