"""The demo seed tells a consistent story: nothing happens before a conversation exists."""

from __future__ import annotations

from letta_devserver import seed
from letta_devserver.service import Service
from letta_devserver.storage import Store


def test_no_conversation_is_created_after_its_activity() -> None:
    svc = Service(Store())
    seed.seed(svc, "demo")
    convs = svc.store.list_conversations(None, archive_status="all")
    assert len(convs) > 20
    forks = {c["id"] for c in convs if (c.get("summary") or "").startswith("Fork of")}
    for c in convs:
        if c["last_message_at"] is not None:
            assert c["created_at"] <= c["last_message_at"], c["summary"]
        if c["id"] in forks:  # a fork copies messages older than itself
            continue
        dates = [m.date for m in svc.store.in_context(c["id"]) if m.role != "system"]
        first = min(dates, default=None)
        assert first is None or c["created_at"] <= first, c["summary"]
    stale = [c["summary"] for c in convs if svc.is_stale(c)]
    assert stale == ["Trip ideas (before the memory update)"]
