"""The stub LLM behind the real-server tier: its grammar, reasoning, streaming and errors.

Fast and offline (no Letta): the stub runs in a thread on a free loopback port.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location("stub_llm", Path(__file__).with_name("stub_llm.py"))
stub = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stub)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {
                "type": "object",
                "properties": {p: {"type": "string"} for p in params},
                "required": list(params),
            },
        },
    }
    for name, params in (
        ("memory_insert", ("label", "new_string")),
        ("memory_replace", ("label", "old_string", "new_string")),
        ("conversation_search", ("query",)),
    )
]


@pytest.fixture(autouse=True)
def echo_brain(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain grammar (echo, call:, remember/search) unless a test asks for the script."""
    if "scripted" not in request.node.name:
        monkeypatch.setattr(stub, "BRAIN", "echo")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), stub.Handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def _post(url: str, body: dict[str, Any]) -> tuple[int, bytes]:
    req = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _chat(text: str, *, tools: list | None = TOOLS, **extra: Any) -> dict[str, Any]:
    return {"model": "stub-model", "messages": [{"role": "user", "content": text}],
            "tools": tools, **extra}  # fmt: skip


def test_echo_with_reasoning(url: str) -> None:
    status, body = _post(url, _chat("hello there"))
    assert status == 200
    msg = json.loads(body)["choices"][0]["message"]
    assert msg["content"] == "Echo: hello there"
    assert msg["reasoning_content"] == "The user wrote: hello there"


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        (
            'call:memory_replace {"label":"human","old_string":"Ada","new_string":"Grace"}',
            "memory_replace",
            {"label": "human", "old_string": "Ada", "new_string": "Grace"},
        ),
        ("call:memory_insert", "memory_insert", {"label": "stub", "new_string": "stub"}),
        (
            "remember that I like tea.",
            "memory_insert",
            {"label": "human", "new_string": "I like tea"},
        ),
        ("search for walnut", "conversation_search", {"query": "walnut"}),
    ],
)
def test_tool_calls(url: str, text: str, name: str, args: dict) -> None:
    _, body = _post(url, _chat(text))
    choice = json.loads(body)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]["function"]
    assert call["name"] == name and json.loads(call["arguments"]) == args
    assert choice["message"]["reasoning_content"] == f"I should call {name}."


def test_tool_not_offered_is_echoed(url: str) -> None:
    _, body = _post(url, _chat("call:send_email {}", tools=None))
    assert json.loads(body)["choices"][0]["message"]["content"] == "Echo: call:send_email {}"


def test_after_a_tool_result(url: str) -> None:
    body = _chat("call:memory_insert")
    body["messages"].append({"role": "tool", "content": '{"status": "OK"}', "tool_call_id": "x"})
    _, out = _post(url, body)
    msg = json.loads(out)["choices"][0]["message"]
    assert msg["content"].startswith("Done: ")
    assert "tool_calls" not in msg


def test_fail_llm_is_http_500(url: str) -> None:
    status, body = _post(url, _chat("please fail:llm now"))
    assert status == 500 and "injected" in json.loads(body)["error"]["message"]


def test_token_stream(url: str) -> None:
    _, raw = _post(url, _chat("one two three", stream=True))
    events = [json.loads(ln[6:]) for ln in raw.decode().splitlines()
              if ln.startswith("data: ") and ln != "data: [DONE]"]  # fmt: skip
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    text = "".join(d.get("content") or "" for d in deltas)
    thought = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert text == "Echo: one two three" and thought == "The user wrote: one two three"
    assert raw.decode().rstrip().endswith("data: [DONE]")


def test_slow_stream(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stub, "SLOW_DELAY", 0.01)
    t0 = time.perf_counter()
    _, raw = _post(url, _chat("slow please", stream=True))
    assert time.perf_counter() - t0 >= 0.2
    lines = [ln for ln in raw.decode().splitlines() if ln.startswith("data: {")]
    contents = [json.loads(ln[6:])["choices"][0]["delta"].get("content") for ln in lines]
    assert len([c for c in contents if c]) == 20


def test_embeddings_are_deterministic_unit_vectors(url: str) -> None:
    req = urllib.request.Request(
        f"{url}/embeddings",
        data=json.dumps({"input": ["a", "b"], "dimensions": 8}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        data = json.loads(resp.read())["data"]
    assert len(data) == 2 and len(data[0]["embedding"]) == 8
    assert abs(sum(v * v for v in data[0]["embedding"]) - 1) < 1e-9
    assert data[0]["embedding"] == stub._embed("a", 8)


def test_scripted_brain_answers_from_history_and_memory(url: str) -> None:
    system = (
        "<memory_blocks>\n<human>\n<description>\nx\n</description>\n<metadata>\n</metadata>\n"
        "<value>\nThe human's name is Ada.\n</value>\n</human>\n</memory_blocks>"
    )
    body = {
        "model": "stub-model",
        "tools": TOOLS,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "I live in Paris."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "Where do I live?"},
        ],
    }
    _, out = _post(url, body)
    msg = json.loads(out)["choices"][0]["message"]
    assert "Paris" in msg["content"] and msg["reasoning_content"]
    body["messages"][-1]["content"] = "What is my name?"
    _, out = _post(url, body)
    assert "Ada" in json.loads(out)["choices"][0]["message"]["content"]


def test_scripted_brain_tool_round(url: str) -> None:
    body = _chat('call:memory_insert {"label": "human", "new_string": "likes tea"}')
    _, out = _post(url, body)
    call = json.loads(out)["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "memory_insert"
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"],
         "content": json.dumps({"status": "OK", "message": "saved"})},
    ]  # fmt: skip
    _, out = _post(url, body)
    assert json.loads(out)["choices"][0]["message"]["content"].startswith("Done: saved")
