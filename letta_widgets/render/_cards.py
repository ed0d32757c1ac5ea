"""One HTML card per Letta message type.

Every card's root is ``<div class="lw-msg lw-msg--<message_type>" data-id=...
data-message-type=...>``. Shells are built here with escaping; bodies come from
:mod:`._markdown` (nh3-sanitized) or are escaped plain text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from letta_widgets.letta.images import KINDS, inline_image
from letta_widgets.letta.messages import (
    IMAGE_PLACEHOLDER,
    MESSAGE_TYPES,
    as_dict,
    content_text,
    tool_calls_of,
    tool_returns_of,
)
from letta_widgets.render._markdown import (
    PLAIN_LIMIT,
    image_link,
    json_block,
    markdown_html,
    plain_block,
)
from letta_widgets.render._sanitize import attr, clean, clean_image, css_token, text

_DATA_FIELDS = (("run_id", "data-run-id"), ("step_id", "data-step-id"))


def _open(m: Mapping[str, Any], mtype: str, extra_cls: str = "", **data: Any) -> str:
    cls = f"lw-msg lw-msg--{css_token(mtype)}"
    if extra_cls:
        cls += " " + extra_cls
    parts = [f'<div class="{cls}"']
    if m.get("id") is not None:
        parts.append(f' data-id="{attr(m["id"])}"')
    parts.append(f' data-message-type="{attr(mtype)}"')
    for key, name in _DATA_FIELDS:
        if m.get(key):
            parts.append(f' {name}="{attr(m[key])}"')
    for name, value in data.items():
        if value is not None:
            parts.append(f' data-{name.replace("_", "-")}="{attr(value)}"')
    parts.append(">")
    return "".join(parts)


def _time(m: Mapping[str, Any]) -> str:
    d = m.get("date")
    if not d:
        return ""
    d = str(d)
    short = d[11:16] if len(d) >= 16 and d[10] in "T " else d[:32]
    return f'<time class="lw-msg__time" title="{attr(d)}">{text(short)}</time>'


def _head(label: str, m: Mapping[str, Any], extra: str = "") -> str:
    return (
        f'<div class="lw-msg__head"><span class="lw-msg__role">{text(label)}</span>'
        f"{extra}{_time(m)}</div>"
    )


def _badge(status: Any) -> str:
    s = css_token(status, "unknown")
    return f'<span class="lw-badge lw-badge--{s}">{text(status or "unknown")}</span>'


# --- content ---------------------------------------------------------------------------


def _image(part: Mapping[str, Any]) -> str:
    """An image part: shown inline when it carries base64 data of an accepted kind (what an
    attached image lists back as), a link when its source is a URL (never fetched), else a
    labelled placeholder (a ``letta`` source listed without its data, an unknown kind)."""
    inline = inline_image(part)
    if inline is not None:
        kind, data = inline
        alt = attr(f"image ({KINDS[kind]})")
        return clean_image(f'<img class="lw-image" src="data:{kind};base64,{data}" alt="{alt}">')
    src = part.get("source") or {}
    if not isinstance(src, Mapping):
        src = {}
    kind = src.get("type")
    if kind == "url":
        url = str(src.get("url") or "")
        return f'<div class="lw-image-placeholder">{clean(image_link(url, url[:200]))}</div>'
    what = str(src.get("media_type") or src.get("file_id") or kind or "")
    if kind == "letta" and not src.get("data"):
        what += ", no data listed" if what else "no data listed"
    label = IMAGE_PLACEHOLDER[:-1] + (f": {what}]" if what else "]")
    return f'<div class="lw-image-placeholder">{text(label)}</div>'


def _content_html(content: Any, env: dict[str, Any]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return markdown_html(content)
    if not isinstance(content, list | tuple):
        content = [content]
    out: list[str] = []
    pending: list[str] = []  # adjacent text parts: one markdown document, one budget
    for raw in content:
        if raw is None:
            continue
        part = _part_dict(raw)
        kind = part.get("type")
        if kind in (None, "text") and isinstance(part.get("text"), str) and "source" not in part:
            pending.append(part["text"])
            continue
        if pending:
            out.append(markdown_html("".join(pending)))
            pending.clear()
        if kind == "image" or (kind is None and "source" in part):
            out.append(_image(part))
        elif kind == "reasoning":
            out.append(_reasoning_details("Reasoning", markdown_html(str(part.get("reasoning")))))
        elif kind == "redacted_reasoning":
            out.append('<div class="lw-reasoning lw-reasoning--hidden">Reasoning redacted</div>')
        elif kind == "omitted_reasoning":
            out.append('<div class="lw-reasoning lw-reasoning--hidden">Reasoning omitted</div>')
        elif kind == "tool_call":
            call = {
                "name": part.get("name"),
                "arguments": part.get("input"),
                "tool_call_id": part.get("id"),
            }
            out.append(_tool_call_card(call, None, env, open_=True))
        elif kind == "tool_return":
            ret = {
                "status": "error" if part.get("is_error") else "success",
                "tool_call_id": part.get("tool_call_id"),
                "tool_return": part.get("content"),
            }
            out.append(_tool_return_block(ret, env))
        elif part.get("text") is not None:
            out.append(markdown_html(str(part["text"])))
        else:
            out.append(plain_block(json.dumps(part, default=str, ensure_ascii=False)))
    if pending:
        out.append(markdown_html("".join(pending)))
    return "".join(out)


def _part_dict(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        return {"text": raw}
    try:
        return as_dict(raw)
    except TypeError:
        return {"text": str(raw)}


def _reasoning_details(label: str, body: str, open_: bool = False) -> str:
    o = " open" if open_ else ""
    return (
        f'<details class="lw-reasoning"{o}><summary>{text(label)}</summary>'
        f'<div class="lw-md">{body}</div></details>'
    )


# --- tools -----------------------------------------------------------------------------


def _args_preview(args: Any, n: int = 80) -> str:
    if args is None:
        return ""
    s = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False, default=str)
    s = " ".join(s[: n * 4].split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _tool_return_block(ret: Mapping[str, Any], env: dict[str, Any], badge: bool = True) -> str:
    value = ret.get("tool_return")
    if isinstance(value, list | tuple):
        has_image = any(isinstance(p, Mapping) and p.get("type") == "image" for p in value)
        body = _content_html(value, env) if has_image else _return_value(content_text(value), env)
    else:
        body = _return_value("" if value is None else str(value), env)
    out = [
        f'<div class="lw-tool-return" data-tool-call-id="{attr(ret.get("tool_call_id") or "")}"'
        f' data-status="{attr(ret.get("status") or "")}">',
        f'<div class="lw-tool-return__head">{_badge(ret.get("status"))}</div>' if badge else "",
        body,
    ]
    for stream in ("stdout", "stderr"):
        lines = ret.get(stream)
        if lines:
            joined = "\n".join(str(x) for x in lines) if isinstance(lines, list) else str(lines)
            n = len(lines) if isinstance(lines, list) else joined.count("\n") + 1
            out.append(
                f'<details class="lw-{stream}"><summary>{stream} ({n} line'
                f"{'' if n == 1 else 's'})</summary>{plain_block(joined)}</details>"
            )
    out.append("</div>")
    return "".join(out)


def _return_value(s: str, env: dict[str, Any]) -> str:
    st = s.lstrip()
    if st[:1] in ("{", "[") and len(s) <= PLAIN_LIMIT:
        try:
            return json_block(json.loads(s), env)
        except (ValueError, RecursionError):
            pass
    return plain_block(s, cls="lw-plain lw-tool-return__value") if s else ""


def _tool_call_card(
    call: Mapping[str, Any],
    returns: Sequence[Mapping[str, Any]] | None,
    env: dict[str, Any],
    open_: bool,
) -> str:
    """A ``<details class="lw-tool">`` card: name, arguments and (paired) returns."""
    name = call.get("name") or "tool"
    args = call.get("arguments")
    status = ""
    if returns:
        statuses = {r.get("status") for r in returns}
        status = _badge("error" if "error" in statuses else next(iter(statuses)))
    elif returns is not None:
        status = '<span class="lw-badge lw-badge--pending">running</span>'
    o = " open" if open_ else ""
    cid = call.get("tool_call_id")
    out = [
        f'<details class="lw-tool"{o} data-tool-call-id="{attr(cid or "")}">',
        f'<summary><span class="lw-tool__name">{text(name)}</span>',
        f'<span class="lw-tool__preview">{text(_args_preview(args))}</span>{status}</summary>',
        '<div class="lw-tool__args">',
        json_block(args if args not in (None, "") else {}, env),
        "</div>",
    ]
    for r in returns or ():
        # One return: its status is already on the summary line.
        out.append(_tool_return_block(r, env, badge=len(returns or ()) > 1))
    out.append("</details>")
    return "".join(out)


# --- cards per type --------------------------------------------------------------------


def _bubble(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    label = str(m.get("name") or MESSAGE_TYPES[mtype].label)
    err = " lw-msg--error" if m.get("is_err") else ""
    return (
        _open(m, mtype, err.strip())
        + _head(label, m)
        + f'<div class="lw-msg__body lw-md">{_content_html(m.get("content"), env)}</div></div>'
    )


def _reasoning(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    if mtype == "reasoning_message":
        body = markdown_html(str(m.get("reasoning") or ""))
        return _open(m, mtype) + _reasoning_details("Reasoning", body) + "</div>"
    state = m.get("state") or "hidden"
    label = f"Reasoning {state}"
    hidden = m.get("hidden_reasoning")
    if hidden:
        inner = _reasoning_details(label, plain_block(str(hidden)))
    else:
        inner = f'<div class="lw-reasoning lw-reasoning--hidden">{text(label)}</div>'
    return _open(m, mtype, state=state) + inner + "</div>"


def _tool_call(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    calls = tool_calls_of(m)
    first = calls[0].get("tool_call_id") if calls else None
    cards = "".join(_tool_call_card(c, None, env, open_=True) for c in calls)
    return _open(m, mtype, tool_call_id=first) + cards + "</div>"


def _tool_return(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    rets = tool_returns_of(m)
    label = str(m.get("name") or "Tool return")
    first = rets[0].get("tool_call_id") if rets else None
    body = "".join(_tool_return_block(r, env) for r in rets)
    return _open(m, mtype, tool_call_id=first) + _head(label, m) + body + "</div>"


def _approval_request(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    calls = tool_calls_of(m)
    first = calls[0].get("tool_call_id") if calls else None
    cards = "".join(_tool_call_card(c, None, env, open_=True) for c in calls)
    return (
        _open(m, mtype, "lw-approval", approval_request_id=m.get("id"), tool_call_id=first)
        + _head(MESSAGE_TYPES[mtype].label, m)
        + cards
        + "</div>"
    )


def _verdict(approve: Any, reason: Any) -> str:
    word = {True: "approved", False: "denied"}.get(approve, "unknown")
    r = f'<span class="lw-approval__reason">{text(reason)}</span>' if reason else ""
    return f"{_badge(word)}{r}"


def _approval_response(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    out = []
    approvals = m.get("approvals") or []
    if not approvals:
        out.append(
            f'<div class="lw-approval__verdict">{_verdict(m.get("approve"), m.get("reason"))}</div>'
        )
    for a in approvals:
        a = a if isinstance(a, Mapping) else as_dict(a)
        if a.get("type") == "tool" or "tool_return" in a:
            out.append(_tool_return_block(a, env))
        else:
            out.append(
                '<div class="lw-approval__verdict"'
                f' data-tool-call-id="{attr(a.get("tool_call_id") or "")}">'
                f"{_verdict(a.get('approve'), a.get('reason'))}</div>"
            )
    return (
        _open(m, mtype, "lw-approval", approval_request_id=m.get("approval_request_id"))
        + _head(MESSAGE_TYPES[mtype].label, m)
        + "".join(out)
        + "</div>"
    )


def _separator(label: str, m: Mapping[str, Any], mtype: str, body: str = "", **data: Any) -> str:
    if body:
        inner = (
            f'<details class="lw-sep__details"><summary class="lw-sep__label">{text(label)}'
            f"{_time(m)}</summary>{body}</details>"
        )
    else:
        inner = f'<div class="lw-sep__label">{text(label)}{_time(m)}</div>'
    return _open(m, mtype, "lw-sep", **data) + inner + "</div>"


def _system(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    content = content_text(m.get("content"))
    label = f"System prompt ({len(content):,} characters)"
    return _separator(label, m, mtype, plain_block(content))


def compaction_label(msg: Any) -> str:
    """One line for a compaction: ``Conversation compacted (140 → 42 messages, …tokens)``.

    ``msg`` is a ``summary_message`` (its ``compaction_stats`` give the numbers) or the
    compaction ``event_message`` that announces one (``Compacting the conversation…``).
    """
    m = as_dict(msg)
    if m.get("message_type") == "event_message":
        return "Compacting the conversation…"
    stats = m.get("compaction_stats") or {}
    parts = []
    if isinstance(stats, Mapping):
        before, after = stats.get("messages_count_before"), stats.get("messages_count_after")
        if before is not None and after is not None:
            parts.append(f"{before} → {after} messages")
        t_before, t_after = stats.get("context_tokens_before"), stats.get("context_tokens_after")
        if isinstance(t_before, int) and isinstance(t_after, int):
            parts.append(f"{t_before:,} → {t_after:,} tokens")
    return "Conversation compacted" + (f" ({', '.join(parts)})" if parts else "")


def _summary(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    body = f'<div class="lw-md">{markdown_html(str(m.get("summary") or ""))}</div>'
    return _separator(compaction_label(m), m, mtype, body)


def _event(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    etype = m.get("event_type") or "event"
    data = m.get("event_data")
    body = json_block(data, env) if data else ""
    return _separator(f"Event: {etype}", m, mtype, body, event_type=etype)


def _error(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    kind = m.get("error_type") or "error"
    body = plain_block(str(m.get("message") or ""))
    if m.get("detail"):
        detail = plain_block(str(m["detail"]))
        body += f'<details class="lw-error__detail"><summary>detail</summary>{detail}</details>'
    return _open(m, mtype, "lw-msg--error") + _head(f"Error: {kind}", m) + body + "</div>"


def _stop_reason(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    reason = m.get("stop_reason") or "unknown"
    return _separator(f"Stopped: {reason}", m, mtype, stop_reason=reason)


def _generic(m: Mapping[str, Any], mtype: str, env: dict[str, Any]) -> str:
    try:
        dumped = json.dumps(m, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        dumped = repr(m)
    body = (
        f'<details class="lw-generic"><summary>{text(mtype)}</summary>'
        f"{plain_block(dumped, cls='lw-code')}</details>"
    )
    extra = "" if css_token(mtype) == "unknown" else "lw-msg--unknown"
    return _open(m, mtype, extra) + body + "</div>"


_RENDERERS = {
    "user_message": _bubble,
    "assistant_message": _bubble,
    "reasoning_message": _reasoning,
    "hidden_reasoning_message": _reasoning,
    "tool_call_message": _tool_call,
    "tool_return_message": _tool_return,
    "approval_request_message": _approval_request,
    "approval_response_message": _approval_response,
    "system_message": _system,
    "summary_message": _summary,
    "event_message": _event,
    "error_message": _error,
    "stop_reason": _stop_reason,
}


def render_message(msg: Any) -> str:
    """Render any Letta message (SDK model or dict) as one safe HTML card.

    The root element is ``<div class="lw-msg lw-msg--<message_type>" data-id=...
    data-message-type=...>``. ``ping`` and ``usage_statistics`` chunks render as ""
    (use :func:`render_usage` for the latter); unknown types as an escaped JSON card.
    """
    m = as_dict(msg)
    mtype = str(m.get("message_type") or "unknown")
    if mtype in ("ping", "usage_statistics"):
        return ""
    env: dict[str, Any] = {}
    summary = compaction_summary(m)
    if summary is not None:  # Letta lists compaction summaries as user messages
        m, mtype = {**m, "message_type": "summary_message", "summary": summary}, "summary_message"
    return _RENDERERS.get(mtype, _generic)(m, mtype, env)


def compaction_summary(msg: Any) -> str | None:
    """The summary text when ``msg`` is a compaction summary, else ``None``.

    That is a ``summary_message``, or the ``user_message`` holding a ``system_alert``
    JSON document that Letta stores (and lists) in its place.
    """
    m = as_dict(msg)
    mtype = m.get("message_type")
    if mtype == "summary_message":
        return str(m.get("summary") or "")
    if mtype != "user_message":
        return None
    raw = content_text(m.get("content")).lstrip()
    if not raw.startswith("{") or "system_alert" not in raw[:200]:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "system_alert":
        return None
    return str(data.get("message") or "")


def _as_list(x: Any) -> list[dict[str, Any]]:
    if x is None:
        return []
    if isinstance(x, list | tuple):
        return [as_dict(i) for i in x]
    return [as_dict(x)]


def render_tool_exchange(call: Any, ret: Any = None) -> str:
    """One card pairing a tool call with its return(s).

    *call* is a ``tool_call_message`` (or a bare tool call ``{name, arguments,
    tool_call_id}``); *ret* a ``tool_return_message``, a list of them, a bare tool return,
    or None while the tool runs (shown as "running"). Returns are matched to calls by
    ``tool_call_id``; a message with several calls gives several cards in one root.
    """
    c = as_dict(call)
    if c.get("message_type") is None and "name" in c and "arguments" in c:
        calls, cm = [c], {}
    else:
        calls, cm = tool_calls_of(c), c
    returns: list[dict[str, Any]] = []
    ret_ids: list[str] = []
    for r in _as_list(ret):
        if r.get("message_type") == "tool_return_message":
            returns.extend(tool_returns_of(r))
            if r.get("id"):
                ret_ids.append(str(r["id"]))
        else:
            returns.append(r)
    by_id: dict[Any, list[dict[str, Any]]] = {}
    for r in returns:
        by_id.setdefault(r.get("tool_call_id"), []).append(r)
    env: dict[str, Any] = {}
    cards = []
    for one in calls:
        mine = by_id.pop(one.get("tool_call_id"), None)
        if mine is None and len(calls) == 1:
            mine = returns  # a lone call: accept a return whose id was not recorded
        cards.append(_tool_call_card(one, mine or [], env, open_=False))
    first = calls[0].get("tool_call_id") if calls else None
    return (
        _open(
            cm,
            "tool_call_message",
            "lw-msg--tool_exchange",
            tool_call_id=first,
            return_id=" ".join(ret_ids) or None,
        )
        + "".join(cards)
        + "</div>"
    )


def render_messages(messages: Iterable[Any], pair_tools: bool = True) -> list[str]:
    """Render a sequence of messages, in order, one HTML card each.

    With *pair_tools*, each ``tool_call_message`` whose returns are all in *messages*
    becomes one :func:`render_tool_exchange` card (carrying ``data-return-id``), and those
    ``tool_return_message``s are not rendered again. ``ping``/``usage_statistics`` give no card.
    """
    ms = [as_dict(m) for m in messages]
    if not pair_tools:
        return [h for h in (render_message(m) for m in ms) if h]
    ret_by_call: dict[Any, int] = {}
    for i, m in enumerate(ms):
        if m.get("message_type") == "tool_return_message":
            for r in tool_returns_of(m):
                if r.get("tool_call_id"):
                    ret_by_call[r["tool_call_id"]] = i
    consumed: set[int] = set()
    out: list[str] = []
    for i, m in enumerate(ms):
        if i in consumed:
            continue
        if m.get("message_type") == "tool_call_message":
            ids = [c.get("tool_call_id") for c in tool_calls_of(m)]
            idx = [ret_by_call.get(cid) for cid in ids]
            if ids and all(j is not None for j in idx):
                rets = sorted({j for j in idx if j is not None})
                consumed.update(rets)
                out.append(render_tool_exchange(m, [ms[j] for j in rets]))
                continue
        h = render_message(m)
        if h:
            out.append(h)
    return out


def _num(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _fmt_int(v: Any) -> str:
    try:
        return f"{int(v):,}"
    except (TypeError, ValueError):
        return text(v)


def render_usage(
    usage: Any = None,
    *,
    ttft_s: float | None = None,
    total_s: float | None = None,
    stop_reason: str | None = None,
) -> str:
    """A one-line ``<div class="lw-usage">`` summary of a turn: tokens, steps, timing, stop.

    *usage* is a ``usage_statistics`` chunk (SDK model or dict) or None; ``ttft_s``,
    ``total_s`` and ``stop_reason`` may also be keys of that dict (keywords win).
    """
    u = as_dict(usage) if usage is not None else {}
    ttft_s = ttft_s if ttft_s is not None else _num(u.get("ttft_s"))
    total_s = total_s if total_s is not None else _num(u.get("total_s"))
    stop_reason = stop_reason or u.get("stop_reason")
    if isinstance(stop_reason, Mapping):  # a whole LettaStopReason chunk
        stop_reason = stop_reason.get("stop_reason")
    items = []
    total = u.get("total_tokens")
    if total is not None:
        detail = []
        if u.get("prompt_tokens") is not None:
            detail.append(f"{_fmt_int(u['prompt_tokens'])} in")
        if u.get("completion_tokens") is not None:
            detail.append(f"{_fmt_int(u['completion_tokens'])} out")
        if u.get("reasoning_tokens"):
            detail.append(f"{_fmt_int(u['reasoning_tokens'])} reasoning")
        if u.get("cached_input_tokens"):
            detail.append(f"{_fmt_int(u['cached_input_tokens'])} cached")
        d = f" ({', '.join(detail)})" if detail else ""
        items.append(("tokens", f"{_fmt_int(total)} tokens{d}"))
    steps = u.get("step_count")
    if steps is not None:
        items.append(("steps", f"{_fmt_int(steps)} step{'' if steps == 1 else 's'}"))
    if ttft_s is not None:
        items.append(("ttft", f"first token {ttft_s:.2f} s"))
    if total_s is not None:
        items.append(("time", f"{total_s:.2f} s"))
    if stop_reason:
        items.append(("stop", str(stop_reason)))
    spans = '<span class="lw-usage__sep"> · </span>'.join(
        f'<span class="lw-usage__{k}">{text(v)}</span>' for k, v in items
    )
    return f'<div class="lw-usage">{spans}</div>'
