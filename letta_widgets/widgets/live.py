"""What ChatCell and CompareView share to stream turns into a widget.

- :class:`LiveOps` turns the engine's events into small front-end ops and sends them as
  coalesced custom messages (``{"kind": "ops", "ops": [...]}``), at most :data:`FLUSH_HZ` a
  second: bytes to the browser grow with the text, not its square. The ops, documented once
  here and read by ``lwLiveArea`` in ``static/common.js``:

  ``{"op": "begin", "i": 3, "type": "assistant_message", "text": "Hel"}``
      message 3 of the turn starts (its text so far);
  ``{"op": "delta", "i": 3, "text": "lo"}``
      text appended to message 3 (consecutive deltas of one message are merged);
  ``{"op": "set", "i": 3, "text": "search({…})"}``
      message 3's text replaced (tool-call arguments, a tool return, a compaction);
  ``{"op": "reset"}``
      the live messages are done: the sanitized cards replace them.

  CompareView adds ``"col"`` (the variant's column) to each; a reset without one resets
  every column.
- :class:`TurnWidget` runs one job at a time on the toolkit's worker loop; ``stop()``
  is safe from any thread and a second start while one runs is refused visibly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from letta_widgets._loop import Job, WorkerLoop
from letta_widgets.errors import ConversationBusy
from letta_widgets.turn import Turn, TurnEvent
from letta_widgets.widgets.base import LettaWidget

__all__ = ["FLUSH_HZ", "LiveOps", "TurnWidget"]

FLUSH_HZ = 25
"""Most front-end flushes per second while turns stream (all columns together): under
the design's ~30, with room for the message that starts and the one that ends a turn."""

T = TypeVar("T")


class LiveOps:
    """Coalesces engine events into ops (module docstring) and sends them at most
    ``FLUSH_HZ`` a second. Runs on the worker loop's thread only.
    """

    def __init__(self, send: Callable[[list[dict[str, Any]]], None]) -> None:
        self._send = send
        self._ops: list[dict[str, Any]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._last = 0.0

    def listener(
        self, col: int | None = None, *, when: Callable[[], bool] | None = None
    ) -> Callable[[Turn, TurnEvent], None]:
        """An engine listener that queues this turn's ops (tagged with ``col`` if given;
        only while ``when()``)."""
        head: dict[str, Any] = {} if col is None else {"col": col}

        def on_event(turn: Turn, event: TurnEvent) -> None:
            if when is not None and not when():
                return
            kind = event.kind
            if kind == "delta":
                last = self._ops[-1] if self._ops else None
                if (
                    last is not None
                    and last["op"] == "delta"
                    and last["i"] == event.index
                    and last.get("col") == col
                ):
                    last["text"] += event.text
                    self._schedule()
                    return
                self._ops.append({"op": "delta", "i": event.index, "text": event.text, **head})
            elif kind == "message":
                op = {"op": "begin", "i": event.index, "type": event.message_type}
                self._ops.append({**op, "text": event.live, **head})
            elif kind == "update":
                self._ops.append({"op": "set", "i": event.index, "text": event.live, **head})
            elif kind == "retry":  # the failed attempt's messages are gone: start over
                self._ops.append({"op": "reset", **head})
            else:
                return
            self._schedule()

        return on_event

    def push(self, op: dict[str, Any]) -> None:
        """Queue one op (e.g. a ``reset``) and flush it right away."""
        self._ops.append(op)
        self.flush()

    def _schedule(self) -> None:
        """Flush now if the last flush is 1/FLUSH_HZ old, else once that time has come."""
        delay = self._last + 1.0 / FLUSH_HZ - time.monotonic()
        if delay <= 0:
            self.flush()
        elif self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        """Send what is queued now."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._ops:
            ops, self._ops = self._ops, []
            self._send(ops)
        self._last = time.monotonic()

    def clear(self) -> None:
        """Drop what is queued (a new turn starts)."""
        self._ops = []


class TurnWidget(LettaWidget):
    """A widget that streams turns on the worker loop, one job at a time."""

    _busy_message = ("a turn is already streaming here", "wait for it or press Stop first")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._job: Job | None = None
        self._job_lock = threading.Lock()
        self._stop_requested = False
        self._live = LiveOps(self._send_ops)

    @property
    def busy(self) -> bool:
        """True while a job (a turn, a round, a page load) runs."""
        return self._job is not None and not self._job.done()

    def wait(self) -> Any:
        """Block until the current job (a turn started by a click, ``start()`` or ``%%letta``)
        ends and return its result (the last one's, if it ended already; ``None`` if none ran
        or it was stopped).

        Its error, if it failed, is raised (the widget shows it too). A kernel Interrupt
        stops the job, as it stops ``send()``.
        """
        job = self._job
        if job is None:
            return None
        try:
            return job.result()
        except concurrent.futures.CancelledError:
            return None
        finally:
            job.wait_finished(10)  # its last trait changes are made
            self._resync()

    def stop(self) -> None:
        """Stop the running job (safe from any thread); its server runs are cancelled."""
        job = self._job
        if job is not None and not job.done():
            self._stop_requested = True
            # Seen at once; the job's cleanup (cancelling the server runs, which may
            # first wait for a slow server to start them) then writes the final status.
            self.status_text = "stopping…"  # type: ignore[attr-defined]
            job.cancel()

    def _send_ops(self, ops: list[dict[str, Any]]) -> None:
        self.send_custom({"kind": "ops", "ops": ops})

    def _check_can_start(self) -> None:
        """Raise to refuse a job (subclasses add conditions)."""

    def _start(self, coro: Coroutine[Any, Any, T], *, context: Any = None) -> Job:
        """Schedule ``coro`` on the worker loop, or refuse (visibly) if a job runs."""
        with self._job_lock:
            try:
                if self.busy:
                    raise ConversationBusy(*self._busy_message)
                self._check_can_start()
            except Exception as err:
                coro.close()
                self.status_text = str(err)  # type: ignore[attr-defined]
                raise
            self._stop_requested = False
            self._job = WorkerLoop.get().submit(coro, context=context)
            return self._job

    def _wait(self, job: Job, stopped: Callable[[], T]) -> T:
        """Block for ``job``; a Stop returns ``stopped()`` (the partial result)."""
        try:
            return job.result()
        except concurrent.futures.CancelledError:
            return stopped()

    async def _await(self, job: Job, stopped: Callable[[], T]) -> T:
        """Await ``job`` from the caller's loop; a Stop returns ``stopped()``."""
        try:
            return await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            if not self._stop_requested:
                raise  # this await itself was cancelled (kernel interrupt): the job is too
            while not job.done():
                await asyncio.sleep(0.01)
            return stopped()
