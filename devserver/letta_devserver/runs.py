"""Runs: execute the scripted agent's steps, persist messages, and fan events out to streams.

Every run keeps its events in memory (``Run.chunks``), so a live stream, a background
stream, a resumed stream (``starting_after`` = seq_id) and an otid retry all read the
same log. A run goes on when its client disconnects; ``cancel`` ends it at the next
delay with ``stop_reason: cancelled``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from . import images, script
from .failures import DEVSERVER_BUG, LLM_FAILURES, RunFailure, error_message, with_detail
from .faults import FaultSpec
from .ids import new_id, next_message_id, now, otid_for
from .serialize import (
    compaction_event,
    letta_messages,
    stop_reason_json,
    summary_letta,
    usage_json,
)
from .service import Service
from .sse import Chunk
from .steps import StepTiming, record_data, step_data
from .storage import StoredMessage
from .storage import text_of as _as_text

__all__ = [
    "METADATA_EVENTS",
    "Run",
    "RunManager",
    "RunOptions",
    "ping_chunk",
    "response_state_chunk",
]

_KEEP_RUNS = 2000
METADATA_EVENTS = ("ping", "response_state")
"""Events about the stream, not messages: not in ``streaming=false`` bodies, not a first token,
not filtered by ``include_return_message_types``."""


class _Cancelled(Exception):
    pass


@dataclass
class RunOptions:
    """How a run streams."""

    stream_tokens: bool = False
    background: bool = False
    streaming: bool = True
    """False for ``streaming=false`` requests (their run records look different on 0.16.8)."""
    include_pings: bool = True
    token_delay: float = 0.0
    step_delay: float = 0.0
    slow_delay: float = 0.25
    override_model: str | None = None
    override_system: str | None = None
    tool_call_deltas: bool = True
    """Stream tool calls as ToolCallDelta chunks in tokens mode, as the real server does."""
    keepalive: float = 20.0
    """Seconds without an event before a keepalive ping (with ``include_pings``)."""
    fault: FaultSpec = field(default_factory=FaultSpec)
    types: list[str] | None = None
    max_steps: int = 50
    """Steps before the run stops with ``max_steps`` (the real server's default: 50)."""
    include_compaction_messages: bool = False
    """Stream a compaction as ``event_message`` + ``summary_message`` (else the system-alert
    ``user_message`` 0.16.8 streams)."""
    context_messages: int = 120
    """Compact past this many in-context messages (``X-Devserver-Context-Messages``)."""
    failure: RunFailure | None = None
    """The run fails at once with this error event, as the real server's agent loop rejects
    some requests (e.g. a message while approval is pending)."""


@dataclass
class Run:
    """One agent run and its event log."""

    id: str
    conv_id: str
    agent_id: str
    opts: RunOptions
    created_at: float = field(default_factory=now)
    status: str = "running"
    stop_reason: str | None = None
    chunks: list[Chunk] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    completed_at: float | None = None
    ttft_ns: int | None = None
    error: dict[str, Any] | None = None
    """The ``error_message`` event of a failed run (kept in the run's metadata)."""
    failure: RunFailure | None = None
    task: asyncio.Task[None] | None = None
    cancel_event: asyncio.Event = field(default_factory=asyncio.Event)
    unsaved_inputs: list[StoredMessage] = field(default_factory=list)
    """The input messages, stored with the first step (a run cancelled before stores none)."""
    steps: list[StepTiming] = field(default_factory=list)
    """The steps run so far, measured (the last one's id is ``last_step_id``)."""
    model: str = "openai/gpt-4o-mini"
    """The model handle the run's steps use."""
    muted: bool = False
    """Cancelled in steps mode: the step in flight completes unstreamed, then the run ends."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def active(self) -> bool:
        """True while the run still produces events."""
        return self.status == "running"

    def emit(self, chunk: Chunk) -> None:
        """Append an event and wake the readers."""
        if (
            self.ttft_ns is None
            and chunk.payload
            and chunk.payload.get("message_type") not in (None, *METADATA_EVENTS)
        ):
            self.ttft_ns = int((now() - self.created_at) * 1e9)
        self.chunks.append(chunk)
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self, start: int = 0) -> AsyncIterator[tuple[int, Chunk]]:
        """Yield ``(seq, chunk)`` from index ``start`` on, live until the run ends."""
        i = start
        while True:
            while i < len(self.chunks):
                yield i + 1, self.chunks[i]
                i += 1
            if not self.active and i >= len(self.chunks):
                return
            waiter = self._changed
            if i < len(self.chunks):
                continue
            await waiter.wait()

    async def sleep(self, seconds: float) -> None:
        """Wait, but end early with _Cancelled when the run is cancelled."""
        if self.cancel_event.is_set():
            raise _Cancelled
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(self.cancel_event.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise _Cancelled


class RunManager:
    """Creates, executes, finds and cancels runs."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.store = service.store
        self.runs: OrderedDict[str, Run] = OrderedDict()

    # ------------------------------------------------------------------ lookup
    def get(self, run_id: str) -> Run | None:
        """A run still held in memory."""
        return self.runs.get(run_id)

    def active_for(self, conv_id: str) -> list[Run]:
        """Running runs of a conversation, newest first."""
        return [r for r in reversed(self.runs.values()) if r.conv_id == conv_id and r.active]

    def cancel(self, conv_id: str) -> dict[str, str]:
        """Cancel the conversation's active runs; ``{run_id: "cancelled"}``."""
        out = {}
        for run in self.active_for(conv_id):
            run.cancel_event.set()
            out[run.id] = "cancelled"
        return out

    async def shutdown(self) -> None:
        """Cancel every active run (server stop)."""
        tasks = []
        for run in self.runs.values():
            if run.active:
                run.cancel_event.set()
                if run.task:
                    tasks.append(run.task)
        if tasks:
            await asyncio.wait(tasks, timeout=0.5)

    # ------------------------------------------------------------------ start
    def start(self, conv: dict[str, Any], inputs: list[dict[str, Any]], opts: RunOptions) -> Run:
        """Store the input, create the run and execute it in the background."""
        run = Run(new_id("run"), conv["id"], conv["agent_id"], opts)
        agent = self.store.get_agent(conv["agent_id"]) or {}
        run.model = opts.override_model or conv.get("model") or agent.get("model") or run.model
        self.runs[run.id] = run
        while len(self.runs) > _KEEP_RUNS:
            self.runs.popitem(last=False)
        self.store.put_run(
            run.id,
            conv["id"],
            conv["agent_id"],
            "running",
            opts.background,
            run.created_at,
            {
                "model": opts.override_model,
                "override_system": opts.override_system,
                "streaming": opts.streaming,
            },
        )
        otids = [m["otid"] for m in inputs if m.get("otid")]
        if otids:
            self.store.put_otids(conv["id"], otids, run.id)
        t = now()
        self.store.update_conversation(conv["id"], last_message_at=t, updated_at=t)
        run.task = asyncio.get_running_loop().create_task(self._execute(run, conv, inputs))
        return run

    # ------------------------------------------------------------------ execution
    def _chunk(self, run: Run, d: dict[str, Any]) -> None:
        if run.muted:
            return
        if (
            run.opts.types
            and d.get("message_type") not in run.opts.types
            and d.get("message_type") not in ("ping",)
        ):
            return
        run.emit(Chunk("data", d))

    def _ping(self, run: Run) -> None:
        run.emit(ping_chunk(run.id))

    async def _stream_message(self, run: Run, stored: StoredMessage, slow: bool = False) -> None:
        """Emit the Letta messages of a stored message (token deltas in tokens mode)."""
        tokens = run.opts.stream_tokens
        approval = stored.role == "approval_request"
        for d in letta_messages(stored):
            run.messages.append(d)
            mt = d["message_type"]
            field_name = {"reasoning_message": "reasoning", "assistant_message": "content"}.get(mt)
            delay = (
                run.opts.slow_delay if slow and mt == "assistant_message" else run.opts.token_delay
            )
            if tokens and approval and mt == "reasoning_message":
                # the real server streams this step's reasoning under the id after the stored one
                streamed_id = next_message_id(stored.id)
                d = {**d, "id": streamed_id, "otid": otid_for(streamed_id, 0)}
            deltas = tokens and (mt == "approval_request_message" or run.opts.tool_call_deltas)
            if deltas and mt in ("tool_call_message", "approval_request_message"):
                # ToolCallDelta chunks: the name first, then argument pieces, one id; the real
                # server drops null keys from tool-call deltas but keeps them in approval ones
                for delta in _tool_call_deltas(d["tool_call"], keep_nulls=approval):
                    await run.sleep(delay)
                    self._chunk(run, {**d, "tool_call": delta, "tool_calls": delta})
            elif tokens and field_name and isinstance(d.get(field_name), str):
                for tok in script.tokenize(d[field_name]) or [""]:
                    await run.sleep(delay)
                    self._chunk(run, {**d, field_name: tok})
            else:
                self._chunk(run, d)

    async def _execute(self, run: Run, conv: dict[str, Any], inputs: list[dict[str, Any]]) -> None:
        svc, store = self.service, self.store
        fault = run.opts.fault
        usage = {"prompt": 0, "completion": 0, "steps": 0}
        stop = "end_turn"
        status = "completed"
        t0 = time.perf_counter()
        try:
            if run.opts.include_pings:  # the real server prepends one ping
                self._ping(run)
            if svc.config.traits.response_state:  # Letta Cloud (letta-code#2680)
                run.emit(response_state_chunk(run.id))
            if fault.retry_message:
                run.emit(retry_message_chunk(run.id))
            svc.refresh_default(conv)
            ctx = svc.context(conv)
            first_step_id = new_id("step")
            texts = " ".join(_as_text(m.get("content")) for m in inputs)
            if run.opts.failure is not None:
                self._fail(run, run.opts.failure)
                return
            llm = fault.error_event or ("transient" if script.is_llm_failure(texts) else None)
            if llm:
                # like an LLM error on the real server: nothing is stored, not even the input
                await run.sleep(run.opts.step_delay)
                self._fail(run, LLM_FAILURES[llm])
                return
            user_text, run.unsaved_inputs, approval = self._inputs(run, conv, inputs, first_step_id)

            if approval is not None:
                stop = await self._continue_approval(run, conv, ctx, approval, usage)
            else:
                said = [m.get("content") for m in inputs if m.get("type") != "approval"][-1:]
                seen = images.seen(said[0]) if said else []
                stop = await self._turn(run, conv, ctx, user_text, seen, first_step_id, usage)
            if run.muted:  # cancelled during the last step's LLM call (steps mode)
                raise _Cancelled
            if stop != "requires_approval":
                self._compact(run, conv)
        except _Cancelled:
            stop, status = "cancelled", "cancelled"
        except Exception as exc:  # a bug: end the stream like the real server would
            self._fail(run, with_detail(DEVSERVER_BUG, repr(exc)))
            raise
        if fault.stop_reason and stop != "cancelled":
            stop = fault.stop_reason
        if stop == "requires_approval":
            status = "completed"
        run.usage = usage_json(
            usage["prompt"],
            usage["completion"],
            max(1, usage["steps"]),
            # the real server leaves the cache/reasoning counters null in tokens mode
            cached=None if run.opts.stream_tokens else 0,
        )
        run.muted = False
        self._close_last_step(run, stop)
        run.emit(Chunk("data", stop_reason_json(stop)))
        if stop == "cancelled":
            # the real server ends a cancelled stream right after its stop reason: no usage,
            # and [DONE] only in background mode
            if run.opts.background:
                run.emit(Chunk("done"))
        else:
            run.emit(Chunk("data", run.usage))
            run.emit(Chunk("done"))
        run.status, run.stop_reason = status, stop
        store.finish_run(run.id, status, stop, self._run_data(run))
        agent = store.get_agent(conv["agent_id"])
        if agent is not None:
            agent_data = {
                k: v
                for k, v in agent.items()
                if k not in ("id", "name", "created_at", "updated_at")
            }
            agent_data.update(
                last_run_completion=now(),
                last_stop_reason=stop,
                last_run_duration_ms=int((time.perf_counter() - t0) * 1000),
            )
            store.put_agent(
                agent["id"], agent["name"], agent["created_at"], agent["updated_at"], agent_data
            )

    def _compact(self, run: Run, conv: dict[str, Any]) -> None:
        """0.16.8's post-step context check, after the run's last step: compact, and stream
        ``event_message`` + ``summary_message`` (``include_compaction_messages``) or the
        summary as the system-alert ``user_message`` (letta_agent_v3.py ``_step``)."""
        fresh = self.store.get_conversation(conv["id"])
        if fresh is None:
            return
        last = run.steps[-1].id if run.steps else None
        done = self.service.maybe_compact(fresh, run.opts.context_messages, run.id, last)
        if done is None or done.message is None:
            return
        structured = run.opts.include_compaction_messages
        if structured:
            run.emit(Chunk("data", compaction_event(done.message)))
        otid = otid_for(done.message.id, 0)
        run.emit(Chunk("data", summary_letta(done.message, structured, otid)))

    def _record_step(self, run: Run, conv: dict[str, Any], timing: StepTiming) -> None:
        """Store (again) a step's record with its measurements so far."""
        data = step_data(
            timing,
            model=run.model,
            context_window=self.service.context_window(conv),
            details=not run.opts.stream_tokens,
            stop_reason=None,
            previous=self.store.get_step(timing.id),
        )
        created = timing.start_ns / 1e9
        self.store.put_step(timing.id, run.id, conv["agent_id"], created, data)

    def _close_last_step(self, run: Run, stop: str) -> None:
        """The run's stop reason on its last stored step (0.16.8 keeps it per step)."""
        rec = self.store.get_step(run.steps[-1].id) if run.steps else None
        if rec is None:
            return
        data = {**record_data(rec), "stop_reason": stop}
        self.store.put_step(rec["id"], rec["run_id"], rec["agent_id"], rec["created_at"], data)

    def _fail(self, run: Run, failure: RunFailure) -> None:
        """End the run with an error event; nothing is stored, not even the input."""
        run.failure = failure
        run.error = error_message(run.id, failure, self.service.config.traits.error_details)
        run.status, run.stop_reason = "failed", failure.stop_reason
        run.emit(Chunk("data", stop_reason_json(failure.stop_reason)))
        run.emit(Chunk("error", run.error))
        if not run.opts.background:  # background error streams end without [DONE]
            run.emit(Chunk("done"))
        self.store.finish_run(run.id, "failed", failure.stop_reason, self._run_data(run))

    def _run_data(self, run: Run) -> dict[str, Any]:
        run.completed_at = now()
        data: dict[str, Any] = {
            "model": run.opts.override_model,
            "override_system": run.opts.override_system,
            "streaming": run.opts.streaming,
            "completed_at": run.completed_at,
            "ttft_ns": run.ttft_ns,
            "total_duration_ns": int((run.completed_at - run.created_at) * 1e9),
        }
        if run.error is not None:  # the real server keeps the error event in the metadata
            data["error"] = run.error
        return data

    def _inputs(
        self, run: Run, conv: dict[str, Any], inputs: list[dict[str, Any]], step_id: str
    ) -> tuple[str, list[StoredMessage], dict[str, Any] | None]:
        """The input messages to store with the first step, the user text, the approval."""
        stored: list[StoredMessage] = []
        text = ""
        approval = None
        t = now()
        for m in inputs:
            if m.get("type") == "approval":
                approval = m
                stored.append(
                    StoredMessage(
                        new_id("message"),
                        "approval_response",
                        t,
                        _approval_body(m, conv),
                        run.id,
                        None,  # the real server stores approval responses outside any step
                        None,  # ... and drops their otid
                        conv["agent_id"],
                    )
                )
                continue
            content = images.stored(
                m.get("content", ""), letta_sources=self.service.config.traits.letta_image_sources
            )
            text = _as_text(content)
            stored.append(
                StoredMessage(
                    new_id("message"),
                    "user",
                    t,
                    {"content": content},
                    run.id,
                    step_id,
                    m.get("otid") or _otid(),
                    conv["agent_id"],
                )
            )
        return text, stored, approval

    def _persist(self, run: Run, conv: dict[str, Any], msgs: list[StoredMessage]) -> None:
        """Store a step's messages, with the run's input messages before the first step's."""
        self.store.append(conv["id"], [*run.unsaved_inputs, *msgs])
        run.unsaved_inputs = []

    async def _step(
        self,
        run: Run,
        conv: dict[str, Any],
        step: script.Step,
        step_id: str,
        ctx: script.Context,
        usage: dict[str, int],
        role: str = "assistant",
    ) -> StoredMessage:
        """Emit and persist one step's assistant message (reasoning + answer or tool call)."""
        if run.muted:
            raise _Cancelled
        timing = StepTiming(step_id)
        run.steps.append(timing)
        timing.llm_started()
        await self._llm_wait(run, step)
        body: dict[str, Any] = {"reasoning": step.reasoning}
        completion = script.count_tokens(step.reasoning)
        if step.tool_call:
            args = json.dumps(step.tool_call.arguments)
            body["tool_calls"] = [
                {
                    "name": step.tool_call.name,
                    "arguments": args,
                    "tool_call_id": "call_" + new_id("x")[2:].replace("-", "")[:20],
                }
            ]
            completion += script.count_tokens(args)
        else:
            body["content"] = step.text or ""
            completion += script.count_tokens(step.text or "")
        msg = StoredMessage(
            _message_id(), role, now(), body, run.id, step_id, None, conv["agent_id"]
        )
        await self._stream_message(run, msg, slow=step.slow)
        timing.llm_done()
        self._persist(run, conv, [msg])
        timing.prompt_tokens, timing.completion_tokens = _prompt_tokens(ctx), completion
        self._record_step(run, conv, timing)
        usage["steps"] += 1
        usage["completion"] += completion
        usage["prompt"] += timing.prompt_tokens
        return msg

    async def _llm_wait(self, run: Run, step: script.Step) -> None:
        """The "LLM call" of a step. In steps mode a cancel lets it finish (the real server
        completes and stores the step in flight, streams none of it, then ends the run)."""
        wait = run.opts.step_delay + step.pause
        if step.slow and not run.opts.stream_tokens:
            wait += run.opts.slow_delay * max(1, len(script.tokenize(step.text or "")))
        t0 = time.monotonic()
        try:
            await run.sleep(wait)
        except _Cancelled:
            if run.opts.stream_tokens:
                raise
            run.muted = True
            await asyncio.sleep(max(0.0, wait - (time.monotonic() - t0)))

    async def _turn(
        self,
        run: Run,
        conv: dict[str, Any],
        ctx: script.Context,
        user_text: str,
        seen: list[images.Seen],
        step_id: str,
        usage: dict[str, int],
    ) -> str:
        step = script.plan(ctx, user_text, images=seen)
        if step.tool_call is None:
            await self._step(run, conv, step, step_id, ctx, usage)
            return "end_turn"
        needs_approval = step.tool_call.name in ctx.approval_tools
        msg = await self._step(
            run,
            conv,
            step,
            step_id,
            ctx,
            usage,
            role="approval_request" if needs_approval else "assistant",
        )
        call = msg.body["tool_calls"][0]
        if needs_approval:
            data = dict(conv.get("data") or {})
            data["pending_approval"] = {
                "message_id": msg.id,
                "step_id": step_id,
                "tool_call": call,
                "user_text": user_text,
            }
            self.store.update_conversation(conv["id"], data=data)
            return "requires_approval"
        timing = run.steps[-1]
        t0 = time.perf_counter_ns()
        result, status, stderr = self._run_tool(conv, step.tool_call, run.id)
        timing.tool_ns = time.perf_counter_ns() - t0
        await self._tool_return(run, conv, call, result, status, step_id, stderr=stderr)
        self._record_step(run, conv, timing)
        if usage["steps"] >= run.opts.max_steps:
            return "max_steps"
        final = script.follow_up(ctx, user_text, step.tool_call, result, status)
        await self._step(run, conv, final, new_id("step"), ctx, usage)
        return "end_turn"

    async def _tool_return(
        self,
        run: Run,
        conv: dict[str, Any],
        call: dict[str, Any],
        result: str,
        status: str,
        step_id: str,
        stderr: list[str] | None = None,
        stream: bool = True,
    ) -> None:
        msg = StoredMessage(
            new_id("message"),
            "tool",
            now(),
            {
                "tool_call_id": call["tool_call_id"],
                "name": call["name"],
                "status": status,
                "tool_return": result,
                "stdout": None,
                "stderr": stderr,
            },
            run.id,
            step_id,
            None,
            conv["agent_id"],
        )
        if stream:
            await self._stream_message(run, msg)
        self._persist(run, conv, [msg])

    async def _continue_approval(
        self,
        run: Run,
        conv: dict[str, Any],
        ctx: script.Context,
        approval: dict[str, Any],
        usage: dict[str, int],
    ) -> str:
        data = dict(conv.get("data") or {})
        pending = data.pop("pending_approval", None)
        self.store.update_conversation(conv["id"], data=data)
        if not pending:
            self._persist(run, conv, [])
            return "end_turn"
        call = pending["tool_call"]
        decision = _decision(approval, call["tool_call_id"])
        approve, reason = decision.get("approve", False), decision.get("reason")
        tool_call = script.ToolCall(call["name"], json.loads(call["arguments"] or "{}"))
        # the tool return belongs to the step that asked for approval
        step_id = pending.get("step_id") or new_id("step")
        stderr = None
        if decision.get("type") == "tool":
            result = _as_text(decision.get("tool_return"))
            status = decision.get("status", "success")
        elif approve:
            result, status, stderr = self._run_tool(conv, tool_call, run.id)
        else:
            result = "Error: request to call tool denied. User reason: " + (reason or "None")
            status = "error"
        denied = decision.get("type", "approval") == "approval" and not approve
        shown = {**call, "name": None} if denied else call  # the real server: name null
        await self._tool_return(
            run,
            conv,
            shown,
            result,
            status,
            step_id,
            stderr=stderr,
            # the real server does not stream a denial's tool return in tokens mode
            stream=not (denied and run.opts.stream_tokens),
        )
        final = script.follow_up(ctx, pending.get("user_text", ""), tool_call, result, status)
        await self._step(run, conv, final, new_id("step"), ctx, usage)
        return "end_turn"

    def _run_tool(
        self, conv: dict[str, Any], call: script.ToolCall, run_id: str | None = None
    ) -> tuple[str, str, list[str] | None]:
        """Execute a tool; ``(result, status, stderr)``. An exception becomes, as on the real
        server, the result ``str(exc)`` with status ``error`` and one stderr line."""
        try:
            return self._call_tool(conv, call, run_id), "success", None
        except (KeyError, ValueError) as exc:
            line = f"Error executing function {call.name}: {type(exc).__name__}: {exc}"
            return str(exc), "error", [line[:1000]]

    def _call_tool(self, conv: dict[str, Any], call: script.ToolCall, run_id: str | None) -> str:
        """Execute a tool and return its result; raises like the real server's tools."""
        args = call.arguments
        agent_id = conv["agent_id"]
        if call.name in ("memory_insert", "memory_replace"):
            label = str(args.get("label", "human"))
            blk = self.store.block(agent_id, label)
            if blk is None:
                labels = ", ".join(b["label"] for b in self.store.blocks(agent_id))
                raise KeyError(
                    f"Block field {label} does not exist (available sections = {labels})"
                )
            if blk.get("read_only"):
                raise ValueError("Error This block is read-only and cannot be edited.")
            if call.name == "memory_insert":
                value = script.memory_insert(
                    blk["value"],
                    str(args.get("new_string", "")),
                    int(args.get("insert_line", -1)),
                )
            else:
                value = script.memory_replace(
                    blk["value"],
                    str(args.get("old_string", "")),
                    str(args.get("new_string", "")),
                    label,
                )
            self.service.set_block(agent_id, label, value)
            return value
        if call.name == "conversation_search":
            return self.service.search(
                conv, str(args.get("query") or ""), int(args.get("limit") or 5), run_id
            )
        if call.name == "send_email":
            return f"Email sent to {args.get('to')} with subject {args.get('subject')!r}."
        return f"Tool {call.name} ran (devserver stub)."


def ping_chunk(run_id: str, seq_id: int | None = None) -> Chunk:
    """A ``ping`` event (the first event of a run, and the keepalives)."""
    return Chunk(
        "data",
        {
            "id": new_id("ping"),
            "date": _date(now()),
            "name": None,
            "message_type": "ping",
            "otid": None,
            "sender_id": None,
            "step_id": None,
            "is_err": None,
            "seq_id": seq_id,
            "run_id": run_id,
        },
    )


def response_state_chunk(run_id: str) -> Chunk:
    """Letta Cloud's ``response_state`` event: the id a client echoes in the
    ``X-Letta-Response-State`` header of its next approval continuation (letta-code#2680)."""
    return Chunk(
        "data",
        {
            "message_type": "response_state",
            "cache_scope": "approval_boundary",
            "response_id": new_id("resp"),
            "run_id": run_id,
            "seq_id": None,
        },
    )


def retry_message_chunk(run_id: str) -> Chunk:
    """Letta Cloud's ``retry_message`` event (the ``retry_message`` fault): the server says
    it retries the model itself (the shape Letta Code validates,
    ``src/websocket/listener/cloud-retry-message.ts``)."""
    return Chunk(
        "data",
        {
            "message_type": "retry_message",
            "message": "The model provider is busy; retrying.",
            "retry_kind": "provider_retry",
            "attempt": 1,
            "max_attempts": 3,
            "delay_ms": 0,
            "provider": "openai",
            "run_id": run_id,
            "seq_id": None,
        },
    )


def _message_id() -> str:
    """A new message id whose successor (``next_message_id``) is a valid uuid4 id too."""
    while True:
        mid = new_id("message")
        if not mid.endswith("f"):
            return mid


def _tool_call_deltas(call: dict[str, Any], keep_nulls: bool) -> list[dict[str, Any]]:
    """A whole tool call as the real server streams it: the name, then argument pieces."""
    args = call["arguments"] or ""
    step = max(1, len(args) // 4)
    pieces = [None] + [args[i : i + step] for i in range(0, len(args), step)]
    out = []
    for k, piece in enumerate(pieces):
        delta = {
            "name": call["name"] if k == 0 else None,
            "arguments": piece,
            "tool_call_id": call["tool_call_id"],
        }
        out.append(delta if keep_nulls else {k: v for k, v in delta.items() if v is not None})
    return out


def _decision(approval: dict[str, Any], tool_call_id: str) -> dict[str, Any]:
    for a in approval.get("approvals") or []:
        if a.get("tool_call_id") in (tool_call_id, None):
            return a
    if approval.get("approvals"):
        return approval["approvals"][0]
    return {
        "type": "approval",
        "approve": bool(approval.get("approve")),
        "reason": approval.get("reason"),
        "tool_call_id": tool_call_id,
    }


def _approval_body(m: dict[str, Any], conv: dict[str, Any]) -> dict[str, Any]:
    """The stored approval response: ``approvals`` plus the deprecated single fields."""
    pending = (conv.get("data") or {}).get("pending_approval") or {}
    call_id = (pending.get("tool_call") or {}).get("tool_call_id")
    first = _decision(m, call_id)
    approvals = m.get("approvals") or [
        {
            "type": "approval",
            "tool_call_id": call_id,
            "approve": bool(m.get("approve")),
            "reason": m.get("reason"),
        }
    ]
    return {
        "approvals": [_approval_item(a) for a in approvals],
        "approve": first.get("approve") if first.get("type", "approval") == "approval" else True,
        "approval_request_id": first.get("tool_call_id") or call_id,
        "reason": first.get("reason"),
    }


def _approval_item(a: dict[str, Any]) -> dict[str, Any]:
    if a.get("type") == "tool":
        return {
            "type": "tool",
            "tool_call_id": a.get("tool_call_id"),
            "status": a.get("status", "success"),
            "tool_return": a.get("tool_return"),
            "stdout": a.get("stdout"),
            "stderr": a.get("stderr"),
        }
    return {
        "type": "approval",
        "tool_call_id": a.get("tool_call_id"),
        "approve": bool(a.get("approve")),
        "reason": a.get("reason"),
    }


def _prompt_tokens(ctx: script.Context) -> int:
    n = 400 + sum(script.count_tokens(v) for v in ctx.memory.values())
    return n + sum(script.count_tokens(t) for _, t in ctx.history[-40:])


def _otid() -> str:
    return new_id("x")[2:]


def _date(ts: float) -> str:
    from .ids import fmt_message_date

    return fmt_message_date(ts)
