"""Bulk data: synthetic conversation history (fast) and the ``demo`` seed.

Both write stored messages straight into SQLite in one transaction, so 100,000 messages
take about a second and the demo seed a few seconds at most.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import script
from .ids import IdSequence, fmt_message_date, new_id, now
from .service import Service
from .storage import StoredMessage

__all__ = ["scripted_turn", "seed", "synthetic"]

_TOPICS = [
    ("the quarterly sales report", "revenue grew 12% quarter over quarter, mostly from EMEA"),
    ("a bug in the payment service", "the retry loop doubles charges when the gateway times out"),
    ("planning a trip to Lisbon", "late May is warm, and the Alfama district is walkable"),
    ("the onboarding checklist", "accounts, laptop, security training and a buddy on day one"),
    ("a SQL query that is slow", "an index on (customer_id, created_at) removes the full scan"),
    ("the marketing launch", "the landing page, two emails and a webinar in week three"),
    ("a pandas groupby", "use .agg with named aggregations to keep the columns readable"),
    ("the team offsite agenda", "a retro in the morning and roadmap sessions after lunch"),
    ("learning Rust", "start with ownership and borrowing, then traits and lifetimes"),
    ("a recipe for dinner", "a lemon risotto takes thirty minutes and one pan"),
    ("the GPU cluster budget", "spot instances cut the training bill by about 60%"),
    ("a contract renewal", "the vendor offers 8% off for a two-year term"),
]
_QUESTIONS = [
    "Can you summarize {t}?",
    "What should I know about {t}?",
    "Any update on {t}?",
    "Help me think through {t}.",
    "What's the next step for {t}?",
    "Remind me where we are on {t}.",
]


_IDS: Callable[[str], str] = new_id


def _msg(
    agent_id: str,
    role: str,
    when: float,
    body: dict[str, Any],
    run_id: str | None,
    step_id: str | None,
    otid: str | None = None,
) -> StoredMessage:
    return StoredMessage(_IDS("message"), role, when, body, run_id, step_id, otid, agent_id)


def _turn_messages(
    agent_id: str, rng: random.Random, when: float, step: float, i: int
) -> list[StoredMessage]:
    topic, fact = _TOPICS[rng.randrange(len(_TOPICS))]
    run = _IDS("run")
    s1 = _IDS("step")
    q = _QUESTIONS[rng.randrange(len(_QUESTIONS))].format(t=topic)
    out = [_msg(agent_id, "user", when, {"content": q}, run, s1, _IDS("x")[2:])]
    t = when + step
    if i % 3 == 2:
        call_id = "call_" + _IDS("x")[2:].replace("-", "")[:20]
        args = json.dumps({"query": topic.split()[-1]})
        out.append(
            _msg(
                agent_id,
                "assistant",
                t,
                {
                    "reasoning": f"I should look up what we said before about {topic}.",
                    "tool_calls": [
                        {"name": "conversation_search", "arguments": args, "tool_call_id": call_id}
                    ],
                },
                run,
                s1,
            )
        )
        t += step
        result = script.format_search_results(
            [(fmt_message_date(when - 3600), "1h ago", "assistant", f"{fact}.")]
        )
        out.append(
            _msg(
                agent_id,
                "tool",
                t,
                {
                    "tool_call_id": call_id,
                    "name": "conversation_search",
                    "status": "success",
                    "tool_return": result,
                    "stdout": None,
                    "stderr": None,
                },
                run,
                s1,
            )
        )
        t += step
        s2 = _IDS("step")
        out.append(
            _msg(
                agent_id,
                "assistant",
                t,
                {
                    "reasoning": "Found it; I'll answer from the earlier discussion.",
                    "content": f"On {topic}: {fact}.",
                },
                run,
                s2,
            )
        )
    else:
        out.append(
            _msg(
                agent_id,
                "assistant",
                t,
                {
                    "reasoning": f"The user asks about {topic}; I know the key point.",
                    "content": f"Here's the short version on {topic}: {fact}.",
                },
                run,
                s1,
            )
        )
    return out


def synthetic(
    svc: Service,
    conv: dict[str, Any],
    turns: int,
    *,
    start: float | None = None,
    step_seconds: float | None = None,
    seed_value: int = 7,
) -> dict[str, Any]:
    """Append ``turns`` realistic turns (user, reasoning, tool call/return, assistant).

    Several Letta messages share one id (reasoning + assistant, reasoning + tool call), each
    turn has a run_id and step_ids, dates increase. Older messages leave the context window
    behind a summary message, as compaction would leave them.
    """
    global _IDS
    t0 = time.perf_counter()
    rng = random.Random(seed_value + turns)
    _IDS = IdSequence(random.Random(time.time_ns()))
    try:
        return _synthetic(svc, conv, turns, rng, start, step_seconds, t0)
    finally:
        _IDS = new_id


def _synthetic(
    svc: Service,
    conv: dict[str, Any],
    turns: int,
    rng: random.Random,
    start: float | None,
    step_seconds: float | None,
    t0: float,
) -> dict[str, Any]:
    store = svc.store
    step = float(step_seconds) if step_seconds else 7.0
    when = float(start) if start else now() - turns * 4 * step
    msgs: list[StoredMessage] = []
    for i in range(max(0, int(turns))):
        batch = _turn_messages(conv["agent_id"], rng, when, step, i)
        msgs.extend(batch)
        when = batch[-1].date + step * 3
    keep = max(2, svc.config.context_messages // 2)
    existing = [m for m in store.in_context(conv["id"]) if m.role != "system"]
    total_ctx = len(existing) + len(msgs)
    rows: list[tuple[StoredMessage, int]] = []
    if total_ctx > svc.config.context_messages and len(msgs) > keep:
        cut = len(msgs) - keep
        while cut < len(msgs) and msgs[cut].role == "tool":
            cut += 1
        summary = _msg(
            conv["agent_id"],
            "summary",
            msgs[cut - 1].date + 1,
            {
                "summary": f"Earlier in this conversation ({len(existing) + cut} messages) "
                "the user "
                "and the assistant discussed reports, bugs, travel plans and onboarding.",
                "facts": "",
                "compaction_stats": {
                    "trigger": "post_step_context_check",
                    "context_tokens_before": None,
                    "context_tokens_after": None,
                    "context_window": 30000,
                    "messages_count_before": total_ctx + 1,
                    "messages_count_after": len(msgs) - cut + 2,
                },
            },
            None,
            None,
        )
        rows = [(m, 0) for m in msgs[:cut]] + [(summary, 1)] + [(m, 1) for m in msgs[cut:]]
        evict_existing = True
    else:
        rows = [(m, 1) for m in msgs]
        evict_existing = False
    with store.transaction():
        if evict_existing:
            store.evict(conv["id"], [m.id for m in existing])
            old_summaries = [m.id for m in existing if m.role == "summary"]
            store.evict(conv["id"], old_summaries)
        store.put_messages(m for m, _ in rows)
        row = store.db.execute(
            "SELECT next_pos FROM conversations WHERE id=?", (conv["id"],)
        ).fetchone()
        pos = int(row[0]) if row else 1
        store.db.executemany(
            "INSERT INTO conv_messages VALUES (?,?,?,?)",
            [(conv["id"], pos + i, m.id, flag) for i, (m, flag) in enumerate(rows)],
        )
        last = rows[-1][0].date if rows else None
        store.db.execute(
            "UPDATE conversations SET next_pos=?, last_message_at=COALESCE(?, "
            "last_message_at), updated_at=? WHERE id=?",
            (pos + len(rows), last, now(), conv["id"]),
        )
    n_letta = sum(2 if m.role == "assistant" else 1 for m, _ in rows)
    return {
        "conversation_id": conv["id"],
        "stored_messages": len(rows),
        "letta_messages": n_letta,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def scripted_turn(
    svc: Service,
    conv: dict[str, Any],
    text: str,
    when: float,
    approve: bool | None = None,
    deny_reason: str | None = None,
) -> float:
    """Play one turn of the scripted agent synchronously (for seeding); returns the last date.

    ``approve``: for a tool that needs approval, None leaves it pending; True/False resolves it.
    """
    store = svc.store
    ctx = svc.context(conv)
    run, s1 = new_id("run"), new_id("step")
    t = when
    msgs = [_msg(conv["agent_id"], "user", t, {"content": text}, run, s1, new_id("x")[2:])]
    step = script.plan(ctx, text)
    t += 2
    if step.tool_call is None:
        msgs.append(
            _msg(
                conv["agent_id"],
                "assistant",
                t,
                {"reasoning": step.reasoning, "content": step.text},
                run,
                s1,
            )
        )
        store.append(conv["id"], msgs)
        store.update_conversation(conv["id"], last_message_at=t, updated_at=t)
        return t
    call = {
        "name": step.tool_call.name,
        "arguments": json.dumps(step.tool_call.arguments),
        "tool_call_id": "call_" + new_id("x")[2:].replace("-", "")[:20],
    }
    needs = step.tool_call.name in script.APPROVAL_TOOLS
    req = _msg(
        conv["agent_id"],
        "approval_request" if needs else "assistant",
        t,
        {"reasoning": step.reasoning, "tool_calls": [call]},
        run,
        s1,
    )
    msgs.append(req)
    if needs and approve is None:
        store.append(conv["id"], msgs)
        data = dict(conv.get("data") or {})
        data["pending_approval"] = {
            "message_id": req.id,
            "step_id": s1,
            "tool_call": call,
            "user_text": text,
        }
        store.update_conversation(conv["id"], data=data, last_message_at=t, updated_at=t)
        store.put_run(run, conv["id"], conv["agent_id"], "completed", False, when)
        store.finish_run(run, "completed", "requires_approval")
        return t
    if needs:
        run = new_id("run")
        t += 30
        msgs.append(
            _msg(
                conv["agent_id"],
                "approval_response",
                t,
                {
                    "approvals": [
                        {
                            "type": "approval",
                            "tool_call_id": call["tool_call_id"],
                            "approve": bool(approve),
                            "reason": deny_reason,
                        }
                    ],
                    "approve": bool(approve),
                    "approval_request_id": call["tool_call_id"],
                    "reason": deny_reason,
                },
                run,
                None,
            )
        )
    if needs and not approve:
        result, status = (
            ("Error: request to call tool denied. User reason: " + (deny_reason or "None")),
            "error",
        )
    else:
        result, status = _seed_tool(svc, conv, step.tool_call, t)
    t += 1
    msgs.append(
        _msg(
            conv["agent_id"],
            "tool",
            t,
            {
                "tool_call_id": call["tool_call_id"],
                "name": None if needs and not approve else call["name"],
                "status": status,
                "tool_return": result,
                "stdout": None,
                "stderr": None,
            },
            run,
            s1,
        )
    )
    final = script.follow_up(ctx, text, step.tool_call, result, status)
    t += 2
    msgs.append(
        _msg(
            conv["agent_id"],
            "assistant",
            t,
            {"reasoning": final.reasoning, "content": final.text},
            run,
            new_id("step"),
        )
    )
    store.append(conv["id"], msgs)
    store.update_conversation(conv["id"], last_message_at=t, updated_at=t)
    return t


def _seed_tool(
    svc: Service, conv: dict[str, Any], call: script.ToolCall, when: float
) -> tuple[str, str]:
    args = call.arguments
    try:
        if call.name in ("memory_insert", "memory_replace"):
            label = str(args.get("label", "human"))
            blk = svc.store.block(conv["agent_id"], label)
            if blk is None:
                raise ValueError(f"Block with label '{label}' not found")
            if call.name == "memory_insert":
                value = script.memory_insert(blk["value"], str(args.get("new_string", "")))
            else:
                value = script.memory_replace(
                    blk["value"],
                    str(args.get("old_string", "")),
                    str(args.get("new_string", "")),
                    label,
                )
            svc.set_block(conv["agent_id"], label, value, when)
            return value, "success"
        if call.name == "conversation_search":
            return svc.search(conv, str(args.get("query", ""))), "success"
        if call.name == "send_email":
            return (
                f"Email sent to {args.get('to')} with subject {args.get('subject')!r}.",
                "success",
            )
        return "ok", "success"
    except ValueError as exc:
        return f"ValueError: {exc}", "error"


def _showcase(svc: Service, conv: dict[str, Any], t: float) -> None:
    """hidden reasoning, tool stdout/stderr, a summary message and a compaction event."""
    aid = conv["agent_id"]
    run, s1, s2 = new_id("run"), new_id("step"), new_id("step")
    call_id = "call_" + new_id("x")[2:].replace("-", "")[:20]
    msgs = [
        _msg(
            aid,
            "user",
            t,
            {"content": "Run the data check and tell me what you found."},
            run,
            s1,
            new_id("x")[2:],
        ),
        _msg(
            aid,
            "assistant",
            t + 1,
            {
                "hidden_reasoning": "",
                "tool_calls": [
                    {
                        "name": "conversation_search",
                        "arguments": json.dumps({"query": "data check"}),
                        "tool_call_id": call_id,
                    }
                ],
            },
            run,
            s1,
        ),
        _msg(
            aid,
            "tool",
            t + 2,
            {
                "tool_call_id": call_id,
                "name": "conversation_search",
                "status": "success",
                "tool_return": "{'message': 'No results found.', 'results': []}",
                "stdout": ["searched 412 messages"],
                "stderr": ["warning: index is 2 days old"],
            },
            run,
            s1,
        ),
        _msg(
            aid,
            "assistant",
            t + 3,
            {
                "reasoning": "Nothing earlier; I'll report that.",
                "content": "I found no earlier data check. Shall I start one?",
            },
            run,
            s2,
        ),
        _msg(
            aid,
            "summary_message",
            t + 4,
            {
                "summary": "The user asked for a data check; none had been run before.",
                "compaction_stats": {
                    "trigger": "context_window_exceeded",
                    "context_tokens_before": 28000,
                    "context_tokens_after": 9000,
                    "context_window": 30000,
                    "messages_count_before": 40,
                    "messages_count_after": 12,
                },
            },
            None,
            None,
        ),
        _msg(
            aid,
            "event",
            t + 4,
            {
                "event_type": "compaction",
                "event_data": {"trigger": "context_window_exceeded", "messages_evicted": 28},
            },
            None,
            None,
        ),
    ]
    svc.store.append(conv["id"], msgs)
    svc.store.update_conversation(conv["id"], last_message_at=t + 4)


_AGENTS: Sequence[dict[str, Any]] = [
    {
        "name": "ada-research-assistant",
        "model": "openai/gpt-4o-mini",
        "description": "A careful research assistant.",
        "memory_blocks": [
            {
                "label": "persona",
                "value": "I am Ada, a careful research assistant. I cite "
                "sources, prefer short answers and say when I am unsure.",
            },
            {
                "label": "human",
                "value": "The human's name is Grace.\nShe works on compilers "
                "and likes clear, short explanations.",
            },
        ],
    },
    {
        "name": "max-support-bot",
        "model": "anthropic/claude-3-5-haiku",
        "description": "Customer support for a payments product.",
        "memory_blocks": [
            {
                "label": "persona",
                "value": "I am Max, a friendly support agent for PayFlow. I "
                "escalate refunds above $500.",
            },
            {
                "label": "human",
                "value": "The human's name is Linus.\nHe is a PayFlow merchant on the Pro plan.",
            },
            {
                "label": "policies",
                "value": "Refunds within 30 days. Chargebacks go to the risk "
                "team. Never share card numbers.",
                "description": "Support policies the agent must follow.",
            },
        ],
    },
    {
        "name": "nova-travel-planner",
        "model": "openai/gpt-4.1-mini",
        "description": "Plans trips and keeps an eye on budgets.",
        "memory_blocks": [
            {
                "label": "persona",
                "value": "I am Nova, an upbeat travel planner who loves trains and local food.",
            },
            {
                "label": "human",
                "value": "The human's name is Ada.\nShe lives in Berlin and "
                "prefers trains to planes.",
            },
        ],
    },
]

_SUMMARIES = [
    "Literature review on garbage collectors",
    "Compiler bug triage",
    "Weekly planning",
    "Paper draft feedback",
    "Benchmark results discussion",
    "Grant proposal outline",
    "Refund request #4411",
    "Chargeback question",
    "API key rotation help",
    "Payout delay",
    "Plan upgrade questions",
    "Webhook failures",
    "Invoice export",
    "Lisbon in May",
    "Rail pass options",
    "Budget for the Alps trip",
    "Tokyo food list",
    "Weekend in Vienna",
    "Packing list",
    "Conference travel",
]


def seed(svc: Service, name: str = "demo") -> dict[str, Any]:
    """Fill the store with the named data set (only ``demo`` exists)."""
    if name != "demo":
        raise ValueError(f"unknown seed {name!r} (expected 'demo')")
    t0 = time.perf_counter()
    base = now() - 14 * 86400
    agents = []
    convs: list[dict[str, Any]] = []
    rng = random.Random(42)
    for k, spec in enumerate(_AGENTS):
        agent = svc.create_agent(dict(spec), when=base + k * 60)
        agents.append(agent)
        svc.default_conversation(agent["id"])
    a0, a1, a2 = agents
    when = base + 3600

    def conv(agent: dict[str, Any], summary: str | None) -> dict[str, Any]:
        nonlocal when
        when += rng.randint(1800, 20000)
        return svc.create_conversation(agent["id"], summary=summary, when=when)

    # Scripted conversations with facts, memory tools, search and approvals.
    c = conv(a0, "Getting to know Grace")
    t = when + 5
    for text in [
        "Hi there!",
        "My name is Grace and I live in Arlington.",
        "My favourite colour is green and I love dumplings.",
        "What's my name and favorite food?",
        "Remember that I prefer examples in Python.",
        "What do you remember about me?",
        "Search for colour",
    ]:
        t = scripted_turn(svc, c, text, t + 20)
    convs.append(c)

    c = conv(a1, "Refund follow-up (approved email)")
    t = scripted_turn(svc, c, "My order number is 4411 and I need a refund.", when + 10)
    t = scripted_turn(
        svc,
        c,
        "Send an email to billing@payflow.example about the refund for order 4411",
        t + 20,
        approve=True,
    )
    convs.append(c)

    c = conv(a1, "Escalation email (denied)")
    t = scripted_turn(
        svc,
        c,
        "Send an email to risk@payflow.example about a chargeback",
        when + 10,
        approve=False,
        deny_reason="I will call them myself.",
    )
    convs.append(c)

    c = conv(a2, "Email the hotel (awaiting approval)")
    t = scripted_turn(svc, c, "I live in Berlin and my next trip is to Lisbon in May.", when + 10)
    scripted_turn(
        svc, c, "Send an email to hotel@alfama.example about a double room for May 12-15", t + 20
    )
    convs.append(c)

    # An error run: the user message has no answer and the run failed.
    c = conv(a0, "Failed run (LLM error)")
    run = new_id("run")
    svc.store.append(
        c["id"],
        [
            _msg(
                a0["id"],
                "user",
                when + 10,
                {"content": "Summarize the attached 400-page PDF."},
                run,
                new_id("step"),
                new_id("x")[2:],
            )
        ],
    )
    svc.store.put_run(run, c["id"], a0["id"], "failed", False, when + 10)
    svc.store.finish_run(run, "failed", "llm_api_error")
    svc.store.update_conversation(c["id"], last_message_at=when + 10)
    convs.append(c)

    # Every Letta message type the SDK knows, for renderers.
    c = conv(a0, "Message type showcase")
    _showcase(svc, c, when + 10)
    convs.append(c)

    # Many ordinary conversations of varied lengths; one long one.
    owners = [a0] * 6 + [a1] * 7 + [a2] * 7
    for i, summary in enumerate(_SUMMARIES):
        c = conv(owners[i], summary)
        turns = [3, 8, 15, 25, 40, 60, 5, 12][i % 8]
        synthetic(svc, c, turns, start=when + 30, step_seconds=6, seed_value=i)
        convs.append(c)
    # begun ten days back: created (and its memory compiled) before its first message
    started = when - 10 * 86400
    long_conv = svc.create_conversation(a0["id"], summary="Thesis notes (very long)", when=started)
    synthetic(svc, long_conv, 1400, start=started + 30, step_seconds=4, seed_value=99)
    convs.append(long_conv)

    # Archived, forked and stale conversations.
    archived = convs[6]
    svc.store.update_conversation(archived["id"], archived=1)
    source = convs[0]
    mids = [m.id for m in svc.store.in_context(source["id"]) if m.role == "user"]
    forked = svc.fork(source, mids[3] if len(mids) > 3 else None)
    svc.store.update_conversation(forked["id"], summary="Fork of 'Getting to know Grace'")
    convs.append(forked)
    stale = conv(a2, "Trip ideas (before the memory update)")
    scripted_turn(svc, stale, "Hello!", when + 10)
    svc.set_block(
        a2["id"],
        "human",
        "The human's name is Ada.\nShe lives in Berlin, prefers "
        "trains to planes and is vegetarian.",
        when + 70,
    )
    convs.append(stale)
    # every other conversation was recompiled since: only `stale` runs on old memory
    for c in svc.store.list_conversations(None, archive_status="all"):
        if c["id"] != stale["id"] and svc.is_stale(c):
            svc.recompile(c)
    return {
        "agents": [a["id"] for a in agents],
        "conversations": len(convs),
        "long_conversation": long_conv["id"],
        "seconds": round(time.perf_counter() - t0, 3),
    }
