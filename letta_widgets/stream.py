"""The turn engine: the transport of one streamed agent turn, shared by ChatCell and CompareView.

:class:`TurnEngine` sends a message through ``AsyncLetta`` with
``streaming=True, stream_tokens=True, background=True`` and hands every chunk to
:meth:`letta_widgets.turn.Turn.apply` (the pure fold). It follows ``run_id`` / ``seq_id`` so
that a dropped connection is resumed through the conversation's ``/stream`` endpoint with
nothing lost or repeated. Every user message carries an ``otid``: a retried send is
recognised by the server and never stored twice. Every send asks for compaction messages,
so a compaction during the turn arrives as ``event_message`` + ``summary_message``. A run
that fails with an ``error_message`` the server marks ``retryable`` is sent again (fresh
otid, backoff).

The engine knows nothing about widgets: a listener callback sees every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx
import letta_client
from letta_client import AsyncLetta, Letta

from letta_widgets.client import async_twin, base_url_of
from letta_widgets.errors import (
    AgentRunError,
    ConversationBusy,
    LettaWidgetsError,
    StreamInterrupted,
    approval_pending,
    run_error,
    translate,
)
from letta_widgets.letta.conversation import ConversationRef
from letta_widgets.letta.messages import content_text
from letta_widgets.turn import ERROR_STOP_REASONS, AssembledMessage, Turn, TurnEvent

__all__ = ["ERROR_STOP_REASONS", "AssembledMessage", "Listener", "Turn", "TurnEngine", "TurnEvent"]

LANDING_TIMEOUT_S = 10.0
"""How long a Stop during the send request waits for the server to start the run
(so that the run can be cancelled) before giving up on it."""

RUN_RETRY_DELAYS_S = (1.0, 3.0)
"""Waits before re-sending a run that failed with a ``retryable`` error (one per retry)."""

_log = logging.getLogger(__name__)
_NO_METRICS: set[str] = set()  # base URLs that keep no step metrics

_RESUMABLE = (
    httpx.TransportError,
    httpx.StreamError,
    letta_client.APIConnectionError,
    json.JSONDecodeError,
)


Listener = Callable[[Turn, TurnEvent], None]


class TurnEngine:
    """Streams turns into one conversation; resumable, cancellable, idempotent.

    One engine runs one turn at a time (a second ``run`` while one is active
    raises :class:`ConversationBusy` without touching the server).
    """

    def __init__(
        self,
        client: Letta | AsyncLetta,
        conversation_id: str | ConversationRef,
        *,
        agent_id: str | None = None,
        stream_tokens: bool = True,
        background: bool = True,
        include_pings: bool = True,
        max_reconnects: int = 5,
        max_run_retries: int = len(RUN_RETRY_DELAYS_S),
        fetch_metrics: bool = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(conversation_id, ConversationRef):  # the public conversation reference
            conversation_id, agent_id = conversation_id.id, conversation_id.agent_id or agent_id
        self.client = client
        self.conversation_id = conversation_id
        self.agent_id = agent_id
        self.stream_tokens = stream_tokens
        self.background = background
        self.include_pings = include_pings
        self.max_reconnects = max_reconnects
        self.max_run_retries = max_run_retries
        """Re-sends of a run that failed with an error its server marked ``retryable``."""
        self.retry_delays: tuple[float, ...] = RUN_RETRY_DELAYS_S
        """Seconds to wait before each re-send (the last one repeats)."""
        self.fetch_metrics = fetch_metrics
        """Ask the server for each step's timings after a turn (:attr:`Turn.step_metrics`)."""
        self.extra_headers = dict(extra_headers or {})
        self.current: Turn | None = None
        self._cancel_requested = False

    @property
    def aclient(self) -> AsyncLetta:
        """The async SDK client for the running event loop."""
        return async_twin(self.client)

    @property
    def base_url(self) -> str:
        """The server this engine talks to."""
        return base_url_of(self.client)

    @property
    def busy(self) -> bool:
        """True while a turn streams."""
        return self.current is not None and self.current.total_s is None

    @property
    def ref(self) -> ConversationRef:
        """The conversation this engine streams into."""
        return ConversationRef(self.conversation_id, self.agent_id)

    def describe(self) -> str:
        """How errors name the engine's conversation."""
        return self.ref.describe()

    async def run(
        self,
        message: str | Iterable[Mapping[str, Any]],
        *,
        listener: Listener | None = None,
        override_model: str | None = None,
        override_system: str | None = None,
        otid: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Turn:
        """Send ``message`` (text, or message dicts) and stream the turn to the end.

        ``override_model`` / ``override_system`` apply to this turn only (the agent's
        configuration is unchanged).

        Raises a :class:`LettaWidgetsError` (with the partial turn as ``.turn``)
        when the turn fails; a cancelled turn returns with ``stop_reason ==
        "cancelled"``.
        """
        if self.busy:
            raise ConversationBusy(
                f"{self.describe()} is already streaming a turn",
                "wait for it to finish or stop it before sending again",
            )
        otid = otid or str(uuid.uuid4())
        if isinstance(message, str):
            prompt: str | None = message
            messages: list[dict[str, Any]] = [{"role": "user", "content": message, "otid": otid}]
        else:
            messages = [dict(m) for m in message]
            for m in messages:
                m.setdefault("otid", otid if len(messages) == 1 else str(uuid.uuid4()))
            prompt = next(
                (content_text(m.get("content")) for m in messages if m.get("role") == "user"),
                None,
            )
        kwargs: dict[str, Any] = {"messages": messages}
        if override_model:
            kwargs["override_model"] = override_model
        if override_system:
            kwargs["override_system"] = override_system
        return await self._drive(prompt, otid, kwargs, listener, extra_headers)

    async def approve(
        self,
        tool_call_id: str,
        *,
        approve: bool = True,
        reason: str | None = None,
        approval_request_id: str | None = None,
        listener: Listener | None = None,
    ) -> Turn:
        """Answer a pending approval request and stream the continued run."""
        otid = str(uuid.uuid4())
        approval: dict[str, Any] = {
            "type": "approval",
            "approve": approve,
            "approval_request_id": approval_request_id,
            "approvals": [
                {
                    "type": "approval",
                    "tool_call_id": tool_call_id,
                    "approve": approve,
                    "reason": reason,
                }
            ],
            "reason": reason,
            "otid": otid,
        }
        return await self._drive(None, otid, {"messages": [approval]}, listener, None)

    async def attach(self, *, run_id: str | None = None, listener: Listener | None = None) -> Turn:
        """Follow the conversation's active run (e.g. one started elsewhere) to its end."""
        turn = self._new_turn(run_id=run_id)
        self.current = turn
        self._cancel_requested = False
        t0 = time.perf_counter()
        try:
            await self._resume_loop(turn, listener, t0, first_error=None)
        finally:
            self._finish(turn, t0, listener)
        return self._result(turn)

    async def cancel(self) -> dict[str, Any] | None:
        """Ask the server to cancel the conversation's active runs.

        Returns the server's answer, or ``None`` when nothing was running (409).
        """
        self._cancel_requested = True
        try:
            res = await self.aclient.conversations.cancel(
                self.conversation_id,
                extra_headers=self.extra_headers or None,
                **self.ref.sdk_kwargs(),
            )
        except letta_client.ConflictError:
            return None
        except letta_client.LettaError as exc:
            raise translate(exc, base_url=self.base_url, what=self.describe()) from None
        return res if isinstance(res, dict) else getattr(res, "to_dict", lambda: None)()

    # ----------------------------------------------------------------- internals

    def _new_turn(self, **fields: Any) -> Turn:
        return Turn(
            conversation_id=self.conversation_id,
            agent_id=self.agent_id,
            base_url=self.base_url,
            **fields,
        )

    async def _drive(
        self,
        prompt: str | None,
        otid: str,
        kwargs: dict[str, Any],
        listener: Listener | None,
        extra_headers: Mapping[str, str] | None,
    ) -> Turn:
        turn = self._new_turn(prompt=prompt, otid=otid)
        self.current = turn
        self._cancel_requested = False
        headers = {**self.extra_headers, **(extra_headers or {})}
        t0 = time.perf_counter()
        _emit(listener, turn, TurnEvent("start"))
        try:
            await self._attempt(turn, kwargs, headers, listener, t0)
            while self._retryable(turn):
                await self._retry(turn, kwargs, listener)
                await self._attempt(turn, kwargs, headers, listener, t0)
            if turn.stop_reason is not None and turn.error is None:
                turn.total_s = time.perf_counter() - t0
                await self._fetch_metrics(turn)
        except LettaWidgetsError as err:
            turn.error = err
            err.turn = turn
            raise
        finally:
            self._finish(turn, t0, listener)
        return self._result(turn)

    async def _attempt(
        self,
        turn: Turn,
        kwargs: dict[str, Any],
        headers: dict[str, str],
        listener: Listener | None,
        t0: float,
    ) -> None:
        """Send once and stream (resuming a dropped connection) until the stop reason."""
        first_error: BaseException | None = None
        try:
            stream = await self._land(
                self.aclient.conversations.messages.create(
                    self.conversation_id,
                    streaming=True,
                    stream_tokens=self.stream_tokens,
                    background=self.background,
                    include_pings=self.include_pings,
                    include_compaction_messages=True,
                    extra_headers=headers or None,
                    **self.ref.sdk_kwargs(),
                    **kwargs,
                )
            )
            await self._consume(stream, turn, listener, t0)
        except asyncio.CancelledError:
            await self._cancel_on_server(turn)
            raise
        except _RESUMABLE as exc:
            # Nothing reached us: is the server there at all?
            nothing_yet = isinstance(exc, letta_client.APIConnectionError) and not turn.run_id
            if nothing_yet and not await self._server_alive():
                raise translate(exc, base_url=self.base_url, what=self.describe()) from None
            first_error = exc
        except letta_client.ConflictError as exc:
            if "approval" in str(exc.body).lower():
                raise approval_pending(
                    self.describe(), url=self.base_url, detail=str(exc)
                ) from None
            raise ConversationBusy(
                f"{self.describe()} is busy: another run is in progress",
                "attach to it (ChatCell's Attach button or engine.attach()) or stop it "
                "with client.conversations.cancel(conversation_id)",
                status=409,
                url=self.base_url,
                detail=str(exc),
            ) from None
        except letta_client.LettaError as exc:
            raise translate(exc, base_url=self.base_url, what=self.describe()) from None
        if turn.stop_reason is None and not self._cancel_requested:
            await self._resume_loop(turn, listener, t0, first_error)

    def _retryable(self, turn: Turn) -> bool:
        """The run failed with an error its server marked ``retryable``, and tries are left."""
        err = turn.error
        return (
            isinstance(err, AgentRunError)
            and err.retryable is True
            and turn.retries < self.max_run_retries
            and not self._cancel_requested
        )

    async def _retry(self, turn: Turn, kwargs: dict[str, Any], listener: Listener | None) -> None:
        """Forget the failed attempt, wait, and give the input fresh otids (a new request)."""
        why = str(turn.error)
        delays = self.retry_delays or (0.0,)
        await asyncio.sleep(delays[min(turn.retries, len(delays) - 1)])
        turn.retries += 1
        turn.reset()
        messages = [dict(m) for m in kwargs.get("messages") or []]
        for m in messages:
            m["otid"] = str(uuid.uuid4())
        kwargs["messages"] = messages
        turn.otid = messages[0]["otid"] if messages else turn.otid
        _emit(listener, turn, TurnEvent("retry", text=why))

    async def _fetch_metrics(self, turn: Turn) -> None:
        """The server's step timings (LLM, tools) for the turn, where it keeps them.

        Best effort, never failing the turn: a step without metrics (404: unknown, or not
        recorded yet, as letta 0.16.8 records them in the background) is left out; a server
        that fails otherwise is remembered and not asked again.
        """
        base = self.base_url
        if not self.fetch_metrics or base in _NO_METRICS or not turn.step_ids:
            return
        aclient = self.aclient.with_options(max_retries=0, timeout=5)

        async def one(step_id: str) -> dict[str, Any] | None:
            try:
                got = await aclient.steps.metrics.retrieve(step_id)
            except letta_client.NotFoundError:
                return None
            return got.to_dict(mode="json")

        try:
            found = await asyncio.gather(*(one(s) for s in turn.step_ids[:20]))
        except (letta_client.LettaError, httpx.HTTPError) as exc:
            _log.debug("no step metrics from %s: %r", base, exc)
            _NO_METRICS.add(base)
            return
        turn.step_metrics = [m for m in found if m]

    def _result(self, turn: Turn) -> Turn:
        if turn.error is None and turn.stop_reason in ERROR_STOP_REASONS:
            turn.error = AgentRunError(
                f"the agent's run ended with stop reason {turn.stop_reason!r}",
                "look at the run's messages (turn.messages) and the server log; send again "
                "to retry",
                url=self.base_url,
            )
        if turn.error is not None:
            turn.error.turn = turn
            raise turn.error
        return turn

    async def _resume_loop(
        self,
        turn: Turn,
        listener: Listener | None,
        t0: float,
        first_error: BaseException | None,
    ) -> None:
        """Reconnect through ``/stream`` until the stop reason arrives."""
        error = first_error
        attempts = 0
        while turn.stop_reason is None and not self._cancel_requested:
            if not self.background and turn.otid is not None:
                # A foreground run has no stream to rejoin (the real server would wait
                # forever on one): say what happened instead of trying.
                if turn.run_id is None:
                    raise StreamInterrupted(
                        f"the stream from {self.describe()} broke before the run was known",
                        "send again: the message's otid makes the retry safe",
                        url=self.base_url,
                        detail=repr(error) if error else None,
                    ) from error
                raise StreamInterrupted(
                    f"the stream of run {turn.run_id} broke, and a run started without "
                    "background mode cannot be resumed",
                    "reload the conversation's history to see how the run ended; "
                    "TurnEngine(background=True), the default, resumes instead",
                    url=self.base_url,
                    detail=repr(error) if error else None,
                ) from error
            if attempts >= self.max_reconnects:
                raise StreamInterrupted(
                    f"the stream from {self.describe()} ended without a stop reason "
                    f"after {attempts} reconnect attempts",
                    "check the server; the run may still finish (reload the history)",
                    url=self.base_url,
                    detail=repr(error) if error else None,
                ) from error
            if attempts:
                await asyncio.sleep(min(0.2 * 2 ** (attempts - 1), 2.0))
            attempts += 1
            turn.reconnects += 1
            _emit(listener, turn, TurnEvent("reconnect", text=repr(error) if error else ""))
            kwargs: dict[str, Any] = {"include_pings": self.include_pings, **self.ref.sdk_kwargs()}
            if turn.run_id:
                kwargs["run_id"] = turn.run_id
            elif turn.otid:
                kwargs["otid"] = turn.otid
            if turn.last_seq_id is not None:
                kwargs["starting_after"] = turn.last_seq_id
            try:
                stream = await self.aclient.conversations.messages.stream(
                    self.conversation_id, extra_headers=self.extra_headers or None, **kwargs
                )
                await self._consume(stream, turn, listener, t0)
                error = None
            except asyncio.CancelledError:
                await self._cancel_on_server(turn)
                raise
            except _RESUMABLE as exc:
                error = exc
            except letta_client.BadRequestError as exc:
                # The run is over: the server keeps no stream to resume. The stored
                # history is complete, so the turn ended even if we missed its end.
                if turn.run_id is None:
                    raise translate(exc, base_url=self.base_url, what=self.describe()) from None
                raise StreamInterrupted(
                    f"the run {turn.run_id} finished while the stream was disconnected",
                    "its messages are stored: reload the conversation's history",
                    url=self.base_url,
                    detail=str(exc),
                ) from exc
            except letta_client.LettaError as exc:
                raise translate(exc, base_url=self.base_url, what=self.describe()) from None

    async def _land(self, request: Awaitable[Any]) -> Any:
        """Await the request that starts a run, even through a cancel.

        Cancelling mid-request would leave the run the server is still creating
        alive, out of reach of the cancel that follows. So a cancel here waits (up
        to ``LANDING_TIMEOUT_S``) for the server's answer, closes the stream, and
        only then lets the cancel through, to cancel that run on the server.
        """
        task = asyncio.ensure_future(request)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            deadline = time.monotonic() + LANDING_TIMEOUT_S
            while not task.done() and time.monotonic() < deadline:
                with contextlib.suppress(asyncio.CancelledError):  # a second Stop: same job
                    await asyncio.wait({task}, timeout=deadline - time.monotonic())
            if not task.done():
                task.cancel()
            elif not task.cancelled() and task.exception() is None:
                with contextlib.suppress(Exception):
                    await task.result().close()
            raise

    async def _consume(self, stream: Any, turn: Turn, listener: Listener | None, t0: float) -> None:
        """Fold every chunk of ``stream`` into ``turn``."""
        try:
            async for chunk in stream:
                for event in turn.apply(chunk, time.perf_counter() - t0):
                    _emit(listener, turn, event)
        except letta_client.APIStatusError as exc:
            # An SSE ``event: error`` frame: the SDK raises it mid-stream with the
            # server's error_message as the body. The run is over.
            body = exc.body if isinstance(exc.body, dict) else {}
            if body.get("message_type") != "error_message":
                raise
            turn.error = run_error(body, what=self.describe(), url=self.base_url)
            turn.stop_reason = turn.stop_reason or "error"
        finally:
            await stream.close()

    async def _cancel_on_server(self, turn: Turn) -> None:
        """Cancel the run server-side when the local task is cancelled (Stop, interrupt)."""
        turn.stop_reason = turn.stop_reason or "cancelled"
        with contextlib.suppress(LettaWidgetsError, asyncio.CancelledError):
            await asyncio.shield(self.cancel())

    async def _server_alive(self) -> bool:
        try:
            await self.aclient.with_options(max_retries=0, timeout=3).health()
        except letta_client.LettaError:
            return False
        return True

    def _finish(self, turn: Turn, t0: float, listener: Listener | None) -> None:
        if turn.total_s is None:
            turn.total_s = time.perf_counter() - t0
        if self._cancel_requested and turn.stop_reason is None:
            turn.stop_reason = "cancelled"
        _emit(listener, turn, TurnEvent("end"))


def _emit(listener: Listener | None, turn: Turn, event: TurnEvent) -> None:
    if listener is not None:
        listener(turn, event)
