"""Renderer benchmark: 1,000 typical messages and one 1 MB message.

Baseline in the same run: ``html.escape`` of each message's plain text (the least any
renderer must do). Prints time per message and the ratio, as a table.

    python benchmarks/bench_render.py
"""

from __future__ import annotations

import gc
import html
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from letta_widgets.render import message_text, render_message, render_messages

N = 1_000
REPEATS = 5

_WORDS = [
    "the",
    "agent",
    "reads",
    "memory",
    "blocks",
    "and",
    "calls",
    "tools",
    "to",
    "answer",
    "questions",
    "about",
    "the",
    "conversation",
    "while",
    "keeping",
    "context",
    "small",
    "enough",
    "for",
    "the",
    "model",
    "window",
]


def _para(rng: random.Random, n: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n)]
    for i in range(0, n, 9):
        words[i] = rng.choice([f"**{words[i]}**", f"`{words[i]}`", f"_{words[i]}_", words[i]])
    return " ".join(words).capitalize() + "."


def typical_messages(n: int = N, seed: int = 7) -> list[dict[str, Any]]:
    """A deterministic mix shaped like a real transcript (Letta message dicts)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < n:
        i += 1
        base = {"date": "2026-11-24T01:45:04Z", "run_id": f"run-{i}", "step_id": f"step-{i}"}
        out.append(
            {**base, "id": f"u{i}", "message_type": "user_message", "content": _para(rng, 25)}
        )
        out.append(
            {
                **base,
                "id": f"r{i}",
                "message_type": "reasoning_message",
                "reasoning": _para(rng, 30),
            }
        )
        if i % 2 == 0:
            args = {"label": "human", "old_string": _para(rng, 4), "new_string": _para(rng, 5)}
            call_id = f"call_{i}"
            out.append(
                {
                    **base,
                    "id": f"t{i}",
                    "message_type": "tool_call_message",
                    "tool_call": {
                        "name": "memory_replace",
                        "arguments": json.dumps(args),
                        "tool_call_id": call_id,
                    },
                }
            )
            out.append(
                {
                    **base,
                    "id": f"tr{i}",
                    "message_type": "tool_return_message",
                    "status": "success",
                    "tool_call_id": call_id,
                    "tool_return": json.dumps({"status": "OK", "message": _para(rng, 8)}),
                    "name": "memory_replace",
                }
            )
        body = f"{_para(rng, 40)}\n\n- {_para(rng, 10)}\n- {_para(rng, 10)}\n\n{_para(rng, 30)}"
        if i % 3 == 0:
            body += "\n\n```python\ndef answer(x: int) -> int:\n    return x * 2  # doubled\n```"
        if i % 5 == 0:
            body += "\n\n| key | value |\n|---|---:|\n| a | 1 |\n| b | 2 |"
        out.append({**base, "id": f"a{i}", "message_type": "assistant_message", "content": body})
    return out[:n]


def one_megabyte() -> dict[str, Any]:
    """A 1 MiB assistant message of ordinary markdown."""
    rng = random.Random(1)
    chunks, size = [], 0
    while size < 1_048_576:
        p = _para(rng, 60) + "\n\n"
        chunks.append(p)
        size += len(p)
    text = "".join(chunks)[:1_048_576]
    return {"id": "big", "message_type": "assistant_message", "content": text}


def _best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    """Run the benchmark and print the table."""
    msgs = typical_messages()
    texts = [message_text(m) for m in msgs]
    big = one_megabyte()
    big_text = message_text(big)

    render_messages(msgs[:50])  # warm caches (lexers)
    t_escape = _best(lambda: [html.escape(t) for t in texts])
    t_render = _best(lambda: [render_message(m) for m in msgs])
    t_paired = _best(lambda: render_messages(msgs))
    t_big_escape = _best(lambda: html.escape(big_text))
    t_big = _best(lambda: render_message(big))
    per = [0.0] * len(msgs)
    for i, m in enumerate(msgs):
        t0 = time.perf_counter()
        render_message(m)
        per[i] = time.perf_counter() - t0
    p95 = statistics.quantiles(per, n=20)[-1]

    rows = [
        ("1,000 typical messages, per message", t_render / N, t_escape / N),
        ("  same, render_messages (paired tools)", t_paired / N, t_escape / N),
        ("  p95 single message", p95, t_escape / N),
        ("1 MB message", t_big, t_big_escape),
    ]
    print(f"render benchmark (best of {REPEATS}; baseline: html.escape of the message text)")
    print(f"{'case':42} {'render':>11} {'html.escape':>12} {'ratio':>8}")
    for name, t, base in rows:
        print(f"{name:42} {t * 1e3:8.3f} ms {base * 1e3:9.3f} ms {t / base:7.0f}x")
    kb = sum(len(render_message(m)) for m in msgs) / N / 1024
    print(f"average card size: {kb:.1f} KB; 1 MB message target < 100 ms: "
          f"{'OK' if t_big < 0.1 else 'MISSED'} ({t_big * 1e3:.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
