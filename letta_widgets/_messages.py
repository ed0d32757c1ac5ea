"""Letta messages -> rows of the one history schema (shared by frames, export and streaming).

:func:`rows_from_messages` is the single normalizer: it turns Letta messages, either the
JSON dicts ``conversations.messages.list`` returns or the SDK's pydantic objects (a
streamed turn's assembled messages), into a :class:`pandas.DataFrame` with the columns
and dtypes of :data:`SCHEMA`. Every history function in the toolkit builds its frames
here, so a frame from ``messages_frame``, ``agent_history``, a Parquet export read back
with ``read_history`` or ``turn.frame()`` concatenates cleanly with any other.

How a message becomes rows
--------------------------
One row per Letta message, in the order given, with one exception: a
``tool_call_message`` / ``approval_request_message`` carrying several tool calls
(parallel tool calling), a ``tool_return_message`` carrying several ``tool_returns`` and an
``approval_response_message`` carrying several ``approvals`` become one row *per call*.
Those rows share ``id``, ``message_type`` and ``seq`` and differ in ``tool_call_id``, so
``(id, message_type, tool_call_id)`` is unique and
``df.drop_duplicates(["id", "message_type"])`` has exactly one row per Letta message.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from letta_widgets.letta.messages import (
    KNOWN_MESSAGE_TYPES,
    MESSAGE_TYPES,
    ROLES,
    SIMPLE_TEXT,
    as_dict,
    row_parts,
)

__all__ = [
    "SCHEMA",
    "SCHEMA_DOC",
    "RowCollector",
    "UnknownMessageTypeWarning",
    "conform",
    "empty_frame",
    "rows_from_messages",
]

_ROLE_OF: dict[str, str] = {name: t.role for name, t in MESSAGE_TYPES.items() if t.role is not None}

_STRING = pd.StringDtype()
_DATE = pd.DatetimeTZDtype(unit="us", tz="UTC")

SCHEMA: dict[str, Any] = {
    "agent_id": _STRING,
    "conversation_id": _STRING,
    "id": _STRING,
    "otid": _STRING,
    "seq": "int64",
    "date": _DATE,
    "message_type": pd.CategoricalDtype(list(KNOWN_MESSAGE_TYPES)),
    "role": pd.CategoricalDtype(list(ROLES)),
    "text": _STRING,
    "tool_name": _STRING,
    "tool_args": "object",
    "tool_call_id": _STRING,
    "tool_status": _STRING,
    "run_id": _STRING,
    "step_id": _STRING,
    "sender_id": _STRING,
    "is_err": "boolean",
    "in_context": "bool",
}
"""Column -> dtype of every history frame (``raw``, an ``object`` column, is added on request)."""

SCHEMA_DOC: dict[str, str] = {
    "agent_id": "agent that owns the conversation",
    "conversation_id": "`conv-…`, or `default` for an agent's default thread",
    "id": "Letta message id (`message-…`); several rows can share one id",
    "otid": "offline threading id (client-side idempotency key)",
    "seq": "0-based position of the message in the thread, oldest first",
    "date": "creation time, UTC",
    "message_type": "`user_message`, `assistant_message`, `reasoning_message`, …",
    "role": "`system`, `user`, `assistant` or `tool`",
    "text": "readable content of any type: content parts joined, reasoning, tool "
    "call as `name(args)`, tool return, approval decision, summary",
    "tool_name": "tool called / returning / awaiting approval",
    "tool_args": "tool call arguments parsed from JSON",
    "tool_call_id": "links a call to its return and approval",
    "tool_status": "`success` / `error` (tool return), `approved` / `denied` (approval)",
    "run_id": "the run (one user turn) that produced the message",
    "step_id": "the agent step (one LLM call) that produced the message",
    "sender_id": "sender, for multi-agent / identity setups",
    "is_err": "the server flagged the message as an error",
    "in_context": "the id is in the conversation's `in_context_message_ids` (not evicted)",
    "raw": "the message as the server sent it (only with `include_raw=True`, or for "
    "message types this toolkit does not know)",
}
"""One line per column: the README table and docstrings are generated from this."""

_STRING_COLUMNS = [c for c, t in SCHEMA.items() if t is _STRING]


class UnknownMessageTypeWarning(UserWarning):
    """A message of a type this toolkit does not know was kept as a row with its raw dict."""


def empty_frame(*, include_raw: bool = False) -> pd.DataFrame:
    """A frame with no rows and the full :data:`SCHEMA` (plus ``raw`` when asked)."""
    frame = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in SCHEMA.items()})
    if include_raw:
        frame["raw"] = pd.Series([], dtype="object")
    return frame


class RowCollector:
    """Accumulates normalized rows from several batches; :meth:`frame` builds one DataFrame.

    Building a DataFrame has a fixed cost per column, so loaders that normalize many
    pages or conversations add them all here and build once (``agent_history`` over 200
    conversations builds one frame, not 200). :func:`rows_from_messages` is the one-shot use.
    """

    def __init__(self, *, include_raw: bool = False) -> None:
        self.include_raw = include_raw
        # Dense columns get one append per row; the tool fields and raw dicts are sparse
        # (row -> value), message_type / role are category codes. Both save work per row.
        self.cols: dict[str, list[Any]] = {c: [] for c in _DENSE}
        self.tools: dict[int, tuple[Any, Any, Any, Any]] = {}
        self.raws: dict[int, Any] = {}
        self.type_codes: dict[str, int] = {t: i for i, t in enumerate(KNOWN_MESSAGE_TYPES)}
        self.unknown: dict[str, int] = {}
        self.call_names: dict[str, str] = {}
        self.conv_marks: list[tuple[int, Any, Any]] = []  # (end row, conversation, agent)
        # With Arrow-backed strings, a string column of _FLUSHED is its Arrow ``pieces``
        # (one per add()) followed by its list in ``cols``: a Python str costs ~50 bytes
        # more than its Arrow copy, so each batch's strs are freed once it is normalized.
        self.pieces: dict[str, list[Any]] = {c: [] for c in _FLUSHED}

    def __len__(self) -> int:
        return len(self.cols["seq"])  # a column never moved to ``pieces``

    def segment(self) -> RowCollector:
        """An empty collector for one part of this frame (one conversation), to :meth:`join`.

        It shares this collector's message-type codes, unknown-type counts and tool-call
        names, so its rows normalize exactly as if added here. Loaders whose pages arrive
        interleaved normalize each conversation into a segment as its pages come, and join
        the segments in order.
        """
        part = RowCollector(include_raw=self.include_raw)
        part.type_codes, part.unknown = self.type_codes, self.unknown
        part.call_names = self.call_names
        return part

    def join(self, part: RowCollector) -> None:
        """Move the rows of ``part`` (a :meth:`segment`) here, after the rows already here."""
        offset = len(self)
        if any(part.pieces.values()):
            self._flush()  # what is here goes first: then the part's pieces, then its lists
            for col, done in part.pieces.items():
                self.pieces[col].extend(done)
        for col, values in part.cols.items():
            self.cols[col].extend(values)
        self.tools.update({row + offset: v for row, v in part.tools.items()})
        self.raws.update({row + offset: v for row, v in part.raws.items()})
        self.conv_marks.extend((end + offset, c, a) for end, c, a in part.conv_marks)
        part.cols = {c: [] for c in _DENSE}  # joined: the part keeps nothing
        part.pieces = {c: [] for c in _FLUSHED}
        part.tools, part.raws, part.conv_marks = {}, {}, []

    def add(
        self,
        messages: Iterable[Any],
        *,
        conversation_id: str | None,
        agent_id: str | None,
        in_context_ids: Iterable[str] | None = None,
        seq_start: int = 0,
    ) -> int:
        """Normalize ``messages`` (oldest first) into rows; returns the next ``seq``."""
        in_ctx = (
            in_context_ids
            if isinstance(in_context_ids, (set, frozenset))
            else frozenset(in_context_ids or ())
        )
        cols = self.cols
        ids, otids, seqs, dates, types, texts = (
            cols["id"], cols["otid"], cols["seq"], cols["date"], cols["message_type"],
            cols["text"],
        )  # fmt: skip
        runs, steps, senders, errs, ctx = (
            cols["run_id"], cols["step_id"], cols["sender_id"], cols["is_err"],
            cols["in_context"],
        )  # fmt: skip
        tools = self.tools
        raws = self.raws
        codes = self.type_codes
        unknown = self.unknown
        call_names = self.call_names
        include_raw = self.include_raw
        simple = SIMPLE_TEXT
        seq = seq_start
        for message in messages:
            m = message if type(message) is dict else as_dict(message)
            get = m.get
            mtype = get("message_type") or "unknown"
            mid = get("id")
            text_of = simple.get(mtype)
            if text_of is not None:  # the common case: one row, no tool fields
                if include_raw:
                    raws[len(seqs)] = m
                ids.append(mid)
                otids.append(get("otid"))
                seqs.append(seq)
                dates.append(get("date"))
                types.append(codes[mtype])
                texts.append(text_of(m))
                runs.append(get("run_id"))
                steps.append(get("step_id"))
                senders.append(get("sender_id"))
                errs.append(get("is_err"))
                ctx.append(mid in in_ctx)
                seq += 1
                continue
            code = codes.get(mtype)
            if code is None:
                code = codes[mtype] = len(codes)
            if mtype not in _ROLE_OF:
                unknown[mtype] = unknown.get(mtype, 0) + 1
                keep_raw = True
            else:
                keep_raw = include_raw
            otid = get("otid")
            date = get("date")
            run = get("run_id")
            step = get("step_id")
            sender = get("sender_id")
            err = get("is_err")
            inside = mid in in_ctx
            for text, name, targs, call_id, status in row_parts(m):
                if call_id is not None:
                    if name is None:
                        name = call_names.get(call_id)
                    elif mtype in _CALL_TYPES:
                        call_names[call_id] = name
                row = len(seqs)
                if name is not None or targs is not None or call_id is not None or status:
                    tools[row] = (name, targs, call_id, status)
                if keep_raw:
                    raws[row] = m
                ids.append(mid)
                otids.append(otid)
                seqs.append(seq)
                dates.append(date)
                types.append(code)
                texts.append(text)
                runs.append(run)
                steps.append(step)
                senders.append(sender)
                errs.append(err)
                ctx.append(inside)
            seq += 1
        self.conv_marks.append((len(seqs), conversation_id, agent_id))
        if _ARROW_STRINGS:
            self._flush()
        return seq

    def _flush(self) -> None:
        """Move the string columns' lists to Arrow: the batch's Python strs are freed."""
        cols = self.cols
        if not cols[_FLUSHED[0]]:
            return
        for col in _FLUSHED:
            self.pieces[col].append(_strings(cols[col]))
            cols[col] = []

    def _column(self, col: str) -> Any:
        """A string column whole: its Arrow pieces combined into one array (or its list)."""
        pieces = self.pieces[col]
        if not pieces:
            return self.cols[col]
        if self.cols[col]:
            pieces.append(_strings(self.cols[col]))
            self.cols[col] = []
        if len(pieces) > 1:
            import pyarrow as pa

            chunks = [c for piece in pieces for c in piece._pa_array.chunks]
            # the combined copy replaces the pieces as it is made (peak memory)
            pieces[:] = [pd.arrays.ArrowStringArray(pa.chunked_array(chunks).combine_chunks())]
        return pieces[0]

    def frame(self, *, warn: bool = True, stacklevel: int = 2) -> pd.DataFrame:
        """The rows as one DataFrame of :data:`SCHEMA` (see :func:`rows_from_messages`).

        The rows move to the frame: the collector is empty afterwards, its lists freed one
        by one as the columns are built (so they and the frame are not all held at once).
        """
        unknown = self.unknown
        n = len(self)
        strings = {col: self._column(col) for col in _FLUSHED}
        cols: dict[str, Any] = {**self.cols, **strings}
        del strings
        self.cols = {c: [] for c in _DENSE}
        self.pieces = {c: [] for c in _FLUSHED}
        # agent_id / conversation_id: constant runs, one per add() call
        agents: list[Any] = []
        convs: list[Any] = []
        start = 0
        for end, conv, agent in self.conv_marks:
            agents.extend([agent] * (end - start))
            convs.extend([conv] * (end - start))
            start = end
        cols["agent_id"], cols["conversation_id"] = agents, convs
        categories = list(self.type_codes)
        type_codes = np.asarray(cols["message_type"], dtype=np.int32)
        cols["message_type"] = pd.Categorical.from_codes(type_codes, categories=categories)
        role_of = np.array([_ROLE_CODE.get(t, -1) for t in categories], dtype=np.int8)
        cols["role"] = pd.Categorical.from_codes(
            role_of[type_codes] if n else np.array([], dtype=np.int8), categories=list(ROLES)
        )
        names: list[Any] = [None] * n
        args: list[Any] = [None] * n
        call_ids: list[Any] = [None] * n
        statuses: list[Any] = [None] * n
        for row, (name, targs, call_id, status) in self.tools.items():
            names[row], args[row], call_ids[row], statuses[row] = name, targs, call_id, status
        self.tools = {}
        cols["tool_name"], cols["tool_args"] = names, args
        cols["tool_call_id"], cols["tool_status"] = call_ids, statuses
        frame = _build(cols)
        if self.include_raw or unknown:
            raw = np.empty(n, dtype=object)
            for row, value in self.raws.items():
                raw[row] = value
            frame["raw"] = raw
        self.raws, self.conv_marks = {}, []
        if unknown and warn:
            summary = ", ".join(f"{t} ({k})" for t, k in sorted(unknown.items()))
            warnings.warn(
                f"kept {sum(unknown.values())} message(s) of a type letta-widgets does not "
                f"know: {summary}; their JSON is in the `raw` column",
                UnknownMessageTypeWarning,
                stacklevel=stacklevel + 1,
            )
        return frame


_DENSE = (
    "id", "otid", "seq", "date", "message_type", "text", "run_id", "step_id", "sender_id",
    "is_err", "in_context",
)  # fmt: skip
_FLUSHED = ("id", "otid", "text", "run_id", "step_id", "sender_id")
"""The dense string columns, kept as Arrow arrays between add() calls (Arrow strings only)."""
_ROLE_CODE = {t: ROLES.index(r) for t, r in _ROLE_OF.items()}
_CALL_TYPES = frozenset(name for name, t in MESSAGE_TYPES.items() if t.calls)


def rows_from_messages(
    messages: Iterable[Any],
    *,
    conversation_id: str | None,
    agent_id: str | None,
    in_context_ids: Iterable[str] | None = None,
    include_raw: bool = False,
    seq_start: int = 0,
) -> pd.DataFrame:
    """Normalize Letta messages into a frame of the documented schema (:data:`SCHEMA`).

    Parameters
    ----------
    messages
        Letta messages in thread order (oldest first): dicts as the REST API sends them,
        or ``letta_client`` message objects (e.g. a streamed turn's messages).
    conversation_id, agent_id
        Written into every row (Letta messages do not carry them).
    in_context_ids
        The conversation's ``in_context_message_ids``; ``in_context`` is ``id in`` this set
        (all ``False`` when ``None``).
    include_raw
        Add a ``raw`` column holding each message's dict.
    seq_start
        ``seq`` of the first message (``seq`` counts Letta messages, so the rows of one
        multi-call message share it).

    Returns
    -------
    pandas.DataFrame
        One row per message (one per tool call for multi-call messages; see the module
        docstring). A message of a type not in :data:`KNOWN_MESSAGE_TYPES` is kept with its
        ``message_type`` (added as a category) and its dict in ``raw`` (the column is added
        if needed), and one :class:`UnknownMessageTypeWarning` is issued per call.
        Tool returns and approvals without a tool name get the name of their call.
    """
    rows = RowCollector(include_raw=include_raw)
    rows.add(
        messages,
        conversation_id=conversation_id,
        agent_id=agent_id,
        in_context_ids=in_context_ids,
        seq_start=seq_start,
    )
    return rows.frame(stacklevel=2)


def _strings(values: list[Any]) -> Any:
    """A ``string`` array; built straight from Arrow when that is pandas' storage (fast)."""
    if _ARROW_STRINGS:
        import pyarrow as pa

        try:
            return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # non-str values: let pandas coerce them
    return pd.array(values, dtype=_STRING)


def _arrow_strings() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return _STRING.storage == "pyarrow" and _STRING.na_value is pd.NA


_ARROW_STRINGS = _arrow_strings()


def _build(cols: dict[str, Any]) -> pd.DataFrame:
    """The frame of ``cols`` (column -> values); each column's values are let go once built."""
    data: dict[str, Any] = {}
    for col, dtype in SCHEMA.items():
        values = cols.pop(col)
        if col == "date":
            data[col] = _dates(values)
        elif isinstance(values, (pd.Categorical, pd.arrays.ArrowStringArray)):
            data[col] = values
        elif col == "tool_args":
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            data[col] = arr
        elif dtype is _STRING:
            data[col] = _strings(values)
        elif col == "in_context":
            data[col] = np.fromiter(values, dtype=bool, count=len(values))
        elif col == "seq":
            data[col] = np.fromiter(values, dtype=np.int64, count=len(values))
        else:
            data[col] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data)


def _dates(values: list[Any]) -> Any:
    if not values:
        return pd.array([], dtype=_DATE)
    if _ARROW_STRINGS and all(type(v) is str for v in values[:1]):
        import pyarrow as pa

        try:  # Arrow parses ISO 8601 with Z / ±hh:mm offsets, ~5x faster than pandas
            arr = pa.array(values, type=pa.string()).cast(pa.timestamp("us", tz="UTC"))
            return pd.array(arr.to_pandas(), dtype=_DATE)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    parsed = pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601")
    return parsed.astype(_DATE).array


def conform(frame: pd.DataFrame, *, include_raw: bool | None = None) -> pd.DataFrame:
    """Cast a frame (e.g. read back from Parquet, or concatenated) to :data:`SCHEMA`'s dtypes.

    Unknown message types stay as extra categories. ``include_raw=None`` keeps a ``raw``
    column if the frame has one.
    """
    if frame.empty and not len(frame.columns):
        return empty_frame(include_raw=bool(include_raw))
    out = {}
    n = len(frame)
    for col, dtype in SCHEMA.items():
        if col not in frame.columns:
            values: Any = [False] * n if col == "in_context" else [None] * n
            series = pd.Series(values, index=frame.index)
        else:
            series = frame[col]
        if col == "message_type":
            present = [str(v) for v in pd.unique(series.astype("object").dropna())]
            extra = sorted(t for t in present if t not in KNOWN_MESSAGE_TYPES)
            cats = list(KNOWN_MESSAGE_TYPES) + extra
            out[col] = pd.Categorical(series.astype("object"), categories=cats)
        elif col == "role":
            out[col] = pd.Categorical(series.astype("object"), categories=list(ROLES))
        elif col == "date":
            out[col] = pd.to_datetime(series, utc=True).astype(_DATE)
        elif col == "tool_args":
            out[col] = series.map(_as_dict_or_none).astype("object")
        elif col == "in_context":
            out[col] = series.fillna(False).astype(bool)
        else:
            out[col] = series.astype("object").where(series.notna(), None).astype(dtype)
    result = pd.DataFrame(out, index=frame.index)
    keep_raw = ("raw" in frame.columns) if include_raw is None else include_raw
    if keep_raw:
        raw = frame["raw"] if "raw" in frame.columns else pd.Series([None] * n)
        result["raw"] = raw.map(_as_dict_or_none).astype("object").to_numpy()
    return result.reset_index(drop=True)


def _as_dict_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return {"_raw": value}
    return value
