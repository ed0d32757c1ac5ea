"""The API generations the devserver can play: Letta Cloud's and letta 0.16.8's.

Every behaviour that differs between them is looked up here by name, so the list of
differences (``docs/devserver.md``, "Profiles") has one place in the code too.
"""

from __future__ import annotations

__all__ = ["DEFAULT_PROFILE", "PROFILES", "check_profile"]

PROFILES = ("cloud", "letta-0.16")
"""``cloud``: Letta Cloud as measured today; ``letta-0.16``: the retired letta==0.16.8 server."""
DEFAULT_PROFILE = "cloud"


def check_profile(name: str) -> str:
    """``name`` if it is a profile, else a ``ValueError`` that lists the profiles."""
    if name not in PROFILES:
        raise ValueError(f"unknown devserver profile {name!r}: use one of {', '.join(PROFILES)}")
    return name
