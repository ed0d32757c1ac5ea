"""``letta-widgets``: the command line (``demo``, and ``devserver`` for ``letta-devserver``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

__all__ = ["DEMO_STEP_DELAY_MS", "DEMO_TOKEN_DELAY_MS", "main"]

DEMO_TOKEN_DELAY_MS = 25
"""The demo devserver's delay per streamed token (so streaming is visible)."""
DEMO_STEP_DELAY_MS = 250
"""The demo devserver's delay per agent step (an LLM call)."""


_NO_DEVSERVER = (
    "{prog}: the offline devserver is its own package: pip install 'letta-widgets[demo]' "
    "(or letta-devserver)"
)


def _have_devserver() -> bool:
    try:
        import letta_devserver  # noqa: F401
    except ImportError:
        return False
    return True


def _profiles() -> tuple[str, ...] | None:
    """The devserver's profiles (None without the package: ``demo`` then says what to install)."""
    if not _have_devserver():
        return None
    from letta_devserver.profiles import PROFILES

    return PROFILES


def _devserver(argv: Sequence[str]) -> int:
    """``letta-widgets devserver ARGS``: the same as ``letta-devserver ARGS``."""
    if not _have_devserver():
        print(_NO_DEVSERVER.format(prog="letta-widgets devserver"), file=sys.stderr)
        return 2
    from letta_devserver.server import main as devserver_main

    return devserver_main(argv, prog="letta-widgets devserver")


def _demo(args: argparse.Namespace) -> int:
    if not _have_devserver():
        print(_NO_DEVSERVER.format(prog="letta-widgets demo"), file=sys.stderr)
        return 2
    from letta_devserver.process import DevServerProcess

    notebook = Path(args.notebook)
    if not notebook.exists():
        print(
            f"letta-widgets demo: {notebook} not found (run from the repository root, or "
            "pass --notebook)",
            file=sys.stderr,
        )
        return 2
    server_args = [
        "--seed",
        "demo",
        "--token-delay-ms",
        str(args.token_delay_ms),
        "--step-delay-ms",
        str(args.step_delay_ms),
    ]
    server_args += ["--db", args.db] if args.db else ["--memory"]
    server_args += ["--profile", args.profile]
    server = DevServerProcess(server_args)
    if args.port:
        # DevServerProcess always asks for a free port; an explicit port replaces it.
        server.args = [*server_args, "--port", str(args.port)]
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter"
    )
    if jupyter is None:
        print(
            "jupyter not found: install the demo extra (pip install 'letta-widgets[demo]')",
            file=sys.stderr,
        )
        return 2
    cmd = [jupyter, "lab", str(notebook), "--ServerApp.ip=127.0.0.1"]
    if args.lab_port:
        cmd += [f"--ServerApp.port={args.lab_port}", "--ServerApp.port_retries=0"]
    if args.no_browser:
        cmd.append("--ServerApp.open_browser=False")
    cmd += args.jupyter_args
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")  # containers and CI machines run as root
    # SIGTERM (a `kill`, a process manager) stops everything as Ctrl-C does: nothing orphaned.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    lab: subprocess.Popen[bytes] | None = None
    try:
        server.start()
        print(f"devserver: {server.base_url} (pid {server.pid}, seeded with demo data)", flush=True)
        lab = subprocess.Popen(cmd, env={**os.environ, "LETTA_BASE_URL": server.base_url})
        return lab.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if lab is not None:
            _stop(lab)
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop JupyterLab by PID: SIGTERM (it shuts its kernels down), SIGKILL if it hangs."""
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while it shuts down
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``letta-widgets`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["devserver"]:
        return _devserver(argv[1:])
    parser = argparse.ArgumentParser(
        prog="letta-widgets",
        description="Jupyter widgets for Letta: `demo` opens them on an offline devserver.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "devserver",
        help="the offline Letta server: the same as `letta-devserver` (see its --help)",
        add_help=False,
    )
    demo = sub.add_parser(
        "demo",
        help="seeded devserver + JupyterLab on the quickstart notebook",
        description="Start the offline devserver with the demo data and JupyterLab on a "
        "notebook (LETTA_BASE_URL points the kernels at the devserver). Ctrl-C or SIGTERM "
        "stops both. Unknown options go to `jupyter lab` (e.g. --ServerApp.token=…).",
    )
    demo.add_argument("--notebook", default="notebooks/quickstart.ipynb", help="notebook to open")
    demo.add_argument("--port", type=int, default=0, help="devserver port (0: a free one)")
    demo.add_argument(
        "--lab-port",
        type=int,
        default=0,
        help="JupyterLab's port (fails if it is taken; default: JupyterLab's own, 8888 or the "
        "next free one)",
    )
    demo.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser (JupyterLab prints its URL)",
    )
    demo.add_argument(
        "--profile",
        choices=_profiles(),
        default="cloud",
        help="the API generation the devserver plays (cloud, the default, or letta-0.16)",
    )
    demo.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    demo.add_argument(
        "--token-delay-ms",
        type=int,
        default=DEMO_TOKEN_DELAY_MS,
        help=f"delay per streamed token (default {DEMO_TOKEN_DELAY_MS}: streaming is visible)",
    )
    demo.add_argument(
        "--step-delay-ms",
        type=int,
        default=DEMO_STEP_DELAY_MS,
        help=f"delay per agent step (default {DEMO_STEP_DELAY_MS})",
    )
    demo.add_argument(
        "jupyter_args", nargs=argparse.REMAINDER, help="more arguments for `jupyter lab`"
    )
    demo.set_defaults(func=_demo)
    args, extra = parser.parse_known_args(argv)
    if args.command == "demo":
        rest = list(args.jupyter_args)
        if rest[:1] == ["--"]:
            rest = rest[1:]
        args.jupyter_args = extra + rest  # unknown options go to jupyter lab
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
