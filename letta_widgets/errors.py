"""One exception family for everything that can go wrong talking to Letta.

Every SDK failure is translated by :func:`translate` (or the :func:`sdk_errors`
context manager) into a :class:`LettaWidgetsError` subclass whose message says
what happened and what to do about it. Widgets show ``str(error)`` as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import letta_client

from letta_widgets.letta.images import RULES

__all__ = [
    "AgentRunError",
    "ApprovalPending",
    "AuthenticationFailed",
    "ConversationBusy",
    "DatasetLayoutError",
    "DatasetLocked",
    "ForkPointIgnored",
    "ImageRefused",
    "InvalidRequest",
    "LettaWidgetsError",
    "NotFound",
    "RateLimited",
    "RequestTimedOut",
    "ServerError",
    "ServerUnreachable",
    "StreamInterrupted",
    "approval_pending",
    "images_refused",
    "run_error",
    "sdk_errors",
    "translate",
]


class LettaWidgetsError(Exception):
    """Base class: ``str(err)`` is ``"<what happened>: <what to do>"``."""

    def __init__(
        self,
        problem: str,
        remedy: str,
        *,
        status: int | None = None,
        url: str | None = None,
        detail: str | None = None,
        code: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.problem = problem
        self.remedy = remedy
        self.status = status
        self.url = url
        self.detail = detail
        self.code = code
        """The server's machine-readable error code (Letta Cloud's ``error_code``), if any."""
        self.retryable = retryable
        """The server's word on whether trying again can succeed (``None``: it did not say)."""
        self.turn: Any = None
        """The partial :class:`~letta_widgets.stream.Turn` when a streamed turn failed."""
        super().__init__(f"{problem}: {remedy}" if remedy else problem)


class ServerUnreachable(LettaWidgetsError):
    """No server answered at the base URL (connection refused, DNS failure, reset)."""


class RequestTimedOut(LettaWidgetsError):
    """The server accepted the connection but did not answer in time."""


class AuthenticationFailed(LettaWidgetsError):
    """401 or 403: the API key is missing, wrong, or lacks permission."""


class NotFound(LettaWidgetsError):
    """404: the agent, conversation, block or run does not exist (or was deleted)."""


class InvalidRequest(LettaWidgetsError):
    """400 or 422: the server rejected the request's arguments (e.g. a malformed id)."""


class ConversationBusy(LettaWidgetsError):
    """409: the conversation already has a run in progress (or nothing to cancel)."""


class RateLimited(LettaWidgetsError):
    """429: too many requests; ``retry_after`` holds the server's hint in seconds."""

    retry_after: float | None = None


class ServerError(LettaWidgetsError):
    """5xx: the server failed while handling the request."""


class StreamInterrupted(LettaWidgetsError):
    """A stream ended (or broke) before the server sent its stop reason."""


class AgentRunError(LettaWidgetsError):
    """The run reported an error (an ``error_message`` event or an error stop reason)."""


class DatasetLocked(LettaWidgetsError):
    """Another export or compaction holds the history dataset's ``_lock`` (a live process,
    or one on another host); nothing was written."""


class DatasetLayoutError(LettaWidgetsError):
    """A history dataset is not in the layout this call reads or writes (e.g. an
    incremental export into a dataset of the old per-conversation layout), or its manifest
    lists a file that is gone."""


class ForkPointIgnored(LettaWidgetsError):
    """The server forked the whole conversation instead of stopping at the fork point
    (letta 0.16.8 ignores ``message_id``): an edit or regenerate there would keep the old
    history, so the toolkit deletes that fork and refuses."""


class ApprovalPending(LettaWidgetsError):
    """The run stopped with ``requires_approval``: a tool call waits for approve or deny."""


class ImageRefused(LettaWidgetsError):
    """An attached image is not sent (not PNG, JPEG, GIF or WebP, too large, empty or
    unreadable); nothing of its message was sent."""


_DOWN_REMEDY = (
    "start one with `letta-devserver --seed demo` (offline, seeded with demo data) "
    "or point LETTA_BASE_URL at your server"
)


def approval_pending(
    what: str, *, url: str | None = None, detail: str | None = None
) -> ApprovalPending:
    """The error for a message sent while a tool call of ``what`` waits for approval."""
    return ApprovalPending(
        f"{what} is waiting for your approval of a tool call",
        "approve or deny it first (the Approve / Deny buttons, or "
        "chat.approve(approve=True|False))",
        status=409,
        url=url,
        detail=detail,
    )


def images_refused(problems: Sequence[str]) -> ImageRefused:
    """The error for attached images that are not sent: ``problems`` name each one
    (:meth:`letta_widgets.letta.images.Attachment.problem`)."""
    return ImageRefused(
        "; ".join(problems),
        f"attach {RULES['names']} images of at most {RULES['limit']} each; nothing was sent",
    )


def run_error(event: Mapping[str, Any], *, what: str, url: str | None = None) -> LettaWidgetsError:
    """The error a failed run reported (an ``error_message`` event), as a typed error.

    Letta Cloud adds ``error_code``, ``status_code`` and ``retryable`` to the event; they
    become the error's ``code``, ``status`` and ``retryable`` (``None`` where absent).
    """
    message = str(event.get("message") or "")
    if "waiting for approval" in message.lower():
        # The real server refuses a message sent while a tool call awaits approval by
        # failing the new run at once (CONFLICT inside the stream, not an HTTP 409).
        return approval_pending(what, url=url, detail=message)
    retryable = event.get("retryable")
    retryable = retryable if isinstance(retryable, bool) else None
    status = event.get("status_code")
    code = event.get("error_code")
    label = f"{event.get('error_type')}" + (f", {code}" if code else "")
    if retryable is False:
        remedy = "the server says retrying will not help; look at the message and the server log"
    else:
        remedy = "look at the server log; send again to retry"
    return AgentRunError(
        f"the agent's run failed ({label}: {message})",
        remedy,
        status=status if isinstance(status, int) else None,
        url=url,
        detail=str(event.get("detail") or "") or None,
        code=str(code) if code else None,
        retryable=retryable,
    )


def _server_message(body: object) -> str:
    """The human part of an error body: ``detail`` / ``message`` / the raw text."""
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if value:
                return json.dumps(value)[:500]
    if isinstance(body, str):
        return body[:500]
    return ""


def _code_and_retryable(body: object) -> dict[str, Any]:
    """Letta Cloud's machine-readable hints in an error body (``errorCode``, ``retryable``)."""
    out: dict[str, Any] = {}
    if isinstance(body, dict):
        code = body.get("error_code") or body.get("errorCode")
        if isinstance(code, str) and code:
            out["code"] = code
        if isinstance(body.get("retryable"), bool):
            out["retryable"] = body["retryable"]
    return out


def _retry_after(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def translate(
    exc: BaseException, *, base_url: str | None = None, what: str | None = None
) -> LettaWidgetsError:
    """Map an SDK (or httpx) exception to the matching :class:`LettaWidgetsError`.

    ``what`` names the thing the call was about (``"conversation conv-…"``) so a
    404 can say which id is unknown. An error that is already ours passes through.
    """
    if isinstance(exc, LettaWidgetsError):
        return exc
    url = base_url
    subject = what or "the requested resource"
    if isinstance(exc, letta_client.APITimeoutError):
        return RequestTimedOut(
            f"the Letta server at {url or 'the configured URL'} did not answer in time",
            "check that it is not overloaded, or pass a larger `timeout=` to connect()",
            url=url,
        )
    if isinstance(exc, letta_client.APIConnectionError):
        return ServerUnreachable(
            f"no Letta server at {url or 'the configured URL'}",
            _DOWN_REMEDY,
            url=url,
            detail=str(exc.__cause__ or exc),
        )
    if isinstance(exc, letta_client.APIStatusError):
        status = exc.status_code
        detail = _server_message(exc.body) or str(exc)
        common: dict[str, Any] = {"status": status, "url": url, "detail": detail}
        common.update(_code_and_retryable(exc.body))
        if status in (401, 403):
            return AuthenticationFailed(
                f"the Letta server refused the API key ({status}: {detail})",
                "set LETTA_API_KEY or pass api_key= to connect(); for Letta Cloud create a "
                "key in the dashboard's API keys page",
                **common,
            )
        if status == 404:
            return NotFound(
                f"{subject} was not found ({detail})",
                "check the id (it may have been deleted by another client); "
                "list what exists with lw.conversations_frame(client, agent_id)",
                **common,
            )
        if status == 409:
            return ConversationBusy(
                f"{subject} is busy ({detail})",
                "wait for the running turn to finish, attach to it, or stop it with "
                "client.conversations.cancel(conversation_id)",
                **common,
            )
        if status == 429:
            err = RateLimited(
                f"the Letta server is rate limiting requests ({detail})",
                "wait a moment and try again, or lower the concurrency",
                **common,
            )
            err.retry_after = _retry_after(exc.response)
            return err
        if status in (400, 422):
            return InvalidRequest(
                f"the Letta server rejected the request for {subject} ({status}: {detail})",
                "check the ids and arguments (conversation ids look like conv-<uuid4>)",
                **common,
            )
        if status >= 500:
            return ServerError(
                f"the Letta server failed ({status}: {detail})",
                "try again; if it keeps failing, check the server's log",
                **common,
            )
        return LettaWidgetsError(
            f"the Letta server answered {status} ({detail})", "check the request", **common
        )
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency of the SDK
        httpx = None  # type: ignore[assignment]
    if httpx is not None and isinstance(exc, (httpx.TransportError, httpx.StreamError)):
        return StreamInterrupted(
            f"the connection to {url or 'the Letta server'} broke ({exc.__class__.__name__})",
            "the turn can be resumed; send again (the same otid is never stored twice)",
            url=url,
            detail=str(exc),
        )
    return LettaWidgetsError(f"unexpected error: {exc!r}", "see the traceback", url=url)


@contextmanager
def sdk_errors(*, base_url: str | None = None, what: str | None = None) -> Iterator[None]:
    """Re-raise SDK exceptions raised inside the block as :class:`LettaWidgetsError`."""
    try:
        yield
    except LettaWidgetsError:
        raise
    except (letta_client.LettaError, OSError) as exc:
        raise translate(exc, base_url=base_url, what=what) from None
    except Exception as exc:
        import httpx

        if isinstance(exc, httpx.HTTPError):
            raise translate(exc, base_url=base_url, what=what) from None
        raise
