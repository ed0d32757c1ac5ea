#!/usr/bin/env python3
"""Tiny deterministic OpenAI-compatible LLM stub (stdlib only).

Endpoints (all under /v1):
  GET  /v1/models              -> one chat model (STUB_MODEL, default "stub-model")
  POST /v1/chat/completions    -> streaming (SSE) and non-streaming
  POST /v1/embeddings          -> deterministic hash-based vectors
  GET  /health                 -> {"ok": true}

Reply policy (deterministic, keyed on the last user text):
  * If the last message is a tool result (role == "tool"), answer with plain
    content "Done: <tool result prefix>" (ends the Letta v1 loop).
  * If the user text contains "call:<tool_name>" and that tool is offered,
    emit an OpenAI tool call to it; arguments are filled from the tool's JSON
    schema (strings "stub", ints 0, bools false) plus any JSON object that
    follows the marker, e.g.  call:memory_replace {"label":"human", ...}
  * Else, if a tool named "send_message" is offered (memgpt-style agents),
    call send_message(message="Echo: <text>").
  * Otherwise reply with plain assistant content "Echo: <text>".
  * If the user text contains "slow", streaming is paced at STUB_SLOW_DELAY
    seconds per chunk (default 0.5) over ~20 chunks, handy for cancel tests;
    a non-streaming reply then takes 20 * STUB_SLOW_DELAY seconds.
  * Every reply carries reasoning first (OpenAI-compatible `reasoning_content`,
    as vLLM/DeepSeek proxies send it), so Letta stores reasoning and the
    answer (or tool call) in ONE message row: the listed reasoning_message and
    assistant_message / tool_call_message then share an id, as with real
    reasoning models. STUB_REASONING=0 turns this off.
  * "fail:llm" in the user text answers HTTP 500 (an LLM provider error).
  * "pause:N" in the user text waits N seconds (at most 120) before answering
    (keepalive-ping tests: Letta pings a silent stream every 20 s).
  * "remember that X" calls memory_insert(label="human", new_string=X) and
    "search for X" calls conversation_search(query=X), as the devserver's
    scripted agent does (its other grammar is not reproduced here).

Usage: python stub_llm.py --host 127.0.0.1 --port 8399
Binds only to the given host (default loopback). Every request is appended
as one JSON line to $STUB_LOG if set (handy to see what Letta sends).
"""

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = os.environ.get("STUB_MODEL", "stub-model")
SLOW_DELAY = float(os.environ.get("STUB_SLOW_DELAY", "0.5"))
REASONING = os.environ.get("STUB_REASONING", "1") != "0"
BRAIN = os.environ.get("STUB_BRAIN", "script")  # "script" (devserver's agent) or "echo"
_script = None


def _load_script():
    """The devserver's scripted agent (``letta_devserver.script``, pure stdlib); None if absent.

    scripts/real-letta/start.sh puts this checkout's ``devserver/`` on PYTHONPATH, so the
    stub runs under the real server's own interpreter without installing anything there.
    """
    global _script
    if _script is None:
        try:
            from letta_devserver import script

            _script = script
        except ImportError as e:
            print(f"stub-llm: scripted agent unavailable ({e}); echo brain", file=sys.stderr)
            _script = False
    return _script or None


LOG_PATH = os.environ.get("STUB_LOG")


def _text_of(content):
    """Flatten OpenAI message content (str or list of parts) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    out = []
    for part in content:
        if isinstance(part, dict):
            if part.get("type") == "text":
                out.append(part.get("text", ""))
        elif isinstance(part, str):
            out.append(part)
    return "".join(out)


def _images_of(content):
    """The images of OpenAI message content (Letta sends them as ``image_url`` data: URLs)
    as Letta image parts, for the scripted agent."""
    if not isinstance(content, list):
        return []
    return [
        {"type": "image", "source": {"type": "url", "url": str(p["image_url"].get("url", ""))}}
        for p in content
        if isinstance(p, dict)
        and p.get("type") == "image_url"
        and isinstance(p.get("image_url"), dict)
    ]


def _seen(parts):
    """What the scripted agent can tell of the images (letta_devserver.images.seen)."""
    from letta_devserver import images

    return images.seen(parts)


def _user_text(raw):
    """Letta may wrap user text in a JSON envelope; unwrap if so."""
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            obj = json.loads(raw)
            if isinstance(obj, dict) and "message" in obj:
                return str(obj["message"])
        except ValueError:
            pass
    return raw


def _fill_args(params, overrides):
    args = {}
    props = (params or {}).get("properties", {}) or {}
    required = (params or {}).get("required", []) or []
    for name in required:
        spec = props.get(name, {}) or {}
        t = spec.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "string")
        if t == "integer" or t == "number":
            args[name] = 0
        elif t == "boolean":
            args[name] = False
        elif t == "array":
            args[name] = []
        elif t == "object":
            args[name] = {}
        else:
            args[name] = "stub"
    args.update(overrides)
    return args


def decide(body):
    """Return (content_text or None, tool_call dict or None)."""
    messages = body.get("messages", []) or []
    tools = body.get("tools") or []
    tool_by_name = {}
    for t in tools:
        fn = t.get("function", {}) if isinstance(t, dict) else {}
        if fn.get("name"):
            tool_by_name[fn["name"]] = fn

    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        res = _text_of(last.get("content"))[:80].replace("\n", " ")
        return f"Done: {res}", None

    user_text = ""
    for m in reversed(messages):
        if m.get("role") == "user":
            user_text = _user_text(_text_of(m.get("content")))
            break

    m = re.search(r"call:([A-Za-z0-9_]+)\s*(\{.*\})?", user_text, re.S)
    if m and m.group(1) in tool_by_name:
        name = m.group(1)
        overrides = {}
        if m.group(2):
            try:
                overrides = json.loads(m.group(2))
            except ValueError:
                overrides = {}
        fn = tool_by_name[name]
        args = _fill_args(fn.get("parameters"), overrides)
        return None, {"name": name, "arguments": json.dumps(args)}

    # a few natural requests, in the devserver scripted agent's words
    natural = natural_tool_call(user_text)
    if natural and natural["name"] in tool_by_name:
        fn = tool_by_name[natural["name"]]
        args = _fill_args(fn.get("parameters"), natural["arguments"])
        return None, {"name": natural["name"], "arguments": json.dumps(args)}

    reply = f"Echo: {user_text}" if user_text else "Echo: (no user text)"
    if "send_message" in tool_by_name:
        fn = tool_by_name["send_message"]
        args = _fill_args(fn.get("parameters"), {"message": reply})
        return None, {"name": "send_message", "arguments": json.dumps(args)}
    return reply, None


def _embed(text, dim):
    h = hashlib.sha256(text.encode("utf-8")).digest()
    vals = []
    i = 0
    while len(vals) < dim:
        b = hashlib.sha256(h + i.to_bytes(4, "little")).digest()
        vals.extend((x - 127.5) / 127.5 for x in b)
        i += 1
    vals = vals[:dim]
    norm = math.sqrt(sum(v * v for v in vals)) or 1.0
    return [v / norm for v in vals]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stub-llm/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _log(self, payload):
        if LOG_PATH:
            with open(LOG_PATH, "a") as f:
                f.write(json.dumps({"t": time.time(), "path": self.path, "body": payload}) + "\n")

    def _json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def do_GET(self):
        p = self.path.split("?")[0].rstrip("/")
        if p in ("/health", ""):
            return self._json(200, {"ok": True})
        if p in ("/v1/models", "/models"):
            self._log(None)
            return self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": MODEL,
                            "object": "model",
                            "created": 0,
                            "owned_by": "stub",
                            "context_length": 32000,
                        }
                    ],
                },
            )
        return self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):
        p = self.path.split("?")[0].rstrip("/")
        body = self._body()
        self._log(body)
        if p in ("/v1/embeddings", "/embeddings"):
            inp = body.get("input", "")
            items = inp if isinstance(inp, list) else [inp]
            dim = int(body.get("dimensions") or 1536)
            data = [
                {"object": "embedding", "index": i, "embedding": _embed(str(x), dim)}
                for i, x in enumerate(items)
            ]
            return self._json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model", "stub-embed"),
                    "usage": {"prompt_tokens": len(items), "total_tokens": len(items)},
                },
            )
        if p in ("/v1/chat/completions", "/chat/completions"):
            return self._chat(body)
        return self._json(404, {"error": {"message": f"no route {self.path}"}})

    def _chat(self, body):
        content, tool = decide(body)
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        model = body.get("model", MODEL)
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        finish = "tool_calls" if tool else "stop"
        msgs = body.get("messages") or [{}]
        last_user = ""
        for m in reversed(msgs):
            if m.get("role") == "user":
                last_user = _user_text(_text_of(m.get("content")))
                break
        after_tool = msgs[-1].get("role") == "tool"
        if "fail:llm" in last_user and not after_tool:
            return self._json(
                500, {"error": {"message": "stub: injected LLM failure", "type": "server_error"}}
            )
        slow = "slow" in last_user and not after_tool
        pause = _pause(last_user) if not after_tool else 0.0
        if pause:
            time.sleep(pause)
        reasoning = reasoning_for(last_user, tool, after_tool) if REASONING else None
        scripted = scripted_decide(body) if BRAIN == "script" else None
        if scripted is not None:
            content, tool, script_reasoning, slow = scripted
            finish = "tool_calls" if tool else "stop"
            reasoning = script_reasoning if REASONING else None
        if not body.get("stream"):
            if slow:
                time.sleep(SLOW_DELAY * 20)
            msg = {"role": "assistant", "content": content}
            if reasoning:
                msg["reasoning_content"] = reasoning
            if tool:
                msg["tool_calls"] = [
                    {"id": "call_" + uuid.uuid4().hex[:20], "type": "function", "function": tool}
                ]
            return self._json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                    "usage": usage,
                },
            )

        # streaming
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def chunk(delta, finish_reason=None, with_usage=False):
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if with_usage:
                obj["choices"] = []
                obj["usage"] = usage
            self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
            self.wfile.flush()

        try:
            chunk({"role": "assistant", "content": ""})
            if reasoning:
                for w in re.findall(r"\S+\s*", reasoning):
                    chunk({"reasoning_content": w})
            if tool:
                call_id = "call_" + uuid.uuid4().hex[:20]
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": tool["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                args = tool["arguments"]
                step = max(1, len(args) // 4)
                for i in range(0, len(args), step):
                    chunk(
                        {
                            "tool_calls": [
                                {"index": 0, "function": {"arguments": args[i : i + step]}}
                            ]
                        }
                    )
            else:
                words = re.findall(r"\S+\s*", content)
                if slow:
                    words = (words * 20)[:20]
                for w in words:
                    if slow:
                        time.sleep(SLOW_DELAY)
                    chunk({"content": w})
            chunk({}, finish_reason=finish)
            so = body.get("stream_options") or {}
            if so.get("include_usage"):
                chunk({}, with_usage=True)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def scripted_decide(body):
    """Answer as the devserver's scripted agent would, from what Letta sent the model.

    Returns (content, tool_call, reasoning, slow), or None to fall back to the echo brain.
    The conversation history, the memory compiled into the system message and the offered
    tools all come from the request, so the real server's own context drives the answer.
    """
    script = _load_script()
    if script is None:
        return None
    try:
        messages = body.get("messages", []) or []
        tools = {}
        for t in body.get("tools") or []:
            fn = t.get("function", {}) if isinstance(t, dict) else {}
            if fn.get("name"):
                tools[fn["name"]] = fn
        system = next(
            (_text_of(m.get("content")) for m in messages if m.get("role") == "system"), ""
        )
        last_user_i = max(
            (i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1
        )
        if last_user_i < 0:
            return None
        user_text = _user_text(_text_of(messages[last_user_i].get("content")))
        history = []
        for m in messages[:last_user_i]:
            role = m.get("role")
            text = _text_of(m.get("content"))
            if role == "user":
                history.append(("user", _user_text(text)))
            elif role == "assistant" and text:
                history.append(("assistant", text))
        required = {
            name: tuple((fn.get("parameters") or {}).get("required") or ())
            for name, fn in tools.items()
        }
        ctx = script.Context(
            history=tuple(history),
            memory=script.parse_memory(system),
            tools=tuple(tools),
            required_args=required,
            approval_tools=frozenset(),
        )
        last = messages[-1]
        if last.get("role") == "tool":
            call = _last_tool_call(messages)
            if call is None:
                return None
            raw = _text_of(last.get("content"))
            status, result = "success", raw
            try:
                obj = json.loads(raw)
                if isinstance(obj, dict) and "status" in obj:
                    status = "success" if obj.get("status") == "OK" else "error"
                    result = str(obj.get("message", raw))
            except ValueError:
                pass
            step = script.follow_up(ctx, user_text, call, result, status)
            slow = False
        else:
            attached = _images_of(messages[last_user_i].get("content"))
            step = script.plan(ctx, user_text, images=_seen(attached) if attached else ())
            slow = bool(getattr(step, "slow", False))
        if step.tool_call is not None:
            if step.tool_call.name not in tools:
                return None
            args = _fill_args(
                tools[step.tool_call.name].get("parameters"), step.tool_call.arguments
            )
            tool = {"name": step.tool_call.name, "arguments": json.dumps(args)}
            return None, tool, step.reasoning, False
        return step.text or "", None, step.reasoning, slow
    except Exception as e:
        print(
            f"stub-llm: scripted agent failed ({e!r}); echo brain for this request", file=sys.stderr
        )
        return None


def _last_tool_call(messages):
    """The tool call the latest tool result answers, as the script's ToolCall."""
    script = _load_script()
    tool_id = messages[-1].get("tool_call_id")
    for m in reversed(messages[:-1]):
        for tc in m.get("tool_calls") or []:
            if tool_id is None or tc.get("id") == tool_id:
                fn = tc.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = {}
                return script.ToolCall(fn.get("name", ""), args)
    return None


def _pause(text):
    """Seconds asked for with ``pause:N`` (0 when none; at most 120)."""
    m = re.search(r"\bpause:(\d+(?:\.\d+)?)", text or "", re.I)
    return min(120.0, float(m.group(1))) if m else 0.0


def natural_tool_call(text):
    """``remember that X`` -> memory_insert; ``search for X`` -> conversation_search."""
    m = re.match(r"\s*(?:please\s+)?remember(?:\s+that|:)?\s+(.+?)[.!]?\s*$", text, re.I | re.S)
    if m:
        fact = m.group(1).strip()
        return {"name": "memory_insert", "arguments": {"label": "human", "new_string": fact}}
    m = re.match(
        r"\s*search(?:\s+the\s+conversation)?(?:\s+for)?\s+(.+?)[.?!]?\s*$", text, re.I | re.S
    )
    if m:
        return {"name": "conversation_search", "arguments": {"query": m.group(1).strip()}}
    return None


def reasoning_for(user_text, tool, after_tool):
    """The deterministic chain of thought sent before every answer or tool call."""
    if after_tool:
        return "The tool finished; I will report the result."
    if tool:
        return f"I should call {tool['name']}."
    short = " ".join(user_text.split()[:8])
    return f"The user wrote: {short}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8399)
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    print(f"stub-llm listening on http://{a.host}:{a.port}/v1 model={MODEL}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
