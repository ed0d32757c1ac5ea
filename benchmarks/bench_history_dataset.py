"""The history dataset at organization scale: the new layout against the old (`make bench`).

Seeds a devserver (in memory, ``LETTA_PROFILE``) with C conversations (default 2,000) of
about M messages (default 100) through the bulk insert, then for each layout
(``agent_month``, the default, and ``conversation``, the old one):

1. a full export into an empty directory;
2. new messages on 1% of the conversations (about 1% of all messages: each of those
   conversations doubles), then an incremental export;
3. a DuckDB aggregate (messages per conversation and type) over the dataset.

and, for the new layout, ``compact_history``. Printed: files, bytes, wall times, the
incremental speed-up, and ratios new/old. Targets: incremental >= 10x faster than the full
export (new layout), after compaction at most one file per partition below the target.

The seed is quiescent (no turn runs during the exports), so the incremental run passes
``settle=0``: it trusts unchanged ``updated_at`` stamps at once (the default, 300 s,
re-reads conversations stamped within 5 minutes of the previous run); the bench waits 3 s
after seeding because the server's clock (its ``Date`` header) has 1 s resolution.

Usage: ``python benchmarks/bench_history_dataset.py [--conversations 2000]
[--per-conversation 100]``; ``BENCH_HISTORY_CONVERSATIONS`` sets the size too (quick runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from _server import PROFILE, devserver
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.history_dataset.manifest import read_manifest

MODEL = "openai/gpt-4o-mini"
EMBEDDING = "openai/text-embedding-3-small"


def synth(client: Letta, conv: str, turns: int) -> None:
    client.post(
        f"/v1/_devserver/conversations/{conv}/synthetic", body={"turns": turns}, cast_to=object
    )


def seed(client: Letta, conversations: int, per_conversation: int) -> tuple[list[str], list[str]]:
    agents = [
        client.agents.create(name=f"bench-{i}", model=MODEL, embedding=EMBEDDING).id
        for i in range(4)
    ]
    probe = client.conversations.create(agent_id=agents[0]).id
    synth(client, probe, 10)
    per_turn = len(lw.messages_frame(client, probe)) / 10
    turns = max(1, round(per_conversation / per_turn))
    convs = [probe]
    for i in range(1, conversations):
        cid = client.conversations.create(agent_id=agents[i % len(agents)]).id
        synth(client, cid, turns)
        convs.append(cid)
    return agents, convs


def disk(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*.parquet") if not p.name.startswith("_")]
    return len(files), sum(p.stat().st_size for p in files)


def duck(path: Path, layout: str) -> float:
    glob = f"{path}/agent_id=*/*/*.parquet"
    t = time.perf_counter()
    duckdb.sql(
        f"SELECT conversation_id, message_type, count(*) FROM read_parquet('{glob}', "
        "hive_partitioning = true, union_by_name = true) GROUP BY ALL"
    ).fetchall()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("BENCH_HISTORY_CONVERSATIONS", "2000"))
    parser.add_argument("--conversations", type=int, default=default)
    parser.add_argument("--per-conversation", type=int, default=100)
    args = parser.parse_args()
    with devserver() as server:
        client = Letta(base_url=server.base_url, max_retries=0)
        t = time.perf_counter()
        agents, convs = seed(client, args.conversations, args.per_conversation)
        print(
            f"seeded {len(convs)} conversations in {time.perf_counter() - t:.1f}s "
            f"(profile {PROFILE})"
        )
        time.sleep(3.1)  # the Date header has 1 s resolution (and may lag a second)
        tmp = Path(tempfile.mkdtemp(prefix="bench-history-"))
        results: dict[str, dict[str, float]] = {}
        grow = convs[:: max(1, len(convs) // max(1, len(convs) // 100))][
            : max(1, len(convs) // 100)
        ]
        try:
            for layout in ("agent_month", "conversation"):
                root = tmp / layout
                r: dict[str, float] = {}
                t = time.perf_counter()
                full = lw.export_history(client, root, agent_ids=agents, layout=layout)
                r["full_s"] = time.perf_counter() - t
                r["rows"] = float(full["new_rows"].sum())
                r["full_files"], r["full_bytes"] = disk(root)
                results[layout] = r
            # 1% of the conversations get as many messages again (~1% of all messages)
            per_turn_msgs = results["agent_month"]["rows"] / len(convs)
            for cid in grow:
                synth(client, cid, max(1, round(per_turn_msgs / 4)))
            for layout in ("agent_month", "conversation"):
                root = tmp / layout
                r = results[layout]
                t = time.perf_counter()
                inc = lw.export_history(client, root, agent_ids=agents, layout=layout, settle=0)
                r["inc_s"] = time.perf_counter() - t
                r["inc_rows"] = float(inc["new_rows"].sum())
                r["inc_fetched"] = float(inc["fetched"].sum())
                files, size = disk(root)
                r["inc_files"], r["inc_bytes"] = files - r["full_files"], size - r["full_bytes"]
                r["duck_s"] = min(duck(root, layout) for _ in range(3))
            root = tmp / "agent_month"
            t = time.perf_counter()
            lw.compact_history(root)
            compact_s = time.perf_counter() - t
            manifest = read_manifest(root)
            assert manifest is not None
            parts = manifest.partition_files()
            worst = max(sum(f.bytes < 64 * 2**20 for f in fs) for fs in parts.values())
            files_after, _ = disk(root)
            duck_after = min(duck(root, "agent_month") for _ in range(3))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    new, old = results["agent_month"], results["conversation"]
    rows = [
        ("full export: wall s", "full_s", "{:.2f}"),
        ("full export: files", "full_files", "{:.0f}"),
        ("full export: MB", "full_bytes", "{:.2f}"),
        ("incremental: wall s", "inc_s", "{:.3f}"),
        ("incremental: conversations fetched", "inc_fetched", "{:.0f}"),
        ("incremental: rows written", "inc_rows", "{:.0f}"),
        ("incremental: new files", "inc_files", "{:.0f}"),
        ("incremental: new MB", "inc_bytes", "{:.3f}"),
        ("DuckDB aggregate: s", "duck_s", "{:.3f}"),
    ]
    print(
        f"\n{len(convs)} conversations, {new['rows']:.0f} rows; {len(grow)} grow by "
        f"{new['inc_rows']:.0f} rows ({100 * new['inc_rows'] / new['rows']:.1f}%)\n"
    )
    print(f"{'':38} {'new (agent/month)':>18} {'old (conversation)':>19} {'new/old':>8}")
    for label, key, fmt in rows:
        a, b = new[key], old[key]
        if "bytes" in key:
            a, b = a / 2**20, b / 2**20
        ratio = f"{a / b:.3f}" if b else "-"
        print(f"{label:38} {fmt.format(a):>18} {fmt.format(b):>19} {ratio:>8}")
    speed_new, speed_old = new["full_s"] / new["inc_s"], old["full_s"] / old["inc_s"]
    print(f"{'incremental speed-up (full / inc)':38} {speed_new:>17.1f}x {speed_old:>18.1f}x")
    print(
        f"\ncompact_history: {compact_s:.2f}s, {files_after} files over {len(parts)} "
        f"partitions, DuckDB {duck_after:.3f}s; worst partition: {worst} file(s) below 64 MiB"
    )
    ok = speed_new >= 10 and worst <= 1
    print(
        f"targets: incremental >= 10x ({speed_new:.1f}x), <= 1 small file per partition "
        f"after compaction ({worst}): {'met' if ok else 'MISSED'}"
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
