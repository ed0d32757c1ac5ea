"""``letta-widgets``: ``devserver`` is ``letta-devserver`` by another name; ``demo``'s options."""

from __future__ import annotations

import subprocess
import sys

import pytest

from letta_widgets import cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "letta_widgets.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_devserver_is_the_devserver_program() -> None:
    ours, theirs = (
        _run("devserver", "--help"),
        subprocess.run(
            [sys.executable, "-m", "letta_devserver", "--help"], capture_output=True, text=True
        ),
    )
    assert ours.returncode == theirs.returncode == 0
    words = " ".join(ours.stdout.replace("letta-widgets devserver", "letta-devserver").split())
    assert words == " ".join(theirs.stdout.split())


def test_devserver_errors_are_one_line_under_our_name() -> None:
    proc = _run("devserver", "--port", "0", "--fault", "nonsense")
    assert proc.returncode == 2 and not proc.stdout
    assert proc.stderr.strip() == (
        "letta-widgets devserver: bad --fault 'nonsense': unknown fault item 'nonsense'"
    )


def test_top_level_help_lists_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "letta-devserver" in " ".join(out.split())


def test_demo_offers_the_devserver_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    from letta_devserver.profiles import PROFILES

    with pytest.raises(SystemExit):
        cli.main(["demo", "--profile", "letta-0.15"])
    err = capsys.readouterr().err
    assert all(name in err for name in PROFILES)
