"""Routes over what runs left behind: message search, steps (feedback, metrics), run usage
and run steps."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError, bad_request, invalid_id, missing_record, not_found
from .http import api, json_response, read_json
from .ids import is_valid_id, parse_timestamp
from .search import SearchQuery, search
from .service import Service, check_limit
from .steps import apply_feedback, metrics_json, run_usage_json, step_json

__all__ = ["AnalyticsRoutes", "validation_error"]

SEARCH_NEEDS_TURBOPUFFER = (
    "Message search requires message embedding, OpenAI, and Turbopuffer to be enabled."
)
"""letta 0.16.8's ValueError without Turbopuffer (services/message_manager.py), a 400."""
SEARCH_MODES = ("vector", "fts", "hybrid")


def validation_error(kind: str, field: str, msg: str, value: Any, **ctx: Any) -> ApiError:
    """A 422 for one bad body field, as FastAPI + Letta's handler word it (checked against
    the real server for ``messages.search``'s ``limit``)."""
    err: dict[str, Any] = {"type": kind, "loc": ("body", field), "msg": msg, "input": value}
    if ctx:
        err["ctx"] = ctx
    return ApiError(422, {"trace_id": "", "detail": repr([err])})


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

    # ------------------------------------------------------------------ steps, run usage
    def _step(self, request: Request, kind: str = "Step") -> dict[str, Any]:
        """The path's step record: 422 when the id is malformed, 404 as 0.16.8 words it."""
        step_id = request.path_params["step_id"]
        if not is_valid_id("step", step_id):
            raise invalid_id("step_id", step_id, "step")
        rec = self.svc.store.get_step(step_id)
        if rec is None:
            raise missing_record(kind, step_id)
        return rec

    def _step_json(self, rec: dict[str, Any]) -> dict[str, Any]:
        agent = self.svc.store.get_agent(rec["agent_id"]) or {}
        return step_json(rec, agent.get("model"), self.svc.config.traits.sdk_step_shapes)

    @api
    async def steps_retrieve(self, request: Request) -> Response:
        """``GET /v1/steps/{step_id}``."""
        return json_response(self._step_json(self._step(request)))

    @api
    async def steps_metrics(self, request: Request) -> Response:
        """``GET /v1/steps/{step_id}/metrics``: the step's measured timings."""
        rec = self._step(request, "StepMetrics")
        return json_response(metrics_json(rec, self.svc.config.traits.sdk_step_shapes))

    @api
    async def steps_feedback(self, request: Request) -> Response:
        """``PATCH /v1/steps/{step_id}/feedback`` (``feedback``, ``tags``) -> the step."""
        rec = self._step(request)
        body = await read_json(request)
        try:
            data = apply_feedback(rec, body)
        except ValueError as exc:
            field = str(exc)
            raise validation_error(
                "literal_error" if field == "feedback" else "list_type",
                field,
                "Input should be 'positive' or 'negative'"
                if field == "feedback"
                else "Input should be a valid list of strings",
                body.get(field),
            ) from None
        self.svc.store.put_step(rec["id"], rec["run_id"], rec["agent_id"], rec["created_at"], data)
        fresh = self.svc.store.get_step(rec["id"])
        assert fresh is not None
        return json_response(self._step_json(fresh))

    def _run(self, request: Request) -> dict[str, Any]:
        """The path's run record (400 for a malformed id, 404 for an unknown one)."""
        run_id = request.path_params["run_id"]
        if not is_valid_id("run", run_id):
            raise bad_request(f"Invalid run ID format: {run_id}. Expected format: 'run-<uuid4>'")
        rec = self.svc.store.get_run(run_id)
        if rec is None:
            raise missing_record("Run", run_id)
        return rec

    @api
    async def runs_usage(self, request: Request) -> Response:
        """``GET /v1/runs/{run_id}/usage``: token counts summed over the run's steps."""
        steps = self.svc.store.run_steps(self._run(request)["id"], ascending=True)
        return json_response(run_usage_json(steps, self.svc.config.traits.sdk_step_shapes))

    @api
    async def runs_steps(self, request: Request) -> Response:
        """``GET /v1/runs/{run_id}/steps``: cursor pages (``after``/``before`` step ids relative
        to ``order``, default desc; ``limit`` 100), as 0.16.8 pages them."""
        qp = request.query_params
        order = qp.get("order", "desc")
        steps = self.svc.store.run_steps(self._run(request)["id"], ascending=order == "asc")
        ids = [s["id"] for s in steps]
        for cursor in ("after", "before"):
            if qp.get(cursor) and qp[cursor] not in ids and not self.svc.store.get_step(qp[cursor]):
                raise not_found(f"No Step found with id {qp[cursor]}")
        if qp.get("after") in ids:
            steps = steps[ids.index(qp["after"]) + 1 :]
            ids = ids[ids.index(qp["after"]) + 1 :]
        if qp.get("before") in ids:
            steps = steps[: ids.index(qp["before"])]
        limit = check_limit(qp.get("limit"), 100)
        page = steps[:limit] if limit is not None else steps
        return json_response([self._step_json(s) for s in page])
