"""CompareView against the devserver: concurrency, server truth, votes, batches, failures."""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import letta_client
import pandas as pd
import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.compare_stats import RESULT_COLUMNS, align_turns, wilson_interval
from letta_widgets.errors import ConversationBusy, LettaWidgetsError
from letta_widgets.frames import messages_frame
from letta_widgets.stream import TurnEngine
from letta_widgets.widgets.base import LettaWidget
from letta_widgets.widgets.compare import CompareView, Variant

pytestmark = [pytest.mark.timeout(120), pytest.mark.real_server]
devserver_only = pytest.mark.devserver_only  # delay / fault headers, send_email approvals

STEP = {"X-Devserver-Step-Delay-Ms": "1500"}


def _messages(client: Letta, conversation_id: str) -> list[dict[str, Any]]:
    page = client.conversations.messages.list(conversation_id, limit=500, order="asc")
    return [m.to_dict(mode="json") for m in page.items]


def _run_messages(client: Letta, conversation_id: str, run_id: str) -> list[dict[str, Any]]:
    return [m for m in _messages(client, conversation_id) if m.get("run_id") == run_id]


def _when(msg: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(msg["date"]).replace("Z", "+00:00"))


def _seeded_conversation(client: Letta, agent_id: str) -> str:
    conv = client.conversations.create(agent_id=agent_id).id
    stream = client.conversations.messages.create(
        conv, messages=[{"role": "user", "content": "Hello"}]
    )
    list(stream)  # to the end: the run is over before a variant forks or sends
    return conv


@devserver_only
def test_rounds_stream_concurrently_by_server_timestamps(client: Letta, agent: Any) -> None:
    """Every variant's run was in progress at once: proven by the server's message dates.

    Each run takes two 1.5 s steps (memory tool + answer). The server stamps the user
    message when the run starts and each step's message when the step ends (whole
    seconds). If max(start) < min(end) in whole seconds then every real start precedes
    every real end (s < floor(s) + 1 <= floor(e) <= e): all runs overlapped.
    """
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView(
        client, [Variant(fork_of=conv, headers=STEP) for _ in range(3)], labels=["A", "B", "C"]
    )
    rnd = cmp.send("Please remember that I like green tea.")
    assert all(t is not None and t.ok for t in rnd.turns.values())
    starts, ends = [], []
    for label, turn in rnd.turns.items():
        msgs = _run_messages(client, cmp.conversation_ids[label], turn.run_id)
        users = [m for m in msgs if m["message_type"] == "user_message"]
        assert len(users) == 1
        starts.append(_when(users[0]))
        ends.append(max(_when(m) for m in msgs))
        assert (ends[-1] - starts[-1]).total_seconds() >= 2  # two 1.5 s steps
    assert max(starts) < min(ends), (starts, ends)
    # the server's run records agree (completed_at is naive UTC on letta 0.16.8)
    runs = [client.runs.retrieve(t.run_id) for t in rnd.turns.values() if t is not None]
    utc = [(r.created_at, r.completed_at.replace(tzinfo=r.created_at.tzinfo)) for r in runs]
    assert max(start for start, _ in utc) < min(end for _, end in utc)


@devserver_only
@pytest.mark.both_profiles
def test_results_equal_what_the_server_recorded(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView.fork(client, conv, n=2, models=["openai/gpt-4o-mini", "anthropic/x"])
    cmp.send("What's my name?")
    cmp.send("Please remember that I like green tea.")
    df = cmp.results
    assert list(df.columns) == RESULT_COLUMNS
    assert len(df) == 4
    assert df["model"].tolist() == ["openai/gpt-4o-mini", "anthropic/x"] * 2
    for row in df.itertuples():
        msgs = _run_messages(client, row.conversation_id, row.run_id)
        assert msgs, row
        user = [m for m in msgs if m["message_type"] == "user_message"]
        assert [m["content"] for m in user] == [row.prompt]
        answers = [m["content"] for m in msgs if m["message_type"] == "assistant_message"]
        assert row.text == "\n\n".join(answers)
        calls = [m for m in msgs if m["message_type"] == "tool_call_message"]
        assert row.tool_calls == len(calls)
        steps = {m.get("step_id") for m in msgs if m["message_type"] != "user_message"}
        assert row.steps == len(steps)
        assert row.stop_reason == "end_turn"
        assert pd.isna(row.error)
        assert row.total_tokens == row.prompt_tokens + row.completion_tokens
        assert 0 < row.ttft_s <= row.total_s
    # the frame written to disk reads back the same
    assert set(df["blocks_changed"].dropna()) == {"human"}


def test_votes_summary_and_export(client: Letta, agent: Any, tmp_path: Any) -> None:
    cmp = CompareView.new(client, agent.id, n=2)
    ids = [cmp.send(p).prompt_id for p in ("hi", "What's my name?", "hello", "thanks")]
    cmp.vote(ids[0], "A", note="shorter")
    cmp.vote(ids[1], "A")
    cmp.vote(ids[2], "tie")
    cmp.vote("all_bad")  # the shown round: the last one
    assert cmp.tally == {"A": 2, "tie": 1, "all_bad": 1}
    with pytest.raises(ValueError, match="unknown vote"):
        cmp.vote(ids[0], "Z")
    with pytest.raises(KeyError):
        cmp.vote("p9999-nope", "A")
    df = cmp.results
    assert df.loc[df["prompt_id"] == ids[0], "note"].tolist() == ["shorter", "shorter"]
    assert df.loc[df["prompt_id"] == ids[3], "vote"].unique().tolist() == ["all_bad"]
    summary = cmp.summary()
    assert summary.loc["A", "wins"] == 2 and summary.loc["B", "wins"] == 0
    assert summary.loc["A", "voted"] == 4
    assert summary.loc["A", "win_rate"] == 0.5
    lo, hi = wilson_interval(2, 4)
    assert math.isclose(summary.loc["A", "win_rate_low"], lo)
    assert math.isclose(summary.loc["A", "win_rate_high"], hi)
    assert summary.loc["A", "median_total_s"] == pytest.approx(
        df[df.variant == "A"]["total_s"].median()
    )
    # the front-end vote message takes the same path
    cmp._dispatch(cmp, {"kind": "vote", "prompt_id": ids[2], "choice": "B", "note": "n"}, [])
    assert cmp.summary().loc["B", "wins"] == 1
    cmp.to_parquet(tmp_path / "r.parquet")
    cmp.to_csv(tmp_path / "r.csv")
    back = pd.read_parquet(tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(back, cmp.results)
    assert len(pd.read_csv(tmp_path / "r.csv")) == 8


def test_batch_runs_each_prompt_in_fresh_forks(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    base = _messages(client, conv)
    cmp = CompareView.fork(client, conv, n=2)
    own = dict(cmp.conversation_ids)
    own_before = {k: len(_messages(client, v)) for k, v in own.items()}
    prompts = ["What's my name?", "Please remember that I like green tea.", "hi"]
    df = cmp.run(prompts, repeats=2, progress=False)
    assert len(df) == len(prompts) * 2 * 2
    assert df.groupby("prompt").size().tolist() == [4, 4, 4]
    assert sorted(df["repeat"].unique()) == [0, 1]
    # every (prompt, repeat, variant) ran in its own new conversation
    assert df["conversation_id"].nunique() == len(df)
    assert not set(df["conversation_id"]) & set(own.values())
    # ... holding the source history up to the fork point and this prompt only
    base_users = [m["content"] for m in base if m["message_type"] == "user_message"]
    for row in df.itertuples():
        msgs = _messages(client, row.conversation_id)
        users = [m["content"] for m in msgs if m["message_type"] == "user_message"]
        assert users == [*base_users, row.prompt]
    # the variants' own conversations were not touched
    assert {k: len(_messages(client, v)) for k, v in own.items()} == own_before
    # results accumulate
    cmp.run(["hello"], progress=False)
    assert len(cmp.results) == len(df) + 2
    assert cmp.round_count == 7


@devserver_only
def test_a_failing_variant_shows_its_error_and_the_others_finish(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView(
        client,
        [
            Variant(fork_of=conv),
            Variant(fork_of=conv, headers={"X-Devserver-Fault": "status=409"}),
            Variant(fork_of=conv, headers={"X-Devserver-Fault": "status=500"}),
            Variant(fork_of=conv, headers={"X-Devserver-Fault": "error_event=fatal"}),
        ],
    )
    rnd = cmp.send("What's my name?")
    assert rnd.errors["A"] is None and "Ada" in (rnd.texts["A"] or "")
    assert isinstance(rnd.errors["B"], ConversationBusy)
    assert rnd.errors["C"] is not None and rnd.errors["C"].status == 500
    assert rnd.errors["D"] is not None
    cols = {c["label"]: c for c in cmp.columns}
    assert cols["A"]["status"] == "done" and not cols["A"]["error"]
    for label in "BCD":
        assert cols[label]["status"] == "error" and cols[label]["error"], label
    df = cmp.results
    assert df.set_index("variant")["error"].notna().tolist() == [False, True, True, True]
    assert "failed: B, C, D" in cmp.status_text
    # the view keeps working
    assert cmp.send("hi").errors["A"] is None


@devserver_only
def test_timeout_cancels_that_variant_only(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    slow = {"X-Devserver-Step-Delay-Ms": "8000"}
    cmp = CompareView(
        client, [Variant(fork_of=conv), Variant(fork_of=conv, headers=slow)], timeout=2
    )
    rnd = cmp.send("What's my name?")
    assert rnd.errors["A"] is None
    assert "did not finish within 2 s" in str(rnd.errors["B"])
    # the slow run was cancelled on the server: nothing left to cancel
    with pytest.raises(letta_client.ConflictError):
        client.conversations.cancel(cmp.conversation_ids["B"])


def test_stop_stops_every_column_and_the_server_runs(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView(client, [Variant(fork_of=conv) for _ in range(3)])

    def stop_once_every_column_streams() -> None:  # Stop arrives on another thread
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and {c["status"] for c in cmp.columns} != {"streaming"}:
            time.sleep(0.02)
        cmp.stop()

    threading.Thread(target=stop_once_every_column_streams, daemon=True).start()
    rnd = cmp.send("slow: tell me a long story, please")  # both servers pace "slow" replies
    assert rnd.stopped
    assert cmp.status == "stopped"
    assert all(t is not None and t.stop_reason == "cancelled" for t in rnd.turns.values())
    assert {c["status"] for c in cmp.columns} == {"stopped"}
    for conv_id in cmp.conversation_ids.values():
        with pytest.raises(letta_client.ConflictError):
            client.conversations.cancel(conv_id)
    assert cmp.send("hi").errors["A"] is None  # usable afterwards


def test_second_send_while_busy_is_refused(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView(client, [Variant(fork_of=conv, headers=STEP)])
    job = cmp.start("hi")
    with pytest.raises(ConversationBusy):
        cmp.send("again")
    job.result()
    assert cmp.round_count == 1


def test_shared_memory_notice(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView.fork(client, conv, n=2)
    cmp.send("What's my name?")
    assert cmp.round["notice"] == ""
    cmp.send("Please remember that I like green tea.")
    notice = cmp.round["notice"]
    assert "Shared memory changed" in notice and "'human'" in notice
    assert "memory_insert" in notice
    block = client.agents.blocks.retrieve("human", agent_id=agent.id)
    assert "green tea" in block.value


@devserver_only
def test_mixed_variants_and_overrides(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    seen: list[dict[str, Any]] = []
    real_run = TurnEngine.run

    async def spy(self: Any, message: Any, **kwargs: Any) -> Any:
        seen.append({"conv": self.conversation_id, **kwargs})
        return await real_run(self, message, **kwargs)

    cmp = CompareView(
        client,
        [
            conv,
            {"agent_id": agent.id, "model": "openai/gpt-4o"},
            Variant(fork_of=conv, system="You answer in one word."),
        ],
        labels=["orig", "new", "forked"],
    )
    kinds = [v["kind"] for v in cmp.variants]
    assert kinds == ["conversation", "new", "fork"]
    assert cmp.conversation_ids["orig"] == conv
    TurnEngine.run = spy  # type: ignore[method-assign]
    try:
        rnd = cmp.send("hi")
    finally:
        TurnEngine.run = real_run  # type: ignore[method-assign]
    assert all(e is None for e in rnd.errors.values())
    by_conv = {s["conv"]: s for s in seen}
    assert by_conv[cmp.conversation_ids["new"]]["override_model"] == "openai/gpt-4o"
    assert by_conv[cmp.conversation_ids["forked"]]["override_system"] == "You answer in one word."
    assert by_conv[conv]["override_model"] is None
    # the synced state holds no client, key or header
    state = str(cmp.get_state())
    assert "X-Devserver" not in state and "api_key" not in state


def test_deltas_are_coalesced_into_few_front_end_messages(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    tokens = {"X-Devserver-Token-Delay-Ms": "2"}
    cmp = CompareView(client, [Variant(fork_of=conv, headers=tokens) for _ in range(4)])
    sent: list[tuple[float, Any]] = []
    real = LettaWidget.send_custom

    def counting(self: Any, content: Any) -> None:
        sent.append((time.monotonic(), content))
        real(self, content)

    LettaWidget.send_custom = counting  # type: ignore[method-assign]
    try:
        rnd = cmp.send("Tell me a long story about the sea, please.")
    finally:
        LettaWidget.send_custom = real  # type: ignore[method-assign]
    assert all(t is not None and t.ok for t in rnd.turns.values())
    assert sent, "no live ops reached the front-end"
    deltas = [c for _, c in sent if any(op["op"] == "delta" for op in c.get("ops", []))]
    span = sent[-1][0] - sent[0][0]
    assert len(deltas) <= 30 * span + 5, (len(deltas), span)
    text = "".join(op["text"] for c in deltas for op in c["ops"] if op["op"] == "delta")
    assert sum(len(t.reasoning) + len(t.assistant_text) for t in rnd.turns.values()) >= len(text)


@devserver_only
@pytest.mark.both_profiles
def test_from_history_aligns_turns_and_sends_nothing(client: Letta, agent: Any) -> None:
    a = client.conversations.create(agent_id=agent.id).id
    b = client.conversations.create(agent_id=agent.id).id
    for conv, prompts in ((a, ["hi", "What's my name?", "thanks"]), (b, ["hi", "thanks", "bye"])):
        for p in prompts:
            client.conversations.messages.create(conv, messages=[{"role": "user", "content": p}])
    frames = [messages_frame(client, a), messages_frame(client, b)]
    aligned = align_turns(frames)
    assert aligned["prompt"].tolist()[::2] == ["hi", "What's my name?", "thanks", "bye"]
    assert aligned["gap"].tolist() == [False, False, False, True, False, False, True, False]
    cmp = CompareView.from_history(client, [a, b])
    assert cmp.readonly and cmp.round_count == 4
    pd.testing.assert_frame_equal(
        cmp.results.drop(columns=["started_at"]), aligned.drop(columns=["started_at"])
    )
    for row in cmp.results[~cmp.results["gap"]].itertuples():
        msgs = _run_messages(client, row.conversation_id, row.run_id)
        assert row.text == "\n\n".join(
            m["content"] for m in msgs if m["message_type"] == "assistant_message"
        )
    cmp.show_round(1)
    assert [c["status"] for c in cmp.columns] == ["done", "gap"]
    before = len(_messages(client, a))
    with pytest.raises(LettaWidgetsError, match="sends nothing"):
        cmp.send("hello")
    assert len(_messages(client, a)) == before
    cmp.vote("h0000", "A")
    assert cmp.summary().loc["A", "wins"] == 1


@pytest.mark.both_profiles
def test_votes_saved_as_step_feedback_come_back_in_from_history(
    client: Letta, agent: Any, is_devserver: bool
) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView.fork(client, conv, n=3, feedback="server")
    first = cmp.send("Tell me about tea")
    second = cmp.send('call:memory_insert {"label": "human", "new_string": "Likes tea."}')
    cmp.vote(first.prompt_id, "B", note="B is warmer")  # saved at once (feedback="server")
    steps = {c.label: c.last_step for c in first._cells}
    got = {label: client.steps.retrieve(step) for label, step in steps.items()}
    assert {k: v.feedback for k, v in got.items()} == {
        "A": "negative",
        "B": "positive",
        "C": "negative",
    }
    assert "note:B is warmer" in (got["B"].tags or [])
    cmp.vote(second.prompt_id, "tie")
    saved = cmp.save_feedback()
    assert len(saved) == 6 and set(saved["feedback"]) == {"positive", "negative"}
    # the server's step metrics (LLM vs tool time) reach the results where it keeps them
    # (letta 0.16.8 records them in the background: right after a turn they may be missing)
    rows = cmp.results.set_index(["prompt_id", "variant"])
    if is_devserver:
        assert (rows["llm_s"] > 0).all()
        assert (rows.loc[second.prompt_id, "tool_s"] > 0).all()  # that round called a tool
    # read back: the same votes and note from the server, in a history view of the forks
    history = CompareView.from_history(client, list(first.turns[k].conversation_id for k in "ABC"))
    votes = history.results.drop_duplicates("prompt_id").set_index("prompt")["vote"]
    assert votes["Tell me about tea"] == "B"
    assert votes['call:memory_insert {"label": "human", "new_string": "Likes tea."}'] == "tie"
    assert (
        history.results.drop_duplicates("prompt_id").set_index("prompt")["note"][
            "Tell me about tea"
        ]
        == "B is warmer"
    )


def test_asend_and_arun_are_awaitable(client: Letta, agent: Any) -> None:
    import asyncio

    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView.fork(client, conv, n=2)

    async def go() -> tuple[Any, pd.DataFrame]:
        rnd = await cmp.asend("What's my name?")
        batch = await cmp.arun(["hi", "thanks"], progress=False)
        return rnd, batch

    rnd, batch = asyncio.run(go())
    assert all("Ada" in (t or "") for t in rnd.texts.values())
    assert len(batch) == 4 and batch["error"].isna().all()
    assert len(cmp.results) == 6


@devserver_only
def test_stop_during_a_batch_ends_the_batch(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    slow = {"X-Devserver-Step-Delay-Ms": "1000"}
    cmp = CompareView(client, [Variant(fork_of=conv, headers=slow) for _ in range(2)])
    threading.Timer(1.5, cmp.stop).start()
    df = cmp.run(["hi", "thanks", "hello", "bye", "ok"], progress=False)
    assert 2 <= len(df) <= 4  # the first round or two, the last one stopped
    assert df["stop_reason"].iloc[-1] == "cancelled"
    assert cmp.status == "stopped"


@devserver_only
def test_a_pending_approval_is_explained_in_its_column(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView.fork(client, conv, n=2)
    rnd = cmp.send("Send an email to ada@example.com about the meeting.")
    assert {t.stop_reason for t in rnd.turns.values() if t is not None} == {"requires_approval"}
    for col in cmp.columns:
        assert "waits for approval" in col["note"]
        assert col["conversation_id"] in col["note"]
        assert any(i["type"] == "approval_request_message" for i in col["items"])
    assert cmp.results["tool_calls"].tolist() == [1, 1]


def test_stop_right_after_send_leaves_a_clean_stopped_round(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    cmp = CompareView.fork(client, conv, n=3)
    job = cmp.start("hi", fresh=True)
    cmp.stop()
    assert job.wait_finished(10)
    assert cmp.status == "stopped"
    assert {c["status"] for c in cmp.columns} == {"stopped"}
    assert cmp.rounds[-1].stopped
    assert cmp.send("What's my name?").errors == {"A": None, "B": None, "C": None}


@devserver_only
def test_a_compaction_in_one_column_is_a_line_there(client: Letta, agent: Any) -> None:
    conv = _seeded_conversation(client, agent.id)
    for n in range(3):
        list(
            client.conversations.messages.create(
                conv, messages=[{"role": "user", "content": f"fact {n}"}]
            )
        )
    compact = {"X-Devserver-Context-Messages": "6"}  # the devserver compacts past 6 messages
    cmp = CompareView(client, [Variant(fork_of=conv), Variant(fork_of=conv, headers=compact)])
    rnd = cmp.send("One more, please.")
    plain, compacted = (rnd.turns[k] for k in ("A", "B"))
    assert plain.compactions == [] and len(compacted.compactions) == 1
    types = [[i["type"] for i in col["items"]] for col in cmp.columns]
    assert "summary_message" not in types[0] and types[1].count("summary_message") == 1
    assert "event_message" not in types[1]
    assert "Conversation compacted" in next(
        i["html"] for i in cmp.columns[1]["items"] if i["type"] == "summary_message"
    )


def test_blind_rounds_hide_and_shuffle_the_labels_and_votes_map_back(
    client: Letta, agent: Any
) -> None:
    conv = client.conversations.create(agent_id=agent.id).id
    with pytest.raises(ValueError, match="at least two variants"):
        CompareView(client, [Variant(fork_of=conv)], blind=True)
    cmp = CompareView(client, [Variant(fork_of=conv), Variant(fork_of=conv)], blind=True, seed=7)
    orders = []
    for n in range(6):
        cmp.send(f"question {n}", fresh=True)
        assert [c["label"] for c in cmp.columns] == ["Response 1", "Response 2"]
        assert not any(c["model"] or c["conversation_id"] for c in cmp.columns)
        shown = cmp.results["display_order"].iloc[-1].split(",")
        orders.append(shown)
        cmp.vote("Response 1")  # the left column, whichever variant it is
        assert cmp.rounds[-1].vote == shown[0]
        assert [c["label"] for c in cmp.columns] == shown  # revealed
    assert ["A", "B"] in orders and ["B", "A"] in orders  # shuffled per round
    again = CompareView(client, [Variant(fork_of=conv), Variant(fork_of=conv)], blind=True, seed=7)
    again.send("question 0", fresh=True)
    assert again.results["display_order"].iloc[0].split(",") == orders[0]  # seeded
    votes = cmp.results.drop_duplicates("prompt_id")
    assert (votes["vote"] == votes["display_order"].str.split(",").str[0]).all()


@pytest.mark.devserver_only  # needs the devserver's judging rule and its model handles
def test_a_letta_judge_scores_every_round_in_both_orders(client: Letta, agent: Any) -> None:
    """The devserver's judge prefers the longer answer, whatever the order: consistent."""
    knows = client.conversations.create(agent_id=agent.id).id
    list(
        client.conversations.messages.create(
            knows, messages=[{"role": "user", "content": "My name is Grace."}]
        )
    )
    fresh = client.conversations.create(agent_id=agent.id).id
    cmp = CompareView(client, [Variant(fork_of=knows), Variant(fork_of=fresh)])
    cmp.run(["What is my name?", "hi"], progress=False)
    judge_agent = client.agents.create(name="judge", model="openai/gpt-4o-mini",
                                       embedding="openai/text-embedding-3-small")  # fmt: skip
    before = {c.id for c in client.conversations.list(agent_id=judge_agent.id)}
    verdicts = cmp.judge(lw.LettaJudge(client, agent_id=judge_agent.id))
    assert len(verdicts) == 2 and verdicts["judge_consistent"].all()
    texts = cmp.results.set_index(["prompt_id", "variant"])["text"]
    for row in verdicts.itertuples():
        a, b = (len(texts[(row.prompt_id, v)].split()) for v in "AB")
        assert row.judge_winner == ("A" if a > b else "B" if b > a else "tie")
        assert "words" in row.judge_rationale
    assert cmp.results["judge_winner"].notna().all()
    assert cmp.round["judge"]["winner"] == verdicts["judge_winner"].iloc[-1]
    # the judge's questions leave nothing in its agent's list
    assert {c.id for c in client.conversations.list(agent_id=judge_agent.id)} == before


def test_a_judge_that_fails_on_one_round_leaves_the_others(client: Letta, agent: Any) -> None:
    conv = client.conversations.create(agent_id=agent.id).id
    cmp = CompareView(client, [Variant(fork_of=conv), Variant(fork_of=conv)])
    cmp.run(["hi", "thanks"], progress=False)

    def picky(prompt: str, a: str, b: str) -> dict[str, str]:
        if prompt == "hi":
            raise ValueError("cannot judge greetings")
        return {"winner": "tie", "rationale": "the same"}

    out = cmp.judge(picky).set_index("prompt_id")
    first, second = (r.prompt_id for r in cmp.rounds)
    assert pd.isna(out.loc[first, "judge_winner"])
    assert "ValueError: cannot judge greetings" in out.loc[first, "judge_rationale"]
    assert out.loc[second, "judge_winner"] == "tie" and out.loc[second, "judge_consistent"]
    assert "1 failed" in cmp.status_text


FIXTURES = Path(__file__).parent.parent / "fixtures" / "letta-evals"


def test_a_letta_evals_results_directory_opens_as_a_view(tmp_path: Path) -> None:
    cmp = CompareView.from_letta_evals(FIXTURES / "results")
    models = {"openai/gpt-4o-mini", "anthropic/claude-3-5-sonnet"}
    assert cmp.readonly and {v["label"] for v in cmp.variants} == models
    res = cmp.results
    assert res["eval_score"].notna().any() and res["prompt_id"].nunique() == cmp.round_count
    assert all(len(r._cells) == 2 for r in cmp.rounds)
    cmp.vote(cmp.rounds[0].prompt_id, cmp.rounds[0]._cells[1].label)
    assert cmp.summary()["voted"].sum() == 2 and cmp.chart["win"]
    with pytest.raises(LettaWidgetsError, match="sends nothing"):
        cmp.send("hello")


@pytest.mark.devserver_only  # needs the devserver's model handles (priced, and an override model)
def test_votes_go_out_as_a_letta_evals_dataset(client: Letta, agent: Any, tmp_path: Path) -> None:
    conv = client.conversations.create(agent_id=agent.id).id
    cmp = CompareView(client, [Variant(fork_of=conv), Variant(fork_of=conv, model="openai/gpt-4o")])
    cmp.run(["hi", "What is my name?"], progress=False)
    cmp.vote(cmp.rounds[0].prompt_id, "B")
    out = cmp.to_letta_evals(tmp_path / "ab.jsonl")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["input"] for x in lines] == ["hi", "What is my name?"]
    assert lines[0]["ground_truth"] == cmp.rounds[0].texts["B"]
    assert "ground_truth" not in lines[1]  # not voted
    assert lines[0]["extra_vars"]["variants"]["B"]["model"] == "openai/gpt-4o"
    assert cmp.results["cost_usd"].notna().all()  # both models are in the price table
    assert cmp.chart  # two rounds: the summary is drawn
    fig = cmp.report()
    assert len(fig.axes) == 2


@pytest.mark.devserver_only  # needs a priced model handle (the real tier's stub model has no price)
def test_repeats_count_each_prompt_once_and_show_their_spread(client: Letta, agent: Any) -> None:
    conv = client.conversations.create(agent_id=agent.id).id
    cmp = CompareView(client, [Variant(fork_of=conv), Variant(fork_of=conv, model="x/unknown")])
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        cmp.run(["hi"], repeats=0, progress=False)
    new = cmp.run(["hi", "thanks"], repeats=3, progress=False)
    assert len(new) == 12 and sorted(new["repeat"].unique()) == [0, 1, 2]
    assert new["conversation_id"].nunique() == 12  # every repeat in a fresh fork
    for rnd in cmp.rounds:
        if rnd.prompt == "hi":
            cmp.vote(rnd.prompt_id, "A")
    s = cmp.summary()
    assert s.loc["A", "voted"] == 1 and s.loc["A", "wins"] == 1  # one prompt, not three rounds
    assert s.loc["A", "repeat_agreement"] == 1.0
    assert "repeat_cv_total_s" in s.columns
    priced = cmp.results.set_index("variant")["cost_usd"]
    assert priced["A"].notna().all() and priced["B"].isna().all()  # an unknown model: NaN
    assert "x/unknown" in cmp.columns[1]["cost_note"]
