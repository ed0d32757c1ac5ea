"""Sans-IO plans and the two tiny drivers that perform them.

A *plan* is a generator holding the logic of one job (which request next, what to do
with the answer, error translation, retries). It yields :class:`Call` descriptions and
gets back what the SDK method returned, or has the exception thrown in at the ``yield``;
its return value is the job's result. :func:`run_sync` performs the calls with a sync
``Letta`` (no event loop), :func:`run_async` awaits them with an ``AsyncLetta``: the
logic exists once, whichever client runs it.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from letta_client import AsyncLetta, Letta

T = TypeVar("T")

Plan = Generator["Call", Any, T]
"""A generator that yields :class:`Call` s, receives their results and returns a ``T``."""


@dataclass(frozen=True)
class Call:
    """One SDK request: the method's attribute path on a client, and its arguments."""

    method: str
    """Dotted path from the client, e.g. ``"conversations.messages.with_raw_response.list"``."""
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def on(self, client: Letta | AsyncLetta) -> Any:
        """Make the request with ``client``: the result (sync) or an awaitable (async)."""
        method = functools.reduce(getattr, self.method.split("."), client)
        return method(*self.args, **self.kwargs)


class _Run:
    """Steps one plan: ``next()`` hands it the last answer (or error) and gets its next call."""

    def __init__(self, plan: Plan[Any]) -> None:
        self.plan = plan
        self.answer: Any = None
        self.error: Exception | None = None
        self.result: Any = None

    def next(self) -> Call | None:
        """The plan's next call, or ``None`` once it returned (its value in ``result``)."""
        answer, error, self.answer, self.error = self.answer, self.error, None, None
        try:
            return self.plan.throw(error) if error is not None else self.plan.send(answer)
        except StopIteration as done:
            self.result = done.value
            return None


def run_sync(client: Letta, plan: Plan[T]) -> T:
    """Perform ``plan`` with a sync ``Letta``, one blocking request at a time."""
    run = _Run(plan)
    while (call := run.next()) is not None:
        try:
            run.answer = call.on(client)
        except Exception as exc:
            run.error = exc
    return run.result


async def run_async(aclient: AsyncLetta, plan: Plan[T]) -> T:
    """Perform ``plan`` with an ``AsyncLetta``, awaiting each request."""
    run = _Run(plan)
    while (call := run.next()) is not None:
        try:
            run.answer = await call.on(aclient)
        except Exception as exc:
            run.error = exc
    return run.result
