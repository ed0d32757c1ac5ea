"""History loads: messages_frame and agent_history against baselines (`make bench`).

Starts its own devserver on loopback (in-memory), fills it through the devserver's bulk
insert, and prints a table of ratios:

1. One conversation of N (default 100,000) messages:
   * ``messages_frame`` (explicit paging, raw JSON through the SDK's raw-response access)
   * (a) what users write today: SDK auto-pagination, then
     ``pd.json_normalize([m.model_dump() for m in msgs])``
   * (b) the floor: the same pages ``messages_frame`` asked for, fetched as raw bytes
     through the SDK and parsed with ``json`` (the parser the code uses), nothing built.
   Wall time (best of ``--repeat``), client CPU, and peak memory (separate run, see
   :func:`peak`). Targets: (a) / frame >= 3x, frame / (b) <= 1.2x, peak <= 2x the
   frame's ``memory_usage(deep=True)``.
2. ``agent_history`` over C conversations (default 200) of M messages (default 500):
   time and client CPU per row against ``messages_frame``'s (target <= 1.2x each), peak
   memory, concurrency 8 vs 1 on loopback and with 10 ms server latency (>= 3x); and
   its client CPU against its requests' floor: the same requests made raw one after
   another and JSON-parsed, nothing built.
3. ``conversations_frame(counts=True)`` over K conversations (default 2,000): requests
   made and time.

Usage: ``python benchmarks/bench_frames.py [--messages 100000] [--conversations 200]
[--per-conversation 500] [--counts 2000] [--repeat 3] [--quick]``. Runs against the
code on ``PYTHONPATH`` (also the code before issue 17, for before/after figures).
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
from letta_widgets.frames._drivers import Call
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
    """Peak bytes allocated while ``fn`` runs: Python objects and Arrow buffers together.

    tracemalloc sees every Python allocation but not Arrow's memory pool (the frame's
    string columns live there), so a thread samples both every millisecond and keeps the
    largest sum (Python objects traced now + Arrow bytes above the level at the start);
    tracemalloc's own peak (Python objects alone) is a floor under it.
    """
    import threading

    import pyarrow as pa

    gc.collect()
    base = pa.total_allocated_bytes()
    top = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            now = tracemalloc.get_traced_memory()[0] + pa.total_allocated_bytes() - base
            top[0] = max(top[0], now)
            stop.wait(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    tracemalloc.start()
    sampler.start()
    try:
        result = fn()
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        stop.set()
        sampler.join()
        tracemalloc.stop()
    del result
    return max(top[0], traced_peak)


def frame_bytes(df: pd.DataFrame) -> int:
    """The final frame's ``memory_usage(deep=True)``, all columns and the index."""
    return int(df.memory_usage(deep=True).sum())


def cpu_run(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, client CPU seconds, result) of one run."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, time.process_time() - c0, result


def alternate(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float]]:
    """Best wall time and best client CPU of each function, run in turn ``repeat`` times
    (so that load from other processes hits all of them alike)."""
    inf = float("inf")
    best = dict.fromkeys(fns, (inf, inf))
    for _ in range(repeat):
        for name, fn in fns.items():
            t, c, result = cpu_run(fn)
            del result
            best[name] = (min(best[name][0], t), min(best[name][1], c))
    return best


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
    ap.add_argument("--counts", type=int, default=2000, help="conversations, counts=True")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency-ms", type=int, default=10, help="server latency, 2nd history run")
    ap.add_argument("--quick", action="store_true", help="10,000 messages, 40 x 200")
    ap.add_argument("--no-history", action="store_true", help="only the one-thread part")
    ap.add_argument("--no-counts", action="store_true", help="skip conversations_frame")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.conversations, args.per_conversation = 10_000, 40, 200
        args.counts = 200
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

        timed = alternate({"ours": ours, "floor": floor}, args.repeat)
        (t_ours, cpu_ours), (t_floor, _) = timed["ours"], timed["floor"]
        df = ours()
        pages_data = floor()
        t_today, naive = best(today, max(1, min(args.repeat, 2)))
        got = df.drop_duplicates(["id", "message_type"]).shape[0]
        mf_rows, mf_bytes = len(df), frame_bytes(df)
        naive_rows = len(naive)
        floor_rows = sum(len(p) for p in pages_data)
        del df, naive, pages_data
        m_ours, m_today = peak(ours), peak(today)
        print(
            f"messages_frame {t_ours:.2f}s, CPU {cpu_ours:.2f}s ({got:,} messages, "
            f"{len(pages)} requests), auto-pagination+json_normalize {t_today:.2f}s "
            f"({naive_rows:,} rows), raw floor {t_floor:.2f}s ({floor_rows:,} items)",
            flush=True,
        )
        rows += [
            (
                "messages_frame time",
                f"{t_ours:.2f} s",
                f"{n:,} messages, {len(pages)} pages, client CPU {cpu_ours:.2f} s",
                "",
            ),
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
                "messages_frame / (b) raw floor (json)",
                f"{t_ours / t_floor:.2f}x",
                f"floor {t_floor:.2f} s",
                "<= 1.2x",
            ),
            (
                "messages_frame peak / frame memory_usage(deep)",
                f"{m_ours / mf_bytes:.2f}x",
                f"{m_ours / 2**20:.0f} MiB vs {mf_bytes / 2**20:.0f} MiB",
                "<= 2x",
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

            def hist_floor() -> list[Any]:
                """agent_history's requests, raw and json-parsed one after another, nothing
                built: the agent, the conversation list's pages, then per conversation its
                retrieve and its one page."""
                convs = client.conversations.with_raw_response
                json.loads(client.agents.with_raw_response.retrieve(agent2).http_response.content)
                ids: list[str] = []
                after: dict[str, Any] = {}
                while True:
                    page = json.loads(
                        convs.list(
                            agent_id=agent2, limit=1000, order="asc", archive_status="all", **after
                        ).http_response.content
                    )
                    if not page:
                        break
                    ids += [c["id"] for c in page]
                    after = {"after": page[-1]["id"]}
                out = []
                for cid in ids:
                    json.loads(convs.retrieve(cid).http_response.content)
                    resp = client.conversations.messages.with_raw_response.list(
                        cid, order="asc", limit=5000
                    )
                    out.append(json.loads(resp.http_response.content))
                return out

            # Alternated with messages_frame and the floor: the same machine load for all.
            s0 = server_cpu(server.pid)
            timed = alternate({"hist": hist(8), "ours": ours, "floor": hist_floor}, args.repeat)
            (t8, cpu8), (t_mf2, cpu_mf2), (_, cpu_hf) = timed.values()
            server8 = (server_cpu(server.pid) - s0) / args.repeat
            t1, cpu1, h1 = cpu_run(hist(1))
            h8 = hist(8)()
            ah_rows, ah_bytes = len(h8), frame_bytes(h8)
            assert len(h8) == len(h1)
            del h1, h8
            m_hist = peak(hist(8))
            per_row_t = (t8 / ah_rows) / (t_mf2 / mf_rows)
            per_row_cpu = (cpu8 / ah_rows) / (cpu_mf2 / mf_rows)
            print(
                f"agent_history c8 {t8:.2f}s CPU {cpu8:.2f}s (server ~{server8:.2f}s with the "
                f"interleaved messages_frame runs); c1 {t1:.2f}s CPU {cpu1:.2f}s; "
                f"messages_frame meanwhile {t_mf2:.2f}s CPU {cpu_mf2:.2f}s",
                flush=True,
            )
            rows += [
                (
                    "agent_history concurrency 8 time",
                    f"{t8:.2f} s",
                    f"{args.conversations} x ~{per} messages = {ah_rows:,} rows, "
                    f"client CPU {cpu8:.2f} s",
                    "",
                ),
                (
                    "agent_history / messages_frame time, per row",
                    f"{per_row_t:.2f}x",
                    f"{t8:.2f} s / {ah_rows:,} rows vs {t_mf2:.2f} s / {mf_rows:,} rows",
                    "<= 1.2x",
                ),
                (
                    "agent_history / messages_frame client CPU, per row",
                    f"{per_row_cpu:.2f}x",
                    f"{cpu8:.2f} s vs {cpu_mf2:.2f} s",
                    "<= 1.2x",
                ),
                (
                    "agent_history / its requests' raw floor, client CPU",
                    f"{cpu8 / cpu_hf:.2f}x",
                    f"floor: the same {2 * args.conversations + 3} requests, json only, "
                    f"{cpu_hf:.2f} s",
                    "",
                ),
                (
                    "agent_history peak / frame memory_usage(deep)",
                    f"{m_hist / ah_bytes:.2f}x",
                    f"{m_hist / 2**20:.0f} MiB vs {ah_bytes / 2**20:.0f} MiB",
                    "<= 2x",
                ),
                (
                    "agent_history concurrency 1 / concurrency 8",
                    f"{t1 / t8:.1f}x",
                    f"{t1:.2f} s (loopback, no latency)",
                    "",
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

        if not args.no_counts:
            # ------------------------------------------- conversations_frame(counts=True)
            agent3 = make_agent(client, "bench-counts")
            t0 = time.perf_counter()
            for i in range(args.counts):
                cid = client.conversations.create(agent_id=agent3).id
                client.post(
                    f"/v1/_devserver/conversations/{cid}/synthetic",
                    body={"turns": 1 + i % 5},
                    cast_to=object,
                )
            print(f"made {args.counts} conversations in {time.perf_counter() - t0:.1f}s")
            calls = [0]
            original_on = Call.on

            def counting(self: Call, on: Any) -> Any:
                calls[0] += 1
                return original_on(self, on)

            Call.on = counting  # type: ignore[method-assign]
            try:
                t_counts, frame = best(
                    lambda: frames.conversations_frame(client, agent3, counts=True), 1
                )
            finally:
                Call.on = original_on  # type: ignore[method-assign]
            assert len(frame) == args.counts
            rows.append(
                (
                    f"conversations_frame(counts=True), {args.counts:,} conversations",
                    f"{t_counts:.2f} s",
                    f"{calls[0] // 2:,} requests per call, concurrency 8",
                    "",
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
