"""The message paging state machine and the page sizes servers accept (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from letta_client import AsyncLetta, Letta

from letta_widgets.client import base_url_of

MAX_PAGE = 5000
"""Largest page asked of the server (smaller if it rejects this size with 400/422)."""

CONV_PAGE = 1000
MIN_PAGE = 10
_SHORT_PAGE_IS_LAST = 200
page_limit: dict[str, int] = {}  # base URL -> largest page size the server accepted


class Pager:
    """The paging state machine shared by the sync and async drivers.

    ``request()`` says what to ask next (``after``, ``limit``) or ``None`` when done;
    ``feed(page)`` takes the server's answer (a list of message dicts, oldest first).
    """

    def __init__(
        self,
        *,
        page_size: int,
        max_page: int,
        want: int | None = None,
        start_after: str | None = None,
        seen: Iterable[tuple[str, str, int]] = (),
        sink: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.sink = sink  # gets each page's new messages instead of keeping them
        self.count = 0
        self.size = page_size
        self.max_page = max_page
        self.want = want
        self.cursor = start_after
        self.seen: set[tuple[str, str, int]] = set(seen)
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.done = False

    def request(self) -> tuple[str | None, int] | None:
        """The next page to ask for, ``(after, limit)``, or ``None`` when done."""
        if self.done:
            return None
        return self.cursor, self.size

    def shrink(self) -> bool:
        """The server rejected the page size: halve it. False when it cannot shrink."""
        if self.size <= MIN_PAGE:
            return False
        self.size = max(MIN_PAGE, self.size // 2)
        self.max_page = min(self.max_page, self.size)
        return True

    def feed(self, page: list[dict[str, Any]], asked: int) -> None:
        """Take the server's answer to a request for ``asked`` messages."""
        self.requests += 1
        if not page:
            self.done = True
            return
        last_id = page[-1].get("id")
        boundary = None  # the id of the last group before the final one
        for m in reversed(page):
            if m.get("id") != last_id:
                boundary = m.get("id")
                break
        if boundary is None and len(page) >= asked and self.size < self.max_page:
            # One id group fills the whole page: it may go on. Ask again, bigger.
            self.size = min(self.size * 2, self.max_page)
            return
        # Repeats can only open the page: the group fetched again from the last page.
        seen = self.seen
        held = {k[0] for k in seen}
        i = 0
        fresh: list[dict[str, Any]] = []
        if held:
            ordinal: dict[tuple[str, str], int] = {}
            while i < len(page) and page[i].get("id") in held:
                m = page[i]
                pair = (m.get("id"), m.get("message_type"))
                n = ordinal.get(pair, 0)
                ordinal[pair] = n + 1
                if (pair[0], pair[1], n) not in seen:
                    fresh.append(m)
                i += 1
        fresh = fresh + page[i:] if i else page
        added = len(fresh)
        self.count += added
        if fresh:
            if self.sink is not None:
                self.sink(fresh)
            else:
                self.messages.extend(fresh)
        # Remember the keys of the last group: the next page starts with it again.
        j = len(page)
        while j > 0 and page[j - 1].get("id") == last_id:
            j -= 1
        tail: dict[tuple[str, str], int] = {}
        keys = set()
        for m in page[j:]:
            pair = (m.get("id"), m.get("message_type"))
            n = tail.get(pair, 0)
            tail[pair] = n + 1
            keys.add((pair[0], pair[1], n))
        self.seen = keys
        if added == 0 or (self.want is not None and self.count >= self.want):
            self.done = True
            return
        if len(page) < asked and asked >= _SHORT_PAGE_IS_LAST:
            # A short page is the last one: Letta's limit counts stored messages and each
            # yields at least one Letta message, except hidden error messages. A large page
            # cannot be short because of those, so skip the confirming request. (Small
            # pages, e.g. page_size in tests, always confirm with one more request.)
            self.done = True
            return
        # Start the next page after the previous group so the boundary group comes again
        # whole; with a single group in the page, after it.
        self.cursor = boundary if boundary is not None else last_id


def new_pager(client: Letta | AsyncLetta, page_size: int | None, **kwargs: Any) -> Pager:
    """A pager for ``client``'s server: ``page_size`` or the largest size it accepted."""
    cap = page_limit.get(base_url_of(client), MAX_PAGE)
    size = min(page_size, cap) if page_size else cap
    return Pager(
        page_size=max(1, size), max_page=max(size, cap if not page_size else size), **kwargs
    )
