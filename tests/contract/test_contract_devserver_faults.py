"""Fault injection and bulk data: devserver features (skipped against other servers).

A request carries ``X-Devserver-Fault: SPEC`` (through the SDK's ``extra_headers=``); SPEC is
comma-separated items: ``status=401|403|404|409|429|500|503`` (+ ``retry_after=S``),
``drop_after=N``, ``first_byte_delay_ms=N``, ``error_event[=transient|fatal|deployment]``,
``malformed_event``, ``stop_reason=<value>``. The SDK must see each fault exactly as it would
see the real thing.
"""

from __future__ import annotations

import json
import time
from typing import Any

import _support as sup
import httpx
import letta_client
import pytest
from letta_client import Letta

pytestmark = [pytest.mark.contract, pytest.mark.devserver_only]

FAULT = "X-Devserver-Fault"


def _fault(spec: str) -> dict[str, str]:
    return {FAULT: spec}


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (401, letta_client.AuthenticationError),
        (403, letta_client.PermissionDeniedError),
        (404, letta_client.NotFoundError),
        (409, letta_client.ConflictError),
        (429, letta_client.RateLimitError),
        (500, letta_client.InternalServerError),
        (503, letta_client.InternalServerError),
    ],
)
def test_status_faults_raise_the_sdk_exception(
    client: Letta, conv: object, status: int, exc: type
) -> None:
    with pytest.raises(exc) as err:
        client.conversations.retrieve(conv.id, extra_headers=_fault(f"status={status}"))
    assert err.value.status_code == status
    assert isinstance(err.value.body, dict)  # a JSON error body, as the real server sends
    with pytest.raises(exc):
        sup.send(client, conv.id, "hello", extra_headers=_fault(f"status={status}"))
    with pytest.raises(exc):
        sup.page(client, conv.id, extra_headers=_fault(f"status={status}"))
    # nothing was stored by the refused send; the next request is normal
    assert not sup.of_type(sup.history(client, conv.id), "user_message")
    assert client.conversations.retrieve(conv.id).id == conv.id


def test_429_retry_after_header(client: Letta, conv: object) -> None:
    with pytest.raises(letta_client.RateLimitError) as err:
        client.conversations.retrieve(conv.id, extra_headers=_fault("status=429,retry_after=7"))
    assert err.value.response.headers.get("retry-after") == "7"


def test_first_byte_delay(client: Letta, conv: object) -> None:
    t0 = time.perf_counter()
    chunks = sup.send(client, conv.id, "hello", extra_headers=_fault("first_byte_delay_ms=600"))
    assert time.perf_counter() - t0 >= 0.6
    assert sup.stop_reason(chunks) == "end_turn"
    with pytest.raises(letta_client.APITimeoutError):
        client.conversations.retrieve(
            conv.id, extra_headers=_fault("first_byte_delay_ms=2000"), timeout=0.5
        )


def _read_until_failure(stream: Any) -> tuple[list[Any], BaseException | None]:
    got: list[Any] = []
    try:
        for chunk in stream:
            got.append(chunk)
    except (httpx.HTTPError, letta_client.APIError) as e:
        return got, e
    return got, None


def test_drop_after_ends_the_stream_without_stop_reason(client: Letta, conv: object) -> None:
    stream = client.conversations.messages.create(
        conv.id, messages=sup.user("hello there"), extra_headers=_fault("drop_after=2")
    )
    got, _err = _read_until_failure(stream)
    assert len(got) <= 2
    assert sup.stop_reason(got) is None, "a dropped stream carries no stop_reason"


def test_dropped_background_stream_resumes_without_loss(client: Letta, conv: object) -> None:
    stream = client.conversations.messages.create(
        conv.id,
        messages=sup.user("slow please, a long story"),
        background=True,
        stream_tokens=True,
        extra_headers=_fault("drop_after=3"),
    )
    got, _err = _read_until_failure(stream)
    assert 1 <= len(got) <= 3 and sup.stop_reason(got) is None
    last = got[-1]
    rest = list(
        client.conversations.messages.stream(
            conv.id, run_id=last.run_id, starting_after=last.seq_id
        )
    )
    seqs = [c.seq_id for c in got + rest if getattr(c, "seq_id", None) is not None]
    assert seqs == list(range(1, len(seqs) + 1)), "no lost or repeated event by seq_id"
    assert sup.stop_reason(rest) == "end_turn"


def test_error_event(client: Letta, conv: object) -> None:
    stream = client.conversations.messages.create(
        conv.id, messages=sup.user("hello"), extra_headers=_fault("error_event")
    )
    got: list[Any] = []
    with pytest.raises(letta_client.APIStatusError) as err:
        for chunk in stream:
            got.append(chunk)
    # as the real server on an LLM error: stop_reason llm_api_error, then `event: error`
    assert sup.stop_reason(got) == "llm_api_error"
    body = err.value.body
    assert isinstance(body, dict) and body["message_type"] == "error_message"
    assert {"run_id", "error_type", "message", "detail"} <= set(body)
    raw = sup.raw_stream(client, conv.id, "hello", extra_headers=_fault("error_event"))
    assert raw.event_names == ["error"]
    assert raw.events[-1]["message_type"] == "error_message"
    assert raw.done


@pytest.mark.parametrize(
    ("kind", "stop", "error_type", "code", "status", "retryable"),
    [
        ("transient", "llm_api_error", "llm_error", "llm_error", 500, True),
        ("fatal", "llm_api_error", "llm_bad_request", "llm_bad_request", 400, False),
        ("deployment", "error", "internal_error", "cloud_api_deployment_interrupted", 503, True),
    ],
)
def test_error_event_kinds(
    client: Letta,
    conv: object,
    profile: str,
    kind: str,
    stop: str,
    error_type: str,
    code: str,
    status: int,
    retryable: bool,
) -> None:
    """``error_event=KIND``: a retryable failure on demand, or one that is not; Letta Cloud's
    events say which (error_code, status_code, retryable), 0.16.8's carry six fields."""
    headers = _fault(f"error_event={kind}")
    raw = sup.raw_stream(client, conv.id, "hello", extra_headers=headers)
    err = raw.events[-1]
    assert raw.events[-2] == {"message_type": "stop_reason", "stop_reason": stop}
    assert err["error_type"] == error_type and set(err) == sup.error_fields(profile)
    if profile == "cloud":
        assert (err["error_code"], err["status_code"], err["retryable"]) == (
            code,
            status,
            retryable,
        )
    # streaming=False: that HTTP status, the real server's {"error": {...}} body
    with pytest.raises(letta_client.APIStatusError) as info:
        client.conversations.messages.create(
            conv.id, messages=sup.user("hello"), streaming=False, extra_headers=headers
        )
    assert info.value.status_code == status
    assert info.value.body["error"]["type"] == error_type
    assert sup.types(sup.history(client, conv.id)) == ["system_message"]


def test_malformed_event(client: Letta, conv: object) -> None:
    stream = client.conversations.messages.create(
        conv.id, messages=sup.user("hello"), extra_headers=_fault("malformed_event")
    )
    with pytest.raises(json.JSONDecodeError):
        for _ in stream:
            pass


@pytest.mark.parametrize("reason", ["max_steps", "llm_api_error", "cancelled"])
def test_stop_reason_fault(client: Letta, conv: object, reason: str) -> None:
    chunks = sup.send(client, conv.id, "hello", extra_headers=_fault(f"stop_reason={reason}"))
    assert sup.stop_reason(chunks) == reason
    if reason == "cancelled":  # a cancelled stream ends at its stop reason, as on the real server
        assert sup.types(chunks)[-1] == "stop_reason"
    else:
        assert sup.types(chunks)[-2:] == ["stop_reason", "usage_statistics"]


def test_large_history_paging(client: Letta, conv: object, profile: str) -> None:
    """Bulk data from the admin endpoint; walk it in pages both ways (newest first with the
    older-than cursor: ``after`` on Letta Cloud, relative to the order; ``before`` on 0.16.8)."""
    client.post(
        f"/v1/_devserver/conversations/{conv.id}/synthetic",
        body={"turns": 1500},
        cast_to=object,
    )
    full = sup.history(client, conv.id, limit=100000)
    assert len({m.id for m in full}) >= 3000
    older = "after" if profile == "cloud" else "before"
    for order, cursor in (("asc", "after"), ("desc", older)):
        walked: list[Any] = []
        cur = None
        while True:
            params: dict[str, Any] = {"order": order, "limit": 250}
            if cur:
                params[cursor] = cur
            pg = sup.page(client, conv.id, **params)
            if not pg:
                break
            assert len({m.id for m in pg}) <= 250
            walked += pg
            cur = pg[-1].id
        sup.assert_no_loss_no_repeat(walked, full)
        ids = list(dict.fromkeys(m.id for m in walked))
        expected = list(dict.fromkeys(m.id for m in full))
        assert ids == (expected if order == "asc" else expected[::-1])
