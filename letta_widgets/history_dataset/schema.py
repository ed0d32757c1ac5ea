"""The Arrow side of a history dataset: the files' schema, frames to tables, the month key."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from letta_widgets._messages import SCHEMA

PARTITIONS = ("agent_id", "month")
"""The hive partition columns of the dataset (``agent_id=…/month=YYYY-MM/``)."""

LEGACY_PARTITIONS = ("agent_id", "conversation_id")
"""The partition columns of the old per-conversation layout."""

NO_MONTH = "unknown"
"""The ``month`` of rows without a date."""


def pa_modules() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or an ImportError naming the extra to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Parquet export needs pyarrow: pip install 'letta-widgets[parquet]'"
        ) from exc
    return pa, pq


def file_schema(include_raw: bool, partitions: tuple[str, ...] = PARTITIONS) -> Any:
    """The schema of the data files: the history columns without the ``partitions``, fixed
    so every part of every run unifies (no null types). ``tool_args`` and ``raw`` are JSON
    text."""
    pa, _pq = pa_modules()
    fields = []
    for col in SCHEMA:
        if col in partitions:
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


def dataset_schema(include_raw: bool, partitions: tuple[str, ...] = PARTITIONS) -> Any:
    """What a reader of the whole dataset sees: the file columns, then the partition
    columns as strings."""
    pa, _pq = pa_modules()
    schema = file_schema(include_raw, partitions)
    for col in partitions:
        schema = schema.append(pa.field(col, pa.string()))
    return schema


def to_arrow(frame: pd.DataFrame, partitions: tuple[str, ...] = PARTITIONS) -> Any:
    """A history frame as a table of :func:`file_schema` (partition columns dropped)."""
    pa, _pq = pa_modules()
    out = frame.drop(columns=[c for c in partitions if c in frame.columns])
    out["tool_args"] = [None if v is None else json.dumps(v, default=str) for v in out["tool_args"]]
    if "raw" in out.columns:
        out["raw"] = [None if v is None else json.dumps(v, default=str) for v in out["raw"]]
    out["message_type"] = out["message_type"].astype("string")
    out["role"] = out["role"].astype("string")
    schema = file_schema("raw" in out.columns, partitions)
    arrays = []
    for field in schema:
        values = out[field.name]
        if pa.types.is_string(field.type) or field.name == "is_err":
            values = values.astype("object").where(values.notna(), None)
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def months(dates: pd.Series) -> list[str]:
    """Each date's partition key, ``YYYY-MM`` in UTC (:data:`NO_MONTH` without a date)."""
    stamps = pd.to_datetime(dates, utc=True)
    return [NO_MONTH if pd.isna(t) else f"{t.year:04d}-{t.month:02d}" for t in stamps]
