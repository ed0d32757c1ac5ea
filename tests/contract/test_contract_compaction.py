"""Compaction inside a run: what the stream carries and what the history shows after it.

letta 0.16.8 checks the context after each step (``letta_agent_v3.py`` ``_step``, "post step
context check") and, when it compacts, streams before the stop reason either an
``event_message`` (``event_type: compaction``) and a ``summary_message`` with
``compaction_stats`` (``include_compaction_messages=true``), or the summary as the
``user_message`` holding its system alert (the default). Letta Cloud streams the same (LC
sends the flag, letta-code#1885 saw the legacy form live). The devserver compacts past
``X-Devserver-Context-Messages`` in-context messages, so these tests need it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import _support as sup
import pytest
from letta_client import Letta

pytestmark = [pytest.mark.contract, pytest.mark.devserver_only]

STATS = {"trigger", "context_tokens_before", "context_tokens_after", "context_window",
         "messages_count_before", "messages_count_after"}  # fmt: skip


def _compacting(limit: int = 4) -> dict[str, dict[str, str]]:
    """Make this request's run compact once the context holds more than ``limit`` messages."""
    return {"extra_headers": {"X-Devserver-Context-Messages": str(limit)}}


def _prepared(client: Letta, conv_id: str) -> list[str]:
    """A few turns, then the in-context ids before the compacting turn."""
    for text in ("one", "two"):
        sup.send(client, conv_id, text)
    return client.conversations.retrieve(conv_id).in_context_message_ids


def _tail(events: list[dict[str, Any]], n: int) -> list[str]:
    return [e["message_type"] for e in events][-n:]


def test_compaction_messages_in_the_stream(client: Letta, conv: object, profile: str) -> None:
    """With the flag: event_message, then summary_message with its stats, then the stop reason;
    the in-context ids after the run are the system message, the summary, the rest."""
    before = _prepared(client, conv.id)
    raw = sup.raw_stream(
        client, conv.id, "three", include_compaction_messages=True, **_compacting()
    )
    assert _tail(raw.events, 5) == [
        "assistant_message", "event_message", "summary_message", "stop_reason", "usage_statistics",
    ]  # fmt: skip
    answer, event, summary = raw.events[-5:-2]
    assert set(event) == sup.MESSAGE_FIELDS["ping"] | {"event_type", "event_data"}
    assert event["event_type"] == "compaction" and event["otid"] is None
    uuid.UUID(event["id"])  # a bare uuid, as 0.16.8 makes it
    assert event["event_data"]["trigger"] == "post_step_context_check"
    assert {"context_token_estimate", "context_window"} <= set(event["event_data"])
    assert set(summary) == sup.MESSAGE_FIELDS["ping"] | {"summary", "compaction_stats"}
    assert summary["summary"] and summary["otid"] and summary["id"].startswith("message-")
    for e in (event, summary):  # both belong to the last step of the run
        assert (e["run_id"], e["step_id"]) == (answer["run_id"], answer["step_id"])
    stats = summary["compaction_stats"]
    assert set(stats) == STATS and stats["trigger"] == "post_step_context_check"
    ctx = client.conversations.retrieve(conv.id).in_context_message_ids
    # the turn's user message and answer joined the context before it was compacted
    assert stats["messages_count_before"] == len(before) + 2
    assert stats["messages_count_after"] == len(ctx)
    assert stats["context_tokens_after"] < stats["context_tokens_before"]
    assert ctx[0] == before[0] and ctx[1] == summary["id"]
    listed = [m for m in sup.history(client, conv.id) if m.id == summary["id"]]
    if profile == "cloud":  # Letta Cloud lists it as what was streamed
        assert [m.message_type for m in listed] == ["summary_message"]
        assert listed[0].summary == summary["summary"]
        assert listed[0].compaction_stats.to_dict() == stats
    else:  # letta 0.16.8: the system alert, with the stats of an automatic compaction
        assert [m.message_type for m in listed] == ["user_message"]
        alert = json.loads(listed[0].content)
        assert alert["compaction_stats"] == stats
        hidden = stats["messages_count_before"] - stats["messages_count_after"]
        assert alert["message"].startswith(f"Note: {hidden} messages from the beginning")
        assert summary["summary"] in alert["message"]


def test_compaction_without_the_flag_streams_the_alert(
    client: Letta, conv: object, profile: str
) -> None:
    """Without the flag 0.16.8 streams the summary as the system-alert user_message (its
    "old behavior"), with an otid derived from its id; no event_message."""
    _prepared(client, conv.id)
    raw = sup.raw_stream(client, conv.id, "three", **_compacting())
    assert _tail(raw.events, 4) == [
        "assistant_message", "user_message", "stop_reason", "usage_statistics",
    ]  # fmt: skip
    alert = raw.events[-3]
    assert set(alert) == sup.MESSAGE_FIELDS["user_message"]
    assert json.loads(alert["content"])["type"] == "system_alert"
    assert alert["otid"] and alert["run_id"] == raw.events[-4]["run_id"]
    assert "event_message" not in [e["message_type"] for e in raw.events]
    ctx = client.conversations.retrieve(conv.id).in_context_message_ids
    assert ctx[1] == alert["id"]


def test_no_compaction_below_the_limit(client: Letta, conv: object) -> None:
    raw = sup.raw_stream(client, conv.id, "short", include_compaction_messages=True)
    kinds = [e["message_type"] for e in raw.events]
    assert "event_message" not in kinds and "summary_message" not in kinds
    assert _tail(raw.events, 2) == ["stop_reason", "usage_statistics"]


def test_compaction_through_the_sdk_and_a_resume(client: Letta, conv: object) -> None:
    """The SDK yields both events (as SystemMessage objects: dispatch on ``message_type``); a
    background run numbers them like any event and a resume replays them."""
    _prepared(client, conv.id)
    chunks = sup.send(
        client, conv.id, "three", include_compaction_messages=True, background=True, **_compacting()
    )
    event = next(c for c in chunks if c.message_type == "event_message")
    summary = next(c for c in chunks if c.message_type == "summary_message")
    assert event.event_type == "compaction" and summary.compaction_stats["trigger"]
    assert summary.seq_id == event.seq_id + 1
    replay = list(client.conversations.messages.stream(conv.id, run_id=summary.run_id))
    again = [c for c in replay if c.message_type in ("event_message", "summary_message")]
    assert [(c.message_type, c.seq_id) for c in again] == [
        ("event_message", event.seq_id),
        ("summary_message", summary.seq_id),
    ]
