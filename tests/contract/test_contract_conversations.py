"""Conversations: create, list (limit/after/order/order_by/summary_search/archive_status),
retrieve, update, delete, fork, recompile, and the agent's default conversation."""

from __future__ import annotations

import json
import uuid

import _support as sup
import letta_client
import pytest
from letta_client import Letta

pytestmark = pytest.mark.contract


def _check_conversation_fields(body: dict, profile: str, strict: bool) -> None:
    """letta 0.16.8: its Conversation (with isolated_block_ids); Letta Cloud: the SDK's
    Conversation (archive fields, description, context_window_limit; research E.1)."""
    expected = sup.conversation_fields(profile)
    assert set(body) >= expected, expected - set(body)
    if strict:
        assert set(body) == expected, set(body) ^ expected


def test_create_shape(client: Letta, agent: object, profile: str, is_devserver: bool) -> None:
    body = sup.raw_json(
        client.conversations.with_raw_response.create, agent_id=agent.id, summary="first"
    )
    assert body["id"].startswith("conv-")
    assert body["agent_id"] == agent.id
    assert body["summary"] == "first"
    _check_conversation_fields(body, profile, strict=is_devserver)
    assert body["last_message_at"] is None
    assert body["updated_at"] == body["created_at"]
    if profile == "cloud":  # Letta Cloud: defaults of the SDK's Conversation
        assert (body["archived"], body["archived_at"]) == (False, None)
        assert (body["description"], body["context_window_limit"]) == (None, None)


def test_retrieve_in_context_message_ids(
    client: Letta, conv: object, profile: str, is_devserver: bool
) -> None:
    # a new conversation holds its compiled system message
    fresh = client.conversations.retrieve(conv.id)
    assert fresh.id == conv.id
    sysmsg = sup.system_message(client, conv.id)
    assert fresh.in_context_message_ids == [sysmsg.id]

    sup.send(client, conv.id, "hello there")
    got = client.conversations.retrieve(conv.id)
    listed = sup.history(client, conv.id)
    # every stored message is in context, in order, once per id (not per Letta message)
    ids_in_order = list(dict.fromkeys(m.id for m in listed))
    assert got.in_context_message_ids == ids_in_order
    assert got.last_message_at is not None
    body = sup.raw_json(client.conversations.with_raw_response.retrieve, conv.id)
    _check_conversation_fields(body, profile, strict=is_devserver)


def test_only_retrieve_lists_in_context_message_ids(
    client: Letta, conv: object, profile: str
) -> None:
    """The other answers carry the field but do not load it: 0.16.8 sends ``[]``; Letta
    Cloud null ("Null means this field was not retrieved/hydrated", SDK Conversation)."""
    unloaded = None if profile == "cloud" else []
    sup.send(client, conv.id, "hello there")
    assert len(client.conversations.retrieve(conv.id).in_context_message_ids) >= 3
    listed = sup.raw_json(client.conversations.with_raw_response.list, agent_id=conv.agent_id)
    assert [c["in_context_message_ids"] for c in listed if c["id"] == conv.id] == [unloaded]
    updated = sup.raw_json(client.conversations.with_raw_response.update, conv.id, summary="s")
    assert updated["in_context_message_ids"] == unloaded
    forked = sup.raw_json(client.conversations.with_raw_response.fork, conv.id)
    assert forked["in_context_message_ids"] == unloaded
    assert client.conversations.retrieve(forked["id"]).in_context_message_ids


def test_update_summary(client: Letta, conv: object) -> None:
    updated = client.conversations.update(conv.id, summary="renamed")
    assert updated.summary == "renamed"
    assert updated.id == conv.id
    assert client.conversations.retrieve(conv.id).summary == "renamed"
    # a null changes nothing (0.16.8 applies the body with exclude_none)
    assert client.conversations.update(conv.id, summary=None).summary == "renamed"


def test_update_last_message_at_and_updated_at(client: Letta, conv: object) -> None:
    """PATCH sets ``last_message_at`` as given; ``updated_at`` moves on every PATCH and on every
    message request (0.16.8 stamps ``last_message_at`` at request time through an update)."""
    created = sup.raw_json(client.conversations.with_raw_response.retrieve, conv.id)
    patched = sup.raw_json(
        client.conversations.with_raw_response.update,
        conv.id,
        last_message_at="2024-05-06T07:08:09Z",
    )
    assert patched["last_message_at"].startswith("2024-05-06T07:08:09")
    assert patched["updated_at"] > created["updated_at"]
    sup.send(client, conv.id, "hello")
    after = sup.raw_json(client.conversations.with_raw_response.retrieve, conv.id)
    assert after["last_message_at"] > patched["last_message_at"]
    assert after["updated_at"] > patched["updated_at"]
    assert after["created_at"] == created["created_at"]


def _convs(client: Letta, agent_id: str, **params: object) -> list[str]:
    return [c.id for c in client.conversations.list(agent_id=agent_id, **params)]


def test_list_limit_after_order(client: Letta, agent: object) -> None:
    made = [client.conversations.create(agent_id=agent.id, summary=f"c{i}").id for i in range(4)]
    newest_first = list(reversed(made))
    assert _convs(client, agent.id) == newest_first  # default: created_at desc
    assert _convs(client, agent.id, order="desc") == newest_first
    assert _convs(client, agent.id, order="asc") == made
    assert _convs(client, agent.id, limit=2) == newest_first[:2]
    # after is relative to the sort order
    assert _convs(client, agent.id, limit=2, after=newest_first[1]) == newest_first[2:4]
    assert _convs(client, agent.id, order="asc", after=made[0]) == made[1:]
    assert _convs(client, agent.id, order="asc", after=made[-1]) == []
    # walk pages of 1 both ways: nothing lost or repeated
    for order, expected in (("asc", made), ("desc", newest_first)):
        walked: list[str] = []
        cursor = None
        while True:
            params = {"order": order, "limit": 1}
            if cursor:
                params["after"] = cursor
            got = _convs(client, agent.id, **params)
            if not got:
                break
            walked += got
            cursor = got[-1]
        assert walked == expected
    # the response is a plain JSON list, not a page object
    body = sup.raw_json(client.conversations.with_raw_response.list, agent_id=agent.id)
    assert isinstance(body, list) and len(body) == 4


def test_list_is_per_agent(client: Letta, agent: object, module_agent: object) -> None:
    mine = client.conversations.create(agent_id=agent.id).id
    other = client.conversations.create(agent_id=module_agent.id).id
    assert _convs(client, agent.id) == [mine]
    assert other not in _convs(client, agent.id)


def test_list_order_by_last_message_at(client: Letta, agent: object) -> None:
    a = client.conversations.create(agent_id=agent.id, summary="a").id
    b = client.conversations.create(agent_id=agent.id, summary="b").id
    c = client.conversations.create(agent_id=agent.id, summary="c").id
    sup.send(client, a, "first to talk")
    sup.send(client, c, "second to talk")
    got = _convs(client, agent.id, order_by="last_message_at")
    # newest activity first; conversations with no message come last
    assert got[:2] == [c, a]
    assert got[2] == b
    got_asc = _convs(client, agent.id, order_by="last_message_at", order="asc")
    assert got_asc.index(a) < got_asc.index(c)
    assert set(_convs(client, agent.id, order_by="last_run_completion")) == {a, b, c}


def test_list_order_by_last_run_completion(client: Letta, agent: object) -> None:
    """``last_run_completion``: when the conversation's last run ENDED (0.16.8 sorts by
    ``MAX(runs.completed_at)``), conversations with no run last in both orders."""
    a = client.conversations.create(agent_id=agent.id, summary="a").id
    b = client.conversations.create(agent_id=agent.id, summary="b").id
    c = client.conversations.create(agent_id=agent.id, summary="c").id
    for conv_id in (b, a):
        run_id = sup.of_type(sup.send(client, conv_id, "hi"), "assistant_message")[0].run_id
        assert sup.wait_for(lambda r=run_id: client.runs.retrieve(r).completed_at, 15)
    assert _convs(client, agent.id, order_by="last_run_completion") == [a, b, c]
    assert _convs(client, agent.id, order_by="last_run_completion", order="asc") == [b, a, c]
    # the cursor is relative to this order too
    assert _convs(client, agent.id, order_by="last_run_completion", after=a) == [b, c]


def test_list_summary_search(client: Letta, agent: object) -> None:
    pie = client.conversations.create(agent_id=agent.id, summary="apple pie").id
    client.conversations.create(agent_id=agent.id, summary="banana split")
    both = client.conversations.create(agent_id=agent.id, summary="cherry and apple").id
    client.conversations.create(agent_id=agent.id)  # no summary
    assert _convs(client, agent.id, summary_search="apple") == [both, pie]
    assert _convs(client, agent.id, summary_search="pie") == [pie]
    assert _convs(client, agent.id, summary_search="durian") == []


def test_archive_status(client: Letta, agent: object, profile: str) -> None:
    keep = client.conversations.create(agent_id=agent.id, summary="keep").id
    arch = client.conversations.create(agent_id=agent.id, summary="archive me").id
    client.conversations.update(arch, archived=True)
    body = sup.raw_json(client.conversations.with_raw_response.retrieve, arch)
    if profile != "cloud":
        # letta 0.16.8 has no archive fields: update(archived=...) and list(archive_status=...)
        # are accepted and ignored (pydantic drops unknown body keys, FastAPI unknown query
        # parameters; research E.2/E.3)
        assert "archived" not in body
        assert set(_convs(client, agent.id)) == {keep, arch}
        assert set(_convs(client, agent.id, archive_status="archived")) == {keep, arch}
        return
    # Letta Cloud: archiving shows in the conversation and filters the list
    assert body["archived"] is True and body["archived_at"]
    assert _convs(client, agent.id) == [keep]  # the default is archive_status=unarchived
    assert _convs(client, agent.id, archive_status="unarchived") == [keep]
    assert _convs(client, agent.id, archive_status="archived") == [arch]
    assert set(_convs(client, agent.id, archive_status="all")) == {keep, arch}
    client.conversations.update(arch, archived=False)
    assert set(_convs(client, agent.id)) == {keep, arch}
    unarchived = sup.raw_json(client.conversations.with_raw_response.retrieve, arch)
    assert (unarchived["archived"], unarchived["archived_at"]) == (False, None)


def test_description_and_context_window_limit(client: Letta, agent: object, profile: str) -> None:
    """Letta Cloud keeps both on create and PATCH (SDK Conversation); letta 0.16.8 has
    neither field and ignores them as input."""
    conv = sup.raw_json(
        client.conversations.with_raw_response.create,
        agent_id=agent.id,
        description="about tea",
        context_window_limit=8000,
    )
    patched = sup.raw_json(
        client.conversations.with_raw_response.update,
        conv["id"],
        description="about coffee",
        context_window_limit=16000,
    )
    got = sup.raw_json(client.conversations.with_raw_response.retrieve, conv["id"])
    if profile != "cloud":
        for body in (conv, patched, got):
            assert "description" not in body and "context_window_limit" not in body
        return
    assert (conv["description"], conv["context_window_limit"]) == ("about tea", 8000)
    assert (patched["description"], patched["context_window_limit"]) == ("about coffee", 16000)
    assert (got["description"], got["context_window_limit"]) == ("about coffee", 16000)


def test_delete_is_soft_then_404(client: Letta, agent: object) -> None:
    gone = client.conversations.create(agent_id=agent.id).id
    stay = client.conversations.create(agent_id=agent.id).id
    sup.send(client, gone, "about to be deleted")
    client.conversations.delete(gone)
    with pytest.raises(letta_client.NotFoundError) as err:
        client.conversations.retrieve(gone)
    assert "Conversation not found" in str(err.value)
    assert _convs(client, agent.id) == [stay]
    with pytest.raises(letta_client.NotFoundError):
        client.conversations.delete(gone)
    with pytest.raises(letta_client.NotFoundError):
        client.conversations.update(gone, summary="x")
    with pytest.raises(letta_client.NotFoundError):
        sup.send(client, gone, "hello?")
    # listing a deleted conversation's messages is not an error: it is empty
    assert sup.history(client, gone) == []


def test_fork_copies_history_with_fresh_system_message(client: Letta, conv: object) -> None:
    sup.send(client, conv.id, "one")
    sup.send(client, conv.id, "two")
    src = sup.history(client, conv.id)
    fork = client.conversations.fork(conv.id)
    assert fork.id != conv.id and fork.id.startswith("conv-")
    assert fork.agent_id == conv.agent_id
    got = sup.history(client, fork.id)
    assert sup.types(got) == sup.types(src)
    # the same message rows, except a newly compiled system message
    assert got[0].message_type == "system_message" and got[0].id != src[0].id
    assert [sup.key(m) for m in got[1:]] == [sup.key(m) for m in src[1:]]
    assert (
        client.conversations.retrieve(fork.id).in_context_message_ids[1:]
        == (client.conversations.retrieve(conv.id).in_context_message_ids[1:])
    )
    # the fork is independent afterwards
    sup.send(client, fork.id, "only in the fork")
    assert len(sup.history(client, conv.id)) == len(src)
    assert len(sup.history(client, fork.id)) > len(src)


def test_fork_up_to_message_id(client: Letta, conv: object, profile: str) -> None:
    sup.send(client, conv.id, "one")
    sup.send(client, conv.id, "two")
    src = sup.history(client, conv.id)
    cut = sup.of_type(src, "user_message")[1]  # history up to and including "two"
    fork = client.conversations.fork(conv.id, message_id=cut.id)
    got = sup.history(client, fork.id)
    upto = [sup.key(m) for m in src[1:]]
    if profile == "cloud":  # Letta Cloud: "only source in-context messages up to and
        upto = upto[: upto.index(sup.key(cut)) + 1]  # including that message" (SDK fork)
    # letta 0.16.8's fork takes only agent_id: message_id is ignored, everything is forked
    assert [sup.key(m) for m in got[1:]] == upto


def test_recompile_returns_compiled_system_prompt(client: Letta, conv: object) -> None:
    sup.send(client, conv.id, "hi")
    before = sup.system_message(client, conv.id)
    client.agents.blocks.update("human", agent_id=conv.agent_id, value="The human is Grace.")
    dry = client.conversations.recompile(conv.id, dry_run=True)
    assert isinstance(dry, str) and "The human is Grace." in dry
    # a dry run persists nothing
    assert sup.system_message(client, conv.id).content == before.content
    out = client.conversations.recompile(conv.id)
    assert "The human is Grace." in out
    after = sup.system_message(client, conv.id)
    assert after.id == before.id  # recompiled in place
    assert "The human is Grace." in after.content


def test_default_conversation(client: Letta, agent: object) -> None:
    chunks = list(
        client.conversations.messages.create(
            "default", agent_id=agent.id, messages=sup.user("to the default thread")
        )
    )
    assert sup.stop_reason(chunks) == "end_turn"
    listed = sup.history(client, "default", agent_id=agent.id)
    assert sup.types(listed)[:2] == ["system_message", "user_message"]
    assert sup.of_type(listed, "user_message")[0].content == "to the default thread"
    # the default thread is not one of the agent's conversations
    assert _convs(client, agent.id) == []
    # ... and not addressable as a conversation id
    with pytest.raises(letta_client.UnprocessableEntityError):
        client.conversations.retrieve("default")
    fork = client.conversations.fork("default", agent_id=agent.id)
    assert [sup.key(m) for m in sup.history(client, fork.id)[1:]] == [
        sup.key(m) for m in listed[1:]
    ]


def test_unknown_agent_create_404(client: Letta) -> None:
    with pytest.raises(letta_client.NotFoundError):
        client.conversations.create(agent_id=f"agent-{uuid.uuid4()}")


def test_compact(client: Letta, conv: object, profile: str) -> None:
    """messages.compact summarizes older in-context messages; history stays listed."""
    for i in range(4):
        sup.send(client, conv.id, f"turn {i}")
    before_list = sup.history(client, conv.id)
    before_ctx = client.conversations.retrieve(conv.id).in_context_message_ids
    out = client.conversations.messages.compact(conv.id)
    body_keys = {"summary", "num_messages_before", "num_messages_after"}
    assert body_keys <= set(out.to_dict())
    assert out.num_messages_before == len(before_ctx)
    assert out.num_messages_after < out.num_messages_before
    assert isinstance(out.summary, str) and out.summary
    ctx = client.conversations.retrieve(conv.id).in_context_message_ids
    assert len(ctx) == out.num_messages_after
    assert ctx[0] == before_ctx[0]  # the system message stays first
    after_list = sup.history(client, conv.id)
    # nothing is deleted: every earlier message is still listed, plus the summary
    assert {sup.key(m) for m in before_list} <= {sup.key(m) for m in after_list}
    new = [m for m in after_list if sup.key(m) not in {sup.key(x) for x in before_list}]
    assert len(new) == 1 and new[0].id == ctx[1]
    summary = new[0]
    if profile == "cloud":
        # Letta Cloud lists it as a summary_message (what Letta Code asks lists for, LC
        # src/agent/check-approval.ts), with stats; trigger "manual" as in Letta Code's own
        # Cloud-API emulation (src/backend/local/local-backend.ts)
        assert summary.message_type == "summary_message"
        assert summary.summary == out.summary
        stats = summary.compaction_stats
        assert (stats.trigger, stats.messages_count_before) == ("manual", len(before_ctx))
        assert stats.messages_count_after == out.num_messages_after
    else:
        # letta 0.16.8 lists the summary as a user message holding a system alert; a manual
        # compaction has no trigger, so no stats and no count in the note
        assert summary.message_type == "user_message"
        alert = json.loads(summary.content)
        assert alert["type"] == "system_alert" and "compaction_stats" not in alert
        assert alert["message"].startswith(
            "Note: prior messages from the beginning of the conversation have been hidden from view"
        )
        assert out.summary in alert["message"]
    listed_ids = {m.id for m in after_list}
    assert all(i in listed_ids for i in ctx)
    assert sup.stop_reason(sup.send(client, conv.id, "after compact")) == "end_turn"


def test_run_retrieve(client: Letta, conv: object) -> None:
    chunks = sup.send(client, conv.id, "hello")
    run_id = sup.of_type(chunks, "assistant_message")[0].run_id
    # the run is finalized just after the stream ends (not necessarily before)
    assert sup.wait_for(lambda: client.runs.retrieve(run_id).status == "completed", 15)
    body = sup.raw_json(client.runs.with_raw_response.retrieve, run_id)
    assert body["id"] == run_id
    assert body["agent_id"] == conv.agent_id
    assert body["conversation_id"] == conv.id
    assert body["status"] == "completed"
    assert body["stop_reason"] == "end_turn"
    assert body["background"] is False
    assert body["created_at"] and body["completed_at"]
    # letta 0.16.8 writes completed_at in UTC without a zone (created_at has one): the SDK
    # parses a naive datetime, which a client must not compare with created_at as it is
    assert not body["completed_at"].endswith("Z") and "+" not in body["completed_at"]
    run = client.runs.retrieve(run_id)
    assert run.completed_at >= run.created_at.replace(tzinfo=run.completed_at.tzinfo)


def test_runs_list_filters_by_conversation_status_and_order(client: Letta, conv: object) -> None:
    first = sup.of_type(sup.send(client, conv.id, "one"), "assistant_message")[0].run_id
    second = sup.of_type(sup.send(client, conv.id, "two"), "assistant_message")[0].run_id
    for run_id in (first, second):  # runs are finalized just after their streams end
        assert sup.wait_for(lambda r=run_id: client.runs.retrieve(r).status == "completed", 15)
    other = client.conversations.create(agent_id=conv.agent_id).id
    sup.send(client, other, "elsewhere")

    listed = client.runs.list(conversation_id=conv.id).items
    assert [r.id for r in listed] == [second, first]  # newest first
    assert all(r.conversation_id == conv.id for r in listed)
    asc = client.runs.list(conversation_id=conv.id, order="asc").items
    assert [r.id for r in asc] == [first, second]
    assert [r.id for r in client.runs.list(conversation_id=conv.id, limit=1).items] == [second]
    assert client.runs.list(conversation_id=conv.id, active=True).items == []
    done = client.runs.list(conversation_id=conv.id, statuses=["completed"]).items
    assert {r.id for r in done} == {first, second}
    by_agent = {r.id for r in client.runs.list(agent_id=conv.agent_id, limit=1000).items}
    assert {first, second} <= by_agent


def test_hidden_conversation(client: Letta, agent: object, profile: str) -> None:
    """Letta Cloud never lists hidden conversations (create or fork ``hidden=True``); letta
    0.16.8 ignores ``hidden`` (create body, fork query) and lists them."""
    hidden = client.conversations.create(agent_id=agent.id, hidden=True).id
    visible = client.conversations.create(agent_id=agent.id).id
    hidden_fork = client.conversations.fork(visible, hidden=True).id
    listed = set(_convs(client, agent.id))
    if profile == "cloud":
        assert listed == {visible}
        assert set(_convs(client, agent.id, archive_status="all")) == {visible}
    else:
        assert listed == {hidden, visible, hidden_fork}
    assert client.conversations.retrieve(hidden).id == hidden
    assert client.conversations.retrieve(hidden_fork).id == hidden_fork
    assert "hidden" not in sup.raw_json(client.conversations.with_raw_response.retrieve, hidden)


def test_conversation_model_and_override_model(client: Letta, agent: object) -> None:
    conv = client.conversations.create(agent_id=agent.id, model=sup.MODEL)
    assert conv.model == sup.MODEL
    assert client.conversations.retrieve(conv.id).model == sup.MODEL
    plain = client.conversations.create(agent_id=agent.id)
    assert plain.model is None
    chunks = sup.send(client, plain.id, "override", override_model=sup.MODEL)
    assert sup.stop_reason(chunks) == "end_turn"


def test_default_conversation_runs_api(client: Letta, agent: object) -> None:
    with pytest.raises(letta_client.ConflictError) as err:
        client.conversations.cancel("default", agent_id=agent.id)
    assert "No active runs to cancel for conversation default" in str(err.value)
    with pytest.raises(letta_client.BadRequestError):
        list(client.conversations.messages.stream("default", agent_id=agent.id))
    compiled = client.conversations.recompile("default", agent_id=agent.id)
    assert "The human's name is Ada." in compiled


def test_deleting_the_agent_removes_its_conversations(client: Letta) -> None:
    doomed = client.agents.create(
        name=f"contract-doomed-{uuid.uuid4().hex[:6]}",
        model=sup.MODEL,
        embedding=sup.EMBEDDING,
        memory_blocks=[{"label": "human", "value": "x"}],
    )
    conv = client.conversations.create(agent_id=doomed.id).id
    sup.send(client, conv, "hello")
    client.agents.delete(doomed.id)
    with pytest.raises(letta_client.NotFoundError):
        client.conversations.retrieve(conv)
    assert _convs(client, doomed.id) == []
    assert sup.history(client, conv) == []
