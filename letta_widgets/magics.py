"""IPython integration: ``%load_ext letta_widgets`` then ``%%letta ID``.

```
%%letta conv-…            # or agent-… for the agent's default conversation
What did we decide about the launch date?
```

The cell body is the message; the output is a :class:`~letta_widgets.ChatCell`
streaming the answer. The turn starts without blocking the kernel, so Stop works
at once; the widget is also bound to ``_letta`` in the user namespace
(``_letta.last_turn`` holds the result when the turn is over).

Its function form, for front-ends without magics (marimo) and for code, is
:func:`letta_widgets.ask`: ``lw.ask("conv-…", "What did we decide…?")``; the magic calls it.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from letta_client import AsyncLetta, Letta

from letta_widgets.widgets.chat import check_target

__all__ = ["load_ipython_extension", "parse_magic_line"]


def parse_magic_line(line: str) -> argparse.Namespace:
    """Parse ``ID [--model HANDLE] [--client NAME] [--history N]``."""
    parser = argparse.ArgumentParser(prog="%%letta", add_help=False, exit_on_error=False)
    parser.add_argument("target", help="conv-… or agent-… (the agent's default conversation)")
    parser.add_argument("--model", default=None, help="override_model for this turn")
    parser.add_argument("--client", default=None, help="name of a Letta client variable")
    parser.add_argument("--history", type=int, default=0, help="earlier messages to show")
    try:
        args = parser.parse_args(shlex.split(line))
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValueError(
            "usage: %%letta CONVERSATION_OR_AGENT_ID [--model HANDLE] [--client NAME] "
            f"[--history N] ({exc})"
        ) from None
    check_target(args.target, what="%%letta")
    return args


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%letta`` cell magic (called by ``%load_ext letta_widgets``)."""
    from IPython.core.magic import Magics, cell_magic, magics_class

    @magics_class
    class _LettaMagics(Magics):
        @cell_magic
        def letta(self, line: str, cell: str) -> None:
            """%%letta ID: send the cell body to a Letta conversation, stream the reply."""
            from IPython.display import display

            from letta_widgets.widgets.chat import ask

            args = parse_magic_line(line)
            if not cell.strip():
                raise ValueError("%%letta: the cell body (the message) is empty")
            client = self.shell.user_ns.get(args.client) if args.client else None
            if args.client and not isinstance(client, Letta | AsyncLetta):
                raise ValueError(f"%%letta --client {args.client}: no Letta client by that name")
            chat = ask(args.target, cell, client=client, model=args.model, history=args.history)
            display(chat)
            self.shell.user_ns["_letta"] = chat

    ipython.register_magics(_LettaMagics)
