"""Routes over what runs left behind: message search, steps (feedback, metrics), run usage."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .http import api, json_response, read_json
from .ids import parse_timestamp
from .search import SearchQuery, search
from .service import Service

__all__ = ["AnalyticsRoutes", "validation_error"]

SEARCH_NEEDS_TURBOPUFFER = (
    "Message search requires message embedding, OpenAI, and Turbopuffer to be enabled."
)
"""letta 0.16.8's ValueError without Turbopuffer (services/message_manager.py), a 400."""
SEARCH_MODES = ("vector", "fts", "hybrid")


def validation_error(kind: str, field: str, msg: str, value: Any, **ctx: Any) -> ApiError:
    """A 422 for one bad body field, as FastAPI + Letta's handler word it."""
    err: dict[str, Any] = {"type": kind, "loc": ("body", field), "msg": msg, "input": value}
    if ctx:
        err["ctx"] = ctx
    return ApiError(422, {"detail": repr([err])})


def search_query(body: dict[str, Any]) -> SearchQuery:
    """Validate a ``messages.search`` body as 0.16.8's ``SearchAllMessagesRequest`` does
    (``limit`` 1..100, default 50; ``search_mode`` vector, fts or hybrid)."""
    query = body.get("query")
    if not isinstance(query, str):
        raise validation_error("missing", "query", "Field required", body)
    limit = body.get("limit", 50)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise validation_error("int_type", "limit", "Input should be a valid integer", limit)
    if limit < 1:
        raise validation_error(
            "greater_than_equal", "limit", "Input should be greater than or equal to 1", limit, ge=1
        )
    if limit > 100:
        raise validation_error(
            "less_than_equal", "limit", "Input should be less than or equal to 100", limit, le=100
        )
    mode = body.get("search_mode", "hybrid")
    if mode not in SEARCH_MODES:
        raise validation_error(
            "literal_error", "search_mode", "Input should be 'vector', 'fts' or 'hybrid'", mode
        )
    return SearchQuery(
        query=query,
        agent_id=body.get("agent_id"),
        conversation_id=body.get("conversation_id"),
        start=_date(body, "start_date"),
        end=_date(body, "end_date"),
        limit=limit,
    )


def _date(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise validation_error(
            "datetime_from_date_parsing", name, "Input should be a valid datetime", value
        ) from None


class AnalyticsRoutes:
    """Handlers mixed into :class:`routes.Api` (which provides ``svc``)."""

    svc: Service

    @api
    async def messages_search(self, request: Request) -> Response:
        """``POST /v1/messages/search``: Letta Cloud answers from the full-text index (``fts``;
        ``vector`` and ``hybrid`` too, there are no embeddings); letta 0.16.8 without
        Turbopuffer answers 400."""
        q = search_query(await read_json(request))
        if not self.svc.config.traits.message_search:
            raise ApiError(400, {"detail": SEARCH_NEEDS_TURBOPUFFER})
        with self.svc.store.lock:
            return json_response(search(self.svc.store.db, q))
