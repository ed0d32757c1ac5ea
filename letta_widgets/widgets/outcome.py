"""How a turn ended, as a widget shows it: the one mapping ChatCell and CompareView share.

``Outcome.of(engine, exc)`` reads what an engine call raised (or ``Outcome.done(turn)``
what it returned): a Stop is ``stopped`` with the partial turn, a toolkit error is
``error`` with the turn it carries, anything else is translated by
:func:`letta_widgets.errors.translate` (a bug is shown, never swallowed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from typing import Literal

from letta_widgets.errors import LettaWidgetsError, translate
from letta_widgets.stream import TurnEngine
from letta_widgets.turn import Turn

__all__ = ["Outcome"]

Status = Literal["done", "stopped", "error"]


@dataclass(frozen=True)
class Outcome:
    """A finished engine call: its status, its turn (maybe partial) and its error."""

    status: Status
    turn: Turn | None
    error: LettaWidgetsError | None = None

    @classmethod
    def done(cls, turn: Turn) -> Outcome:
        """The call returned ``turn``."""
        return cls("done", turn)

    @classmethod
    def of(
        cls, engine: TurnEngine | None, exc: BaseException, *, base_url: str | None = None
    ) -> Outcome:
        """The call raised ``exc``: stopped, or an error with the partial turn."""
        current = engine.current if engine is not None else None
        if isinstance(exc, asyncio.CancelledError | concurrent.futures.CancelledError):
            return cls("stopped", current)
        if isinstance(exc, LettaWidgetsError):
            return cls("error", exc.turn or current, exc)
        return cls("error", current, translate(exc, base_url=base_url))

    def status_line(self) -> str:
        """One line for a status bar: ``done · end_turn · 1.2 s``, ``stopped``, ``error``."""
        turn = self.turn
        reason = turn.stop_reason if turn is not None else None
        took = f" · {turn.total_s:.1f} s" if turn is not None and turn.total_s else ""
        if self.status == "done" and reason == "requires_approval":
            return "waiting for your approval"
        if self.status == "done":
            return f"done · {reason or 'end'}{took}"
        if self.status == "stopped":
            return f"stopped{took}"
        return f"error{(' · ' + reason) if reason else ''}"
