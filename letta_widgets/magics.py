"""IPython integration: ``%load_ext letta_widgets`` then ``%%letta ID``.

```
%%letta conv-…            # or agent-… for the agent's default conversation
What did we decide about the launch date?
```

The cell body is the message; the output is a :class:`~letta_widgets.ChatCell`
streaming the answer. The turn starts without blocking the kernel, so Stop works
at once; the widget is also bound to ``_letta`` in the user namespace
(``_letta.last_turn`` holds the result when the turn is over).
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from letta_client import AsyncLetta, Letta

from letta_widgets.letta.conversation import DEFAULT

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
    if not args.target.startswith(("conv-", "agent-")) and args.target != DEFAULT:
        raise ValueError(
            f"%%letta needs a conversation id (conv-…) or an agent id (agent-…), "
            f"not {args.target!r}"
        )
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

            from letta_widgets.client import connect
            from letta_widgets.widgets.chat import ChatCell

            args = parse_magic_line(line)
            text = cell.strip()
            if not text:
                raise ValueError("%%letta: the cell body (the message) is empty")
            client = self.shell.user_ns.get(args.client) if args.client else None
            if args.client and not isinstance(client, Letta | AsyncLetta):
                raise ValueError(f"%%letta --client {args.client}: no Letta client by that name")
            client = client or connect()
            if args.target.startswith("agent-"):
                chat = ChatCell(
                    client, conversation_id="default", agent_id=args.target, history=args.history
                )
            else:
                chat = ChatCell(client, conversation_id=args.target, history=args.history)
            display(chat)
            self.shell.user_ns["_letta"] = chat
            chat.start(text, override_model=args.model)

    ipython.register_magics(_LettaMagics)
