"""Command line: the devserver options and the ready line."""

from __future__ import annotations

import pytest

from letta_widgets import cli
from letta_widgets.devserver.process import READY_PREFIX, DevServerProcess
from letta_widgets.devserver.profiles import TRAITS
from letta_widgets.devserver.server import make_parser
from letta_widgets.devserver.service import Config


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


def test_cli_rejects_unknown_devserver_options() -> None:
    with pytest.raises(SystemExit):
        cli.main(["devserver", "--bogus"])


def test_ready_line_and_clean_stop() -> None:
    with DevServerProcess(["--memory"]) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert READY_PREFIX + server.base_url in server.output()
        pid = server.pid
    assert pid is not None and server.proc is None
