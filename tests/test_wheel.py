"""The two wheels: letta-widgets carries its JS and CSS and no server; letta-devserver the server,
its console script and its pytest plugin; both import from where they are installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "letta_widgets" / "static"
DEVSERVER = REPO / "devserver"


def _build(project: Path, out: Path, name: str) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(project)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"python -m build --wheel failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = list(out.glob(f"{name}-*.whl"))
    assert len(wheels) == 1, wheels
    print(f"{wheels[0].name}: {wheels[0].stat().st_size:,} bytes")
    return wheels[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(REPO, tmp_path_factory.mktemp("dist"), "letta_widgets")


@pytest.fixture(scope="module")
def devserver_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(DEVSERVER, tmp_path_factory.mktemp("dist-devserver"), "letta_devserver")


def _metadata(wheel: Path) -> tuple[str, str]:
    """(METADATA, entry_points.txt) of a wheel."""
    z = zipfile.ZipFile(wheel)
    info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
    entry = f"{info}/entry_points.txt"
    points = z.read(entry).decode() if entry in z.namelist() else ""
    return z.read(f"{info}/METADATA").decode(), points


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


def test_the_widgets_wheel_has_no_server_and_depends_on_it_in_step(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "devserver" in n], "the letta-widgets wheel ships a server"
    metadata, _ = _metadata(wheel)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    pins = re.findall(r"^Requires-Dist: letta-devserver(\[\w+\])?==([\w.]+); extra == '(\w+)'",
                      metadata, re.M)  # fmt: skip
    assert {extra for _, _, extra in pins} >= {"server", "dev"}, pins
    assert {pinned for _, pinned, _ in pins} == {version}


def test_the_devserver_wheel_has_the_server_the_script_and_the_plugin(
    devserver_wheel: Path, tmp_path: Path
) -> None:
    names = set(zipfile.ZipFile(devserver_wheel).namelist())
    modules = {p.name for p in (DEVSERVER / "letta_devserver").glob("*.py")}
    assert {f"letta_devserver/{m}" for m in modules} <= names
    assert not [n for n in names if n.startswith(("letta_widgets/", "tests/"))]
    metadata, points = _metadata(devserver_wheel)
    assert "letta-devserver = letta_devserver.server:main" in points
    assert "[pytest11]" in points and "letta_devserver = letta_devserver.pytest_plugin" in points
    requires = re.findall(r"^Requires-Dist: ([\w-]+)", metadata, re.M)
    assert "letta-widgets" not in requires and {"starlette", "uvicorn"} <= set(requires)
    widgets = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert re.search(rf"^Version: {re.escape(widgets)}$", metadata, re.M), "versions out of step"

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         devserver_wheel],
        check=True,
        timeout=300,
    )  # fmt: skip
    code = (
        "import pathlib, letta_devserver, letta_widgets\n"
        f"assert pathlib.Path(letta_devserver.__file__).is_relative_to({str(target)!r})\n"
        "from letta_devserver import pytest_plugin, testing\n"
        "assert letta_devserver.__version__ == letta_widgets.__version__\n"
        "with letta_devserver.DevServerProcess(['--memory']) as s:\n"
        "    print('OK', s.base_url)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK http://127.0.0.1:")
