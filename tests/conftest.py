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
import struct
import tempfile
import uuid
import zlib
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


class SampleImages:
    """Small images made here, byte for byte (no fixture files): PNG and GIF with the size
    in their header, a JPEG and a WebP start, and things that are not images."""

    @staticmethod
    def png(width: int = 4, height: int = 3) -> bytes:
        """A valid RGB PNG of ``width`` x ``height`` pixels (a red-green gradient)."""

        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = struct.pack(">I", zlib.crc32(kind + data))
            return struct.pack(">I", len(data)) + kind + data + crc

        rows = b"".join(
            b"\0"
            + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
            for y in range(height)
        )
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b"")
        )

    @staticmethod
    def gif(width: int = 2, height: int = 2) -> bytes:
        """A valid GIF89a of ``width`` x ``height`` pixels in stripes of two colours (LZW
        codes of 3 bits, a clear code every two pixels, so no table ever grows)."""
        pixels = [(x // 4 + y // 4) % 2 for y in range(height) for x in range(width)]
        codes = []
        for n in range(0, len(pixels), 2):
            codes += [4, *pixels[n : n + 2]]  # clear, then two literal pixels
        codes.append(5)  # end of information
        bits = sum(code << (3 * n) for n, code in enumerate(codes))
        data = bits.to_bytes((3 * len(codes) + 7) // 8, "little")
        blocks = b"".join(
            bytes([len(data[n : n + 255])]) + data[n : n + 255] for n in range(0, len(data), 255)
        )
        screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\xff\x8c\x00\x30\x60\xd0"
        frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02" + blocks + b"\x00"
        return b"GIF89a" + screen + frame + b";"

    @staticmethod
    def jpeg() -> bytes:
        """The start of a JPEG (SOI + APP0 JFIF)."""
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"

    @staticmethod
    def webp() -> bytes:
        """The RIFF/WEBP header of a WebP."""
        return b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00" + b"\x00" * 14

    @staticmethod
    def bmp() -> bytes:
        """A BMP header: an image, but not a kind Letta accepts."""
        return b"BM" + b"\x00" * 52

    @staticmethod
    def svg() -> bytes:
        """An SVG document with a script (never an accepted image)."""
        return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


@pytest.fixture(scope="session")
def images() -> SampleImages:
    """Sample image bytes: ``images.png(640, 480)``, ``images.gif()``, ``images.bmp()``, …"""
    return SampleImages()
