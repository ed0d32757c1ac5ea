"""``in_order``: agent_history's scheduler (results taken in the order asked, let go once taken)."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from letta_widgets.frames._aio import in_order


class Result:
    """A result a weak reference can watch."""

    def __init__(self, key: int) -> None:
        self.key = key


def test_results_are_taken_in_key_order_whatever_order_they_finish_in() -> None:
    async def work(k: int) -> Result:
        await asyncio.sleep(0.001 * (5 - k))  # the last key finishes first
        return Result(k)

    taken: list[int] = []
    asyncio.run(in_order([0, 1, 2, 3, 4], work, lambda k, r: taken.append(r.key)))
    assert taken == [0, 1, 2, 3, 4]


def test_taken_results_are_not_kept() -> None:
    refs: dict[int, weakref.ref[Result]] = {}
    alive_when_taking: list[int] = []

    async def work(k: int) -> Result:
        await asyncio.sleep(0.0005 * (k % 3))  # some are waited for, some are done already
        r = Result(k)
        refs[k] = weakref.ref(r)
        return r

    def take(k: int, r: Result) -> None:
        gc.collect()
        alive_when_taking.append(sum(refs[j]() is not None for j in range(k)))

    asyncio.run(in_order(list(range(30)), work, take))
    # Earlier results are gone by the next take (asyncio may still hold the task it last
    # woke the caller for, so at most one), not accumulating as with gather().
    assert len(alive_when_taking) == 30
    assert max(alive_when_taking) <= 1


def test_a_failure_cancels_the_rest_and_is_raised() -> None:
    finished: list[int] = []

    async def work(k: int) -> int:
        if k == 1:
            raise LookupError("conversation 1 is missing")
        await asyncio.sleep(0 if k == 0 else 10)
        finished.append(k)
        return k

    async def main() -> None:
        with pytest.raises(LookupError, match="conversation 1"):
            await in_order([0, 1, 2, 3], work, lambda k, r: None)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert pending == []

    asyncio.run(main())
    assert finished == [0]


def test_a_failing_take_cancels_the_rest() -> None:
    async def work(k: int) -> int:
        await asyncio.sleep(0 if k == 0 else 10)
        return k

    def take(k: int, r: int) -> None:
        raise ValueError("bad batch")

    async def main() -> None:
        with pytest.raises(ValueError, match="bad batch"):
            await in_order([0, 1, 2], work, take)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(main())
