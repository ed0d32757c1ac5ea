"""ChatCell streaming overhead vs the bare SDK loop (issue 5's benchmark).

The devserver streams a reply of ~20,000 token deltas as fast as it can. We time
(wall and this process's CPU) the bare SDK loop ``for chunk in stream: pass`` and
``ChatCell.send`` on the same reply, and count what ChatCell sends to the
front-end: messages per second of stream, and bytes relative to the reply text.
Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_chat.py``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from _server import devserver
from letta_client import Letta

from letta_widgets.widgets.chat import ChatCell

TOKENS = 20_000
ROUNDS = 3


class MeteredChat(ChatCell):
    """Counts every comm message (custom messages and state updates) and its bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent_messages = 0
        self.sent_custom = 0
        self.sent_bytes = 0
        super().__init__(*args, **kwargs)

    def _send(self, msg: dict, buffers: Any = None) -> None:
        self.sent_messages += 1
        if msg.get("method") == "custom":
            self.sent_custom += 1
        self.sent_bytes += len(json.dumps(msg, separators=(",", ":")))
        super()._send(msg, buffers)


def new_conversation(client: Letta, agent_id: str) -> str:
    return client.conversations.create(agent_id=agent_id).id


def bare_sdk(client: Letta, agent_id: str, prompt: str) -> dict[str, float]:
    conv = new_conversation(client, agent_id)
    w0, c0 = time.perf_counter(), time.process_time()
    n = 0
    stream = client.conversations.messages.create(
        conv,
        messages=[{"role": "user", "content": prompt}],
        streaming=True,
        stream_tokens=True,
        background=True,
    )
    for _chunk in stream:
        n += 1
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0, "chunks": n}


def chat_cell(client: Letta, agent_id: str, prompt: str) -> dict[str, float]:
    conv = new_conversation(client, agent_id)
    chat = MeteredChat(client, conversation_id=conv, history=0)
    chat.sent_messages = chat.sent_custom = chat.sent_bytes = 0
    w0, c0 = time.perf_counter(), time.process_time()
    turn = chat.send(prompt)
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0
    text_bytes = len((prompt + turn.assistant_text + turn.reasoning).encode())
    return {
        "wall": wall,
        "cpu": cpu,
        "custom_per_s": chat.sent_custom / wall,
        "bytes_ratio": chat.sent_bytes / max(1, text_bytes),
        "messages": chat.sent_messages,
        "text_bytes": text_bytes,
    }


def main() -> int:
    prompt = " ".join(f"word{i % 97}" for i in range(TOKENS))
    with devserver("--token-delay-ms", "0", "--step-delay-ms", "0") as srv:
        client = Letta(base_url=srv.base_url, max_retries=0)
        agent = client.agents.create(
            name="bench-chat",
            model="openai/gpt-4o-mini",
            embedding="openai/text-embedding-3-small",
            memory_blocks=[{"label": "human", "value": "Benchmarks."}],
        )
        chat_cell(client, agent.id, "warm up")  # imports, worker loop, connections
        bare_sdk(client, agent.id, "warm up")
        base, ours = [], []
        for _ in range(ROUNDS):
            base.append(bare_sdk(client, agent.id, prompt))
            ours.append(chat_cell(client, agent.id, prompt))
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    rows = [
        ("stream chunks (bare SDK)", f"{med(base, 'chunks'):.0f}", f">= {TOKENS}", None),
        (
            "wall: ChatCell / bare SDK",
            f"{med(ours, 'wall') / med(base, 'wall'):.2f}x",
            "<= 1.3x",
            med(ours, "wall") / med(base, "wall") <= 1.3,
        ),
        (
            "CPU: ChatCell / bare SDK",
            f"{med(ours, 'cpu') / med(base, 'cpu'):.2f}x",
            "<= 1.3x",
            med(ours, "cpu") / med(base, "cpu") <= 1.3,
        ),
        (
            "front-end messages per s",
            f"{med(ours, 'custom_per_s'):.1f}",
            "<= 30",
            med(ours, "custom_per_s") <= 30,
        ),
        (
            "bytes to front-end / text",
            f"{med(ours, 'bytes_ratio'):.2f}x",
            "<= 3x",
            med(ours, "bytes_ratio") <= 3,
        ),
        ("bare SDK wall (s)", f"{med(base, 'wall'):.2f}", "", None),
        ("ChatCell wall (s)", f"{med(ours, 'wall'):.2f}", "", None),
    ]
    print(f"ChatCell streaming benchmark: {TOKENS} token deltas, median of {ROUNDS} rounds")
    print(f"{'metric':32} {'value':>10} {'target':>10}  ok")
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(f"{name:32} {value:>10} {target:>10}  {mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
