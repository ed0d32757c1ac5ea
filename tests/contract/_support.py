"""Helpers for the contract suite: sending turns, raw SSE, history walks, known shapes.

Everything goes through the official SDK (``letta_client``); where a test needs the bytes
the server sent, it uses the SDK's own ``with_raw_response`` access.

Prompts follow the grammar both servers understand (the devserver's scripted agent and the
stub LLM behind the real server): ``call:<tool> {json}`` makes a tool call, text containing
``slow`` streams slowly (with ``stream_tokens=True``), anything else gets a short answer.
Tests never assert the assistant's exact wording.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from letta_client import APIStatusError, Letta

MODEL = os.environ.get("LETTA_MODEL", "openai/gpt-4o-mini")
EMBEDDING = os.environ.get("LETTA_EMBEDDING", "openai/text-embedding-3-small")

# Field sets as the real Letta server (letta 0.16.8, through letta-client 1.12.1) sends them,
# recorded from its raw JSON (see ../shared/letta-shapes/). The same set in messages.list,
# in the SSE stream and in the streaming=False body.
_COMMON = {"id", "date", "is_err", "message_type", "name", "otid", "run_id", "sender_id",
           "seq_id", "step_id"}  # fmt: skip
MESSAGE_FIELDS: dict[str, set[str]] = {
    "system_message": _COMMON | {"content"},
    "user_message": _COMMON | {"content"},
    "assistant_message": _COMMON | {"content"},
    "reasoning_message": _COMMON | {"reasoning", "signature", "source"},
    "tool_call_message": _COMMON | {"tool_call", "tool_calls"},
    "tool_return_message": _COMMON
    | {"status", "stderr", "stdout", "tool_call_id", "tool_return", "tool_returns"},
    "approval_request_message": _COMMON | {"tool_call", "tool_calls"},
    "approval_response_message": _COMMON
    | {"approval_request_id", "approvals", "approve", "reason"},
    "ping": _COMMON,
}
STREAM_ONLY_FIELDS: dict[str, set[str]] = {
    "stop_reason": {"message_type", "stop_reason"},
    "usage_statistics": {
        "message_type",
        "completion_tokens",
        "prompt_tokens",
        "total_tokens",
        "step_count",
        "run_ids",
        "cached_input_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "context_tokens",
    },
    "error_message": {"message_type", "run_id", "error_type", "message", "detail", "seq_id"},
    # Letta Cloud only (letta-code#2680; LC src/agent/message.ts reads cache_scope, response_id)
    "response_state": {"message_type", "cache_scope", "response_id", "run_id", "seq_id"},
}
# Letta Cloud's error_message also carries these (LC src/cli/helpers/stream-processor.ts)
CLOUD_ERROR_FIELDS = {"error_code", "status_code", "retryable"}


def error_fields(profile: str) -> set[str]:
    """The keys of an ``error_message`` event on a server of ``profile``."""
    base = STREAM_ONLY_FIELDS["error_message"]
    return base | CLOUD_ERROR_FIELDS if profile == "cloud" else base


CONVERSATION_FIELDS = {
    "id", "agent_id", "created_at", "created_by_id", "in_context_message_ids", "isolated_block_ids",
    "last_message_at", "last_updated_by_id", "model", "model_settings", "summary", "updated_at",
}  # fmt: skip
# Letta Cloud's conversation: the SDK's ``Conversation`` (letta-client 1.12.1
# types/conversation.py): the archive fields, description and context_window_limit, and no
# isolated_block_ids.
CLOUD_CONVERSATION_FIELDS = (CONVERSATION_FIELDS - {"isolated_block_ids"}) | {
    "archived", "archived_at", "context_window_limit", "description",
}  # fmt: skip


def conversation_fields(profile: str) -> set[str]:
    """The keys of a conversation object on a server of ``profile``."""
    return CLOUD_CONVERSATION_FIELDS if profile == "cloud" else CONVERSATION_FIELDS


BLOCK_FIELDS_USED = {"id", "label", "value", "limit", "description", "read_only", "metadata"}
AGENT_FIELDS_USED = {
    "id", "name", "agent_type", "model", "embedding", "blocks", "memory", "tools", "system",
    "created_at", "updated_at", "description", "metadata", "tags", "llm_config", "message_ids",
}  # fmt: skip


def new_otid() -> str:
    """A fresh offline threading id, as clients make them."""
    return str(uuid.uuid4())


def user(text: str | list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    """The ``messages=`` payload for one user message (``text``, or content parts)."""
    return [{"role": "user", "content": text, **extra}]


def send(client: Letta, conversation_id: str, text: str, **kwargs: Any) -> list[Any]:
    """Send one user message (streaming, the SDK default) and return every chunk."""
    return list(
        client.conversations.messages.create(conversation_id, messages=user(text), **kwargs)
    )


def without_state(chunks: Iterable[Any]) -> list[Any]:
    """The chunks (SDK objects or raw event dicts) but Letta Cloud's ``response_state``.

    Cloud streams carry one ``response_state`` event after the first ping (letta-code#2680);
    tests about something else look past it (``test_response_state_event`` checks it)."""
    return [c for c in chunks if _type(c) != "response_state"]


def _type(chunk: Any) -> str | None:
    if isinstance(chunk, dict):
        return chunk.get("message_type")
    return getattr(chunk, "message_type", None)


def types(chunks: Iterable[Any]) -> list[str]:
    """The ``message_type`` of each chunk or message."""
    return [getattr(c, "message_type", None) for c in chunks]


def of_type(chunks: Iterable[Any], message_type: str) -> list[Any]:
    """The chunks or messages of one ``message_type``."""
    return [c for c in chunks if getattr(c, "message_type", None) == message_type]


def stop_reason(chunks: Sequence[Any]) -> str | None:
    """The stop reason a stream ended with (None when it carried none)."""
    reasons = of_type(chunks, "stop_reason")
    return reasons[-1].stop_reason if reasons else None


def key(message: Any) -> tuple[str, str]:
    """A Letta message's identity: several messages may share an ``id``."""
    return (message.id, message.message_type)


def history(client: Letta, conversation_id: str, **params: Any) -> list[Any]:
    """The whole conversation, oldest first, in one request."""
    params.setdefault("order", "asc")
    params.setdefault("limit", 1000)
    return list(client.conversations.messages.list(conversation_id, **params).items)


def page(client: Letta, conversation_id: str, **params: Any) -> list[Any]:
    """One page of ``messages.list`` (no auto-pagination)."""
    return list(client.conversations.messages.list(conversation_id, **params).items)


def walk_pages(
    list_page: Any, *, cursor: str = "after", max_pages: int = 200, **params: Any
) -> list[Any]:
    """Follow ``cursor`` (the last item's id) page by page until an empty page; bounded, so a
    server that ignores the cursor fails the test instead of looping forever."""
    out: list[Any] = []
    last = None
    for _ in range(max_pages):
        got = list(list_page(**params, **({cursor: last} if last else {})).items)
        if not got:
            return out
        out += got
        last = got[-1].id
    raise AssertionError(
        f"pagination did not end after {max_pages} pages (cursor {cursor!r} ignored?)"
    )


def raw_json(raw_call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an SDK ``with_raw_response`` method and return the JSON body the server sent."""
    resp = raw_call(*args, **kwargs)
    resp.http_response.read()
    return json.loads(resp.http_response.text)


@dataclass
class RawStream:
    """An SSE response as bytes on the wire: content type, lines and decoded events."""

    content_type: str
    lines: list[str]
    events: list[dict[str, Any]] = field(default_factory=list)
    event_names: list[str] = field(default_factory=list)
    done: bool = False


def raw_stream(
    client: Letta, conversation_id: str, text: str | list[dict[str, Any]], **kwargs: Any
) -> RawStream:
    """Send one message (text or content parts) and read the raw SSE body through the SDK's
    raw-response access."""
    resp = client.conversations.messages.with_raw_response.create(
        conversation_id, messages=user(text), **kwargs
    )
    resp.http_response.read()
    out = RawStream(resp.http_response.headers.get("content-type", ""), [])
    out.lines = resp.http_response.text.splitlines()
    for line in out.lines:
        if line.startswith("data: "):
            data = line[len("data: ") :]
            if data == "[DONE]":
                out.done = True
            else:
                out.events.append(json.loads(data))
        elif line.startswith("event: "):
            out.event_names.append(line[len("event: ") :])
    return out


def id_groups(messages: Sequence[Any]) -> dict[str, list[str]]:
    """For each id, the message types that carry it, in list order."""
    groups: dict[str, list[str]] = {}
    for m in messages:
        groups.setdefault(m.id, []).append(m.message_type)
    return groups


def shared_ids(messages: Sequence[Any]) -> list[str]:
    """Ids carried by more than one Letta message."""
    counts = Counter(m.id for m in messages)
    return [i for i, n in counts.items() if n > 1]


def assert_no_loss_no_repeat(walked: Sequence[Any], full: Sequence[Any]) -> None:
    """Every (id, message_type) of ``full`` appears exactly once in ``walked``."""
    seen = Counter(key(m) for m in walked)
    repeated = [k for k, n in seen.items() if n > 1]
    assert not repeated, f"repeated across pages: {repeated}"
    missing = [key(m) for m in full if key(m) not in seen]
    assert not missing, f"lost across pages: {missing}"
    known = {key(m) for m in full}
    extra = [k for k in seen if k not in known]
    assert not extra, f"messages not in the full history: {extra}"


def skip_if_needs_redis(exc: APIStatusError, server_label: str) -> None:
    """The real server answers 503 to background runs and resume without Redis."""
    if exc.status_code == 503 and "Redis" in str(exc):
        pytest.skip(f"{server_label} runs without Redis: background runs and resume answer 503")


class BackgroundReader:
    """Consume a stream in a thread, so a test can act (cancel, resume) while it runs."""

    def __init__(self, make_stream: Any) -> None:
        self.chunks: list[Any] = []
        self.error: BaseException | None = None
        self._make = make_stream
        self.first = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for chunk in self._make():
                self.chunks.append(chunk)
                if getattr(chunk, "message_type", None) not in (None, "ping", "response_state"):
                    self.first.set()
        except BaseException as e:
            self.error = e
        finally:
            self.first.set()

    def join(self, timeout: float = 60.0) -> list[Any]:
        """Wait for the stream to end; return its chunks."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "stream did not end in time"
        return self.chunks


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def system_message(client: Letta, conversation_id: str, **params: Any) -> Any:
    """The conversation's (first) system message, as messages.list returns it."""
    msgs = [
        m for m in history(client, conversation_id, **params) if m.message_type == "system_message"
    ]
    assert msgs, "the conversation lists no system_message"
    return msgs[0]
