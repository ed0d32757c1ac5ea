"""pytest plugin: an offline Letta server for any project's tests (entry point ``pytest11``).

Installed with ``letta-devserver``, it adds two fixtures::

    def test_my_summarizer(letta_client):
        agent = letta_client.agents.create(name="t", model="openai/gpt-4o-mini")
        assert summarize(letta_client, agent.id) == "..."

``letta_server``
    A devserver on a free 127.0.0.1 port, started once per test session for each distinct
    configuration and stopped by PID when the session ends. Configure it with a marker,
    ``@pytest.mark.letta_server(profile="letta-0.16", seed="demo", fault="status=429",
    token_delay_ms=5, step_delay_ms=0, context_messages=120, fresh=True)``, on a test, class
    or module (``pytestmark``), or with indirect parametrization
    (``@pytest.mark.parametrize("letta_server", [{"profile": "letta-0.16"}], indirect=True)``).
    ``fault`` applies to that test only (set before it, cleared after); ``fresh=True`` empties
    the server (and re-seeds it) before the test. Every other option picks the server.
``letta_client``
    A ``letta_client.Letta`` pointed at ``letta_server`` (``letta_async_client``: an
    ``AsyncLetta``).

``--letta-devserver-profile`` (or the ini option ``letta_devserver_profile``) sets the
default profile for a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .profiles import DEFAULT_PROFILE, PROFILES
from .testing import LettaServer, ServerOptions, ServerPool, split_options

__all__ = ["letta_async_client", "letta_client", "letta_server", "letta_server_pool"]

_MARKER = (
    "letta_server(profile=..., seed=..., fault=..., token_delay_ms=..., step_delay_ms=..., "
    "context_messages=..., tool_call_deltas=..., fresh=False): configure the letta_server "
    "fixture of letta-devserver"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--letta-devserver-profile`` and the ini option ``letta_devserver_profile``."""
    group = parser.getgroup("letta-devserver")
    group.addoption(
        "--letta-devserver-profile",
        choices=PROFILES,
        default=None,
        help=f"the devserver profile letta_server uses by default ({DEFAULT_PROFILE})",
    )
    parser.addini(
        "letta_devserver_profile",
        f"the devserver profile letta_server uses by default ({DEFAULT_PROFILE})",
        default=DEFAULT_PROFILE,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``letta_server`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line("markers", _MARKER)


def _default_profile(config: pytest.Config) -> str:
    profile = config.getoption("--letta-devserver-profile") or config.getini(
        "letta_devserver_profile"
    )
    if profile not in PROFILES:
        raise pytest.UsageError(
            f"letta_devserver_profile = {profile!r}: use one of {', '.join(PROFILES)}"
        )
    return str(profile)


def _requested_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The marker's options (closest wins) updated by an indirect parameter, if any."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("letta_server"))):
        if marker.args:
            raise TypeError("@pytest.mark.letta_server takes keyword arguments only")
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise TypeError(f"letta_server parameters are dicts of options, got {param!r}")
        options.update(param)
    return options


@pytest.fixture(scope="session")
def letta_server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """Every devserver of this session, one per configuration; all stopped at the end."""
    pool = ServerPool(log_dir=str(tmp_path_factory.mktemp("letta-devserver")))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def letta_server(
    request: pytest.FixtureRequest, letta_server_pool: ServerPool
) -> Iterator[LettaServer]:
    """A running devserver configured by the ``letta_server`` marker or parameter."""
    try:
        server_opts, per_test = split_options(_requested_options(request))
        server_opts.setdefault("profile", _default_profile(request.config))
        options = ServerOptions(**server_opts)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"letta_server: {exc}", pytrace=False)
    server = letta_server_pool.get(options)
    if per_test.get("fresh"):
        server.reset()
    fault = per_test.get("fault")
    if fault:
        server.set_fault(str(fault))
    try:
        yield server
    finally:
        if fault and server.pid is not None:
            server.clear_fault()


@pytest.fixture
def letta_client(letta_server: LettaServer) -> Iterator[Any]:
    """A ``letta_client.Letta`` for ``letta_server``."""
    try:
        client = letta_server.client()
    except ImportError:
        pytest.fail(
            "letta_client fixture: letta-client is not installed "
            "(pip install 'letta-devserver[pytest]')",
            pytrace=False,
        )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def letta_async_client(letta_server: LettaServer) -> Any:
    """A ``letta_client.AsyncLetta`` for ``letta_server`` (for async tests)."""
    try:
        return letta_server.async_client()
    except ImportError:
        pytest.fail(
            "letta_async_client fixture: letta-client is not installed "
            "(pip install 'letta-devserver[pytest]')",
            pytrace=False,
        )
