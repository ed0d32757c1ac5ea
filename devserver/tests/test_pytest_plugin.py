"""The pytest plugin, used as another project would: a throwaway project run by ``pytester``.

Each run is a separate pytest process (``runpytest_subprocess``), so the plugin is loaded
from its ``pytest11`` entry point exactly as in a project that installs letta-devserver.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[1] / "README.md"

GREETER = '''
def reply(client, agent_id, text):
    """Someone else's code: send one message in a new conversation, return the answer."""
    conv = client.conversations.create(agent_id=agent_id)
    stream = client.conversations.messages.create(
        conv.id, messages=[{"role": "user", "content": text}]
    )
    return "".join(c.content for c in stream if c.message_type == "assistant_message")
'''


def _readme_example() -> str:
    """The five-line test the README shows (the first ```python block after its marker)."""
    text = README.read_text()
    start = text.index("<!-- plugin-example -->")
    block = text[text.index("```python", start) + len("```python") : text.index("```\n", start)]
    return block.strip() + "\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not a running server
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def test_the_readme_example_runs_in_another_project(pytester: pytest.Pytester) -> None:
    example = _readme_example()
    assert len([line for line in example.splitlines() if line.strip()]) <= 5, example
    pytester.makepyfile(greeter=GREETER, test_greeter=example)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_markers_parameters_faults_and_cleanup(pytester: pytest.Pytester, tmp_path: Path) -> None:
    record = tmp_path / "servers.jsonl"
    pytester.makeconftest(
        f"""
        import json
        import pytest

        @pytest.fixture
        def note(letta_server):
            def write(name):
                with open({str(record)!r}, "a") as f:
                    f.write(json.dumps({{"test": name, "url": letta_server.base_url,
                                        "pid": letta_server.pid,
                                        "profile": letta_server.options.profile}}) + "\\n")
            return write
        """
    )
    pytester.makepyfile(
        test_plugin="""
        import pytest
        from letta_client import APIStatusError, Letta

        def test_default(letta_client, note):
            note("default")
            assert letta_client.health().version == "devserver-cloud"
            assert list(letta_client.agents.list()) == []

        def test_same_options_share_a_server(letta_server, letta_client, note):
            note("shared")
            letta_client.agents.create(name="kept", model="openai/gpt-4o-mini")

        @pytest.mark.letta_server(profile="letta-0.16")
        def test_marker_picks_a_profile(letta_client, note):
            note("marker")
            assert letta_client.health().version == "0.16.8"

        @pytest.mark.letta_server(fault="status=404")
        def test_fault_for_one_test(letta_server, note):
            note("fault")
            client = Letta(base_url=letta_server.base_url, api_key="x", max_retries=0)
            with pytest.raises(APIStatusError) as info:
                client.agents.list()
            assert info.value.status_code == 404
            assert letta_server.fault() == "status=404"

        def test_the_fault_is_gone_after_its_test(letta_client, letta_server, note):
            note("after-fault")
            assert letta_server.fault() == ""
            assert [a.name for a in letta_client.agents.list()] == ["kept"]

        @pytest.mark.letta_server(fresh=True)
        def test_fresh_empties_the_shared_server(letta_client, note):
            note("fresh")
            assert list(letta_client.agents.list()) == []

        @pytest.mark.letta_server(seed="demo")
        def test_seeded(letta_client):
            names = {a.name for a in letta_client.agents.list()}
            assert "ada-research-assistant" in names

        @pytest.mark.parametrize(
            "letta_server", [{"profile": "letta-0.16"}, {"profile": "cloud"}], indirect=True
        )
        def test_indirect(letta_client, letta_server, note):
            note("indirect-" + letta_server.options.profile)

        @pytest.mark.letta_server(token_delay_ms=1)
        def test_delays_start_another_server(letta_server, note):
            note("delays")
            assert "--token-delay-ms" in letta_server.process.args

        def test_async_client(letta_async_client):
            import asyncio
            health = asyncio.run(letta_async_client.health())
            assert health.status == "ok"
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=11)
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    by_test = {row["test"]: row for row in rows}
    default = by_test["default"]["url"]
    assert by_test["shared"]["url"] == default == by_test["fault"]["url"]
    assert by_test["after-fault"]["url"] == default == by_test["fresh"]["url"]
    assert by_test["indirect-cloud"]["url"] == default
    assert by_test["marker"]["url"] == by_test["indirect-letta-0.16"]["url"] != default
    assert by_test["delays"]["url"] not in (default, by_test["marker"]["url"])
    assert by_test["marker"]["profile"] == "letta-0.16"
    pids = {row["pid"] for row in rows}
    assert len(pids) == 3
    assert not [pid for pid in pids if _alive(pid)], "the session left devservers running"


def test_default_profile_option_and_clear_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_opts="""
        import pytest

        def test_profile_from_the_command_line(letta_client):
            assert letta_client.health().version == "0.16.8"

        @pytest.mark.letta_server(profil="cloud")
        def test_misspelt_option(letta_server):
            pass

        @pytest.mark.letta_server(fault="status=999")
        def test_bad_fault(letta_server):
            pass

        @pytest.mark.letta_server(seed="nope")
        def test_bad_seed(letta_server):
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-q", "-p", "no:cacheprovider", "--letta-devserver-profile", "letta-0.16"
    )
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*letta_server: unknown devserver option 'profil' (expected one of*",
            "*letta_server: fault status=999: expected one of*",
            "*letta_server: unknown seed 'nope': use one of demo*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.letta_server(profile=*"])
