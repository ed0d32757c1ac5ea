"""Message history -> a Parquet dataset that grows incrementally.

Layout (Hive partitioning, readable by pandas/pyarrow, DuckDB, Polars and Spark)::

    PATH/agent_id=agent-…/conversation_id=conv-…/part-00000.parquet
                                                 part-00001.parquet   <- a later run's new rows

Each file holds the history schema (``letta_widgets._messages.SCHEMA``) without the two
partition columns, which the directory names carry. ``tool_args`` (and ``raw``) are
stored as JSON strings; :func:`read_history` turns them back into dicts and restores the
dtypes. A second :func:`export_history` run asks the server only for messages after the
newest one stored per conversation and writes them as one more part file, so a history
larger than memory can be kept and queried in place, e.g. with DuckDB::

    SELECT conversation_id, count(*) FROM read_parquet('PATH/**/*.parquet',
                                                       hive_partitioning = true) GROUP BY 1
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from letta_client import AsyncLetta, Letta

from letta_widgets import errors
from letta_widgets._messages import SCHEMA, conform, rows_from_messages
from letta_widgets.client import base_url_of, sync_twin
from letta_widgets.frames._paging import new_pager
from letta_widgets.frames._requests import context_sync, fetch_sync, list_conversations_sync

__all__ = ["export_history", "read_history"]

_PART = re.compile(r"part-(\d+)\.parquet$")
_PARTITIONS = ("agent_id", "conversation_id")


def _pa() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Parquet export needs pyarrow: pip install 'letta-widgets[parquet]'"
        ) from exc
    return pa, pq


def _list_agents(client: Letta) -> list[str]:
    with errors.sdk_errors(base_url=base_url_of(client), what="the agents"):
        ids: list[str] = []
        for agent in client.agents.list():  # SDK pagination: agent ids are unique
            ids.append(agent.id)
    return ids


def _conv_dir(root: Path, agent_id: str, conversation_id: str) -> Path:
    return root / f"agent_id={agent_id}" / f"conversation_id={conversation_id}"


def _tail(conv_dir: Path) -> tuple[int, str | None, list[tuple[str, str, int]], int]:
    """Where a stored thread ends: (next seq, cursor, keys of its newest id group, next part).

    The next fetch starts after the id group *before* the newest one, because the newest
    stored message may have grown since (more Letta messages under the same id); the
    newest group's rows already stored are skipped by their keys.
    """
    _pa_mod, pq = _pa()
    parts = sorted(
        (int(m.group(1)), p) for p in conv_dir.glob("part-*.parquet") if (m := _PART.search(p.name))
    )
    if not parts:
        return 0, None, [], 0
    frame = pd.concat(
        [pq.read_table(p, columns=["id", "message_type", "seq"]).to_pandas() for _, p in parts],
        ignore_index=True,
    )
    next_part = parts[-1][0] + 1
    if frame.empty:
        return 0, None, [], next_part
    frame = frame.drop_duplicates(["id", "message_type", "seq"]).sort_values("seq", kind="stable")
    last_id = frame["id"].iloc[-1]
    group = frame[frame["id"] == last_id]
    before = frame[frame["seq"] < group["seq"].min()]
    cursor = before["id"].iloc[-1] if len(before) else None
    keys: list[tuple[str, str, int]] = []
    counts: dict[tuple[str, str], int] = {}
    for mid, mtype in zip(group["id"], group["message_type"].astype(str), strict=False):
        n = counts.get((mid, mtype), 0)
        counts[(mid, mtype)] = n + 1
        keys.append((mid, mtype, n))
    return int(frame["seq"].max()) + 1, cursor, keys, next_part


def _arrow_schema(include_raw: bool) -> Any:
    """The files' Arrow schema: fixed, so every part of every run unifies (no null types)."""
    pa, _pq = _pa()
    fields = []
    for col, _dtype in SCHEMA.items():
        if col in _PARTITIONS:
            continue
        if col == "seq":
            typ = pa.int64()
        elif col == "date":
            typ = pa.timestamp("us", tz="UTC")
        elif col in ("is_err", "in_context"):
            typ = pa.bool_()
        else:  # strings, categories, and JSON text for tool_args
            typ = pa.string()
        fields.append(pa.field(col, typ, nullable=col != "in_context"))
    if include_raw:
        fields.append(pa.field("raw", pa.string()))
    return pa.schema(fields)


def _to_arrow(frame: pd.DataFrame) -> Any:
    pa, _pq = _pa()
    out = frame.drop(columns=list(_PARTITIONS))
    out["tool_args"] = [None if v is None else json.dumps(v, default=str) for v in out["tool_args"]]
    if "raw" in out.columns:
        out["raw"] = [None if v is None else json.dumps(v, default=str) for v in out["raw"]]
    out["message_type"] = out["message_type"].astype("string")
    out["role"] = out["role"].astype("string")
    schema = _arrow_schema("raw" in out.columns)
    arrays = []
    for field in schema:
        values = out[field.name]
        if pa.types.is_string(field.type) or field.name == "is_err":
            values = values.astype("object").where(values.notna(), None)
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def export_history(
    client: Letta | AsyncLetta,
    path: str | os.PathLike[str],
    *,
    agent_ids: Sequence[str] | None = None,
    incremental: bool = True,
    include_raw: bool = False,
) -> pd.DataFrame:
    """Write all conversations' messages to a Parquet dataset partitioned by agent and conversation.

    Parameters
    ----------
    client
        A ``letta_client.Letta`` or ``AsyncLetta``.
    path
        Dataset root (created if missing).
    agent_ids
        Only these agents (default: every agent on the server).
    incremental
        Keep what ``path`` holds and fetch only messages newer than the newest stored per
        conversation (written as one more part file). ``False`` rewrites each exported
        conversation from scratch.
    include_raw
        Also store each message's JSON (``raw``).

    Returns
    -------
    pandas.DataFrame
        One row per conversation visited: ``agent_id``, ``conversation_id``, ``new_rows``
        (rows written by this run), ``file`` (the part written, or ``<NA>``).

    Notes
    -----
    ``in_context`` is stored as it was when each row was written; evictions after that
    are not rewritten. Conversations are processed one at a time, so memory stays bounded
    by the largest single conversation (the new part of it, on incremental runs).
    """
    _pa_mod, pq = _pa()
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    client = sync_twin(client)
    agents = list(agent_ids) if agent_ids is not None else _list_agents(client)
    report: list[dict[str, Any]] = []
    for agent_id in agents:
        convs = list_conversations_sync(client, agent_id, archived="all", search=None)
        for conv in convs:
            cid = conv["id"]
            cdir = _conv_dir(root, agent_id, cid)
            if not incremental and cdir.exists():
                for old in cdir.glob("part-*.parquet"):
                    old.unlink()
            seq0, cursor, keys, part_no = _tail(cdir) if cdir.exists() else (0, None, [], 0)
            agent, in_context = context_sync(client, cid, agent_id)
            pager = new_pager(client, None, start_after=cursor, seen=keys)
            msgs = fetch_sync(client, cid, agent, pager)
            if not msgs:
                report.append(
                    {"agent_id": agent_id, "conversation_id": cid, "new_rows": 0, "file": None}
                )
                continue
            frame = rows_from_messages(
                msgs,
                conversation_id=cid,
                agent_id=agent,
                in_context_ids=in_context,
                include_raw=include_raw,
                seq_start=seq0,
            )
            cdir.mkdir(parents=True, exist_ok=True)
            target = cdir / f"part-{part_no:05d}.parquet"
            tmp = target.with_suffix(".parquet.tmp")
            pq.write_table(_to_arrow(frame), tmp)
            os.replace(tmp, target)
            report.append(
                {
                    "agent_id": agent_id,
                    "conversation_id": cid,
                    "new_rows": len(frame),
                    "file": str(target),
                }
            )
    out = pd.DataFrame(report, columns=["agent_id", "conversation_id", "new_rows", "file"])
    return out.astype(
        {"agent_id": "string", "conversation_id": "string", "new_rows": "int64", "file": "string"}
    )


def read_history(path: str | os.PathLike[str], *, filters: Any = None) -> pd.DataFrame:
    """Read a dataset written by :func:`export_history` back into the history schema.

    ``filters`` goes to :func:`pyarrow.parquet.read_table` (e.g.
    ``[("agent_id", "=", "agent-…")]``). Rows come sorted by conversation and ``seq``.
    """
    pa, pq = _pa()
    root = Path(path)
    if not any(root.glob("agent_id=*/conversation_id=*/part-*.parquet")):
        return conform(pd.DataFrame(columns=list(SCHEMA)))
    import pyarrow.dataset as ds

    files = sorted(str(p) for p in root.glob("agent_id=*/conversation_id=*/part-*.parquet"))
    raw = any("raw" in pq.read_schema(f).names for f in files)
    schema = _arrow_schema(raw)
    for col in _PARTITIONS:
        schema = schema.append(pa.field(col, pa.string()))
    dataset = ds.dataset(
        files,
        schema=schema,
        format="parquet",
        partitioning=ds.partitioning(
            pa.schema([pa.field(c, pa.string()) for c in _PARTITIONS]), flavor="hive"
        ),
        partition_base_dir=str(root),
    )
    table = dataset.to_table(filter=pq.filters_to_expression(filters) if filters else None)
    frame = table.to_pandas()
    for col in _PARTITIONS:
        frame[col] = frame[col].astype("object")
    frame = conform(frame)
    return frame.sort_values(["agent_id", "conversation_id", "seq"], kind="stable").reset_index(
        drop=True
    )
