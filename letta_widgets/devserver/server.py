"""Build the Starlette app and run it with uvicorn on loopback; print the ready line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .faults import FaultState
from .http import FaultMiddleware, install_log_filter
from .process import READY_PREFIX
from .profiles import DEFAULT_PROFILE, PROFILES
from .routes import Api
from .runs import RunManager
from .service import Config, Service
from .storage import Store

__all__ = ["build_app", "main", "make_parser", "serve"]


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


def make_parser(prog: str = "letta-widgets devserver") -> argparse.ArgumentParser:
    """Command-line options shared by ``python -m letta_widgets.devserver`` and the CLI."""
    p = argparse.ArgumentParser(prog=prog, description="Offline Letta-compatible devserver.")
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
    p.add_argument("--port", type=int, default=8283, help="port (0 picks a free one)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    g.add_argument("--memory", action="store_true", help="in-memory SQLite (the default)")
    p.add_argument("--seed", choices=["demo"], default=None, help="load a data set at start")
    p.add_argument("--token-delay-ms", type=int, default=0, help="delay per streamed token")
    p.add_argument("--step-delay-ms", type=int, default=0, help="delay per agent step")
    p.add_argument(
        "--context-messages",
        type=int,
        default=120,
        help="compact a conversation past this many in-context messages",
    )
    p.add_argument(
        "--keepalive-ms",
        type=int,
        default=20000,
        help="send a keepalive ping after this many ms without an event (default 20000)",
    )
    p.add_argument("--fault", default=None, help="server-level fault spec (docs/devserver.md)")
    p.add_argument(
        "--no-tool-call-deltas",
        dest="tool_call_deltas",
        action="store_false",
        help="with stream_tokens, send each tool call whole instead of as argument deltas",
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level")


class _Server(uvicorn.Server):
    api: Api | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.api is not None:
            for run in self.api.runs.runs.values():
                if run.active:
                    run.cancel_event.set()
        super().handle_exit(sig, frame)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT/SIGTERM."""
    t0 = time.perf_counter()
    store = Store(args.db or ":memory:")
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

        has_data = store.one("SELECT COUNT(*) FROM agents")
        if not has_data or not has_data[0]:
            seed(api.svc, args.seed)
    install_log_filter()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted sockets (no 40 ms stalls)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(256)
    sock.setblocking(False)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m letta_widgets.devserver``."""
    args = make_parser("python -m letta_widgets.devserver").parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0
