"""The wheel carries the widgets' JS and CSS, and imports from where it is installed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "letta_widgets" / "static"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"python -m build --wheel failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = list(out.glob("letta_widgets-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_static_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"letta_widgets/static/{p.name}" for p in STATIC.iterdir() if p.suffix in {".js", ".css"}
    }
    assert "letta_widgets/static/connection.js" in expected
    assert "letta_widgets/static/connection.css" in expected
    missing = sorted(expected - names)
    assert not missing, f"the wheel lacks {missing}"


def test_wheel_imports_and_loads_its_esm(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        check=True,
        timeout=300,
    )
    code = (
        "import letta_widgets, pathlib, sys\n"
        "from letta_widgets.widgets.connection import ConnectionCard, STATIC\n"
        f"assert pathlib.Path(letta_widgets.__file__).is_relative_to({str(target)!r}), "
        "letta_widgets.__file__\n"
        "assert 'export default' in (STATIC / 'connection.js').read_text()\n"
        "card = ConnectionCard(letta_widgets.connect('http://127.0.0.1:9'), check=False)\n"
        "assert 'export default' in card._esm and '.lw-connection' in card._css\n"
        "print('OK', letta_widgets.__version__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}  # ahead of the editable install's path
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK")
