"""CompareView results to and from letta-evals: its dataset JSONL and its results directory.

The formats are letta-evals 0.26's. A dataset line is one sample: ``id``, ``input``,
optional ``ground_truth`` and ``extra_vars`` (its ``Sample`` model; the loader takes the
id from ``sample_id`` or ``id``). A results directory holds ``suite.json`` (the suite's
``config`` and its ``samples``), ``summary.json`` (``models``: one entry per model, its
``model`` the handle or ``"default"``) and per model either ``<model>.jsonl`` (one run) or
``<model>/run_<n>.jsonl`` (several runs), the model's ``/``, ``\\`` and ``:`` written as
``-``. Each results line is one ``SampleResult``: ``sample_id``, ``model_handle``,
``agent_id``, ``trajectory`` (turns of Letta messages), ``submissions`` and ``grades``
(per grader: ``score`` in [0, 1], ``rationale``), ``reward`` (``score``), ``usage``
(``prompt_tokens``, ``completion_tokens``, ``cost``), ``timing`` (``total``, ``target``)
and ``error`` (``category``, ``message``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from letta_widgets.compare_stats import (
    SPECIAL_VOTES,
    conform_results,
    plurality,
    results_frame,
    round_table,
)
from letta_widgets.letta.messages import text_of

__all__ = [
    "EVAL_COLUMNS",
    "dataset_records",
    "read_letta_evals_results",
    "write_letta_evals_dataset",
]

EVAL_COLUMNS: dict[str, str] = {
    "eval_sample_id": "string",
    "eval_score": "float64",
    "eval_grader": "string",
    "eval_rationale": "string",
    "eval_grades": "string",
    "eval_agent_id": "string",
}
"""The columns :func:`read_letta_evals_results` adds to the results schema: the sample's id,
its reward in [0, 1] (``eval_score``; NaN where letta-evals composed none: a failed sample)
and the grader or composer behind it (``eval_grader``: the metric key, or
``custom:<function>``), that grader's rationale, every grader's score as JSON
(``eval_grades``) and the agent the sample ran on."""


# --------------------------------------------------------------------------- dataset


def dataset_records(
    results: pd.DataFrame, variants_config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """One letta-evals sample per prompt of ``results`` (a prompt's repeats are one sample).

    ``id``: the prompt's key (its first round's ``prompt_id``); ``input``: the prompt;
    ``ground_truth``: the chosen answer, where the prompt's vote (the plurality over its
    repeats) names a variant: that variant's ``text`` in the first round voted so (no
    ``ground_truth`` for a tie, all-bad or unvoted prompt, or an answer without text);
    ``extra_vars``: ``prompt_ids`` (its rounds), ``vote`` and ``judge_winner``, and
    ``variants``: per label its ``variants_config`` entry, its ``model`` where the
    results name one, and the ``conversation_ids`` it ran in for this prompt.
    """
    df = conform_results(results)
    df = df[~df["gap"].astype(bool)]
    rounds = round_table(df)
    labels = list(dict.fromkeys([*df["variant"].dropna(), *(variants_config or {})]))
    records = []
    for key, group in rounds.groupby("prompt_key", sort=False):
        ids = list(group["prompt_id"])
        rows = df[df["prompt_id"].isin(ids)]
        vote = plurality(_values(group["vote"]))
        judge = plurality(_values(group["judge_winner"]))
        record: dict[str, Any] = {"id": key, "input": str(group["prompt"].iloc[0])}
        answer = _chosen_answer(rows, group, vote)
        if answer is not None:
            record["ground_truth"] = answer
        record["extra_vars"] = {
            "prompt_ids": ids,
            "vote": vote,
            "judge_winner": judge,
            "variants": {
                label: _variant_vars(rows, label, (variants_config or {}).get(label))
                for label in labels
            },
        }
        records.append(record)
    return records


def write_letta_evals_dataset(
    results: pd.DataFrame,
    path: str | Path,
    *,
    variants_config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write :func:`dataset_records` as a letta-evals dataset (JSONL, UTF-8); return the path.

    Values JSON cannot hold (in ``variants_config``) are written as their ``str``.
    """
    out = Path(path)
    records = dataset_records(results, variants_config)
    text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
    out.write_text(text, encoding="utf-8")
    return out


def _chosen_answer(rows: pd.DataFrame, rounds: pd.DataFrame, vote: Any) -> str | None:
    if vote is None or vote in SPECIAL_VOTES:
        return None
    for pid in rounds.loc[rounds["vote"] == vote, "prompt_id"]:
        texts = rows.loc[(rows["prompt_id"] == pid) & (rows["variant"] == vote), "text"].dropna()
        if len(texts):
            return str(texts.iloc[0])
    return None


def _variant_vars(
    rows: pd.DataFrame, label: str, config: Mapping[str, Any] | None
) -> dict[str, Any]:
    mine = rows[rows["variant"] == label]
    out = dict(config or {})
    models = _values(mine["model"])
    if models and "model" not in out:
        out["model"] = models[0]
    out["conversation_ids"] = list(dict.fromkeys(_values(mine["conversation_id"])))
    return out


def _values(column: pd.Series) -> list[Any]:
    return [v for v in column if not pd.isna(v)]


# --------------------------------------------------------------------------- results


def read_letta_evals_results(results_dir: str | Path) -> pd.DataFrame:
    """A letta-evals results directory as rows of the CompareView results schema.

    One variant per model (its id in ``summary.json``: the handle, or ``"default"``), one
    round per (sample, run) with the same ``prompt_id`` on every variant: the sample's id
    (``<id>/run_<n>`` when there are several runs; ``repeat`` is the run − 1). ``text`` is
    the last turn's assistant messages (else the first grader's submission), ``total_s`` the
    target's time (agent creation and messages, no grading), ``cost_usd`` letta-evals' own
    cost. A (sample, run) a model has no line for is a gap row. Plus :data:`EVAL_COLUMNS`.
    """
    root = Path(results_dir)
    suite = _read_json(root / "suite.json")
    summary_path = root / "summary.json"
    config = suite.get("config") or {}
    if summary_path.exists():
        models = [m["model"] for m in _read_json(summary_path).get("models", [])]
    else:
        models = list((config.get("target") or {}).get("model_handles") or ["default"])
    runs = {model: _model_runs(root, model) for model in models}
    multi = any(len(r) > 1 or root.joinpath(_segment(m)).is_dir() for m, r in runs.items())
    n_runs = max((len(r) for r in runs.values()), default=1)
    samples = {str(s["id"]): s for s in suite.get("samples", [])}
    order = {sid: i for i, sid in enumerate(samples)}
    scorer = _scorer(config.get("reward") or {})
    rows, extras = [], []
    for model in models:
        for run in range(1, n_runs + 1):
            lines = runs[model][run - 1] if run <= len(runs[model]) else []
            seen = set()
            for line in lines:
                sid = str(line["sample_id"])
                seen.add(sid)
                order.setdefault(sid, len(order))
                row, extra = _result_row(line, model, scorer)
                rows.append(row | _round(sid, run, multi, n_runs, order, samples))
                extras.append(extra | {"eval_sample_id": sid})
            for sid in samples:
                if sid not in seen:
                    rows.append(
                        {"variant": model, "gap": True}
                        | _round(sid, run, multi, n_runs, order, samples)
                    )
                    extras.append({"eval_sample_id": sid})
    frame = results_frame(rows)
    for col, dtype in EVAL_COLUMNS.items():
        values = [e.get(col) for e in extras]
        frame[col] = pd.Series(values, dtype="object").astype(dtype)
    return frame.sort_values("round", kind="stable").reset_index(drop=True)


def _round(
    sid: str, run: int, multi: bool, n_runs: int, order: Mapping[str, int], samples: Mapping
) -> dict[str, Any]:
    given = (samples.get(sid) or {}).get("input")
    prompt = "\n\n".join(map(str, given)) if isinstance(given, list) else given
    return {
        "prompt_id": f"{sid}/run_{run}" if multi else sid,
        "round": order[sid] * n_runs + run - 1,
        "repeat": run - 1,
        "prompt": prompt,
    }


def _result_row(
    line: Mapping[str, Any], model: str, scorer: tuple[str | None, str | None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    usage = line.get("usage") or {}
    grades = line.get("grades") or {}
    error = line.get("error")
    prompt_tokens, completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
    counted = prompt_tokens is not None and completion_tokens is not None
    total = prompt_tokens + completion_tokens if counted else None
    handle = line.get("model_handle") or (None if model == "default" else model)
    row = {
        "variant": model,
        "model": handle,
        "total_s": (line.get("timing") or {}).get("target"),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total,
        "cost_usd": usage.get("cost"),
        "text": _answer(line),
        "error": f"{error.get('category')}: {error.get('message')}" if error else None,
    }
    name, metric = scorer
    graded = (grades.get(metric) or {}) if metric else {}
    score = (line.get("reward") or {}).get("score")
    scores = {k: g.get("score") for k, g in grades.items()}
    extra = {
        "eval_score": math.nan if score is None else float(score),
        "eval_grader": name,
        "eval_rationale": graded.get("rationale"),
        "eval_grades": json.dumps(scores) if scores else None,
        "eval_agent_id": line.get("agent_id"),
    }
    return row, extra


def _scorer(reward: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(``eval_grader``, the grader whose rationale explains the reward) of a suite's reward:
    a ``metric`` reward is one grader's score; a ``custom`` one is a composer's."""
    if reward.get("kind") == "metric":
        return reward.get("metric_key"), reward.get("metric_key")
    if reward.get("kind") == "custom":
        return f"custom:{reward.get('function')}", None
    return None, None


def _answer(line: Mapping[str, Any]) -> str | None:
    turns = line.get("trajectory") or []
    if turns:
        last = [text_of(m) for m in turns[-1] if m.get("message_type") == "assistant_message"]
        if any(last):
            return "\n\n".join(t for t in last if t)
    submissions = line.get("submissions") or {}
    return next(iter(submissions.values()), None)


def _model_runs(root: Path, model: str) -> list[list[dict[str, Any]]]:
    """The model's results lines, one list per run (runs in numeric order)."""
    folder, single = root / _segment(model), root / f"{_segment(model)}.jsonl"
    if folder.is_dir():
        files = sorted(folder.glob("run_*.jsonl"), key=_run_number)
        return [_read_jsonl(f) for f in files]
    if single.exists():
        return [_read_jsonl(single)]
    raise FileNotFoundError(f"no results for model {model!r} in {root} (no {single.name})")


def _run_number(path: Path) -> int:
    found = re.search(r"run_(\d+)", path.stem)
    return int(found.group(1)) if found else 0


def _segment(model: str) -> str:
    """The model id as letta-evals names its results file."""
    return model.replace("/", "-").replace("\\", "-").replace(":", "-")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"{path.name} is missing in {path.parent}: not a results directory")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
