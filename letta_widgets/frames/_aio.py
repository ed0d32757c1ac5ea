"""Async plumbing for the frames: a scoped ``AsyncLetta``, running async work from sync code."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from letta_client import AsyncLetta, Letta

from letta_widgets.client import async_twin

T = TypeVar("T")
K = TypeVar("K")


@functools.lru_cache(maxsize=1)
def _ssl_context() -> Any:
    """httpx's default verifying SSL context, built once (building one costs ~0.1 s)."""
    import httpx

    return httpx.create_ssl_context()


@contextlib.asynccontextmanager
async def scoped_async(client: Letta | AsyncLetta) -> Any:
    """The ``AsyncLetta`` to use for one awaited call.

    An ``AsyncLetta`` passed in is used as it is. For a sync ``Letta`` we copy its async
    twin (same URL, key, headers, timeout, retries) with a connection pool of its own and
    close it afterwards: a pooled connection opened on one event loop breaks on the next
    (each ``asyncio.run`` in a script is a new loop).
    """
    if isinstance(client, AsyncLetta):
        yield client
        return
    import letta_client

    pool = letta_client.DefaultAsyncHttpxClient(verify=_ssl_context())
    aclient = async_twin(client).copy(http_client=pool)
    try:
        yield aclient
    finally:
        await aclient.close()


def run_blocking(make: Callable[[AsyncLetta], Awaitable[T]], client: Letta | AsyncLetta) -> T:
    """Run async work to completion from synchronous code, with or without a running loop.

    The coroutine gets an ``AsyncLetta`` from :func:`scoped_async` (its own connection
    pool, closed afterwards: an httpx pool must not outlive the event loop that opened
    its connections).

    In a notebook cell an event loop is already running in this thread. We do NOT nest
    it with nest-asyncio there: measured in JupyterLab + ipykernel 7.4 (ARCHITECTURE.md,
    "Event loops"), a shell/comm message arriving during a nested
    ``run_until_complete`` is lost with "cannot enter context", and later cells then
    fail ("Task was destroyed but it is pending", ``KeyError: '__import__'``). A history
    load renders a tqdm *widget*, so front-end messages can arrive meanwhile. Instead the
    coroutine runs on a private loop in a worker thread and this thread waits (measured:
    no errors, output routed to the cell). Kernel interrupt cancels the work.
    """

    async def main() -> T:
        async with scoped_async(client) as aclient:
            return await make(aclient)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())

    result: dict[str, Any] = {}
    loop = asyncio.new_event_loop()
    task_box: dict[str, asyncio.Task[T]] = {}

    def worker() -> None:
        asyncio.set_event_loop(loop)
        try:
            task = loop.create_task(main())
            task_box["task"] = task
            result["value"] = loop.run_until_complete(task)
        except BaseException as exc:
            result["error"] = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=worker, name="letta-widgets-history", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        task = task_box.get("task")
        if task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        thread.join(5)
        raise
    if "error" in result:
        raise result["error"]
    return result["value"]


async def in_order(
    keys: Sequence[K], work: Callable[[K], Awaitable[T]], take: Callable[[K, T], None]
) -> None:
    """Run ``work(key)`` for every key at once; ``take(key, result)`` in the order of ``keys``.

    ``work`` bounds its own concurrency. Each result is taken as soon as it and every
    earlier one are done (so a result is not kept longer than it must be). If one fails,
    the rest are cancelled and its error is raised.
    """
    waiting = collections.deque((k, asyncio.ensure_future(work(k))) for k in keys)
    try:
        while waiting:
            key, task = waiting.popleft()
            result = await task
            del task  # a finished task keeps its result: let both go once taken
            take(key, result)
            del result
    finally:
        rest = [t for _, t in waiting]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)


async def gather_all(coros: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather`` that cancels the others when one fails."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
