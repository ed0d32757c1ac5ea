"""HTTP errors with the real server's body shapes."""

from __future__ import annotations

from typing import Any

from .ids import ACTOR_ID, ORG_ID, pattern_for

__all__ = ["ApiError", "bad_request", "conflict", "invalid_id", "missing_record", "not_found"]


class ApiError(Exception):
    """An error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(detail: str) -> ApiError:
    """404 ``{"detail": ...}``."""
    return ApiError(404, {"detail": detail})


def missing_record(kind: str, record_id: str) -> ApiError:
    """404 as 0.16.8's ORM read words an unknown id (``Run``, ``Step``, ``StepMetrics``; it
    prints its default actor)."""
    return not_found(
        f"{kind} not found with id='['{record_id}']', access level in ['read'] for actor='id="
        f"'{ACTOR_ID}' organization_id='{ORG_ID}' name='default_user' is_deleted=False'"
    )


def bad_request(message: str) -> ApiError:
    """400 for LettaInvalidArgumentError: ``INVALID_ARGUMENT: ...``."""
    return ApiError(400, {"detail": f"INVALID_ARGUMENT: {message}"})


def conflict(message: str, **extra: Any) -> ApiError:
    """409 ``CONFLICT: ...`` (plus e.g. ``run_id``)."""
    return ApiError(409, {"detail": f"CONFLICT: {message}", **extra})


def invalid_id(
    param: str, value: str, prefix: str, *, location: str = "path", allow_default: bool = False
) -> ApiError:
    """422 for a malformed id, as FastAPI + Letta's validation handler answer it."""
    pattern = pattern_for(prefix)
    if allow_default:
        pattern = f"^(default|{pattern_for('conv')[1:-1]}|{pattern_for('agent')[1:-1]})$"
    err = {
        "type": "string_pattern_mismatch",
        "loc": (location, param),
        "msg": f"String should match pattern '{prefix}-{{uuid4}}'",
        "input": value,
        "ctx": {"pattern": pattern},
    }
    return ApiError(
        422,
        {
            "trace_id": "",
            "detail": repr([err]),
            "examples": [f"{prefix}-123e4567-e89b-42d3-8456-426614174000"],
        },
    )
