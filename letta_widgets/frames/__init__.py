"""Letta history as pandas DataFrames, and the ``.letta`` accessor on them.

Every function here returns frames of one schema (:data:`letta_widgets._messages.SCHEMA`):

{schema_table}

How rows are formed, paged and keyed
------------------------------------
* One row per Letta message as ``conversations.messages.list`` returns it. A tool call
  message with several tool calls (parallel tool calling), a tool return message with
  several returns and an approval response with several approvals become one row per
  call; they share ``id``, ``message_type`` and ``seq`` and differ in ``tool_call_id``
  (``df.drop_duplicates(["id", "message_type"])`` gives one row per Letta message).
* Paging is explicit, oldest first, with the largest page the server accepts (up to
  :data:`MAX_PAGE`; a server that rejects that size is asked again with smaller pages).
  Several Letta messages share one id (a step's reasoning, tool call and answer are one
  stored message) and the ``after`` cursor is a stored message id. Letta 0.16 and the
  devserver count ``limit`` in stored messages, so a page ends on an id boundary (and
  can hold more than ``limit`` rows); a server that counted Letta messages could end a
  page inside a group, and ``after=<last id>`` (what the SDK's auto-pagination sends)
  would then skip the rest of it. So each next page starts after the *previous* id
  group: the boundary group is fetched again, and rows are keyed by
  ``(id, message_type, n-th of that pair)``, so nothing is lost and nothing repeated
  on either kind of server.
* ``in_context`` comes from ``conversations.retrieve(...).in_context_message_ids`` (for
  ``conversation_id="default"``: the agent's ``message_ids``).

Modules, one job each: :mod:`._paging` (the paging state machine), :mod:`._drivers` and
:mod:`._requests` (the request loops as sans-IO plans, run by a sync and an async
driver), :mod:`._aio` (async plumbing), :mod:`.messages`, :mod:`.conversations`,
:mod:`.history`, :mod:`.accessor` (the ``.letta`` accessor, registered on import) and
:mod:`.schema`.
"""

from __future__ import annotations

from letta_widgets.frames._paging import MAX_PAGE
from letta_widgets.frames.accessor import LettaAccessor  # registers ``df.letta``
from letta_widgets.frames.conversations import conversations_frame
from letta_widgets.frames.history import aagent_history, agent_history
from letta_widgets.frames.messages import amessages_frame, messages_frame
from letta_widgets.frames.schema import schema_table

__all__ = [
    "MAX_PAGE",
    "LettaAccessor",
    "aagent_history",
    "agent_history",
    "amessages_frame",
    "conversations_frame",
    "messages_frame",
    "schema_table",
]

__doc__ = (__doc__ or "").replace("{schema_table}", schema_table())
