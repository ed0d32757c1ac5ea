"""The event loop the toolkit owns: a daemon thread running ``loop.run_forever()``.

Widgets schedule their streams here, never on the kernel's own loop, so that a
Send click returns at once, the kernel stays idle while tokens arrive, and a Stop
click can cancel the stream from whichever thread the kernel delivers it on
(MainThread or a comm subshell; ARCHITECTURE.md, "Event loops").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Job", "WorkerLoop"]

T = TypeVar("T")


class Job:
    """A coroutine running on the worker loop: cancel it from any thread, wait for it."""

    def __init__(self, future: concurrent.futures.Future[Any], finished: threading.Event) -> None:
        self.future = future
        self.finished = finished

    def cancel(self) -> None:
        """Cancel the coroutine (thread-safe); its cleanup still runs on the loop."""
        self.future.cancel()

    def done(self) -> bool:
        """True once the coroutine, including its cleanup, has finished."""
        return self.finished.is_set()

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Block until the coroutine and its cleanup are over (e.g. after ``cancel``)."""
        return self.finished.wait(timeout)

    def result(self) -> Any:
        """Block for the result. A KeyboardInterrupt (kernel Interrupt) cancels the job
        and waits for its cleanup, so nothing keeps streaming after the cell ends."""
        try:
            return self.future.result()
        except concurrent.futures.CancelledError:
            self.wait_finished(10)  # let the coroutine's cleanup finish first
            raise
        except KeyboardInterrupt:
            self.cancel()
            self.wait_finished(10)
            raise


class WorkerLoop:
    """One asyncio loop in a daemon thread, shared by every widget of the process."""

    _instance: WorkerLoop | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="letta-widgets-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @classmethod
    def get(cls) -> WorkerLoop:
        """The process-wide worker loop, started on first use."""
        with cls._lock:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = WorkerLoop()
            return cls._instance

    def in_loop_thread(self) -> bool:
        """True when called from the worker loop's own thread."""
        return threading.current_thread() is self.thread

    def submit(
        self, coro: Coroutine[Any, Any, T], *, context: contextvars.Context | None = None
    ) -> Job:
        """Schedule ``coro`` on the loop and return at once.

        ``context``: the contextvars the coroutine's task runs in. A widget passes
        the context of the last front-end message it handled, so that what the job
        publishes is routed like a reply to that message (ipykernel's comm
        subshells), which keeps Stop clicks deliverable while a cell blocks.
        """
        finished = threading.Event()

        async def guarded() -> T:
            try:
                return await coro
            finally:
                finished.set()

        def schedule() -> concurrent.futures.Future[T]:
            return asyncio.run_coroutine_threadsafe(guarded(), self.loop)

        future = context.run(schedule) if context is not None else schedule()
        return Job(future, finished)
