"""Build the Starlette app and run it with uvicorn on loopback; print the ready line.

Everything that can be wrong with the options (a profile, a fault spec, a port in use, a
database that cannot be opened) is checked before the server starts, and reported as one
line on stderr with exit code 2: :class:`StartupError`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import socket
import sqlite3
import sys
import time
from collections.abc import Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .faults import FaultState, parse_fault_spec
from .http import FaultMiddleware, install_log_filter
from .process import READY_PREFIX
from .profiles import DEFAULT_PROFILE, PROFILES
from .routes import Api
from .runs import RunManager
from .service import Config, Service
from .storage import Store

__all__ = ["StartupError", "build_app", "main", "make_parser", "serve"]

PROG = "letta-devserver"


class StartupError(Exception):
    """An option the server cannot start with, worded as the one line the user sees."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``prog: message (see --help)``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line and exit with 2 (argparse prints the usage block too)."""
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _port(text: str) -> int:
    value = _non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {value}")
    return value


def build_app(
    store: Store | None = None, config: Config | None = None, fault: str | None = None
) -> tuple[Starlette, Api]:
    """The ASGI app (with fault middleware) and its handler object."""
    service = Service(store or Store(), config)
    runs = RunManager(service)
    faults = FaultState(fault)
    api = Api(service, runs, faults)
    app = Starlette(routes=api.routes())
    app.add_middleware(FaultMiddleware, faults=faults)
    app.state.api = api
    return app, api


def make_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line of ``letta-devserver`` (and ``python -m letta_devserver``)."""
    p = _Parser(
        prog=prog,
        description="An offline, SDK-faithful Letta server with fault injection "
        "(https://github.com/letta-widgets/letta-widgets/tree/main/devserver).",
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the devserver options to a parser."""
    p.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="the API generation to behave like: Letta Cloud (cloud, the default) or the "
        "retired letta==0.16.8 server (letta-0.16); see docs/devserver.md",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    p.add_argument("--port", type=_port, default=8283, help="port (0 picks a free one)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    g.add_argument("--memory", action="store_true", help="in-memory SQLite (the default)")
    p.add_argument("--seed", choices=["demo"], default=None, help="load a data set at start")
    p.add_argument(
        "--token-delay-ms", type=_non_negative, default=0, help="delay per streamed token"
    )
    p.add_argument("--step-delay-ms", type=_non_negative, default=0, help="delay per agent step")
    p.add_argument(
        "--context-messages",
        type=_non_negative,
        default=120,
        help="compact a conversation past this many in-context messages",
    )
    p.add_argument(
        "--keepalive-ms",
        type=_non_negative,
        default=20000,
        help="send a keepalive ping after this many ms without an event (default 20000)",
    )
    p.add_argument(
        "--fault", default=None, help="server-level fault spec, e.g. status=429,retry_after=2"
    )
    p.add_argument(
        "--no-tool-call-deltas",
        dest="tool_call_deltas",
        action="store_false",
        help="with stream_tokens, send each tool call whole instead of as argument deltas",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn log level (default warning)",
    )


class _Server(uvicorn.Server):
    api: Api | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.api is not None:
            for run in self.api.runs.runs.values():
                if run.active:
                    run.cancel_event.set()
        super().handle_exit(sig, frame)


def _open_store(path: str | None) -> Store:
    try:
        return Store(path or ":memory:")
    except sqlite3.Error as exc:
        raise StartupError(f"cannot use --db {path}: {exc}") from None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted sockets (no 40 ms stalls)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is in use (pick another with --port, or --port 0)"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(256)
    sock.setblocking(False)
    return sock


def prepare(args: argparse.Namespace) -> tuple[Starlette, Api, socket.socket]:
    """Check every option, open the database, seed it and bind the port (no serving yet).

    Raises :class:`StartupError` with the one line to show when something is wrong.
    """
    if args.fault:
        try:
            parse_fault_spec(args.fault)
        except ValueError as exc:
            raise StartupError(f"bad --fault {args.fault!r}: {exc}") from None
    store = _open_store(args.db)
    config = Config(
        tool_call_deltas=args.tool_call_deltas,
        token_delay_ms=args.token_delay_ms,
        step_delay_ms=args.step_delay_ms,
        context_messages=args.context_messages,
        keepalive_ms=args.keepalive_ms,
        profile=args.profile,
    )
    app, api = build_app(store, config, args.fault)
    if args.seed:
        from .seed import seed

        try:
            has_data = store.one("SELECT COUNT(*) FROM agents")
            if not has_data or not has_data[0]:
                seed(api.svc, args.seed)
        except sqlite3.Error as exc:
            raise StartupError(f"cannot seed --db {args.db}: {exc}") from None
    return app, api, _bind(args.host, args.port)


async def serve(
    args: argparse.Namespace, prepared: tuple[Starlette, Api, socket.socket] | None = None
) -> None:
    """Run until SIGINT/SIGTERM (``prepared``: the result of :func:`prepare`, else made here)."""
    t0 = time.perf_counter()
    app, api, sock = prepared or prepare(args)
    install_log_filter()
    port = sock.getsockname()[1]
    cfg = uvicorn.Config(
        app,
        log_level=args.log_level,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=0.5,
        timeout_keep_alive=30,
    )
    server = _Server(cfg)
    server.api = api
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"{READY_PREFIX}http://{host}:{port}", flush=True)
        print(f"(started in {time.perf_counter() - t0:.2f}s)", file=sys.stderr, flush=True)
    await task
    await api.runs.shutdown()


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Entry point of ``letta-devserver`` and ``python -m letta_devserver``."""
    args = make_parser(prog).parse_args(argv)
    try:
        prepared = prepare(args)
    except StartupError as exc:
        print(f"{prog}: {exc}", file=sys.stderr, flush=True)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, prepared))
    return 0
