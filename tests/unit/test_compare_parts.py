"""CompareView's server-free parts: variant labels, rounds' rows and columns, memory notice."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from letta_widgets.widgets.compare.memory import memory_notice
from letta_widgets.widgets.compare.rounds import Cell, Round, column_info, result_row
from letta_widgets.widgets.compare.variants import Variant, spread_variants, variant_labels


def _call(name: str, label: str | None = None, status: str = "success") -> dict[str, Any]:
    return {"name": name, "arguments": {"label": label} if label else {}, "status": status}


def _round(*calls: list[dict[str, Any]]) -> Round:
    rnd = Round(prompt_id="p0000", index=0, prompt="hi")
    for label, tool_calls in zip("AB", calls, strict=False):
        turn: Any = SimpleNamespace(tool_calls=tool_calls)
        rnd._cells.append(Cell(label=label, turn=turn))
    return rnd


AGENTS = {"A": "agent-1", "B": "agent-1"}


def test_variant_labels_default_named_and_checked() -> None:
    specs = [Variant(conversation_id="c1", label="base"), Variant(conversation_id="c2")]
    assert variant_labels(specs, None) == ["base", "B"]
    assert variant_labels(specs, ["x", "y"]) == ["x", "y"]
    with pytest.raises(ValueError, match="distinct"):
        variant_labels(specs, ["x", "x"])
    with pytest.raises(ValueError, match="reserved"):
        variant_labels(specs, ["tie", "y"])
    with pytest.raises(ValueError, match="1 labels for 2"):
        variant_labels(specs, ["x"])


def test_spread_variants_grows_to_the_models() -> None:
    got = spread_variants(2, ["m1", "m2", "m3"], None, agent_id="agent-1")
    assert [(v.agent_id, v.model, v.system) for v in got] == [
        ("agent-1", "m1", None),
        ("agent-1", "m2", None),
        ("agent-1", "m3", None),
    ]


def test_memory_notice_names_the_variant_whose_tool_changed_a_block() -> None:
    rnd = _round([_call("memory_insert", "human")], [_call("web_search")])
    before = {"agent-1": {"human": "old", "persona": "p"}}
    after = {"agent-1": {"human": "new", "persona": "p"}}
    notice = memory_notice(rnd, AGENTS, before, after)
    assert notice.startswith("Shared memory changed: A's turn changed memory 'human'")
    assert "(memory_insert)" in notice
    assert [c.blocks_changed for c in rnd._cells] == [["human"], []]


def test_memory_notice_ignores_a_tool_that_changed_nothing() -> None:
    rnd = _round([_call("memory_replace", "human")])
    blocks = {"agent-1": {"human": "same"}}
    assert memory_notice(rnd, AGENTS, blocks, blocks) == ""
    assert rnd._cells[0].blocks_changed == []


def test_memory_notice_without_block_reads_trusts_the_tool_calls() -> None:
    rnd = _round([_call("core_memory_append", "persona"), _call("memory_x", status="error")])
    notice = memory_notice(rnd, AGENTS, None, None)
    assert "A's turn changed memory 'persona' (core_memory_append)" in notice
    assert rnd._cells[0].blocks_changed == ["persona"]


def test_memory_notice_reports_a_change_no_variant_made() -> None:
    rnd = _round([], [])
    notice = memory_notice(rnd, AGENTS, {"agent-1": {"human": "a"}}, {"agent-1": {}})
    assert "block(s) human" in notice and "another client" in notice


def test_history_cell_row_and_column_take_its_metrics() -> None:
    rnd = Round(prompt_id="h0000", index=0, prompt="hi", done=True)
    hist = {"conversation_id": "conv-h", "run_id": "run-1", "ttft_s": 0.5, "total_s": 2.0}
    hist |= {"steps": 2, "tool_calls": 1, "text": "hello", "error": None}
    cell = Cell(label="A", conversation_id="conv-v", history=hist, text="hello", status="done")
    row = result_row(rnd, cell)
    assert row["conversation_id"] == "conv-h"
    assert (row["run_id"], row["ttft_s"], row["steps"], row["tool_calls"]) == ("run-1", 0.5, 2, 1)
    assert row["prompt_tokens"] is None and row["stop_reason"] is None
    col = column_info(cell)
    assert col["metrics"]["total_s"] == 2.0 and col["metrics"]["total_tokens"] is None
    assert col["status"] == "done" and col["note"] == ""
    assert column_info(Cell(label="B", gap=True))["status"] == "gap"


def test_history_cell_keeps_the_recorded_error_in_row_and_column() -> None:
    rnd = Round(prompt_id="h0000", index=0, prompt="hi", done=True)
    hist = {"conversation_id": "conv-h", "text": "", "error": "tool send_email failed"}
    cell = Cell(label="A", history=hist, status="error")
    assert result_row(rnd, cell)["error"] == "tool send_email failed"
    assert column_info(cell)["error"] == "tool send_email failed"
    fine = Cell(label="B", history={**hist, "error": None}, status="done")
    assert result_row(rnd, fine)["error"] is None and column_info(fine)["error"] == ""


def test_votes_become_step_feedback_and_come_back() -> None:
    from letta_widgets.widgets.compare.feedback import (
        FEEDBACK_TAG,
        polarity,
        round_tags,
        vote_from_feedback,
    )

    labels = ["A", "B", "C"]
    assert polarity("B", labels) == {"A": "negative", "B": "positive", "C": "negative"}
    assert set(polarity("tie", labels).values()) == {"positive"}
    assert set(polarity("all_bad", labels).values()) == {"negative"}
    assert polarity(None, labels) == {"A": None, "B": None, "C": None}
    tags = round_tags("p0001", "B", "  B cites\\n its source ")
    assert tags[0] == FEEDBACK_TAG and "vote:B" in tags and tags[-1].startswith("note:B cites")
    for vote in ("A", "B", "tie", "all_bad"):
        found = {
            label: {"feedback": mark, "tags": round_tags("p1", vote, "why")}
            for label, mark in polarity(vote, labels).items()
        }
        assert vote_from_feedback(found) == (vote, "why")
    # feedback someone else wrote (no tag), or missing for one variant: no vote
    assert vote_from_feedback({"A": {"feedback": "positive", "tags": []}, "B": None}) == (
        None,
        None,
    )
    partial = {"A": {"feedback": "positive", "tags": [FEEDBACK_TAG]}, "B": None}
    assert vote_from_feedback(partial)[0] is None
