"""The API generations the devserver can play: Letta Cloud's and letta 0.16.8's.

Every behaviour that differs between them is a field of :class:`Traits`, looked up by
name, so the list of differences (``docs/devserver.md``, "Profiles") has one place in the
code too: a new Cloud difference is one field here, its uses, and one line in the docs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLOUD_CONVERSATION_FIELDS",
    "DEFAULT_PROFILE",
    "LETTA_016_CONVERSATION_FIELDS",
    "PROFILES",
    "TRAITS",
    "Traits",
    "check_profile",
]

PROFILES = ("cloud", "letta-0.16")
"""``cloud``: Letta Cloud as measured today; ``letta-0.16``: the retired letta==0.16.8 server."""
DEFAULT_PROFILE = "cloud"

CLOUD_CONVERSATION_FIELDS = (
    "id", "agent_id", "created_at", "created_by_id", "in_context_message_ids", "last_message_at",
    "last_updated_by_id", "model", "model_settings", "summary", "updated_at", "archived",
    "archived_at", "context_window_limit", "description",
)  # fmt: skip
"""The SDK's ``Conversation`` (letta-client 1.12.1 ``types/conversation.py``)."""
LETTA_016_CONVERSATION_FIELDS = (
    "id", "agent_id", "created_at", "created_by_id", "in_context_message_ids", "last_message_at",
    "last_updated_by_id", "model", "model_settings", "summary", "updated_at",
    "isolated_block_ids",
)  # fmt: skip
"""letta 0.16.8's ``Conversation`` (``letta/schemas/conversation.py``)."""


@dataclass(frozen=True)
class Traits:
    """What one API generation does where the two differ (evidence: docs/devserver.md)."""

    order_relative_cursors: bool
    """Message-list ``after``/``before`` relative to the sort order (else by position)."""
    response_state: bool
    """Every stream carries a ``response_state`` event after its first ping."""
    error_details: bool
    """``error_message`` events carry ``error_code``, ``status_code`` and ``retryable``."""
    summary_message_in_lists: bool
    """A compaction summary lists as ``summary_message`` (else a system-alert user message)."""
    conversation_fields: tuple[str, ...]
    """The keys of a conversation object."""
    unhydrated_ids_null: bool
    """Answers other than ``retrieve`` carry ``in_context_message_ids`` null ("not hydrated",
    the SDK's docstring), not ``[]``."""
    conversation_extras: bool
    """archived / archive_status / hidden / description / context_window_limit /
    fork(message_id) are honoured (else silently ignored)."""
    message_search: bool
    """``POST /v1/messages/search`` answers from a full-text index (else 0.16.8's 400)."""
    sdk_step_shapes: bool
    """Steps and step metrics have the SDK's fields (0.16.8 adds ``organization_id``); run
    usage reports the steps' token details (0.16.8's route drops them: null)."""
    letta_image_sources: bool
    """An attached ``base64`` image lists back as a ``letta`` source (a placeholder
    ``file_id``, the data kept) and text parts with ``signature: null`` (else as sent)."""
    health_version: str
    """``GET /v1/health/``'s ``version``."""


TRAITS = {
    "cloud": Traits(
        order_relative_cursors=True,
        response_state=True,
        error_details=True,
        summary_message_in_lists=True,
        conversation_fields=CLOUD_CONVERSATION_FIELDS,
        unhydrated_ids_null=True,
        conversation_extras=True,
        message_search=True,
        sdk_step_shapes=True,
        letta_image_sources=False,
        health_version="devserver-cloud",
    ),
    "letta-0.16": Traits(
        order_relative_cursors=False,
        response_state=False,
        error_details=False,
        summary_message_in_lists=False,
        conversation_fields=LETTA_016_CONVERSATION_FIELDS,
        unhydrated_ids_null=False,
        conversation_extras=False,
        message_search=False,
        sdk_step_shapes=False,
        letta_image_sources=True,
        health_version="0.16.8",
    ),
}


def check_profile(name: str) -> str:
    """``name`` if it is a profile, else a ``ValueError`` that lists the profiles."""
    if name not in PROFILES:
        raise ValueError(f"unknown devserver profile {name!r}: use one of {', '.join(PROFILES)}")
    return name
