"""The devserver a benchmark measures against: ``LETTA_PROFILE`` picks its profile.

``make bench`` runs every benchmark once per profile (``cloud``, ``letta-0.16``), so the
figures are quoted for both API generations.
"""

from __future__ import annotations

import os

from letta_devserver.process import DevServerProcess

PROFILE = os.environ.get("LETTA_PROFILE", "cloud")
"""The devserver profile of this run."""


def devserver(*args: str) -> DevServerProcess:
    """A devserver of :data:`PROFILE` (in memory) with ``args``, for ``with``."""
    return DevServerProcess(["--memory", "--profile", PROFILE, *args])
