"""Run the devserver as a child process: used by tests, benchmarks, notebooks and the CLI.

The child prints ``READY_PREFIX + base_url`` on stdout once it accepts requests;
:class:`DevServerProcess` waits for that line, and stops the child by its PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType

__all__ = ["READY_PREFIX", "DevServerProcess"]

READY_PREFIX = "letta-devserver ready at "
"""The line the devserver prints (followed by its base URL) when it is ready."""


class DevServerProcess:
    """A devserver child process on a free loopback port.

    ``with DevServerProcess(["--memory", "--seed", "demo"]) as server: server.base_url``
    """

    def __init__(
        self,
        args: Sequence[str] = ("--memory",),
        *,
        python: str | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        log_path: str | None = None,
    ) -> None:
        self.args = list(args)
        self.python = python or sys.executable
        self.env = env
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.base_url: str = ""
        self.proc: subprocess.Popen[str] | None = None
        self.startup_seconds: float | None = None
        self._lines: list[str] = []
        self._pump_thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self.proc.pid if self.proc else None

    def start(self) -> DevServerProcess:
        """Start the child and wait until it prints its base URL."""
        cmd = [self.python, "-m", "letta_devserver", "--host", "127.0.0.1", "--port", "0"]
        cmd += self.args
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        ready = threading.Event()
        self._pump_thread = threading.Thread(target=self._pump, args=(ready,), daemon=True)
        self._pump_thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = "".join(self._lines[-40:])
                self.stop()
                raise RuntimeError(f"devserver did not start: {' '.join(cmd)}\n{output}")
        self.startup_seconds = time.perf_counter() - t0
        return self

    def _pump(self, ready: threading.Event) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        log = open(self.log_path, "a", encoding="utf-8") if self.log_path else None  # noqa: SIM115
        try:
            for line in self.proc.stdout:
                if log:
                    log.write(line)
                    log.flush()
                if len(self._lines) < 2000:
                    self._lines.append(line)
                if line.startswith(READY_PREFIX) and not ready.is_set():
                    self.base_url = line[len(READY_PREFIX) :].strip()
                    ready.set()
        finally:
            if log:
                log.close()

    def output(self) -> str:
        """What the child printed so far (first 2,000 lines)."""
        return "".join(self._lines)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child by PID, SIGKILL it if it does not exit in ``timeout``."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._pump_thread is not None:  # drain the pipe, then close it
            self._pump_thread.join(2)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> DevServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
