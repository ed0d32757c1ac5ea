"""The one RPC every widget shares (LettaWidget._on_rpc / _on_abort): every request answered,
an abort cancels the Python task that answers it."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from letta_widgets.widgets.base import LettaWidget


class Echo(LettaWidget):
    def __init__(self) -> None:
        super().__init__()
        self.replies: list[dict[str, Any]] = []
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def send_custom(self, content: dict[str, Any]) -> None:
        self.replies.append(content)

    def _rpc_methods(self):
        async def echo(params: dict[str, Any]) -> Any:
            return {"echo": params.get("x")}

        async def slow(params: dict[str, Any]) -> Any:
            self.started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise

        async def broken(params: dict[str, Any]) -> Any:
            raise KeyError("boom")

        return {"echo": echo, "slow": slow, "broken": broken}


def _wait(widget: Echo, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while len(widget.replies) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return widget.replies


def test_every_request_is_answered_by_id() -> None:
    w = Echo()
    w._on_rpc({"id": "v:1", "method": "echo", "params": {"x": 3}})
    w._on_rpc({"id": "v:2", "method": "nope", "params": {}})
    w._on_rpc({"id": "v:3", "method": "broken", "params": {}})
    replies = {r["id"]: r for r in _wait(w, 3)}
    assert replies["v:1"] == {"kind": "reply", "id": "v:1", "result": {"echo": 3}}
    assert "unknown request 'nope'" in replies["v:2"]["error"]
    assert replies["v:3"]["error"]  # a bug is answered with a sentence, not left hanging
    deadline = time.monotonic() + 10  # each job is forgotten once it has ended
    while w._requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w._requests == {}


def test_an_abort_cancels_the_python_task() -> None:
    w = Echo()
    w._on_rpc({"id": "v:9", "method": "slow", "params": {}})
    assert w.started.wait(5)
    w._on_abort({"id": "v:9"})
    assert w.cancelled.wait(5)
    (reply,) = _wait(w, 1)
    assert reply == {"kind": "reply", "id": "v:9", "error": "cancelled", "cancelled": True}
    w._on_abort({"id": "v:unknown"})  # a late or stray abort is harmless
