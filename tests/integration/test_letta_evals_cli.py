"""letta-evals itself reads what we write and writes what we read, in a throwaway venv.

letta-evals pins versions this project must not share, so it is installed into
``.venv/throwaway/letta-evals-<version>/`` (once; later runs reuse it, offline too).
``letta-evals validate`` checks a suite's configuration, not its dataset's lines, so the
dataset is also loaded by letta-evals' own loader (each line becomes its ``Sample``), and
the committed results fixtures are parsed by its own ``StreamingReader``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from letta_widgets.compare_stats import results_frame
from letta_widgets.letta_evals import read_letta_evals_results, write_letta_evals_dataset

LETTA_EVALS = "0.26.0"
"""The release whose formats letta_widgets.letta_evals follows."""
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "throwaway" / f"letta-evals-{LETTA_EVALS}"
FIXTURES = REPO / "tests" / "fixtures" / "letta-evals"

pytestmark = [pytest.mark.network, pytest.mark.timeout(1800)]


def _index_reachable() -> bool:
    url = urlsplit(os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple")
    try:
        socket.create_connection((url.hostname or "pypi.org", url.port or 443), timeout=5).close()
    except OSError:
        return False
    return True


def _env() -> dict[str, str]:
    """This environment without our PYTHONPATH (the venv must see only its own packages)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return env | {"NO_COLOR": "1", "COLUMNS": "200"}


@pytest.fixture(scope="module")
def evals() -> Iterator[Path]:
    """The throwaway venv's bin/ with letta-evals (made once, skipped offline if absent)."""
    done = VENV / ".complete"
    if not done.exists():
        if not _index_reachable():
            pytest.skip(
                f"no network: PyPI is unreachable, so letta-evals=={LETTA_EVALS} cannot be "
                f"installed into {VENV} (once installed there it runs offline)"
            )
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q",
             f"letta-evals=={LETTA_EVALS}"],
            check=True, env=_env(), timeout=1500,
        )  # fmt: skip
        done.touch()
    yield VENV / "bin"


def _run(evals: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(evals / args[0]), *args[1:]],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


_LOAD = """
import json, sys
from letta_evals.datasets.loader import load_dataset
print(json.dumps([s.model_dump(mode="json") for s in load_dataset(sys.argv[1])]))
"""

_READ = """
import anyio, json, sys
from pathlib import Path
from letta_evals.streaming import StreamingReader
got = anyio.run(StreamingReader.to_runner_result, Path(sys.argv[1]))
print(json.dumps({m: [[r.sample_id for r in run] for run in (mr.runs or [mr.results])]
                  for m, mr in got.runs.items()}))
"""


def _hostile_results():
    texts = {"A": 'Line one\nline "two" \\ ünïcödé ✓', "B": "<script>alert(1)</script>"}
    rows = [
        {"prompt_id": f"p{i}", "round": i, "prompt": prompt, "variant": label,
         "model": f"openai/model-{label}", "conversation_id": f"conv-{label}{i}",
         "text": texts[label], "vote": vote}
        for i, (prompt, vote) in enumerate([("Ça va?\n\tOui", "A"), ('{"json": 1}', "tie")])
        for label in "AB"
    ]  # fmt: skip
    return results_frame(rows)


def test_letta_evals_validates_and_loads_the_dataset_we_write(evals: Path, tmp_path: Path) -> None:
    path = write_letta_evals_dataset(_hostile_results(), tmp_path / "dataset.jsonl")
    shutil.copy(FIXTURES / "suite.yaml", tmp_path / "suite.yaml")
    checked = _run(evals, "letta-evals", "validate", "suite.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Suite 'compare-roundtrip' is valid" in checked.stdout
    loaded = _run(evals, "python", "-c", _LOAD, str(path), cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    samples = json.loads(loaded.stdout)
    assert [(s["id"], s["input"], s["ground_truth"]) for s in samples] == [
        ("p0", "Ça va?\n\tOui", 'Line one\nline "two" \\ ünïcödé ✓'),
        ("p1", '{"json": 1}', None),
    ]
    assert samples[0]["extra_vars"]["variants"]["B"]["conversation_ids"] == ["conv-B0"]


def test_letta_evals_loads_the_committed_dataset(evals: Path) -> None:
    loaded = _run(evals, "python", "-c", _LOAD, "dataset.jsonl", cwd=FIXTURES)
    assert loaded.returncode == 0, loaded.stderr
    written = [json.loads(x) for x in (FIXTURES / "dataset.jsonl").read_text().splitlines()]
    assert [s["id"] for s in json.loads(loaded.stdout)] == [r["id"] for r in written]


@pytest.mark.parametrize("name", ["results", "results-2-runs"])
def test_the_results_fixtures_are_letta_evals_results(evals: Path, name: str) -> None:
    parsed = _run(evals, "python", "-c", _READ, str(FIXTURES / name), cwd=FIXTURES)
    assert parsed.returncode == 0, parsed.stderr
    theirs = json.loads(parsed.stdout)
    ours = read_letta_evals_results(FIXTURES / name)
    ours = ours[~ours["gap"]]
    for model, runs in theirs.items():
        mine = ours[ours["variant"] == model]
        assert [list(mine[mine["repeat"] == i]["eval_sample_id"]) for i in range(len(runs))] == runs
