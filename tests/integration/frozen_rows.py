"""A frozen copy of the history normalizer as of commit 9b7c94a, the reference of the golden test.

Copied from ``letta_widgets/_messages.py`` (``SCHEMA``, ``RowCollector.add`` /
``.frame``, ``_build``, ``_strings``, ``_dates``) and ``letta_widgets/letta/messages.py``
(the stored message types, ``SIMPLE_TEXT``, ``row_parts``, ``as_dict`` and their
helpers) for ``tests/integration/test_frames_golden.py``. Condensed, not changed: no
docstrings, no unknown-type warning (a warning changes no frame), and ``add``'s fast
path for one-row types folded into its general loop (same rows). It imports nothing
from ``letta_widgets`` on purpose: the loaders and the normalizer are being rewritten
for speed, and the golden test proves the rewrite gives the frames this copy gives.

Never edit it to make a test pass. Only a deliberate change of the frames (a new
column, a new message type) is a reason to touch it, and that commit says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

# ------------------------------------------------------------- letta/messages.py

# (name, role, text_field, calls) of the stored types; stream-only types make no rows
_TYPES = (
    ("system_message", "system", "content", False),
    ("user_message", "user", "content", False),
    ("assistant_message", "assistant", "content", False),
    ("reasoning_message", "assistant", "reasoning", False),
    ("hidden_reasoning_message", "assistant", "hidden_reasoning", False),
    ("tool_call_message", "assistant", None, True),
    ("tool_return_message", "tool", None, False),
    ("approval_request_message", "assistant", None, True),
    ("approval_response_message", "user", None, False),
    ("summary_message", "system", "summary", False),
    ("event_message", "system", None, False),
)
STREAM_TYPES = frozenset({"error_message", "stop_reason", "usage_statistics", "ping"})
KNOWN_MESSAGE_TYPES: tuple[str, ...] = tuple(t[0] for t in _TYPES)
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
IMAGE_PLACEHOLDER = "[image]"


def as_dict(message: Any) -> dict[str, Any]:
    if isinstance(message, dict):
        return message
    if isinstance(message, Mapping):
        return dict(message)
    to_dict = getattr(message, "to_dict", None)
    if callable(to_dict):
        return to_dict(mode="json", use_api_names=True, exclude_unset=True)
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_unset=True)
    raise TypeError(f"expected a Letta message (SDK model or dict), got {type(message).__name__}")


def _s(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if part is None:
        return ""
    if not isinstance(part, Mapping):
        try:
            part = as_dict(part)
        except TypeError:
            return str(part)
    kind = part.get("type")
    if kind == "image" or (kind is None and "source" in part):
        return IMAGE_PLACEHOLDER
    if kind == "reasoning" or (kind is None and "reasoning" in part):
        return _s(part.get("reasoning"))
    if kind == "redacted_reasoning":
        return "[redacted reasoning]"
    if kind == "omitted_reasoning":
        return ""
    if kind == "tool_call":
        args = json.dumps(part.get("input") or {}, ensure_ascii=False, default=str)
        return f"{_s(part.get('name'))}({args})"
    if kind == "tool_return":
        return _s(part.get("content"))
    if "text" in part:
        return _s(part.get("text"))
    return ""


def content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "".join(part_text(p) for p in content)
    return part_text(content)


def _maybe_text(content: Any) -> str | None:
    return content if content is None or type(content) is str else content_text(content)


def _field_reader(name: str) -> Callable[[Mapping[str, Any]], str | None]:
    if name == "content":
        return lambda m: _maybe_text(m.get("content"))
    return lambda m: m.get(name)


SIMPLE_TEXT: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    name: _field_reader(field) for name, _role, field, calls in _TYPES if field and not calls
}


def tool_calls_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    calls = m.get("tool_calls")
    if isinstance(calls, Mapping):
        calls = [calls]
    if not calls:
        one = m.get("tool_call")
        calls = [one] if one else []
    return [c if isinstance(c, dict) else as_dict(c) for c in calls if c]


def tool_returns_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    rets = m.get("tool_returns")
    if rets:
        return [r if isinstance(r, dict) else as_dict(r) for r in rets]
    if m.get("tool_return") is None and m.get("status") is None:
        return []
    return [
        {
            "status": m.get("status"),
            "tool_call_id": m.get("tool_call_id"),
            "tool_return": m.get("tool_return"),
            "stdout": m.get("stdout"),
            "stderr": m.get("stderr"),
        }
    ]


def approvals_of(m: Mapping[str, Any]) -> list[dict[str, Any]]:
    approvals = m.get("approvals")
    if not approvals:
        return [m if isinstance(m, dict) else dict(m)]
    return [a if isinstance(a, dict) else as_dict(a) for a in approvals]


def _parse_args(arguments: Any) -> dict[str, Any] | None:
    if arguments is None or arguments == "":
        return None
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"_raw": arguments}


def _approval_part(a: Mapping[str, Any]) -> tuple[Any, ...]:
    if a.get("type") == "tool":
        return (
            _maybe_text(a.get("tool_return")),
            None,
            None,
            a.get("tool_call_id"),
            a.get("status"),
        )
    approve = a.get("approve")
    status = None if approve is None else ("approved" if approve else "denied")
    reason = _s(a.get("reason"))
    text = f"{status}: {reason}" if status and reason else status or reason or None
    return (text, None, None, a.get("tool_call_id"), status)


def row_parts(m: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    t = m.get("message_type")
    simple = SIMPLE_TEXT.get(t)  # type: ignore[arg-type]
    if simple is not None:
        return [(simple(m), None, None, None, None)]
    if t == "tool_call_message" or t == "approval_request_message":
        out: list[tuple[Any, ...]] = []
        for call in tool_calls_of(m) or [{}]:
            name, args = call.get("name"), call.get("arguments")
            text = f"{name}({_s(args)})" if name is not None else None
            out.append((text, name, _parse_args(args), call.get("tool_call_id"), None))
        return out
    if t == "tool_return_message":
        name = m.get("name")
        return [
            (_maybe_text(r.get("tool_return")), name, None, r.get("tool_call_id"), r.get("status"))
            for r in tool_returns_of(m) or [{}]
        ]
    if t == "approval_response_message":
        return [_approval_part(a) for a in approvals_of(m)]
    if t == "event_message":
        data = m.get("event_data")
        event = m.get("event_type")
        text = f"{_s(event)} {json.dumps(data, default=str)}" if data else event
        return [(text, None, None, None, None)]
    if t in STREAM_TYPES:
        return []
    for key in ("content", "text", "reasoning", "summary", "tool_return"):
        if m.get(key) is not None:
            return [(_maybe_text(m.get(key)), None, None, None, None)]
    return [(None, None, None, None, None)]


# ------------------------------------------------------------------ _messages.py

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
_ROLE_OF = {name: role for name, role, _field, _calls in _TYPES}
_ROLE_CODE = {t: ROLES.index(r) for t, r in _ROLE_OF.items()}
_CALL_TYPES = frozenset(name for name, _role, _field, calls in _TYPES if calls)
_DENSE = (
    "id", "otid", "seq", "date", "message_type", "text", "run_id", "step_id", "sender_id",
    "is_err", "in_context",
)  # fmt: skip


class RowCollector:
    def __init__(self, *, include_raw: bool = False) -> None:
        self.include_raw = include_raw
        self.cols: dict[str, list[Any]] = {c: [] for c in _DENSE}
        self.tools: dict[int, tuple[Any, Any, Any, Any]] = {}
        self.raws: dict[int, Any] = {}
        self.type_codes: dict[str, int] = {t: i for i, t in enumerate(KNOWN_MESSAGE_TYPES)}
        self.unknown: dict[str, int] = {}
        self.call_names: dict[str, str] = {}
        self.conv_marks: list[tuple[int, Any, Any]] = []

    def add(
        self,
        messages: Iterable[Any],
        *,
        conversation_id: str | None,
        agent_id: str | None,
        in_context_ids: Iterable[str] | None = None,
        seq_start: int = 0,
    ) -> int:
        in_ctx = frozenset(in_context_ids or ())
        c = self.cols
        seq = seq_start
        for message in messages:
            m = message if type(message) is dict else as_dict(message)
            mtype = m.get("message_type") or "unknown"
            mid = m.get("id")
            text_of = SIMPLE_TEXT.get(mtype)
            if text_of is not None:
                parts: list[tuple[Any, ...]] = [(text_of(m), None, None, None, None)]
                keep_raw = self.include_raw
            else:
                if mtype not in self.type_codes:
                    self.type_codes[mtype] = len(self.type_codes)
                if mtype not in _ROLE_OF:
                    self.unknown[mtype] = self.unknown.get(mtype, 0) + 1
                    keep_raw = True
                else:
                    keep_raw = self.include_raw
                parts = row_parts(m)
            for text, name, targs, call_id, status in parts:
                if call_id is not None:
                    if name is None:
                        name = self.call_names.get(call_id)
                    elif mtype in _CALL_TYPES:
                        self.call_names[call_id] = name
                row = len(c["id"])
                if name is not None or targs is not None or call_id is not None or status:
                    self.tools[row] = (name, targs, call_id, status)
                if keep_raw:
                    self.raws[row] = m
                c["id"].append(mid)
                c["otid"].append(m.get("otid"))
                c["seq"].append(seq)
                c["date"].append(m.get("date"))
                c["message_type"].append(self.type_codes[mtype])
                c["text"].append(text)
                c["run_id"].append(m.get("run_id"))
                c["step_id"].append(m.get("step_id"))
                c["sender_id"].append(m.get("sender_id"))
                c["is_err"].append(m.get("is_err"))
                c["in_context"].append(mid in in_ctx)
            seq += 1
        self.conv_marks.append((len(c["id"]), conversation_id, agent_id))
        return seq

    def frame(self) -> pd.DataFrame:
        n = len(self.cols["id"])
        cols: dict[str, Any] = dict(self.cols)
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
        tool = {k: [None] * n for k in ("tool_name", "tool_args", "tool_call_id", "tool_status")}
        for row, values in self.tools.items():
            for k, v in zip(tool, values, strict=True):
                tool[k][row] = v
        cols.update(tool)
        frame = _build(cols)
        if self.include_raw or self.unknown:
            raw = np.empty(n, dtype=object)
            for row, value in self.raws.items():
                raw[row] = value
            frame["raw"] = raw
        return frame


def _arrow_strings() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return _STRING.storage == "pyarrow" and _STRING.na_value is pd.NA


_ARROW_STRINGS = _arrow_strings()


def _strings(values: list[Any]) -> Any:
    if _ARROW_STRINGS:
        import pyarrow as pa

        try:
            return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return pd.array(values, dtype=_STRING)


def _build(cols: dict[str, Any]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col, dtype in SCHEMA.items():
        values = cols[col]
        if col == "date":
            data[col] = _dates(values)
        elif isinstance(values, pd.Categorical):
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

        try:
            arr = pa.array(values, type=pa.string()).cast(pa.timestamp("us", tz="UTC"))
            return pd.array(arr.to_pandas(), dtype=_DATE)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    parsed = pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601")
    return parsed.astype(_DATE).array
