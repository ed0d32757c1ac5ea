"""Fixtures shared by every tier: a Letta server (a devserver unless LETTA_BASE_URL is set).

Servers differ by API generation, named by a *profile*: ``cloud`` (Letta Cloud, the
devserver's default) and ``letta-0.16`` (the retired ``letta==0.16.8`` server). Each test
runs against one profile, shown in its id (``test_x[cloud]``):

* against our devserver: ``LETTA_PROFILE`` (default ``cloud``); tests marked
  ``both_profiles`` (and the whole contract suite) run once per profile, each against a
  devserver of that profile;
* against another server (``LETTA_BASE_URL``): once, with ``LETTA_PROFILE`` saying which
  generation it is (``make test-real`` sets ``letta-0.16``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from letta_client import AsyncLetta, Letta

from letta_devserver.process import DevServerProcess

MODEL = os.environ.get("LETTA_MODEL", "openai/gpt-4o-mini")
EMBEDDING = os.environ.get("LETTA_EMBEDDING", "openai/text-embedding-3-small")
PROFILES = ("cloud", "letta-0.16")
"""The devserver's profiles: Letta Cloud's API generation and letta 0.16.8's."""
_CONTRACT = Path(__file__).parent / "contract"

# Lineage written by widgets made without lineage_path= (also in kernels and JupyterLab, which
# inherit the environment) goes to a directory of this run, never the user's own.
os.environ.setdefault("LETTA_WIDGETS_DATA_DIR", tempfile.mkdtemp(prefix="letta-widgets-data-"))


def session_profile() -> str:
    """The profile of the session's server (``LETTA_PROFILE``; default ``cloud``)."""
    name = os.environ.get("LETTA_PROFILE", "cloud")
    if name not in PROFILES:
        raise pytest.UsageError(f"LETTA_PROFILE={name!r}: use one of {', '.join(PROFILES)}")
    return name


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every test that talks to the session's server its profile (see the docstring)."""
    if "profile" not in metafunc.fixturenames:
        return
    both = metafunc.definition.get_closest_marker("both_profiles") is not None or (
        _CONTRACT in Path(str(metafunc.definition.fspath)).parents
    )
    names = list(PROFILES) if both and not os.environ.get("LETTA_BASE_URL") else [session_profile()]
    metafunc.parametrize("profile", names, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against another server (LETTA_BASE_URL), skip ``devserver_only`` tests, saying why."""
    url = os.environ.get("LETTA_BASE_URL")
    if not url:
        return
    skip = pytest.mark.skip(
        reason=f"needs the devserver (fault injection, admin API or its scripted agent); "
        f"LETTA_BASE_URL={url} is another server"
    )
    for item in items:
        if item.get_closest_marker("devserver_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> str:
    """The API generation of the server this test talks to: ``cloud`` or ``letta-0.16``."""
    return getattr(request, "param", None) or session_profile()


@pytest.fixture(scope="session")
def devserver(profile: str) -> Iterator[DevServerProcess]:
    """A devserver of ``profile`` (in-memory SQLite) on a free loopback port, stopped by PID."""
    with DevServerProcess(["--memory", "--profile", profile]) as server:
        yield server


@pytest.fixture(scope="session")
def is_devserver() -> bool:
    """True when the session talks to our devserver (fault injection is available)."""
    return not os.environ.get("LETTA_BASE_URL")


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest, profile: str) -> str:
    """LETTA_BASE_URL when given (e.g. the real Letta server), else a devserver of ``profile``."""
    url = os.environ.get("LETTA_BASE_URL")
    if url:
        return url.rstrip("/")
    return request.getfixturevalue("devserver").base_url


@pytest.fixture(scope="session")
def client(base_url: str) -> Letta:
    """The official synchronous SDK client for the session's server."""
    return Letta(base_url=base_url, api_key=os.environ.get("LETTA_API_KEY"), max_retries=0)


@pytest.fixture
def aclient(base_url: str) -> AsyncLetta:
    """The official async SDK client (per test: it binds to the test's event loop)."""
    return AsyncLetta(base_url=base_url, api_key=os.environ.get("LETTA_API_KEY"), max_retries=0)


@pytest.fixture
def agent(client: Letta) -> Iterator[object]:
    """A fresh agent with `human` and `persona` blocks, deleted afterwards."""
    created = client.agents.create(
        name=f"test-{uuid.uuid4().hex[:8]}",
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a test agent."},
        ],
    )
    yield created
    with contextlib.suppress(Exception):
        client.agents.delete(created.id)
