"""Route handlers: the Letta REST API subset the toolkit uses, plus /v1/_devserver admin."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import images, seed
from .analytics import AnalyticsRoutes
from .errors import ApiError, bad_request, conflict, invalid_id, missing_record, not_found
from .failures import refusal
from .faults import FaultState
from .http import SSEResponse, api, fault_of, json_response, read_json
from .ids import fmt_naive_timestamp, fmt_timestamp, is_valid_id, now, parse_timestamp
from .runs import METADATA_EVENTS, Run, RunManager, RunOptions, ping_chunk
from .serialize import (
    agent_json,
    block_json,
    conversation_json,
    llm_config,
    stop_reason_json,
)
from .service import Service, check_limit
from .sse import Chunk, frame

__all__ = ["Api"]

Handler = Callable[[Request], Awaitable[Response]]

MODELS = [
    ("openai", "gpt-4o-mini", 128000),
    ("openai", "gpt-4o", 128000),
    ("openai", "gpt-4.1-mini", 1047576),
    ("anthropic", "claude-3-5-haiku", 200000),
    ("anthropic", "claude-sonnet-4", 200000),
    ("openai-proxy", "stub-model", 30000),
]
EMBEDDINGS = [
    ("openai", "text-embedding-3-small", 1536),
    ("openai", "text-embedding-3-large", 3072),
]


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


class Api(AnalyticsRoutes):
    """All handlers, bound to one service, run manager and fault state."""

    def __init__(self, service: Service, runs: RunManager, faults: FaultState) -> None:
        self.svc = service
        self.store = service.store
        self.runs = runs
        self.faults = faults

    def routes(self) -> list[BaseRoute]:
        """Starlette routes (with and without trailing slashes)."""
        table: list[tuple[str, Handler, list[str]]] = [
            ("/v1/health", self.health, ["GET"]),
            ("/v1/models", self.models, ["GET"]),
            ("/v1/models/embedding", self.embedding_models, ["GET"]),
            ("/v1/agents", self.agents_list, ["GET"]),
            ("/v1/agents", self.agents_create, ["POST"]),
            ("/v1/agents/{agent_id}", self.agents_retrieve, ["GET"]),
            ("/v1/agents/{agent_id}", self.agents_delete, ["DELETE"]),
            ("/v1/agents/{agent_id}/core-memory/blocks", self.blocks_list, ["GET"]),
            ("/v1/agents/{agent_id}/core-memory/blocks/{label}", self.blocks_retrieve, ["GET"]),
            ("/v1/agents/{agent_id}/core-memory/blocks/{label}", self.blocks_update, ["PATCH"]),
            ("/v1/agents/{agent_id}/tools/approval/{tool}", self.tool_approval, ["PATCH"]),
            ("/v1/conversations", self.conv_list, ["GET"]),
            ("/v1/conversations", self.conv_create, ["POST"]),
            ("/v1/conversations/{cid}", self.conv_retrieve, ["GET"]),
            ("/v1/conversations/{cid}", self.conv_update, ["PATCH"]),
            ("/v1/conversations/{cid}", self.conv_delete, ["DELETE"]),
            ("/v1/conversations/{cid}/fork", self.conv_fork, ["POST"]),
            ("/v1/conversations/{cid}/recompile", self.conv_recompile, ["POST"]),
            ("/v1/conversations/{cid}/cancel", self.conv_cancel, ["POST"]),
            ("/v1/conversations/{cid}/compact", self.conv_compact, ["POST"]),
            ("/v1/conversations/{cid}/messages", self.messages_list, ["GET"]),
            ("/v1/conversations/{cid}/messages", self.messages_create, ["POST"]),
            ("/v1/conversations/{cid}/stream", self.stream_resume, ["GET", "POST"]),
            ("/v1/messages/search", self.messages_search, ["POST"]),
            ("/v1/runs", self.runs_list, ["GET"]),
            ("/v1/runs/{run_id}/usage", self.runs_usage, ["GET"]),
            ("/v1/runs/{run_id}/steps", self.runs_steps, ["GET"]),
            ("/v1/steps/{step_id}", self.steps_retrieve, ["GET"]),
            ("/v1/steps/{step_id}/metrics", self.steps_metrics, ["GET"]),
            ("/v1/steps/{step_id}/feedback", self.steps_feedback, ["PATCH"]),
            ("/v1/runs/{run_id}", self.runs_retrieve, ["GET"]),
            ("/v1/_devserver/faults", self.admin_faults, ["GET", "PUT", "DELETE"]),
            ("/v1/_devserver/reset", self.admin_reset, ["POST"]),
            ("/v1/_devserver/conversations/{cid}/synthetic", self.admin_synthetic, ["POST"]),
            ("/v1/_devserver/seed", self.admin_seed, ["POST"]),
        ]
        out: list[BaseRoute] = []
        for path, handler, methods in table:
            out.append(Route(path, handler, methods=methods))
            out.append(Route(path + "/", handler, methods=methods))
        return out

    # ------------------------------------------------------------------ misc
    async def health(self, request: Request) -> Response:
        """``GET /v1/health/``: the profile's version (0.16.8, or a devserver label for Cloud,
        whose answer is not on record)."""
        version = self.svc.config.traits.health_version
        return json_response({"version": version, "status": "ok"})

    async def models(self, request: Request) -> Response:
        """``GET /v1/models/``: LLM handles the devserver accepts (any handle works)."""
        out = []
        for provider, name, ctx in MODELS:
            kind = "anthropic" if provider == "anthropic" else "openai"
            out.append(
                {
                    **llm_config(f"{provider}/{name}", ctx),
                    "max_context_window": ctx,
                    "name": name,
                    "display_name": name,
                    "model_endpoint_type": kind,
                    "provider_type": kind,
                    "model_type": "llm",
                    "provider_name": provider,
                    "temperature": 0.7,
                }
            )
        return json_response(out)

    async def embedding_models(self, request: Request) -> Response:
        """``GET /v1/models/embedding``."""
        out = [
            {
                "display_name": name,
                "embedding_dim": dim,
                "embedding_endpoint_type": provider,
                "embedding_model": name,
                "name": name,
                "provider_name": provider,
                "provider_type": provider,
                "azure_deployment": None,
                "azure_endpoint": None,
                "azure_version": None,
                "batch_size": 32,
                "embedding_chunk_size": 300,
                "embedding_endpoint": "http://127.0.0.1/devserver/v1",
                "handle": f"{provider}/{name}",
                "model_type": "embedding",
            }
            for provider, name, dim in EMBEDDINGS
        ]
        return json_response(out)

    # ------------------------------------------------------------------ agents
    def _agent_view(
        self, request: Request, a: dict[str, Any], full: bool | None = None
    ) -> dict[str, Any]:
        include = set(request.query_params.getlist("include"))
        if full is None:
            full = bool(include) or "x-stainless-package-version" not in request.headers
        blocks = self.store.blocks(a["id"])
        default = self.store.get_conversation(f"default-{a['id']}")
        message_ids = self.svc.in_context_ids(default) if default else []
        out = agent_json(a, blocks, message_ids)
        if not full or (include and "agent.blocks" not in include):
            out["blocks"] = []
            out["memory"]["blocks"] = []
        if not full or (include and "agent.tools" not in include):
            out["tools"] = []
        if not full or (include and "agent.tags" not in include):
            out["tags"] = []
        return out

    @api
    async def agents_create(self, request: Request) -> Response:
        """``POST /v1/agents/``."""
        body = await read_json(request)
        agent = self.svc.create_agent(body)
        self.svc.default_conversation(agent["id"])
        return json_response(self._agent_view(request, agent, full=True))

    @api
    async def agents_list(self, request: Request) -> Response:
        """``GET /v1/agents/`` (cursor pages: limit, after, before, order; name/query_text)."""
        qp = request.query_params
        agents = self.store.list_agents()
        if qp.get("name"):
            agents = [a for a in agents if a["name"] == qp["name"]]
        if qp.get("query_text"):
            needle = qp["query_text"].lower()
            agents = [a for a in agents if needle in a["name"].lower()]
        tags = qp.getlist("tags")
        if tags:
            agents = [a for a in agents if set(tags) & set(a.get("tags") or [])]
        desc = qp.get("order", "desc") == "desc" and not _bool(qp.get("ascending"), False)
        if qp.get("order") == "asc":
            desc = False
        if desc:
            agents.reverse()
        ids = [a["id"] for a in agents]
        if qp.get("after") in ids:
            agents = agents[ids.index(qp["after"]) + 1 :]
            ids = [a["id"] for a in agents]
        if qp.get("before") in ids:
            agents = agents[: ids.index(qp["before"])]
        limit = check_limit(qp.get("limit"), 50)
        if limit is not None:
            agents = agents[:limit]
        return json_response([self._agent_view(request, a) for a in agents])

    @api
    async def agents_retrieve(self, request: Request) -> Response:
        """``GET /v1/agents/{agent_id}``."""
        a = self.svc.agent(request.path_params["agent_id"])
        return json_response(self._agent_view(request, a))

    @api
    async def agents_delete(self, request: Request) -> Response:
        """``DELETE /v1/agents/{agent_id}``."""
        a = self.svc.agent(request.path_params["agent_id"])
        for run in list(self.runs.runs.values()):
            if run.agent_id == a["id"] and run.active:
                run.cancel_event.set()
        self.store.delete_agent(a["id"])
        return json_response(None)

    @api
    async def blocks_list(self, request: Request) -> Response:
        """``GET /v1/agents/{agent_id}/core-memory/blocks``."""
        a = self.svc.agent(request.path_params["agent_id"])
        blocks = _page(
            self.store.blocks(a["id"]), request.query_params, default_order="asc", default_limit=100
        )
        return json_response([block_json(b) for b in blocks])

    def _block(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        a = self.svc.agent(request.path_params["agent_id"])
        label = request.path_params["label"]
        b = self.store.block(a["id"], label)
        if b is None:
            raise not_found(f"Block with label '{label}' not found on agent '{a['id']}'")
        return a, b

    @api
    async def blocks_retrieve(self, request: Request) -> Response:
        """``GET /v1/agents/{agent_id}/core-memory/blocks/{label}``."""
        _, b = self._block(request)
        return json_response(block_json(b))

    @api
    async def blocks_update(self, request: Request) -> Response:
        """``PATCH /v1/agents/{agent_id}/core-memory/blocks/{label}`` (value, description)."""
        a, b = self._block(request)
        body = await read_json(request)
        if "value" in body and body["value"] is not None:
            b = self.svc.set_block(a["id"], b["label"], str(body["value"]))
        extra = {
            k: v
            for k, v in body.items()
            if k in ("description", "limit", "read_only", "metadata") and v is not None
        }
        if extra:
            data = {k: b.get(k) for k in ("description", "limit", "read_only", "metadata")}
            data.update(extra)
            self.store.update_block_data(a["id"], b["label"], data)
            self.store.set_block_value(a["id"], b["label"], b["value"], now())
            b = self.store.block(a["id"], b["label"]) or b
        return json_response(block_json(b))

    @api
    async def tool_approval(self, request: Request) -> Response:
        """``PATCH /v1/agents/{agent_id}/tools/approval/{tool}`` (requires_approval)."""
        body = await read_json(request)
        flag = body.get("requires_approval", request.query_params.get("requires_approval"))
        if flag is None:
            raise ApiError(422, {"detail": "requires_approval is required"})
        self.svc.set_tool_approval(
            request.path_params["agent_id"], request.path_params["tool"], _bool(flag, False)
        )
        return json_response(None)  # the real server answers null

    # ------------------------------------------------------------------ conversations
    def _conv(
        self, request: Request, agent_id: str | None = None, *, allow_default: bool = True
    ) -> dict[str, Any]:
        aid = agent_id or request.query_params.get("agent_id")
        return self.svc.conversation(request.path_params["cid"], aid, allow_default=allow_default)

    def _conv_json(self, conv: dict[str, Any], fresh: bool = False) -> dict[str, Any]:
        """A conversation with the profile's fields; ``fresh``: ``in_context_message_ids`` not
        loaded, as the real server answers everything but ``retrieve`` (create, fork, update,
        list): ``[]`` on 0.16.8, null ("not hydrated") on Letta Cloud."""
        traits = self.svc.config.traits
        if fresh:
            ids: list[str] | None = None if traits.unhydrated_ids_null else []
        else:
            ids = self.svc.in_context_ids(conv)
        out = conversation_json(conv, ids, traits.conversation_fields)
        if conv.get("is_default"):
            out["id"] = "default"
        return out

    @api
    async def conv_create(self, request: Request) -> Response:
        """``POST /v1/conversations/?agent_id=…`` (summary, model, model_settings; on Letta
        Cloud also description, context_window_limit, hidden)."""
        agent_id = request.query_params.get("agent_id")
        if not agent_id:
            raise ApiError(
                422,
                {
                    "detail": "[{'type': 'missing', 'loc': ('query', 'agent_id'), "
                    "'msg': 'Field required', 'input': None}]"
                },
            )
        body = await read_json(request)
        keys = ["model_settings"]
        if self.svc.config.traits.conversation_extras:  # 0.16.8 ignores the others
            keys += ["description", "context_window_limit", "hidden"]
        data = {k: body[k] for k in keys if body.get(k) is not None}
        conv = self.svc.create_conversation(
            agent_id, summary=body.get("summary"), model=body.get("model"), data=data
        )
        return json_response(self._conv_json(conv, fresh=True))

    @api
    async def conv_list(self, request: Request) -> Response:
        """``GET /v1/conversations/`` (agent_id, limit, after, order, order_by, summary_search;
        on Letta Cloud archive_status, and hidden conversations are never listed)."""
        qp = request.query_params
        extras = self.svc.config.traits.conversation_extras
        convs = self.store.list_conversations(
            qp.get("agent_id"),
            archive_status=qp.get("archive_status", "unarchived") if extras else "all",
            summary_search=qp.get("summary_search"),
            order_by=qp.get("order_by", "created_at"),
            ascending=qp.get("order", "desc") == "asc",
        )
        if extras:
            convs = [c for c in convs if not (c.get("data") or {}).get("hidden")]
        after = qp.get("after")  # relative to the sort order, on both servers
        if after:
            ids = [c["id"] for c in convs]
            if after in ids:
                convs = convs[ids.index(after) + 1 :]
        limit = check_limit(qp.get("limit"), 50)
        if limit is not None:
            convs = convs[:limit]
        return json_response([self._conv_json(c, fresh=True) for c in convs])

    @api
    async def conv_retrieve(self, request: Request) -> Response:
        """``GET /v1/conversations/{id}``."""
        return json_response(self._conv_json(self._conv(request, allow_default=False)))

    @api
    async def conv_update(self, request: Request) -> Response:
        """``PATCH /v1/conversations/{id}``: summary, model, model_settings, last_message_at; on
        Letta Cloud also archived, description, context_window_limit. Nulls change nothing
        (0.16.8 applies ``model_dump(exclude_none=True)``), unknown keys are ignored."""
        conv = self._conv(request, allow_default=False)
        body = {k: v for k, v in (await read_json(request)).items() if v is not None}
        t = now()
        fields: dict[str, Any] = {"updated_at": t}
        data = dict(conv.get("data") or {})
        for k in ("summary", "model"):
            if k in body:
                fields[k] = body[k]
        if "last_message_at" in body:
            fields["last_message_at"] = _timestamp(body["last_message_at"], "last_message_at")
        keys = ["model_settings"]
        if self.svc.config.traits.conversation_extras:
            keys += ["description", "context_window_limit"]
            if "archived" in body:
                fields["archived"] = int(bool(body["archived"]))
                data["archived_at"] = t if body["archived"] else None
        data.update({k: body[k] for k in keys if k in body})
        fields["data"] = data
        self.store.update_conversation(conv["id"], **fields)
        fresh = self.store.get_conversation(conv["id"])
        assert fresh is not None
        return json_response(self._conv_json(fresh, fresh=True))

    @api
    async def conv_delete(self, request: Request) -> Response:
        """``DELETE /v1/conversations/{id}`` (soft)."""
        conv = self._conv(request, allow_default=False)
        self.runs.cancel(conv["id"])
        self.svc.delete_conversation(conv)
        return json_response(None)

    @api
    async def conv_fork(self, request: Request) -> Response:
        """``POST /v1/conversations/{id}/fork`` (agent_id for default; on Letta Cloud also
        message_id and hidden, which 0.16.8 ignores: it forks everything, listed)."""
        conv = self._conv(request)
        qp = request.query_params
        extras = self.svc.config.traits.conversation_extras
        mid = qp.get("message_id") if extras else None
        if mid and not is_valid_id("message", mid):
            raise invalid_id("message_id", mid, "message", location="query")
        new = self.svc.fork(conv, mid)
        if extras and _bool(qp.get("hidden"), False):
            self.store.update_conversation(
                new["id"], data={**(new.get("data") or {}), "hidden": True}
            )
        return json_response(self._conv_json(new, fresh=True))

    @api
    async def conv_recompile(self, request: Request) -> Response:
        """``POST /v1/conversations/{id}/recompile``: returns the compiled system prompt."""
        body = await read_json(request)
        conv = self._conv(request, body.get("agent_id"))
        dry = _bool(request.query_params.get("dry_run"), False)
        return json_response(self.svc.recompile(conv, dry_run=dry))

    @api
    async def conv_cancel(self, request: Request) -> Response:
        """``POST /v1/conversations/{id}/cancel``."""
        conv = self._conv(request)
        out = self.runs.cancel(conv["id"])
        if not out:
            label = "default" if conv.get("is_default") else conv["id"]
            raise conflict(f"No active runs to cancel for conversation {label}")
        return json_response(out)

    @api
    async def conv_compact(self, request: Request) -> Response:
        """``POST /v1/conversations/{id}/compact``."""
        body = await read_json(request)
        conv = self._conv(request, body.get("agent_id"))
        return json_response(self.svc.compact(conv).response())

    # ------------------------------------------------------------------ messages
    @api
    async def messages_list(self, request: Request) -> Response:
        """``GET /v1/conversations/{id}/messages`` (after, before, limit, order)."""
        qp = request.query_params
        try:
            conv = self._conv(request)
        except ApiError as e:
            if e.status != 404:
                raise
            return json_response([])  # the real server lists unknown/deleted ones as empty
        order = qp.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(422, {"detail": f"order must be 'asc' or 'desc', got {order!r}"})
        limit = check_limit(qp.get("limit"), 100)
        types = qp.getlist("include_return_message_types") or None
        if not types:
            t0 = time.perf_counter()
            body = self.svc.list_messages_json(
                conv, after=qp.get("after"), before=qp.get("before"), limit=limit, order=order
            )
            ms = (time.perf_counter() - t0) * 1000
            return Response(
                body.encode(),
                media_type="application/json",
                headers={"server-timing": f"db;dur={ms:.2f}"},
            )
        items = self.svc.list_messages(
            conv,
            after=qp.get("after"),
            before=qp.get("before"),
            limit=limit,
            order=order,
            types=types,
        )
        return json_response(items)

    def _options(self, request: Request, body: dict[str, Any]) -> RunOptions:
        cfg = self.svc.config
        h = request.headers

        def whole(name: str, default: int) -> int:
            try:
                value = int(h.get(name, default))
            except ValueError:
                value = -1
            if value < 0:
                raise bad_request(f"{name} must be a whole number >= 0") from None
            return value

        def ms(name: str, default: int) -> float:
            return whole(name, default) / 1000

        return RunOptions(
            stream_tokens=_bool(body.get("stream_tokens"), False),
            background=_bool(body.get("background"), False),
            include_pings=_bool(body.get("include_pings"), True),
            token_delay=ms("x-devserver-token-delay-ms", cfg.token_delay_ms),
            step_delay=ms("x-devserver-step-delay-ms", cfg.step_delay_ms),
            slow_delay=cfg.slow_token_delay_ms / 1000,
            override_model=body.get("override_model"),
            override_system=body.get("override_system"),
            tool_call_deltas=_bool(h.get("x-devserver-tool-call-deltas"), cfg.tool_call_deltas),
            keepalive=ms("x-devserver-keepalive-ms", cfg.keepalive_ms),
            fault=fault_of(request),
            types=body.get("include_return_message_types") or None,
            max_steps=_int(body.get("max_steps"), 50),
            include_compaction_messages=_bool(body.get("include_compaction_messages"), False),
            context_messages=whole("x-devserver-context-messages", cfg.context_messages),
        )

    @api
    async def messages_create(self, request: Request) -> Response:
        """``POST /v1/conversations/{id}/messages``: run the agent; SSE or JSON."""
        body = await read_json(request)
        conv = self._conv(request, body.get("agent_id"))
        inputs = _inputs(body)
        if not inputs:
            raise ApiError(422, {"detail": "Messages must not be empty"})
        for n, m in enumerate(inputs):
            problem = images.malformed(m.get("content"))
            if problem:
                raise ApiError(422, {"detail": f"messages[{n}].{problem}"})
        streaming = _bool(body.get("streaming"), True)
        opts = self._options(request, body)
        if not streaming:
            opts.background = False
            opts.stream_tokens = False
            opts.streaming = False

        # otid idempotency (background runs, as on the real server): a repeated otid gets
        # the first run's stream and creates no second message or run
        for m in inputs if opts.background else ():
            if m.get("otid"):
                run_id = self.store.otid_run(m["otid"])
                if run_id:
                    prior = self.runs.get(run_id)
                    if prior and prior.active:
                        raise conflict(
                            "Cannot send a new message: Another request (run_id="
                            f"{run_id}) is currently being processed for this conversation. "
                            "Please wait for it to complete.",
                            run_id=run_id,
                        )
                    if prior is not None:
                        return await self._respond(prior, streaming, opts, replay=True)

        active = self.runs.active_for(conv["id"])
        if active:
            raise conflict(
                f"Cannot send a new message: Another request (run_id={active[0].id}) is "
                "currently being processed for this conversation. Please wait for it to "
                "complete.",
                run_id=active[0].id,
            )
        problem = _input_problem(conv, inputs)
        if problem is not None:
            # the real server's agent loop rejects these: a JSON error with streaming=false,
            # else a run that fails at once (stop_reason error + an error event)
            status, message, detail = problem
            if not streaming:
                if status == 409:
                    raise conflict(detail.removeprefix("CONFLICT: "))
                raise ApiError(400, {"detail": detail})
            opts.failure = refusal(message, detail, status)
        run = self.runs.start(conv, inputs, opts)
        return await self._respond(run, streaming, opts)

    async def _respond(
        self, run: Run, streaming: bool, opts: RunOptions, replay: bool = False
    ) -> Response:
        if not streaming:
            async for _ in run.follow(len(run.chunks)):
                pass  # wait for the run to end
            if run.failure is not None:
                return json_response(run.failure.body(), run.failure.status_code)
            msgs = [
                c.payload
                for c in run.chunks
                if c.kind == "data"
                and c.payload
                and c.payload.get("message_type")
                not in (*METADATA_EVENTS, "stop_reason", "usage_statistics")
            ]
            merged = _merge_deltas(msgs)
            return json_response(
                {
                    "messages": merged,
                    "stop_reason": stop_reason_json(run.stop_reason or "end_turn"),
                    "usage": run.usage,
                    "logprobs": None,
                    "turns": None,
                }
            )
        return SSEResponse(
            self._frames(
                run,
                0,
                run.opts.background,
                malformed=opts.fault.malformed_event,
                keepalive=opts.keepalive if opts.include_pings else None,
            ),  # type: ignore[return-value]
            drop_after=opts.fault.drop_after,
        )

    async def _frames(
        self,
        run: Run,
        start: int,
        with_seq: bool,
        malformed: bool = False,
        keepalive: float | None = None,
    ) -> AsyncIterator[bytes]:
        """The run's events as SSE bytes; a ``malformed_event`` fault only touches this response.

        With ``keepalive``, a ping after that many seconds without an event, as the real
        server's keepalive wrapper sends them: not part of the run's log (a resume does not
        replay them), ``seq_id`` the last one this response carried (null outside background
        mode).
        """
        sent = 0
        last_seq: int | None = None
        events = run.follow(start)
        pending: asyncio.Future[tuple[int, Chunk]] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(events.__anext__())
                if keepalive:
                    done, _ = await asyncio.wait({pending}, timeout=keepalive)
                    if not done:
                        yield frame(ping_chunk(run.id, last_seq))
                        continue
                try:
                    seq, chunk = await pending
                except StopAsyncIteration:
                    return
                pending = None
                if with_seq and chunk.payload and "seq_id" in chunk.payload:
                    last_seq = seq
                yield frame(chunk, seq if with_seq else None)
                sent += 1
                if malformed and sent == 1:
                    yield frame(Chunk("malformed"))
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await events.aclose()

    @api
    async def stream_resume(self, request: Request) -> Response:
        """``POST /v1/conversations/{id}/stream``: resume a (background) run by seq_id."""
        body = await read_json(request) if request.method == "POST" else {}
        params = {**dict(request.query_params), **body}
        conv = self._conv(request, params.get("agent_id"))
        run_id = params.get("run_id")
        if run_id:
            run = self.runs.get(run_id)
            if run is None or run.conv_id != conv["id"]:
                raise missing_record("Run", run_id)
        else:
            active = self.runs.active_for(conv["id"])
            if not active:
                raise bad_request("No active runs found for this conversation.")
            run = active[0]
            if not run.opts.background:
                raise bad_request(
                    "Run was not created in background mode, so it cannot be retrieved."
                )
        try:
            start = int(params.get("starting_after") or 0)
        except (TypeError, ValueError):
            raise bad_request("starting_after must be an integer") from None
        keepalive = self._options(request, {}).keepalive
        return SSEResponse(
            self._frames(
                run,
                max(0, start),
                True,
                malformed=fault_of(request).malformed_event,
                keepalive=keepalive if _bool(params.get("include_pings"), True) else None,
            ),  # type: ignore[return-value]
            drop_after=fault_of(request).drop_after,
        )

    @api
    async def runs_list(self, request: Request) -> Response:
        """``GET /v1/runs/`` (agent_id(s), conversation_id, statuses, active, background,
        stop_reason, before/after run-id cursors, limit, order), newest first by default."""
        qp = request.query_params
        agent_ids = qp.getlist("agent_ids") + ([qp["agent_id"]] if qp.get("agent_id") else [])
        ascending = qp.get("order", "desc") == "asc"
        if "ascending" in qp:
            ascending = _bool(qp.get("ascending"), False)
        runs = [
            self._run_json(rec, listed=True)
            for rec in self.store.list_runs(
                agent_ids=agent_ids, conv_id=qp.get("conversation_id"), ascending=ascending
            )
        ]
        if qp.get("conversation_id"):  # streaming=false runs have no conversation on 0.16.8
            runs = [r for r in runs if r["conversation_id"] is not None]
        statuses = set(qp.getlist("statuses"))
        if not statuses and _bool(qp.get("active"), False):
            statuses = {"created", "running"}
        if statuses:
            runs = [r for r in runs if r["status"] in statuses]
        if qp.get("background") is not None:
            runs = [r for r in runs if r["background"] == _bool(qp.get("background"), False)]
        if qp.get("stop_reason"):
            runs = [r for r in runs if r["stop_reason"] == qp["stop_reason"]]
        ids = [r["id"] for r in runs]
        if qp.get("after") in ids:
            runs = runs[ids.index(qp["after"]) + 1 :]
        elif qp.get("before") in ids:
            runs = runs[: ids.index(qp["before"])]
        limit = check_limit(qp.get("limit"), 100)
        return json_response(runs[:limit] if limit is not None else runs)

    @api
    async def runs_retrieve(self, request: Request) -> Response:
        """``GET /v1/runs/{run_id}``: status, stop reason, timings, request config."""
        run_id = request.path_params["run_id"]
        if not is_valid_id("run", run_id):
            raise bad_request(f"Invalid run ID format: {run_id}. Expected format: 'run-<uuid4>'")
        rec = self.store.get_run(run_id)
        if rec is None:
            raise missing_record("Run", run_id)
        return json_response(self._run_json(rec))

    def _run_json(self, rec: dict[str, Any], listed: bool = False) -> dict[str, Any]:
        """A run record as 0.16.8 answers it: ``ttft_ns`` null, ``total_duration_ns`` only in
        lists, ``metadata`` the run type (and a failed run's error event). A
        ``streaming=false`` run is recorded with no conversation and stays ``created``."""
        live = self.runs.get(rec["id"])
        data = rec["data"]
        conv_id = rec["conv_id"]
        metadata: dict[str, Any] = {"run_type": "send_conversation_message"}
        if data.get("streaming") is False:
            return {
                **self._run_json({**rec, "data": {}}),
                "conversation_id": None,
                "status": "created",
                "stop_reason": None,
                "completed_at": None,
                "total_duration_ns": None,
            }
        if data.get("error"):
            metadata["error"] = data["error"]
        return {
            "id": rec["id"],
            "agent_id": rec["agent_id"],
            "background": bool(rec["background"]),
            "base_template_id": None,
            "callback_error": None,
            "callback_sent_at": None,
            "callback_status_code": None,
            "callback_url": None,
            "completed_at": fmt_naive_timestamp(data.get("completed_at")),  # no zone: as 0.16.8
            "conversation_id": None if conv_id.startswith("default-") else conv_id,
            "created_at": fmt_timestamp(rec["created_at"]),
            "metadata": metadata,
            "request_config": {
                "assistant_message_tool_kwarg": "message",
                "assistant_message_tool_name": "send_message",
                "include_return_message_types": None,
                "use_assistant_message": True,
            },
            "status": live.status if live else rec["status"],
            "stop_reason": live.stop_reason if live else rec["stop_reason"],
            "total_duration_ns": data.get("total_duration_ns") if listed else None,
            "ttft_ns": None,
        }

    # ------------------------------------------------------------------ admin
    @api
    async def admin_faults(self, request: Request) -> Response:
        """``GET|PUT|DELETE /v1/_devserver/faults``."""
        if request.method == "PUT":
            body = await read_json(request)
            try:
                self.faults.set(str(body.get("spec", "")))
            except ValueError as exc:
                raise ApiError(400, {"detail": str(exc)}) from None
        elif request.method == "DELETE":
            self.faults.clear()
        return json_response({"spec": self.faults.spec_text})

    @api
    async def admin_reset(self, request: Request) -> Response:
        """``POST /v1/_devserver/reset``: delete all data (and the server-level fault)."""
        await self.runs.shutdown()
        self.runs.runs.clear()
        self.store.reset()
        self.faults.clear()
        return json_response({"ok": True})

    @api
    async def admin_synthetic(self, request: Request) -> Response:
        """``POST /v1/_devserver/conversations/{id}/synthetic`` ``{"turns": N}``."""
        body = await read_json(request)
        conv = self._conv(request, body.get("agent_id"))
        turns = int(body.get("turns", 100))
        result = seed.synthetic(
            self.svc, conv, turns, start=body.get("start"), step_seconds=body.get("step_seconds")
        )
        return json_response(result)

    @api
    async def admin_seed(self, request: Request) -> Response:
        """``POST /v1/_devserver/seed`` ``{"name": "demo"}``."""
        body = await read_json(request)
        return json_response(seed.seed(self.svc, str(body.get("name", "demo"))))


def _page(
    items: list[dict[str, Any]], qp: Any, *, default_order: str, default_limit: int | None
) -> list[dict[str, Any]]:
    """Cursor paging over items in creation order: order, after, before (ids), limit."""
    order = qp.get("order") or default_order
    rows = list(reversed(items)) if order == "desc" else list(items)
    ids = [r["id"] for r in rows]
    after, before = qp.get("after"), qp.get("before")
    if after in ids:
        rows = rows[ids.index(after) + 1 :]
        ids = ids[ids.index(after) + 1 :]
    if before in ids:
        rows = rows[: ids.index(before)]
    limit = check_limit(qp.get("limit"), default_limit)
    if limit is not None:
        rows = rows[-limit:] if before and not after else rows[:limit]
    return rows


_UNKNOWN_STREAM_ERROR = "An unknown error occurred with the LLM streaming request."


def _input_problem(
    conv: dict[str, Any], inputs: list[dict[str, Any]]
) -> tuple[int, str, str] | None:
    """Why the real server's agent loop refuses these inputs (empty content, the pending
    approval, an image URL it cannot fetch): ``(status without streaming, error message,
    detail)``, or None."""
    pending = (conv.get("data") or {}).get("pending_approval")
    approvals = [m for m in inputs if m.get("type") == "approval"]
    if any(m.get("type") != "approval" and m.get("content") in ("", []) for m in inputs):
        return 400, _UNKNOWN_STREAM_ERROR, "Message content is empty or invalid"
    if pending and not approvals:
        text = (
            "CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool "
            "call. Please approve or deny the pending request before continuing."
        )
        return 409, text, text
    if approvals and not pending:
        return (
            400,
            _UNKNOWN_STREAM_ERROR,
            "Cannot process approval response: No tool call is currently awaiting approval. "
            "Please send a regular message to interact with the agent.",
        )
    if approvals:
        expected = [pending["tool_call"]["tool_call_id"]]
        got = [a.get("tool_call_id") for m in approvals for a in m.get("approvals") or []]
        if got and sorted(map(str, got)) != expected:
            return (
                400,
                _UNKNOWN_STREAM_ERROR,
                f"Invalid tool call IDs. Expected '{expected}', but received '{got}'.",
            )
    for m in inputs:  # an image URL: fetched by the real server, never by the devserver
        failed = images.unfetchable(m.get("content"))
        if failed:
            return 400, failed, failed
    return None


def _timestamp(value: Any, name: str) -> float:
    """An ISO 8601 body field as epoch seconds; 422 like pydantic when it is not one."""
    try:
        return parse_timestamp(value)
    except ValueError:
        raise ApiError(
            422, {"detail": f"{name}: Input should be a valid datetime, got {value!r}"}
        ) from None


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        raise bad_request(f"expected an integer, got {value!r}") from None


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = body.get("messages")
    if msgs is None and body.get("input") is not None:
        inp = body["input"]
        msgs = [{"role": "user", "content": inp}] if isinstance(inp, str) else list(inp)
    return [m for m in (msgs or []) if isinstance(m, dict)]


def _merge_deltas(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Non-streaming answers carry whole messages (no token deltas)."""
    out: list[dict[str, Any]] = []
    for m in msgs:
        if out and out[-1]["id"] == m.get("id") and out[-1]["message_type"] == m["message_type"]:
            key = "reasoning" if m["message_type"] == "reasoning_message" else "content"
            if isinstance(out[-1].get(key), str) and isinstance(m.get(key), str):
                out[-1] = {**out[-1], key: out[-1][key] + m[key]}
                continue
        out.append(m)
    return out
