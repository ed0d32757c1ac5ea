"""A connection card: is the Letta server there, which version, how much is in it, how fast.

```python
import letta_widgets as lw
client = lw.connect()
lw.ConnectionCard(client)        # shows URL, version, agents, conversations, round trip
```

Only facts about the server are synced to the front end (the URL without any key or
header): widget state is saved into the ``.ipynb``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import traitlets as t
from letta_client import AsyncLetta, Letta

from letta_widgets.client import base_url_of, connect, sync_twin
from letta_widgets.errors import translate
from letta_widgets.widgets.base import STATIC, LettaWidget, bundle

__all__ = ["ConnectionCard", "show_connection"]


COUNT_LIMIT = 10_000
"""Counting stops here; the card then shows ``10000+``."""

_PAGE = 100
_CHECK_TIMEOUT = 10.0


def _public_url(url: str) -> str:
    """``url`` without user:password or query string (they can carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")


class ConnectionCard(LettaWidget):
    """A card showing the Letta server a client talks to, with a Refresh button.

    Parameters
    ----------
    client:
        A ``letta_client.Letta`` (default: :func:`letta_widgets.connect` with
        ``LETTA_BASE_URL`` / ``LETTA_API_KEY``). It is kept in a private attribute and
        never synced.
    check:
        Check the server at once (default). ``False`` leaves the card in ``"idle"``
        until :meth:`refresh` (or the Refresh button) runs.

    Unknown keyword arguments raise ``TypeError``.
    """

    _esm = bundle("common.js", "connection.js")
    _css = STATIC / "connection.css"
    _saved_traits = ("checks",)

    url = t.Unicode("", help="Base URL of the server (never a key or a header).").tag(sync=True)
    status = t.Enum(
        ["idle", "checking", "ok", "error"],
        "idle",
        help="'idle' before the first check, 'checking' while one runs, then 'ok' or 'error'.",
    ).tag(sync=True)
    server_version = t.Unicode("", help="Version the server reports on /v1/health.").tag(sync=True)
    agents = t.Int(None, allow_none=True, help="Number of agents (None if unknown).").tag(sync=True)
    conversations = t.Int(
        None, allow_none=True, help="Number of conversations over all agents (None if unknown)."
    ).tag(sync=True)
    counts_capped = t.Bool(
        False, help=f"True when a count reached {COUNT_LIMIT} and counting stopped there."
    ).tag(sync=True)
    rtt_ms = t.Float(
        None, allow_none=True, help="Round-trip time of the health request, in milliseconds."
    ).tag(sync=True)
    checks = t.Int(0, help="How many checks have completed (initial one and every Refresh).").tag(
        sync=True
    )
    checked_at = t.Unicode("", help="When the last check completed (ISO 8601, UTC).").tag(sync=True)

    def __init__(
        self, client: Letta | AsyncLetta | None = None, *, check: bool = True, **kwargs: Any
    ) -> None:
        self._client = sync_twin(client) if client is not None else connect()
        # One quick attempt per request: the card reports, it does not retry for minutes.
        self._probe = self._client.with_options(max_retries=0, timeout=_CHECK_TIMEOUT)
        super().__init__(url=_public_url(base_url_of(self._client)), **kwargs)
        if check:
            self.refresh()

    def __repr__(self) -> str:
        return f"ConnectionCard(url={self.url!r}, status={self.status!r})"

    def _saved_html(self) -> str | None:
        def count(n: int | None) -> str:
            return "?" if n is None else f"{n}{'+' if self.counts_capped else ''}"

        facts = [self.url, self.status, f"server {self.server_version or '?'}"]
        facts += [f"{count(self.agents)} agents", f"{count(self.conversations)} conversations"]
        if self.checked_at:
            facts.append(f"checked {self.checked_at}")
        return self._fallback("Letta server connection", facts, "")

    def refresh(self) -> None:
        """Check the server again and update every trait (what the Refresh button does)."""
        self.status = "checking"
        values: dict[str, Any] = {
            "server_version": "",
            "agents": None,
            "conversations": None,
            "counts_capped": False,
            "rtt_ms": None,
            "error": "",
        }
        try:
            t0 = time.perf_counter()
            health = self._probe.health()
            values["rtt_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            values["server_version"] = str(health.version)
            values["agents"], capped_a = self._count_agents()
            values["conversations"], capped_c = self._count_conversations()
            values["counts_capped"] = capped_a or capped_c
            status = "ok"
        except Exception as exc:  # every failure becomes a message in the card
            values["error"] = _public_text(str(translate(exc, base_url=self.url)), self._client)
            status = "error"
        with self.hold_sync():
            for name, value in values.items():
                setattr(self, name, value)
            self.checked_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.checks += 1
            self.status = status

    def _count_agents(self) -> tuple[int, bool]:
        n = 0
        for _agent in self._probe.agents.list(limit=_PAGE):
            n += 1
            if n >= COUNT_LIMIT:
                return n, True
        return n, False

    def _count_conversations(self) -> tuple[int, bool]:
        n, after = 0, None
        while True:
            kwargs: dict[str, Any] = {"limit": _PAGE}
            if after:
                kwargs["after"] = after
            page = self._probe.conversations.list(**kwargs)
            n += len(page)
            if n >= COUNT_LIMIT:
                return n, True
            if len(page) < _PAGE:
                return n, False
            after = page[-1].id

    def _on_refresh(self, _content: dict[str, Any]) -> None:
        self.refresh()


def _public_text(text: str, client: Letta) -> str:
    """``text`` with the client's API key blanked out, should an error message echo it."""
    key = getattr(client, "api_key", None)
    return text.replace(key, "***") if isinstance(key, str) and len(key) >= 8 else text


def show_connection(client: Letta | None = None) -> ConnectionCard:
    """A :class:`ConnectionCard` for ``client`` (default: :func:`letta_widgets.connect`).

    End a cell with it to show the card: ``lw.show_connection(client)``.
    """
    return ConnectionCard(client)
