"""Golden test: the history loaders give, byte for byte, the frames of today's code (issue 17).

The reference is the simplest loader there is: every message of a conversation in one
request, its in-context ids, and ``frozen_rows`` (a frozen copy of the normalizer as of
commit 9b7c94a, importing nothing from ``letta_widgets``). Whatever the loaders do inside
(paging, concurrency, pipelining), ``messages_frame`` / ``agent_history`` and their async
twins must return exactly its frames: the same columns, dtypes, categories, values and
index, in the same order. Data: the devserver's demo seed, plus a long conversation, 30
small ones and a hostile unicode message, in both profiles. The devserver cannot store a
message with several tool calls, returns or approvals, so those (and an unknown message
type) are crafted JSON given to both normalizers directly at the end.
"""

from __future__ import annotations

import asyncio
import copy
import json
import warnings
from dataclasses import dataclass
from typing import Any

import frozen_rows  # tests/integration/frozen_rows.py (rootdir-relative import)
import numpy as np
import pandas as pd
import pytest
from letta_client import AsyncLetta, Letta

from letta_devserver.process import DevServerProcess
from letta_widgets._messages import RowCollector
from letta_widgets.frames import aagent_history, agent_history, amessages_frame, messages_frame

pytestmark = [pytest.mark.timeout(300)]

HOSTILE = (
    "Zoë's naïve café ☕ — 日本語 עברית مرحبا 👩‍👩‍👧‍👦 e\u0301 \u200b\u200d\u202eRTL\u202c "
    '<script>alert("x")</script> \'; DROP TABLE messages; -- \\n "quotes" \t tab\r\nCRLF '
    "\x07 \U0001f600 \ufeff end"
)
VARIANTS: list[dict[str, Any]] = [
    {},
    {"include_raw": True},
    {"order": "desc"},
    {"order": "desc", "limit": 7},
    {"limit": 5},
]
LONG_VARIANTS: list[dict[str, Any]] = [
    {"page_size": 13},
    {"page_size": 13, "order": "desc", "limit": 40},
]


@dataclass
class Thread:
    cid: str
    agent: str
    msgs: list[dict[str, Any]]
    ctx: list[str]


@dataclass
class World:
    client: Letta
    base_url: str
    agents: list[str]
    convs: dict[str, list[str]]  # agent -> conversation ids, as the server lists them
    threads: dict[tuple[str, str], Thread]  # (agent, conversation id) -> all of it
    long: str
    small: list[str]


def say(client: Letta, cid: str, text: str, **kwargs: Any) -> None:
    list(
        client.conversations.messages.create(
            cid, messages=[{"role": "user", "content": text}], **kwargs
        )
    )


def synthetic(client: Letta, cid: str, turns: int) -> None:
    client.post(
        f"/v1/_devserver/conversations/{cid}/synthetic", body={"turns": turns}, cast_to=object
    )


def fetch_thread(client: Letta, cid: str, agent_id: str) -> Thread:
    """All messages in one request, and the in-context ids: what the reference reads."""
    kw = {"agent_id": agent_id} if cid == "default" else {}
    resp = client.conversations.messages.with_raw_response.list(
        cid, order="asc", limit=10_000_000, **kw
    )
    msgs = json.loads(resp.http_response.content)
    if cid == "default":
        return Thread(cid, agent_id, msgs, list(client.agents.retrieve(agent_id).message_ids or []))
    conv = client.conversations.retrieve(cid)
    return Thread(cid, conv.agent_id, msgs, list(conv.in_context_message_ids or []))


def ref_frame(threads: list[Thread], *, include_raw: bool = False) -> pd.DataFrame:
    """The frozen normalizer over the threads in this order, ``seq`` from 0 in each."""
    rows = frozen_rows.RowCollector(include_raw=include_raw)
    for t in threads:
        rows.add(t.msgs, conversation_id=t.cid, agent_id=t.agent, in_context_ids=t.ctx)
    return rows.frame()


def ref_messages(
    t: Thread, *, order: str = "asc", limit: int | None = None, include_raw: bool = False, **_: Any
) -> pd.DataFrame:
    """messages_frame today: the ``limit`` oldest (asc) or newest (desc) messages, ``seq``
    counted within that window; desc is the window's rows reversed."""
    if limit is not None:
        t = Thread(t.cid, t.agent, t.msgs[:limit] if order == "asc" else t.msgs[-limit:], t.ctx)
    frame = ref_frame([t], include_raw=include_raw)
    return frame.iloc[::-1].reset_index(drop=True) if order == "desc" else frame


def ref_history(threads: list[Thread], *, include_raw: bool = False) -> pd.DataFrame:
    """agent_history today: conversations in the given order, each in seq order. A
    conversation named twice keeps both copies, merged by seq at its last mention."""
    frame = ref_frame(threads, include_raw=include_raw)
    rank = {t.cid: i for i, t in enumerate(threads)}
    order = np.lexsort((frame["seq"].to_numpy(), frame["conversation_id"].map(rank).to_numpy()))
    return frame.take(order).reset_index(drop=True)


def same(new: pd.DataFrame, ref: pd.DataFrame, what: str) -> None:
    try:
        assert list(new.columns) == list(ref.columns), "columns"
        got, want = ({c: (str(d), repr(d)) for c, d in f.dtypes.items()} for f in (new, ref))
        assert got == want, {c: (got[c], want[c]) for c in want if got[c] != want[c]}
        for col in ref.columns:
            assert type(new[col].array) is type(ref[col].array), col
            if isinstance(ref[col].dtype, pd.CategoricalDtype):
                assert list(new[col].cat.categories) == list(ref[col].cat.categories), col
                assert new[col].cat.ordered == ref[col].cat.ordered, col
        pd.testing.assert_index_equal(new.index, ref.index, exact=True)
        pd.testing.assert_frame_equal(new, ref, check_exact=True, check_categorical=True)
        for col in ref.select_dtypes("object").columns:  # dicts: same keys, same order, same types
            assert [repr(v) for v in new[col]] == [repr(v) for v in ref[col]], col
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


@pytest.fixture(scope="module")
def world(profile: str):
    with DevServerProcess(["--memory", "--seed", "demo", "--profile", profile]) as server:
        client = Letta(base_url=server.base_url, max_retries=0)
        agents = [a.id for a in client.agents.list()]
        a0 = agents[0]
        long = client.conversations.create(agent_id=a0).id
        synthetic(client, long, 120)
        small = [client.conversations.create(agent_id=a0).id for _ in range(30)]
        for i, cid in enumerate(small):
            synthetic(client, cid, 1 + i % 5)
        say(client, small[0], HOSTILE)
        say(client, "default", HOSTILE, agent_id=a0)
        # The demo's longest thread (3,734 stored messages) past one default-size page
        # (5,000 stored messages, MAX_PAGE at 9b7c94a), so agent_history pages it too.
        every = client.conversations.with_raw_response.list(archive_status="all", limit=100_000)
        listed = json.loads(every.http_response.content)
        (thesis,) = [c["id"] for c in listed if "Thesis notes" in (c.get("summary") or "")]
        synthetic(client, thesis, 500)
        convs = {}
        for a in agents:
            resp = client.conversations.with_raw_response.list(
                agent_id=a, order="asc", archive_status="all", limit=100_000
            )
            convs[a] = [c["id"] for c in json.loads(resp.http_response.content)]
        threads = {
            (a, c): fetch_thread(client, c, a) for a in agents for c in ["default", *convs[a]]
        }
        yield World(client, server.base_url, agents, convs, threads, long, small)


def live(test: Any) -> Any:
    """Against a demo devserver of each profile (the fixture ``world``)."""
    return pytest.mark.both_profiles(pytest.mark.devserver_only(test))


@live
def test_the_data_are_not_trivial(world: World) -> None:
    a0 = world.agents[0]
    assert len(world.agents) >= 3 and len(world.convs[a0]) > 35
    every = ref_frame(list(world.threads.values()))
    assert len(every) > 5000
    assert {"tool_call_message", "tool_return_message", "approval_response_message"} <= set(
        every["message_type"].astype(str)
    )
    assert len(ref_frame([world.threads[a0, world.long]])) > 400
    assert every["in_context"].any() and not every["in_context"].all()
    assert len(world.threads[a0, "default"].msgs) > 1
    assert max(len({m["id"] for m in t.msgs}) for t in world.threads.values()) > 5000
    for cid in (world.small[0], "default"):
        assert HOSTILE in set(ref_frame([world.threads[a0, cid]])["text"].dropna()), cid


@live
def test_agent_history_is_the_reference(world: World) -> None:
    client = world.client
    for a in world.agents:
        threads = [world.threads[a, c] for c in world.convs[a]]
        for raw in (False, True):
            ref = ref_history(threads, include_raw=raw)
            assert len(ref) > 0
            for concurrency in (1, 3, 8):
                new = agent_history(
                    client, a, concurrency=concurrency, include_raw=raw, progress=False
                )
                same(new, ref, f"agent_history({a}, concurrency={concurrency}, include_raw={raw})")
    a0 = world.agents[0]
    ids = world.convs[a0]
    given = ["default", *ids[::-1], ids[0]]
    for raw in (False, True):
        new = agent_history(
            client, a0, conversations=given, concurrency=3, include_raw=raw, progress=False
        )
        ref = ref_history([world.threads[a0, c] for c in given], include_raw=raw)
        same(
            new,
            ref,
            f"agent_history(conversations=[default, reversed, duplicate], include_raw={raw})",
        )


@live
def test_aagent_history_is_the_reference(world: World) -> None:
    a0 = world.agents[0]
    given = [world.small[3], "default", world.long]

    async def load() -> tuple[pd.DataFrame, pd.DataFrame]:
        async with AsyncLetta(base_url=world.base_url, max_retries=0) as ac:
            every = await aagent_history(ac, a0, concurrency=4, include_raw=True, progress=False)
            some = await aagent_history(ac, a0, conversations=given, progress=False)
            return every, some

    every, some = asyncio.run(load())
    same(
        every,
        ref_history([world.threads[a0, c] for c in world.convs[a0]], include_raw=True),
        "aagent_history",
    )
    same(
        some,
        ref_history([world.threads[a0, c] for c in given]),
        "aagent_history(conversations=...)",
    )


@live
def test_messages_frame_is_the_reference(world: World) -> None:
    for (a, cid), t in world.threads.items():
        extra = LONG_VARIANTS if cid == world.long else []
        for kw in VARIANTS + extra:
            new = messages_frame(world.client, cid, agent_id=a if cid == "default" else None, **kw)
            same(new, ref_messages(t, **kw), f"messages_frame({cid}, {kw})")


@live
def test_amessages_frame_is_the_reference(world: World) -> None:
    a0 = world.agents[0]
    cases = [(world.long, {}), (world.long, {"page_size": 13, "include_raw": True})]
    cases += [(world.long, {"order": "desc", "limit": 40}), (world.small[0], {"limit": 5})]
    cases += [("default", {"order": "desc"}), (world.convs[a0][0], {"include_raw": True})]

    async def load() -> list[pd.DataFrame]:
        async with AsyncLetta(base_url=world.base_url, max_retries=0) as ac:
            agent = {"agent_id": a0}
            return [
                await amessages_frame(ac, c, **(agent if c == "default" else {}), **kw)
                for c, kw in cases
            ]

    for (cid, kw), new in zip(cases, asyncio.run(load()), strict=True):
        same(new, ref_messages(world.threads[a0, cid], **kw), f"amessages_frame({cid}, {kw})")


# ------------------------------------------------------- multi-row messages, crafted

_AGENT = "agent-00000000-0000-4000-8000-000000000001"
_CONV = "conv-00000000-0000-4000-8000-000000000002"
_D = "2025-03-0{}T10:00:0{}.12345{}+00:00"


def _crafted() -> list[dict[str, Any]]:
    def m(i: int, mtype: str, **fields: Any) -> dict[str, Any]:
        date = _D.format(1 + i % 3, i % 10, i % 7)
        base = {"id": f"message-{i:02d}", "date": date, "message_type": mtype, "otid": None}
        return {**base, "run_id": f"run-{i // 4}", "step_id": None, "is_err": None, **fields}

    def call(name: str, args: str, cid: str) -> dict[str, Any]:
        return {"name": name, "arguments": args, "tool_call_id": cid}

    def ret(cid: str, status: str, value: str | None) -> dict[str, Any]:
        return {"tool_call_id": cid, "status": status, "tool_return": value}

    calls = [call("f", '{"x": 1}', "c1"), call("g", "not json", "c2")]
    parts = [{"type": "text", "text": HOSTILE}, {"type": "image", "source": {}}]
    no = {"approve": False, "reason": "no", "tool_call_id": "c4"}
    return [
        m(0, "system_message", content="sys"),
        m(1, "user_message", content=parts),
        m(2, "reasoning_message", reasoning="think"),
        m(2, "tool_call_message", tool_call=calls[0], tool_calls=calls),
        m(
            3,
            "tool_return_message",
            name=None,
            tool_returns=[ret("c1", "success", "1"), ret("c2", "error", None)],
        ),
        m(
            4,
            "approval_request_message",
            tool_calls=[call("send", "{}", "c3"), call("wipe", "", "c4")],
        ),
        m(5, "approval_response_message", approvals=[{"approve": True, "tool_call_id": "c3"}, no]),
        m(
            6,
            "approval_response_message",
            approvals=[{"type": "tool", **ret("c9", "success", "ok")}],
        ),
        m(7, "tool_call_message", tool_call=call("h", "[1]", "c5")),
        m(7, "assistant_message", content=None, is_err=True, sender_id="x"),
        m(8, "event_message", event_type="compaction", event_data={"n": 2}),
        m(9, "future_message", text="from a newer server"),
        m(9, "summary_message", summary="so far"),
    ]


def _batches(msgs: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [copy.deepcopy(msgs[i : i + size]) for i in range(0, len(msgs), size)]


def test_multi_row_messages_normalize_as_before() -> None:
    """The crafted messages through today's normalizer and the frozen one, batch by batch
    (as pages arrive) and through per-conversation segments joined in order (as
    agent_history collects them). No server: the loaders' paging is tested above on
    the devserver, and a fake server is no test of it."""
    msgs = _crafted()
    ctx = ["message-01", "message-02"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unknown type's warning
        for include_raw in (False, True):
            for size in (len(msgs), 1, 2, 5):
                new, old = (
                    RowCollector(include_raw=include_raw),
                    frozen_rows.RowCollector(include_raw=include_raw),
                )
                parts = {cid: new.segment() for cid in (_CONV, "default")}
                for cid in (_CONV, "default"):
                    seq_old = 0
                    for batch in _batches(msgs, size):
                        seq_old = old.add(
                            batch, conversation_id=cid, agent_id=_AGENT, in_context_ids=ctx,
                            seq_start=seq_old,
                        )  # fmt: skip
                seqs = dict.fromkeys(parts, 0)
                # the pages of the two conversations arrive interleaved
                pairs = zip(_batches(msgs, size), _batches(msgs, size), strict=True)
                for b1, b2 in pairs:
                    for cid, batch in ((_CONV, b1), ("default", b2)):
                        seqs[cid] = parts[cid].add(
                            batch, conversation_id=cid, agent_id=_AGENT, in_context_ids=ctx,
                            seq_start=seqs[cid],
                        )  # fmt: skip
                for part in parts.values():
                    new.join(part)
                want = old.frame()
                assert len(want) == 2 * (len(msgs) + 4)  # four messages of two rows each
                same(new.frame(), want, f"crafted, batches of {size}, raw={include_raw}")
