"""The X-Devserver-… request headers: each overrides its option, a bad value is a clear 400."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from letta_client import APIStatusError, Letta

from letta_devserver.testing import LettaServer, ServerOptions, ServerPool


@pytest.fixture(scope="module")
def server() -> Iterator[LettaServer]:
    with ServerPool() as pool:
        yield pool.get(ServerOptions())


@pytest.fixture(scope="module")
def conversation(server: LettaServer) -> tuple[Letta, str]:
    client = Letta(base_url=server.base_url, api_key="x", max_retries=0)
    agent = client.agents.create(name="headers", model="openai/gpt-4o-mini")
    return client, client.conversations.create(agent_id=agent.id).id


def _send(client: Letta, conv_id: str, headers: dict[str, str]) -> list[object]:
    stream = client.conversations.messages.create(
        conv_id, messages=[{"role": "user", "content": "hi"}], extra_headers=headers
    )
    return list(stream)


@pytest.mark.parametrize(
    "header",
    [
        "X-Devserver-Token-Delay-Ms",
        "X-Devserver-Step-Delay-Ms",
        "X-Devserver-Keepalive-Ms",
        "X-Devserver-Context-Messages",
    ],
)
@pytest.mark.parametrize("value", ["soon", "-3"])
def test_a_bad_number_is_a_400_naming_the_header(
    conversation: tuple[Letta, str], header: str, value: str
) -> None:
    client, conv_id = conversation
    with pytest.raises(APIStatusError) as info:
        _send(client, conv_id, {header: value})
    assert info.value.status_code == 400
    assert header.lower() in str(info.value.body).lower()


def test_a_bad_fault_header_is_a_400_with_the_reason(conversation: tuple[Letta, str]) -> None:
    client, conv_id = conversation
    with pytest.raises(APIStatusError) as info:
        _send(client, conv_id, {"X-Devserver-Fault": "status=999"})
    assert info.value.status_code == 400
    assert "bad X-Devserver-Fault" in str(info.value.body)


def test_headers_helper_builds_what_the_server_reads(
    server: LettaServer, conversation: tuple[Letta, str]
) -> None:
    client, conv_id = conversation
    headers = server.headers(fault="stop_reason=max_steps", step_delay_ms=1)
    assert headers == {
        "X-Devserver-Fault": "stop_reason=max_steps",
        "X-Devserver-Step-Delay-Ms": "1",
    }
    chunks = _send(client, conv_id, headers)
    reasons = [c.stop_reason for c in chunks if c.message_type == "stop_reason"]
    assert reasons == ["max_steps"]
    with pytest.raises(ValueError, match="unknown fault item"):
        server.headers(fault="explode")
