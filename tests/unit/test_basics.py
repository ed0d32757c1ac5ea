"""Small pure functions: connect(), the async twin, error translation, paging, magics."""

from __future__ import annotations

import httpx
import letta_client
import pytest

import letta_widgets as lw
from letta_widgets.errors import translate
from letta_widgets.letta.paging import oldest_first, whole_groups
from letta_widgets.magics import parse_magic_line


def test_connect_reads_env_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LETTA_BASE_URL", raising=False)
    monkeypatch.delenv("LETTA_API_KEY", raising=False)
    assert str(lw.connect().base_url).rstrip("/") == "http://localhost:8283"
    monkeypatch.setenv("LETTA_BASE_URL", "http://127.0.0.1:9999/")
    monkeypatch.setenv("LETTA_API_KEY", "sk-test")
    client = lw.connect()
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:9999"
    assert client.api_key == "sk-test"
    assert lw.connect("http://example.invalid:1", api_key="k2").api_key == "k2"


def test_async_twin_copies_settings_and_is_cached_per_loop() -> None:
    import asyncio

    client = lw.connect(
        "http://127.0.0.1:9", api_key="sk-x", default_headers={"X-Team": "a"}, max_retries=1
    )

    async def twins() -> tuple:
        return lw.async_twin(client), lw.async_twin(client)

    first, again = asyncio.run(twins())
    assert isinstance(first, letta_client.AsyncLetta)
    assert first is again  # one connection pool per loop
    assert str(first.base_url) == str(client.base_url)
    assert first.api_key == "sk-x"
    assert first.max_retries == 1
    assert first._custom_headers.get("X-Team") == "a"
    other_loop, _ = asyncio.run(twins())
    assert other_loop is not first  # a pool never crosses event loops
    assert lw.async_twin(first) is first


def _status_error(status: int, body: object, headers: dict | None = None) -> Exception:
    request = httpx.Request("GET", "http://127.0.0.1:9/v1/x")
    response = httpx.Response(status, request=request, headers=headers or {})
    return letta_client.Letta(base_url="http://127.0.0.1:9")._make_status_error(
        "err", body=body, response=response
    )


@pytest.mark.parametrize(
    ("status", "cls", "words"),
    [
        (401, lw.AuthenticationFailed, "LETTA_API_KEY"),
        (403, lw.AuthenticationFailed, "LETTA_API_KEY"),
        (404, lw.NotFound, "conv-123"),
        (409, lw.ConversationBusy, "cancel"),
        (422, lw.InvalidRequest, "conv-<uuid4>"),
        (429, lw.RateLimited, "try again"),
        (500, lw.ServerError, "server's log"),
        (503, lw.ServerError, "try again"),
    ],
)
def test_status_errors_become_typed_errors_with_a_remedy(status, cls, words) -> None:
    err = translate(
        _status_error(status, {"detail": "nope"}, {"retry-after": "3"}),
        base_url="http://127.0.0.1:9",
        what="conversation conv-123",
    )
    assert isinstance(err, cls)
    assert isinstance(err, lw.LettaWidgetsError)
    assert err.status == status
    assert words in str(err)
    assert "nope" in str(err)
    if status == 429:
        assert err.retry_after == 3.0


def test_connection_refused_names_the_url_and_the_fix() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/v1/health/")
    err = translate(letta_client.APIConnectionError(request=request), base_url="http://127.0.0.1:9")
    assert isinstance(err, lw.ServerUnreachable)
    assert "http://127.0.0.1:9" in str(err)
    assert "letta-devserver --seed demo" in str(err) and "LETTA_BASE_URL" in str(err)


def test_timeout_and_broken_stream() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/v1/x")
    assert isinstance(translate(letta_client.APITimeoutError(request)), lw.RequestTimedOut)
    assert isinstance(translate(httpx.ReadError("reset")), lw.StreamInterrupted)


def _msgs(*ids: str) -> list[dict]:
    return [{"id": i, "message_type": f"t{n}"} for n, i in enumerate(ids)]


def test_whole_groups_moves_the_cursor_to_a_whole_group() -> None:
    kept, cursor, more = whole_groups(_msgs("m5", "m4", "m3", "m3"), 4)
    assert [m["id"] for m in kept] == ["m5", "m4"] and cursor == "m4" and more
    kept, cursor, more = whole_groups(_msgs("m2", "m1"), 4)
    assert len(kept) == 2 and cursor == "m1" and not more
    kept, cursor, more = whole_groups(_msgs("m3", "m3"), 2)
    assert len(kept) == 2 and cursor == "m3" and more
    assert whole_groups([], 5) == ([], None, False)


def test_magic_line_parsing() -> None:
    args = parse_magic_line("conv-abc --model openai/gpt-4o --history 3")
    assert (args.target, args.model, args.history) == ("conv-abc", "openai/gpt-4o", 3)
    assert parse_magic_line("agent-1").target == "agent-1"
    with pytest.raises(ValueError, match="conversation id"):
        parse_magic_line("hello")
    with pytest.raises(ValueError, match="usage"):
        parse_magic_line("")


def test_oldest_first_keeps_the_order_inside_an_id_group() -> None:
    page = [
        {"id": "m3", "message_type": "reasoning_message"},
        {"id": "m3", "message_type": "assistant_message"},
        {"id": "m2", "message_type": "user_message"},
        {"id": "m1", "message_type": "reasoning_message"},
        {"id": "m1", "message_type": "tool_call_message"},
    ]
    assert [(m["id"], m["message_type"]) for m in oldest_first(page)] == [
        ("m1", "reasoning_message"),
        ("m1", "tool_call_message"),
        ("m2", "user_message"),
        ("m3", "reasoning_message"),
        ("m3", "assistant_message"),
    ]
