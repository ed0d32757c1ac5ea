"""The old layout: one directory and one small part per conversation and run.

::

    PATH/agent_id=agent-…/conversation_id=conv-…/part-00000.parquet
                                                 part-00001.parquet   <- a later run's rows

Kept readable (:func:`~.read.read_history`), migratable (:func:`~.compact.compact_history`)
and writable as ``export_history(..., layout="conversation")`` (the benchmark's baseline):
each run lists every conversation, reads its parts back to find where it ends, and asks
the server for what follows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
from letta_client import Letta

from letta_widgets._messages import rows_from_messages
from letta_widgets.frames._paging import new_pager
from letta_widgets.frames._requests import context_sync, fetch_sync, list_conversations_sync
from letta_widgets.history_dataset.schema import LEGACY_PARTITIONS, pa_modules, to_arrow
from letta_widgets.history_dataset.watermark import Watermark

_PART = re.compile(r"part-(\d+)\.parquet$")
GLOB = "agent_id=*/conversation_id=*/part-*.parquet"
"""The old layout's data files, relative to the root."""


def legacy_files(root: Path) -> list[Path]:
    """The old layout's data files under ``root``, sorted."""
    return sorted(root.glob(GLOB))


def _parts(conv_dir: Path) -> list[tuple[int, Path]]:
    return sorted(
        (int(m.group(1)), p) for p in conv_dir.glob("part-*.parquet") if (m := _PART.search(p.name))
    )


def stored_frame(conv_dir: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One conversation's stored rows (deduplicated on (id, message_type, seq)), by seq."""
    _pa, pq = pa_modules()
    parts = _parts(conv_dir)
    if not parts:
        return pd.DataFrame(columns=columns or ["id", "message_type", "seq"])
    frame = pd.concat(
        [pq.read_table(p, columns=columns).to_pandas() for _, p in parts], ignore_index=True
    )
    frame = frame.drop_duplicates(["id", "message_type", "seq"])
    return frame.sort_values("seq", kind="stable").reset_index(drop=True)


def mark_of(frame: pd.DataFrame) -> Watermark:
    """The high-water mark of a thread's stored rows (in seq order)."""
    return Watermark().advance(
        list(frame["id"]), [str(t) for t in frame["message_type"]], list(frame["seq"])
    )


def export_conversation_layout(
    client: Letta,
    root: Path,
    agents: list[str],
    *,
    incremental: bool,
    include_raw: bool,
) -> list[dict[str, Any]]:
    """The old writer: one part per conversation and run. Returns the report rows."""
    _pa, pq = pa_modules()
    report: list[dict[str, Any]] = []
    for agent_id in agents:
        convs = list_conversations_sync(client, agent_id, archived="all", search=None)
        for conv in convs:
            cid = conv["id"]
            cdir = root / f"agent_id={agent_id}" / f"conversation_id={cid}"
            if not incremental and cdir.exists():
                for old in cdir.glob("part-*.parquet"):
                    old.unlink()
            parts = _parts(cdir) if cdir.exists() else []
            mark = mark_of(stored_frame(cdir, ["id", "message_type", "seq"])) if parts else None
            mark = mark or Watermark()
            part_no = parts[-1][0] + 1 if parts else 0
            agent, in_context = context_sync(client, cid, agent_id)
            pager = new_pager(client, None, start_after=mark.cursor, seen=mark.tail)
            msgs = fetch_sync(client, cid, agent, pager)
            row = {"agent_id": agent_id, "conversation_id": cid, "new_rows": 0, "file": None}
            report.append(row)
            if not msgs:
                continue
            frame = rows_from_messages(
                msgs,
                conversation_id=cid,
                agent_id=agent,
                in_context_ids=in_context,
                include_raw=include_raw,
                seq_start=mark.next_seq,
            )
            cdir.mkdir(parents=True, exist_ok=True)
            target = cdir / f"part-{part_no:05d}.parquet"
            tmp = target.with_suffix(".parquet.tmp")
            pq.write_table(to_arrow(frame, LEGACY_PARTITIONS), tmp)
            os.replace(tmp, target)
            row.update(new_rows=len(frame), file=str(target))
    return report
