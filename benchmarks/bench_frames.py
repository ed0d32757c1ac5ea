"""History loads: messages_frame and agent_history against baselines (`make bench`).

Starts its own devserver on loopback (in-memory), fills it through the devserver's bulk
insert, and prints a table of ratios:

1. One conversation of N (default 100,000) messages:
   * ``messages_frame`` (explicit paging, raw JSON through the SDK's raw-response access)
   * (a) what users write today: SDK auto-pagination, then
     ``pd.json_normalize([m.model_dump() for m in msgs])``
   * (b) the floor: the same pages ``messages_frame`` asked for, fetched as raw bytes
     through the SDK and JSON-parsed, nothing built.
   Wall time (best of ``--repeat``) and peak Python memory (tracemalloc, separate run).
   Targets: (a) / frame >= 3x, frame peak <= (a) peak, frame / (b) <= 1.5x.
2. ``agent_history`` over C conversations (default 200) of M messages (default 500),
   concurrency 8 vs 1. Target: >= 3x.

Usage: ``python benchmarks/bench_frames.py [--messages 100000] [--conversations 200]
[--per-conversation 500] [--repeat 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
from _server import devserver
from letta_client import Letta

import letta_widgets.frames as frames
from letta_widgets.frames._paging import Pager

MODEL = "openai/gpt-4o-mini"
EMBEDDING = "openai/text-embedding-3-small"


def make_agent(client: Letta, name: str) -> str:
    agent = client.agents.create(
        name=name,
        model=MODEL,
        embedding=EMBEDDING,
        memory_blocks=[
            {"label": "human", "value": "The human's name is Ada."},
            {"label": "persona", "value": "I am a benchmark agent."},
        ],
    )
    return agent.id


def count(client: Letta, conv: str) -> int:
    resp = client.conversations.messages.with_raw_response.list(conv, order="asc", limit=10_000_000)
    return len(json.loads(resp.http_response.content))


def fill(client: Letta, conv: str, target: int) -> int:
    """Bulk-insert synthetic turns until the conversation holds >= target messages."""

    def synth(turns: int) -> None:
        client.post(
            f"/v1/_devserver/conversations/{conv}/synthetic", body={"turns": turns}, cast_to=object
        )

    have = count(client, conv)
    synth(10)
    per_turn = max(1.0, (count(client, conv) - have) / 10)
    while (have := count(client, conv)) < target:
        turns = max(1, int((target - have) / per_turn))
        for start in range(0, turns, 5000):
            synth(min(5000, turns - start))
    return have


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
        result = None
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    times.append(time.perf_counter() - t0)
    return min(times), result


def server_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) the devserver process has used so far (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return top


def recorded_pages(client: Letta, conv: str) -> list[tuple[str | None, int]]:
    """The (after, limit) requests messages_frame makes for this conversation."""
    asked: list[tuple[str | None, int]] = []
    original = Pager.request

    def spy(self: Pager) -> tuple[str | None, int] | None:
        req = original(self)
        if req is not None:
            asked.append(req)
        return req

    Pager.request = spy  # type: ignore[method-assign]
    try:
        frames.messages_frame(client, conv)
    finally:
        Pager.request = original  # type: ignore[method-assign]
    return asked


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--conversations", type=int, default=200)
    ap.add_argument("--per-conversation", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency-ms", type=int, default=10, help="server latency, 2nd history run")
    ap.add_argument("--quick", action="store_true", help="10,000 messages, 40 x 200")
    ap.add_argument("--no-history", action="store_true", help="only the one-thread part")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.conversations, args.per_conversation = 10_000, 40, 200
    warnings.simplefilter("ignore")
    rows: list[tuple[str, str, str, str]] = []
    with devserver() as server:
        client = Letta(base_url=server.base_url, max_retries=0, timeout=600)
        print(f"devserver {server.base_url} (pid {server.pid})", flush=True)

        # ---------------------------------------------------------- one big thread
        agent = make_agent(client, "bench-one")
        conv = client.conversations.create(agent_id=agent).id
        t0 = time.perf_counter()
        n = fill(client, conv, args.messages)
        print(f"filled {conv}: {n:,} messages in {time.perf_counter() - t0:.1f}s", flush=True)

        pages = recorded_pages(client, conv)

        def ours() -> pd.DataFrame:
            return frames.messages_frame(client, conv)

        def today() -> pd.DataFrame:
            msgs = list(client.conversations.messages.list(conv, order="asc"))
            return pd.json_normalize([m.model_dump() for m in msgs])

        def floor() -> list[Any]:
            out = []
            raw = client.conversations.messages.with_raw_response.list
            for after, limit in pages:
                kwargs: dict[str, Any] = {"order": "asc", "limit": limit}
                if after:
                    kwargs["after"] = after
                out.append(json.loads(raw(conv, **kwargs).http_response.content))
            return out

        # Alternate the two so that load from other processes hits both alike; best of N.
        t_ours, t_floor = float("inf"), float("inf")
        for _ in range(args.repeat):
            t, df = best(ours, 0)
            t_ours = min(t_ours, t)
            del df
            t, pages_data = best(floor, 0)
            t_floor = min(t_floor, t)
            del pages_data
        df = ours()
        pages_data = floor()
        t_today, naive = best(today, max(1, min(args.repeat, 2)))
        got = df.drop_duplicates(["id", "message_type"]).shape[0]
        naive_rows = len(naive)
        floor_rows = sum(len(p) for p in pages_data)
        del df, naive, pages_data
        m_ours, m_today, m_floor = peak(ours), peak(today), peak(floor)
        print(
            f"messages_frame {t_ours:.2f}s ({got:,} messages, {len(pages)} requests), "
            f"auto-pagination+json_normalize {t_today:.2f}s ({naive_rows:,} rows), "
            f"raw floor {t_floor:.2f}s ({floor_rows:,} items)",
            flush=True,
        )
        rows += [
            ("messages_frame time", f"{t_ours:.2f} s", f"{n:,} messages, {len(pages)} pages", ""),
            (
                "(a) auto-pagination + json_normalize / messages_frame",
                f"{t_today / t_ours:.1f}x",
                f"{t_today:.2f} s, {naive_rows:,} rows ({n - naive_rows:+,} vs server)",
                ">= 3x",
            ),
            (
                "(a) peak / messages_frame peak",
                f"{m_today / m_ours:.2f}x",
                f"{m_today / 2**20:.0f} MiB vs {m_ours / 2**20:.0f} MiB",
                ">= 1x",
            ),
            (
                "messages_frame / (b) raw-bytes floor",
                f"{t_ours / t_floor:.2f}x",
                f"floor {t_floor:.2f} s, peak {m_floor / 2**20:.0f} MiB",
                "<= 1.5x",
            ),
        ]

        if not args.no_history:
            # ---------------------------------------------------------- agent_history
            agent2 = make_agent(client, "bench-many")
            t0 = time.perf_counter()
            first = client.conversations.create(agent_id=agent2).id
            per = fill(client, first, args.per_conversation)
            for _ in range(args.conversations - 1):
                fill(client, client.conversations.create(agent_id=agent2).id, args.per_conversation)
            print(
                f"filled {args.conversations} conversations of ~{per} messages in "
                f"{time.perf_counter() - t0:.1f}s",
                flush=True,
            )

            def hist(c: int) -> Callable[[], pd.DataFrame]:
                return lambda: frames.agent_history(client, agent2, concurrency=c, progress=False)

            c0, s0 = time.process_time(), server_cpu(server.pid)
            t8, h8 = best(hist(8), max(1, args.repeat - 1))
            runs8 = max(1, args.repeat - 1) + 1
            cpu8 = ((time.process_time() - c0) / runs8, (server_cpu(server.pid) - s0) / runs8)
            c0, s0 = time.process_time(), server_cpu(server.pid)
            t1, h1 = best(hist(1), 1)
            cpu1 = ((time.process_time() - c0) / 2, (server_cpu(server.pid) - s0) / 2)
            print(
                f"agent_history CPU per run (client, server): c8 {cpu8[0]:.2f}s, {cpu8[1]:.2f}s;"
                f" c1 {cpu1[0]:.2f}s, {cpu1[1]:.2f}s",
                flush=True,
            )
            assert len(h8) == len(h1)
            rows += [
                (
                    "agent_history concurrency 8 time",
                    f"{t8:.2f} s",
                    f"{args.conversations} x ~{per} messages = {len(h8):,} rows",
                    "",
                ),
                (
                    "agent_history concurrency 1 / concurrency 8",
                    f"{t1 / t8:.1f}x",
                    f"{t1:.2f} s (loopback, no latency)",
                    ">= 3x",
                ),
            ]
            # The same with a server that answers after `latency_ms` (a LAN or cloud server):
            # the devserver's per-request fault header delays each response without blocking.
            slow = client.with_options(
                default_headers={"X-Devserver-Fault": f"first_byte_delay_ms={args.latency_ms}"}
            )

            def slow_hist(c: int) -> Callable[[], pd.DataFrame]:
                return lambda: frames.agent_history(slow, agent2, concurrency=c, progress=False)

            s8, _ = best(slow_hist(8), 1)
            s1, _ = best(slow_hist(1), 1)
            rows.append(
                (
                    f"  same with {args.latency_ms} ms server latency: c1 / c8",
                    f"{s1 / s8:.1f}x",
                    f"{s1:.2f} s vs {s8:.2f} s",
                    ">= 3x",
                )
            )

    width = [
        max(len(r[i]) for r in [*rows, ("measure", "ratio", "detail", "target")]) for i in range(4)
    ]
    header = ("measure", "ratio", "detail", "target")
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    print("-+-".join("-" * w for w in width))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, width, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
