"""Command line: the options, the ready line, and one clear line for every bad start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from letta_devserver.process import READY_PREFIX, DevServerProcess
from letta_devserver.profiles import TRAITS
from letta_devserver.server import make_parser
from letta_devserver.service import Config


def test_options_default_to_loopback_and_memory() -> None:
    args = make_parser().parse_args([])
    assert (args.host, args.port, args.db, args.seed) == ("127.0.0.1", 8283, None, None)
    args = make_parser().parse_args(
        ["--port", "0", "--memory", "--seed", "demo", "--token-delay-ms", "5", "--fault", "once"]
    )
    assert args.port == 0 and args.memory and args.seed == "demo" and args.token_delay_ms == 5
    with pytest.raises(SystemExit):
        make_parser().parse_args(["--db", "x.sqlite", "--memory"])


def test_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert make_parser().parse_args([]).profile == "cloud"
    assert make_parser().parse_args(["--profile", "letta-0.16"]).profile == "letta-0.16"
    with pytest.raises(SystemExit):
        make_parser().parse_args(["--profile", "letta-0.15"])
    assert "cloud" in capsys.readouterr().err  # argparse lists the choices
    with pytest.raises(ValueError, match=r"cloud, letta-0\.16"):
        Config(profile="letta-0.15")
    assert Config(profile="letta-0.16").traits is TRAITS["letta-0.16"]
    assert set(TRAITS) == {"cloud", "letta-0.16"}


def test_ready_line_and_clean_stop() -> None:
    with DevServerProcess(["--memory"]) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert READY_PREFIX + server.base_url in server.output()
        pid = server.pid
    assert pid is not None and server.proc is None


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "letta_devserver", "--port", "0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd)


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--profile", "letta-0.15"], ["letta-devserver:", "letta-0.15", "cloud", "letta-0.16"]),
        (["--fault", "status=999"], ["bad --fault 'status=999'", "expected one of"]),
        (["--fault", "explode"], ["unknown fault item 'explode'"]),
        (["--seed", "nope"], ["--seed", "demo"]),
        (["--token-delay-ms", "-5"], ["--token-delay-ms", "0 or more"]),
        (["--port", "70000"], ["0-65535"]),
        (["--bogus"], ["unrecognized arguments: --bogus"]),
    ],
    ids=["profile", "fault-status", "fault-item", "seed", "negative-delay", "port-range", "flag"],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], needles: list[str]) -> None:
    _one_line_exit_2(_run(*args), *needles)


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = _run("--port", str(port))
    _one_line_exit_2(proc, f"port {port} on 127.0.0.1 is in use", "--port 0")


def test_an_unwritable_db_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    _one_line_exit_2(_run("--db", str(missing_dir)), f"cannot use --db {missing_dir}")
    if os.geteuid() != 0:  # root writes anywhere; a read-only file then still fails below
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _one_line_exit_2(_run("--db", str(locked / "db.sqlite")), "cannot use --db")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("this is not a database\n" * 100)
    _one_line_exit_2(_run("--db", str(not_sqlite), "--seed", "demo"), "--db", str(not_sqlite))


def test_console_script_and_module_are_the_same_program() -> None:
    script = shutil.which("letta-devserver", path=str(Path(sys.executable).parent))
    assert script is not None, "the letta-devserver console script is not installed"
    by_script = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    by_module = subprocess.run(
        [sys.executable, "-m", "letta_devserver", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout
    for option in ("--profile", "--seed", "--fault", "--token-delay-ms", "--no-tool-call-deltas"):
        assert option in by_script.stdout
