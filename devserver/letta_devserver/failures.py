"""How runs fail: the error events the real servers stream, and what each profile adds.

letta 0.16.8's ``error_message`` has six fields (``message_type, run_id, error_type,
message, detail, seq_id``); Letta Cloud's also ``error_code``, ``status_code`` and
``retryable``, which Letta Code reads to decide on a retry
(``src/cli/helpers/stream-processor.ts``, ``src/agent/turn-recovery-policy.ts``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "DEVSERVER_BUG",
    "LLM_FAILURES",
    "RunFailure",
    "error_message",
    "refusal",
    "with_detail",
]


@dataclass(frozen=True)
class RunFailure:
    """Why a run failed, and how the servers report it."""

    stop_reason: str
    error_type: str
    message: str
    detail: str
    error_code: str
    """Cloud's ``error_code`` (0.16.8's error names where Cloud's are not on record)."""
    status_code: int
    """Cloud's ``status_code``; also the HTTP status of the ``streaming=false`` answer."""
    retryable: bool

    def body(self) -> dict[str, Any]:
        """The ``streaming=false`` answer: ``{"error": {type, message, detail}}`` (0.16.8)."""
        return {"error": {"type": self.error_type, "message": self.message, "detail": self.detail}}


_INJECTED = "Injected by the devserver (error_event fault or fail:llm)."

LLM_FAILURES = {
    # a transient LLM failure: 0.16.8's LLMError handler (HTTP 500, type llm_error)
    "transient": RunFailure(
        "llm_api_error",
        "llm_error",
        "An error occurred with the LLM request.",
        _INJECTED,
        "llm_error",
        500,
        True,
    ),
    # a request the provider refuses: 0.16.8's LLMBadRequestError handler (HTTP 400);
    # Letta Code never retries llm_bad_request
    "fatal": RunFailure(
        "llm_api_error",
        "llm_bad_request",
        "The request to the LLM model provider was invalid.",
        _INJECTED,
        "llm_bad_request",
        400,
        False,
    ),
    # the one Cloud value on record (Letta Code src/utils/cloud-api-shutdown.ts)
    "deployment": RunFailure(
        "error",
        "internal_error",
        "The Letta Cloud API deployment was interrupted.",
        _INJECTED,
        "cloud_api_deployment_interrupted",
        503,
        True,
    ),
}
"""``error_event[=transient|fatal|deployment]`` faults (``fail:llm`` in the text: transient)."""

DEVSERVER_BUG = RunFailure(
    "error",
    "internal_error",
    "An unknown error occurred with the devserver.",
    "",
    "INTERNAL_SERVER_ERROR",
    500,
    False,
)


def refusal(message: str, detail: str, status: int) -> RunFailure:
    """A request the agent loop refuses at once (a message while approval is pending, an
    approval with nothing pending, empty content): not retryable."""
    code = "PENDING_APPROVAL" if status == 409 else "INVALID_ARGUMENT"
    return RunFailure("error", "internal_error", message, detail, code, status, False)


def error_message(run_id: str, failure: RunFailure, details: bool) -> dict[str, Any]:
    """The ``error_message`` event; ``details``: with Cloud's three extra fields."""
    out: dict[str, Any] = {
        "message_type": "error_message",
        "run_id": run_id,
        "error_type": failure.error_type,
        "message": failure.message,
        "detail": failure.detail,
        "seq_id": None,
    }
    if details:
        out.update(
            error_code=failure.error_code,
            status_code=failure.status_code,
            retryable=failure.retryable,
        )
    return out


def with_detail(failure: RunFailure, detail: str) -> RunFailure:
    """The same failure with another ``detail``."""
    return replace(failure, detail=detail)
