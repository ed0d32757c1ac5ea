"""Devservers for test suites: options, a running server's handle, and a pool of them.

The pytest plugin (:mod:`letta_devserver.pytest_plugin`) is built on these, and they work
without pytest too::

    with ServerPool() as pool:
        server = pool.get(ServerOptions(profile="letta-0.16", seed="demo"))
        client = server.client()

Standard library only: the plugin loads in every pytest run of a project that installs
this package, so importing it must cost nothing.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any

from .faults import parse_fault_spec
from .process import DevServerProcess
from .profiles import DEFAULT_PROFILE, PROFILES

__all__ = ["SEEDS", "TEST_OPTIONS", "LettaServer", "ServerOptions", "ServerPool", "split_options"]

SEEDS = ("demo",)
"""The data sets ``--seed`` knows."""

TEST_OPTIONS = ("fault", "fresh")
"""Options that apply to one test on a shared server (not a reason to start another)."""


@dataclass(frozen=True)
class ServerOptions:
    """How a devserver is started; servers with equal options are shared."""

    profile: str = DEFAULT_PROFILE
    """``cloud`` (Letta Cloud as measured) or ``letta-0.16`` (the retired 0.16.8 server)."""
    seed: str | None = None
    """A data set loaded at start (``demo``), or none."""
    token_delay_ms: int = 0
    """Delay per streamed token."""
    step_delay_ms: int = 0
    """Delay per agent step (an LLM call)."""
    context_messages: int = 120
    """Compact a conversation past this many in-context messages."""
    tool_call_deltas: bool = True
    """With ``stream_tokens``, stream tool-call arguments as deltas (else each call whole)."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"unknown devserver profile {self.profile!r}: use one of {', '.join(PROFILES)}"
            )
        if self.seed is not None and self.seed not in SEEDS:
            raise ValueError(f"unknown seed {self.seed!r}: use one of {', '.join(SEEDS)}")
        for name in ("token_delay_ms", "step_delay_ms", "context_messages"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")

    def args(self) -> list[str]:
        """The command-line options that start a server like this (in memory)."""
        out = ["--memory", "--profile", self.profile]
        if self.seed:
            out += ["--seed", self.seed]
        out += ["--token-delay-ms", str(self.token_delay_ms)]
        out += ["--step-delay-ms", str(self.step_delay_ms)]
        out += ["--context-messages", str(self.context_messages)]
        if not self.tool_call_deltas:
            out.append("--no-tool-call-deltas")
        return out


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` as (server options, per-test options); unknown names raise ``TypeError``."""
    known = {f.name for f in fields(ServerOptions)}
    unknown = sorted(set(options) - known - set(TEST_OPTIONS))
    if unknown:
        expected = ", ".join([*sorted(known), *TEST_OPTIONS])
        raise TypeError(f"unknown devserver option {unknown[0]!r} (expected one of {expected})")
    server = {k: v for k, v in options.items() if k in known}
    per_test = {k: v for k, v in options.items() if k in TEST_OPTIONS}
    if per_test.get("fault"):
        parse_fault_spec(str(per_test["fault"]))  # a bad spec fails here, with its reason
    return server, per_test


class LettaServer:
    """A running devserver: where it listens, how it was started, and its admin endpoints."""

    def __init__(self, process: DevServerProcess, options: ServerOptions) -> None:
        self.process = process
        self.options = options
        self.base_url = process.base_url
        """``http://127.0.0.1:PORT``: pass it to ``Letta(base_url=...)``."""

    @property
    def pid(self) -> int | None:
        """The server process's id (None once stopped)."""
        return self.process.pid

    def __repr__(self) -> str:
        return f"<LettaServer {self.base_url} profile={self.options.profile} pid={self.pid}>"

    def client(self, **kwargs: Any) -> Any:
        """A ``letta_client.Letta`` for this server (needs ``letta-client`` installed)."""
        from letta_client import Letta

        return Letta(base_url=self.base_url, api_key=kwargs.pop("api_key", "devserver"), **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        """A ``letta_client.AsyncLetta`` for this server."""
        from letta_client import AsyncLetta

        return AsyncLetta(
            base_url=self.base_url, api_key=kwargs.pop("api_key", "devserver"), **kwargs
        )

    @staticmethod
    def headers(
        *,
        fault: str | None = None,
        token_delay_ms: int | None = None,
        step_delay_ms: int | None = None,
        keepalive_ms: int | None = None,
        context_messages: int | None = None,
        tool_call_deltas: bool | None = None,
    ) -> dict[str, str]:
        """Per-request headers (``extra_headers=``) that override the server's settings."""
        if fault:
            parse_fault_spec(fault)
        values = {
            "X-Devserver-Fault": fault,
            "X-Devserver-Token-Delay-Ms": token_delay_ms,
            "X-Devserver-Step-Delay-Ms": step_delay_ms,
            "X-Devserver-Keepalive-Ms": keepalive_ms,
            "X-Devserver-Context-Messages": context_messages,
            "X-Devserver-Tool-Call-Deltas": None
            if tool_call_deltas is None
            else int(tool_call_deltas),
        }
        return {k: str(v) for k, v in values.items() if v is not None and v != ""}

    def set_fault(self, spec: str) -> None:
        """Apply ``spec`` to every request from now on (``once`` in it: the next request)."""
        self._admin("PUT", "/v1/_devserver/faults", {"spec": spec})

    def fault(self) -> str:
        """The server-level fault spec in force ('' for none)."""
        return str(self._admin("GET", "/v1/_devserver/faults").get("spec", ""))

    def clear_fault(self) -> None:
        """Remove the server-level fault."""
        self._admin("DELETE", "/v1/_devserver/faults")

    def reset(self) -> None:
        """Delete every agent, conversation and run (and the fault); re-seed if seeded."""
        self._admin("POST", "/v1/_devserver/reset", {})
        if self.options.seed:
            self.seed(self.options.seed)

    def seed(self, name: str = "demo") -> dict[str, Any]:
        """Load a data set into the running server; returns what it created."""
        return self._admin("POST", "/v1/_devserver/seed", {"name": name})

    def synthetic(self, conversation_id: str, turns: int = 100) -> dict[str, Any]:
        """Append ``turns`` generated exchanges to a conversation (fast, no streaming)."""
        return self._admin(
            "POST",
            f"/v1/_devserver/conversations/{conversation_id}/synthetic",
            {"turns": turns},
        )

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise RuntimeError(f"devserver {method} {path}: HTTP {exc.code}: {detail}") from None


class ServerPool:
    """Starts one devserver per distinct :class:`ServerOptions`, and stops them all by PID."""

    def __init__(self, *, log_dir: str | None = None) -> None:
        self.log_dir = log_dir
        self.servers: dict[ServerOptions, LettaServer] = {}

    def get(self, options: ServerOptions | None = None) -> LettaServer:
        """The running server for ``options`` (started on a free loopback port if needed)."""
        options = options or ServerOptions()
        server = self.servers.get(options)
        if server is None or server.pid is None:
            log = None
            if self.log_dir:
                log = f"{self.log_dir}/letta-devserver-{len(self.servers)}.log"
            process = DevServerProcess(options.args(), log_path=log).start()
            server = self.servers[options] = LettaServer(process, options)
        return server

    def close(self) -> None:
        """Stop every server this pool started (SIGTERM by PID, then SIGKILL)."""
        servers, self.servers = list(self.servers.values()), {}
        for server in servers:
            server.process.stop()

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
