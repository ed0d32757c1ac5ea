"""Fault injection: parse fault specs and decide which fault applies to a request.

A spec is comma-separated items (see docs/devserver.md):

``status=401|403|404|409|429|500|503``  answer with that error (real-server body shape);
``retry_after=S``  with status 429: a ``Retry-After: S`` header;
``drop_after=N``  close the SSE response abruptly after N events;
``first_byte_delay_ms=N``  wait before the response starts;
``error_event[=transient|fatal|deployment]``  end the stream with an error (``event: error`` +
``error_message``, as the real server does on LLM errors) after stop_reason ``llm_api_error``:
a retryable LLM failure (the default), one that is not (``llm_bad_request``), or Letta Cloud's
``cloud_api_deployment_interrupted`` (stop reason ``error``);
``malformed_event``  send one ``data: {not-json`` line mid-stream;
``retry_message``  a Letta Cloud ``retry_message`` event before the first step (the server
says it retries the model; Letta Code's shape);
``stop_reason=VALUE``  end the run with that stop reason;
``once``  (server-level faults) apply to the next request only, then clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["STOP_REASONS", "FaultSpec", "FaultState", "error_body", "parse_fault_spec"]

ERROR_EVENTS = ("transient", "fatal", "deployment")
STATUSES = (400, 401, 403, 404, 409, 422, 429, 500, 502, 503)
STOP_REASONS = (
    "end_turn",
    "error",
    "llm_api_error",
    "invalid_llm_response",
    "invalid_tool_call",
    "max_steps",
    "max_tokens_exceeded",
    "no_tool_call",
    "tool_rule",
    "cancelled",
    "requires_approval",
    "context_window_overflow_in_system_prompt",
)


@dataclass(frozen=True)
class FaultSpec:
    """A parsed fault spec; every field is optional."""

    status: int | None = None
    retry_after: float | None = None
    drop_after: int | None = None
    first_byte_delay_ms: int = 0
    error_event: str | None = None
    """``transient``, ``fatal`` or ``deployment`` (see ``failures.LLM_FAILURES``)."""
    malformed_event: bool = False
    retry_message: bool = False
    stop_reason: str | None = None
    once: bool = False

    @property
    def empty(self) -> bool:
        """True when the spec injects nothing."""
        return (
            self.status is None
            and self.drop_after is None
            and not self.first_byte_delay_ms
            and self.error_event is None
            and not self.malformed_event
            and not self.retry_message
            and self.stop_reason is None
        )

    @property
    def affects_stream(self) -> bool:
        """True when the spec changes the SSE body (not just the status or timing)."""
        return bool(
            self.drop_after is not None
            or self.error_event is not None
            or self.malformed_event
            or self.retry_message
            or self.stop_reason
        )


def _int(name: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"fault {name}={value!r}: expected an integer") from None
    if n < 0:
        raise ValueError(f"fault {name}={value!r}: expected a non-negative integer")
    return n


def parse_fault_spec(spec: str | None) -> FaultSpec:
    """Parse ``"status=429,retry_after=2"`` etc.; raises ValueError on unknown items."""
    fields: dict[str, Any] = {}
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "status":
            code = _int(key, value)
            if code not in STATUSES:
                raise ValueError(f"fault status={value}: expected one of {STATUSES}")
            fields["status"] = code
        elif key == "retry_after":
            try:
                fields["retry_after"] = float(value)
            except ValueError:
                raise ValueError(f"fault retry_after={value!r}: expected seconds") from None
        elif key == "drop_after":
            fields["drop_after"] = _int(key, value)
        elif key == "first_byte_delay_ms":
            fields["first_byte_delay_ms"] = _int(key, value)
        elif key == "error_event":
            kind = value.lower() or "transient"
            if kind not in ERROR_EVENTS:
                raise ValueError(f"fault error_event={value!r}: expected one of {ERROR_EVENTS}")
            fields["error_event"] = kind
        elif key in ("malformed_event", "retry_message", "once"):
            if value and value.lower() not in ("1", "true", "yes"):
                raise ValueError(f"fault {key} takes no value")
            fields[key] = True
        elif key == "stop_reason":
            if value not in STOP_REASONS:
                raise ValueError(f"fault stop_reason={value!r}: expected one of {STOP_REASONS}")
            fields["stop_reason"] = value
        else:
            raise ValueError(f"unknown fault item {item!r}")
    return FaultSpec(**fields)


def error_body(status: int, detail: str | None = None) -> dict[str, Any]:
    """A JSON error body shaped like the real server's for ``status``."""
    if status == 429:
        return {
            "error": {
                "type": "llm_rate_limit",
                "message": "Rate limit exceeded for LLM model provider. "
                "Please wait before making another request.",
                "detail": detail or "Rate limit exceeded (injected by the devserver).",
            }
        }
    defaults = {
        400: "INVALID_ARGUMENT: Bad request (injected by the devserver).",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "CONFLICT: Cannot send a new message: Another request is currently being processed "
        "for this conversation. Please wait for the current request to complete.",
        422: "Unprocessable Entity",
        500: "An unknown error occurred",
        502: "Bad Gateway",
        503: "The database is temporarily unavailable. Please try again later.",
    }
    return {"detail": detail or defaults.get(status, "Error")}


class FaultState:
    """The server-level fault (set by ``--fault`` or ``PUT /v1/_devserver/faults``)."""

    def __init__(self, spec: str | None = None) -> None:
        self.spec_text = ""
        self.spec = FaultSpec()
        if spec:
            self.set(spec)

    def set(self, spec: str) -> FaultSpec:
        """Replace the server-level fault (validates first)."""
        parsed = parse_fault_spec(spec)
        self.spec, self.spec_text = parsed, spec
        return parsed

    def clear(self) -> None:
        """Remove the server-level fault."""
        self.spec, self.spec_text = FaultSpec(), ""

    def for_request(self, header: str | None) -> FaultSpec:
        """The fault for one request: the header's spec if any, else the server's.

        A server-level ``once`` fault is cleared as soon as it is handed out.
        """
        if header:
            return parse_fault_spec(header)
        spec = self.spec
        if spec.once and not spec.empty:
            self.clear()
        return spec
