"""Letta's vocabulary: the bottom layer every other module may import, importing none of them.

- :mod:`.messages`: the table of message types and one reading of a message (its dict, its
  text, its tool calls, returns and approvals, its rows in a history frame);
- :mod:`.conversation`: a reference to one conversation (``conv-…`` or an agent's default
  thread) and how the SDK and an error message address it;
- :mod:`.paging`: paging through messages on any server (cursor semantics, whole groups).

Standard library only: no pandas, no SDK, nothing of the widgets (ARCHITECTURE.md).
"""
