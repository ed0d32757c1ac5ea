"""HTTP plumbing: JSON helpers, the SSE response, and the fault/latency middleware."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .faults import FaultSpec, FaultState, error_body
from .sse import CONTENT_TYPE

__all__ = ["FaultMiddleware", "SSEResponse", "api", "json_response", "read_json"]

_log = logging.getLogger("letta_devserver")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response (as FastAPI's ``JSONResponse``)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def api(
    fn: Callable[[Any, Request], Awaitable[Response]],
) -> Callable[[Any, Request], Awaitable[Response]]:
    """Turn ApiError into its JSON answer."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Request) -> Response:
        try:
            return await fn(self, request)
        except ApiError as e:
            return json_response(e.body, e.status, e.headers)
        except Exception:  # a devserver bug: answer like the real server, log the trace
            _log.exception("devserver error on %s %s", request.method, request.url.path)
            return json_response({"detail": "An unknown error occurred"}, 500)

    return wrapper


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty); 422 when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(422, {"detail": "Request body is not valid JSON"}) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(422, {"detail": "Request body must be a JSON object"})
    return data


class SSEResponse:
    """Streams SSE frames; can drop the connection abruptly after N events (a fault)."""

    def __init__(self, frames: AsyncIterator[bytes], drop_after: int | None = None) -> None:
        self.frames = frames
        self.drop_after = drop_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", CONTENT_TYPE.encode()),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.get_running_loop().create_task(watch())
        sent = 0
        try:
            async for data in self.frames:
                if disconnected.is_set():
                    return
                if self.drop_after is not None and sent >= self.drop_after:
                    raise _Drop
                await send({"type": "http.response.body", "body": data, "more_body": True})
                sent += 1
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            aclose = getattr(self.frames, "aclose", None)
            if aclose is not None:
                await aclose()


class _Drop(Exception):
    """Raised to make the server close the connection mid-body."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, _Drop) or (exc and isinstance(exc.__context__, _Drop)):
            return False
        msg = record.getMessage()
        return "ASGI callable returned without completing response" not in msg


def install_log_filter() -> None:
    """Keep injected connection drops out of uvicorn's error log."""
    for name in ("uvicorn.error", "uvicorn"):
        logging.getLogger(name).addFilter(_QuietDrops())


class FaultMiddleware:
    """Applies server-level or per-request (``X-Devserver-Fault``) faults to /v1 requests."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], faults: FaultState
    ) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if (
            scope["type"] != "http"
            or not scope["path"].startswith("/v1/")
            or scope["path"].startswith("/v1/_devserver")
        ):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        try:
            spec = self.faults.for_request(headers.get("x-devserver-fault"))
        except ValueError as exc:
            await _send_json(send, 400, {"detail": f"bad X-Devserver-Fault: {exc}"}, {})
            return
        scope.setdefault("state", {})["fault"] = spec
        if spec.first_byte_delay_ms:
            await asyncio.sleep(spec.first_byte_delay_ms / 1000)
        if spec.status is not None:
            extra = {}
            if spec.status == 429 and spec.retry_after is not None:
                ra = spec.retry_after
                extra["retry-after"] = str(int(ra)) if float(ra).is_integer() else str(ra)
            await _send_json(send, spec.status, error_body(spec.status), extra)
            return
        await self.app(scope, receive, send)


async def _send_json(send: Send, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


def fault_of(request: Request) -> FaultSpec:
    """The fault chosen for this request by the middleware."""
    spec = request.scope.get("state", {}).get("fault")
    return spec if isinstance(spec, FaultSpec) else FaultSpec()
