"""CompareView concurrency: 4 variants with 1 s server latency each vs one variant alone.

Starts its own devserver on loopback (in-memory) with ``--step-delay-ms 1000`` (each
agent step takes 1 s on the server), forks one seeded conversation, and times rounds:

* ``CompareView`` with one variant (``send``), best and median of ``--repeat`` rounds;
* ``CompareView`` with four variants, same prompt, same conversation history (forks);
* for scale, the sum of the four variants' own turn times (what sending them one after
  another would take) and a bare ``TurnEngine.run`` (no widget).

Target: 4 variants / 1 variant <= 1.2x (the rounds stream concurrently on the worker
loop, so a round lasts as long as its slowest variant, not the sum).

Usage: ``python benchmarks/bench_compare.py [--variants 4] [--repeat 5] [--step-ms 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from _server import devserver
from letta_client import AsyncLetta, Letta

from letta_widgets.stream import TurnEngine
from letta_widgets.widgets.compare import CompareView

MODEL = "openai/gpt-4o-mini"
EMBEDDING = "openai/text-embedding-3-small"
PROMPT = "What's my name?"


def timed_rounds(cmp: CompareView, repeat: int) -> tuple[list[float], list[float]]:
    """Wall time per round, and per round the sum of the variants' own turn times."""
    walls, sums = [], []
    cmp.send(PROMPT)  # warm-up: connections, imports
    for _ in range(repeat):
        t0 = time.perf_counter()
        rnd = cmp.send(PROMPT)
        walls.append(time.perf_counter() - t0)
        assert all(e is None for e in rnd.errors.values()), rnd.errors
        sums.append(sum(t.total_s for t in rnd.turns.values() if t is not None and t.total_s))
    return walls, sums


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--step-ms", type=int, default=1000)
    args = ap.parse_args()

    with devserver("--step-delay-ms", str(args.step_ms)) as server:
        client = Letta(base_url=server.base_url, max_retries=0)
        agent = client.agents.create(
            name="bench-compare",
            model=MODEL,
            embedding=EMBEDDING,
            memory_blocks=[
                {"label": "human", "value": "The human's name is Ada."},
                {"label": "persona", "value": "I am a benchmark agent."},
            ],
        )
        conv = client.conversations.create(agent_id=agent.id).id
        client.conversations.messages.create(conv, messages=[{"role": "user", "content": "hi"}])

        one = CompareView.fork(client, conv, n=1)
        many = CompareView.fork(client, conv, n=args.variants)
        w1, _ = timed_rounds(one, args.repeat)
        wn, sums = timed_rounds(many, args.repeat)

        async def bare_turns() -> list[float]:
            aclient = AsyncLetta(base_url=server.base_url, max_retries=0)
            engine = TurnEngine(aclient, one.conversation_ids["A"], agent_id=agent.id)
            await engine.run(PROMPT)  # warm-up
            out = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                await engine.run(PROMPT)
                out.append(time.perf_counter() - t0)
            return out

        bare = asyncio.run(bare_turns())

    m1, mn = statistics.median(w1), statistics.median(wn)
    ratio = mn / m1
    ok = ratio <= 1.2
    n = args.variants
    rows = [
        ("bare TurnEngine.run, 1 turn", f"{statistics.median(bare):.3f} s", "median", ""),
        ("CompareView, 1 variant", f"{m1:.3f} s", f"best {min(w1):.3f} s", ""),
        (f"CompareView, {n} variants", f"{mn:.3f} s", f"best {min(wn):.3f} s", ""),
        (
            f"{n} variants / 1 variant",
            f"{ratio:.2f}x",
            "median wall time per round",
            f"<= 1.2x {'PASS' if ok else 'FAIL'}",
        ),
        (
            f"sum of the {n} turn times / round wall",
            f"{statistics.median(sums) / mn:.2f}x",
            "what sending one after another would cost",
            f"~{n}x",
        ),
    ]
    header = ("measure", "value", "detail", "target")
    width = [max(len(r[i]) for r in [*rows, header]) for i in range(4)]
    print(
        f"\nCompareView: {args.step_ms} ms server latency per agent step, "
        f"{args.repeat} rounds each (median)"
    )
    print(" | ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    print("-+-".join("-" * w for w in width))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, width, strict=True)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
