"""CompareView results <-> letta-evals (0.26): the dataset we write (a golden file) and a
results directory read back (fixtures written by letta-evals' own models, see
tests/fixtures/letta-evals/make_results.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from letta_widgets.compare_stats import RESULT_COLUMNS, results_frame, summarize
from letta_widgets.letta_evals import (
    EVAL_COLUMNS,
    dataset_records,
    read_letta_evals_results,
    write_letta_evals_dataset,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "letta-evals"
MODELS = {"A": "openai/gpt-4o-mini", "B": "anthropic/claude-3-5-sonnet"}
CONFIG = {"A": {"kind": "fork", "system": None}, "B": {"kind": "fork", "system": "Be brief."}}


def compare_results() -> pd.DataFrame:
    """A CompareView batch: one prompt run twice, three once, votes of every kind."""
    rounds = [
        ("p0000-aaaaaa", "What is 2 + 2?", 0, "B", ("4", "2 + 2 = 4.")),
        ("p0001-bbbbbb", "What is 2 + 2?", 1, "B", ("Four", "It is 4.")),
        ("p0002-cccccc", "Name a primary colour.", 0, "A", ("Red.", "Teal.")),
        ("p0003-dddddd", "Say hi in French.", 0, "tie", ("Bonjour", "Salut")),
        ("p0004-eeeeee", "Tell me a joke.", 0, None, (None, "Knock knock.")),
    ]
    rows = []
    for i, (pid, prompt, repeat, vote, texts) in enumerate(rounds):
        for label, text in zip("AB", texts, strict=True):
            rows.append(
                {
                    "prompt_id": pid,
                    "round": i,
                    "repeat": repeat,
                    "prompt": prompt,
                    "variant": label,
                    "model": MODELS[label],
                    "conversation_id": f"conv-{label.lower()}{i}",
                    "text": text,
                    "error": None if text else "the server went away",
                    "vote": vote,
                }
            )
    return results_frame(rows)


def test_dataset_is_one_sample_per_prompt_with_the_chosen_answer(tmp_path: Path) -> None:
    records = dataset_records(compare_results(), CONFIG)
    assert [r["id"] for r in records] == ["p0000-aaaaaa", "p0002-cccccc", "p0003-dddddd",
                                          "p0004-eeeeee"]  # fmt: skip
    first = records[0]
    assert first["input"] == "What is 2 + 2?"
    assert first["ground_truth"] == "2 + 2 = 4."  # B won both repeats: its first voted answer
    assert first["extra_vars"]["prompt_ids"] == ["p0000-aaaaaa", "p0001-bbbbbb"]
    assert first["extra_vars"]["variants"]["B"] == {
        "kind": "fork",
        "system": "Be brief.",
        "model": "anthropic/claude-3-5-sonnet",
        "conversation_ids": ["conv-b0", "conv-b1"],
    }
    assert records[1]["ground_truth"] == "Red."
    assert "ground_truth" not in records[2] and records[2]["extra_vars"]["vote"] == "tie"
    assert "ground_truth" not in records[3] and records[3]["extra_vars"]["vote"] is None
    path = write_letta_evals_dataset(
        compare_results(), tmp_path / "d.jsonl", variants_config=CONFIG
    )
    assert path.read_text(encoding="utf-8") == (FIXTURES / "dataset.jsonl").read_text("utf-8")
    assert [json.loads(line) for line in path.read_text().splitlines()] == records


def test_dataset_without_a_config_names_models_and_conversations() -> None:
    records = dataset_records(compare_results())
    assert records[1]["extra_vars"]["variants"]["A"] == {
        "model": "openai/gpt-4o-mini",
        "conversation_ids": ["conv-a2"],
    }


def test_read_results_directory_aligns_models_by_sample() -> None:
    df = read_letta_evals_results(FIXTURES / "results")
    assert list(df.columns) == [*RESULT_COLUMNS, *EVAL_COLUMNS]
    assert df["variant"].unique().tolist() == list(MODELS.values())
    assert df["prompt_id"].unique().tolist() == ["p0000-aaaaaa", "p0002-cccccc",
                                                 "p0003-dddddd", "p0004-eeeeee"]  # fmt: skip
    got = df.set_index(["prompt_id", "variant"])
    a = got.loc[("p0000-aaaaaa", "openai/gpt-4o-mini")]
    assert a["prompt"] == "What is 2 + 2?" and a["text"] == "4"
    assert (a["eval_score"], a["eval_grader"], a["model"]) == (0.0, "contains", MODELS["A"])
    assert (a["prompt_tokens"], a["completion_tokens"], a["total_tokens"]) == (812, 3, 815)
    assert a["total_s"] == 1.5 and a["cost_usd"] == pytest.approx(0.0001236)
    assert json.loads(a["eval_grades"]) == {"contains": 0.0}
    assert a["eval_agent_id"] == "agent-a-0" and not a["gap"]
    b = got.loc[("p0000-aaaaaa", "anthropic/claude-3-5-sonnet")]
    assert b["eval_score"] == 1.0 and b["text"] == "2 + 2 = 4."
    failed = got.loc[("p0003-dddddd", "anthropic/claude-3-5-sonnet")]
    assert failed["error"].startswith("target: ") and math.isnan(failed["eval_score"])
    gap = got.loc[("p0004-eeeeee", "anthropic/claude-3-5-sonnet")]
    assert gap["gap"] and pd.isna(gap["text"]) and gap["prompt"] == "Tell me a joke."
    # it summarizes like CompareView's own results: no votes, but medians and costs
    s = summarize(df)
    assert s.loc[MODELS["A"], "rounds"] == 4 and s.loc[MODELS["B"], "errors"] == 1
    assert s.loc[MODELS["A"], "voted"] == 0
    assert s.loc[MODELS["B"], "median_diff_total_s_n"] == 2


def test_read_results_of_several_runs_as_repeats() -> None:
    df = read_letta_evals_results(FIXTURES / "results-2-runs")
    assert df["prompt_id"].tolist() == ["p0000-aaaaaa/run_1", "p0000-aaaaaa/run_2",
                                        "p0002-cccccc/run_1", "p0002-cccccc/run_2"]  # fmt: skip
    assert df["repeat"].tolist() == [0, 1, 0, 1] and df["round"].tolist() == [0, 1, 2, 3]
    assert df["eval_sample_id"].tolist() == ["p0000-aaaaaa"] * 2 + ["p0002-cccccc"] * 2
    spread = summarize(df).loc["openai/gpt-4o-mini"]
    assert spread["repeat_cv_total_s"] > 0  # the two runs of a sample are one prompt


def test_round_trip_the_ids_we_wrote_come_back() -> None:
    written = [json.loads(x) for x in (FIXTURES / "dataset.jsonl").read_text().splitlines()]
    suite = json.loads((FIXTURES / "results" / "suite.json").read_text())
    assert [s["id"] for s in suite["samples"]] == [r["id"] for r in written]
    assert [s["ground_truth"] for s in suite["samples"]] == [r.get("ground_truth") for r in written]
    back = read_letta_evals_results(FIXTURES / "results")
    ours = compare_results().drop_duplicates("prompt")
    assert dict(zip(back["prompt_id"], back["prompt"], strict=True)) == {
        pid: p for pid, p in zip(ours["prompt_id"], ours["prompt"], strict=True)
    }


def test_not_a_results_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"suite\.json"):
        read_letta_evals_results(tmp_path)
    (tmp_path / "suite.json").write_text(json.dumps({"config": {}, "samples": []}))
    (tmp_path / "summary.json").write_text(json.dumps({"suite": "s", "models": [{"model": "m"}]}))
    with pytest.raises(FileNotFoundError, match=r"m\.jsonl"):
        read_letta_evals_results(tmp_path)
