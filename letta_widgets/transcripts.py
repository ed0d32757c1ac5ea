"""A conversation as a file to share: Markdown, or one self-contained HTML page.

:func:`export_transcript` reads every message of a conversation (as ``messages_frame`` does:
raw JSON, no SDK objects) and writes it out. The HTML is the cards the widgets show, from the
one renderer (sanitized), with the stylesheet inlined and JupyterLab's theme variables given
values for light and dark (the reader's ``prefers-color-scheme``); it has no script and a
Content-Security-Policy that forbids every request, so it opens anywhere, offline, and shows
the same thing every time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from letta_client import AsyncLetta, Letta

from letta_widgets.letta.messages import MESSAGE_TYPES, as_dict, text_of, tool_calls_of

__all__ = [
    "THEME_CSS",
    "export_transcript",
    "render_transcript",
    "transcript_download",
    "transcript_format",
    "transcript_html",
    "transcript_markdown",
]

Format = Literal["md", "html"]

_LIGHT = {
    "--jp-layout-color0": "#ffffff", "--jp-layout-color1": "#ffffff",
    "--jp-layout-color2": "#eeeeee", "--jp-border-color1": "#bdbdbd",
    "--jp-border-color2": "#e0e0e0", "--jp-brand-color1": "#1976d2",
    "--jp-content-font-color0": "#000000", "--jp-content-font-color1": "#212121",
    "--jp-content-font-color2": "#616161", "--jp-content-link-color": "#1976d2",
    "--jp-ui-font-color1": "#212121", "--jp-ui-font-color2": "#616161",
    "--jp-ui-font-color3": "#9e9e9e", "--jp-cell-editor-background": "#f5f5f5",
    "--jp-error-color1": "#d32f2f", "--jp-warn-color1": "#f57c00",
    "--jp-success-color1": "#388e3c", "--jp-rendermime-error-background": "#fdd",
    "--jp-mirror-editor-keyword-color": "#008000", "--jp-mirror-editor-string-color": "#ba2121",
    "--jp-mirror-editor-number-color": "#080", "--jp-mirror-editor-comment-color": "#408080",
    "--jp-mirror-editor-def-color": "#00f", "--jp-mirror-editor-variable-2-color": "#05a",
}  # fmt: skip
_DARK = {
    "--jp-layout-color0": "#111111", "--jp-layout-color1": "#212121",
    "--jp-layout-color2": "#424242", "--jp-border-color1": "#616161",
    "--jp-border-color2": "#424242", "--jp-brand-color1": "#64b5f6",
    "--jp-content-font-color0": "#ffffff", "--jp-content-font-color1": "#e0e0e0",
    "--jp-content-font-color2": "#bdbdbd", "--jp-content-link-color": "#90caf9",
    "--jp-ui-font-color1": "#e0e0e0", "--jp-ui-font-color2": "#bdbdbd",
    "--jp-ui-font-color3": "#9e9e9e", "--jp-cell-editor-background": "#2b2b2b",
    "--jp-error-color1": "#ef9a9a", "--jp-warn-color1": "#ffcc80",
    "--jp-success-color1": "#a5d6a7", "--jp-rendermime-error-background": "#4a2020",
    "--jp-mirror-editor-keyword-color": "#90caf9", "--jp-mirror-editor-string-color": "#ffab91",
    "--jp-mirror-editor-number-color": "#a5d6a7", "--jp-mirror-editor-comment-color": "#9e9e9e",
    "--jp-mirror-editor-def-color": "#80cbc4", "--jp-mirror-editor-variable-2-color": "#b39ddb",
}  # fmt: skip


def _vars(values: Mapping[str, str]) -> str:
    return "".join(f"{k}:{v};" for k, v in values.items())


THEME_CSS = (
    ":root{color-scheme:light dark;--jp-ui-font-family:system-ui,sans-serif;"
    "--jp-content-font-family:system-ui,sans-serif;--jp-code-font-family:ui-monospace,monospace;"
    "--jp-code-font-size:13px;--jp-code-line-height:1.4;--jp-content-font-size1:14px;"
    "--jp-content-line-height:1.5;--jp-ui-font-size0:11px;--jp-ui-font-size1:13px;"
    + _vars(_LIGHT)
    + "}@media (prefers-color-scheme: dark){:root{"
    + _vars(_DARK)
    + "}}body{margin:0 auto;max-width:56rem;padding:1.5rem;"
    "background:var(--jp-layout-color0);color:var(--jp-content-font-color1);"
    "font-family:var(--jp-content-font-family)}header.lw-export{margin-bottom:1rem;"
    "color:var(--jp-ui-font-color2);font-size:var(--jp-ui-font-size1)}"
    "header.lw-export h1{font-size:1.25rem;color:var(--jp-content-font-color0);margin:0 0 .25rem}"
)
"""What JupyterLab's theme provides to the cards, for a page outside JupyterLab (light and
dark by the reader's preference)."""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


def transcript_html(messages: Iterable[Any], *, title: str, subtitle: str = "") -> str:
    """The messages as one self-contained HTML page (sanitized cards, inlined CSS, no script)."""
    from letta_widgets.render import CSS_PATH, render_messages

    cards = "\n".join(render_messages(list(messages)))
    css = CSS_PATH.read_text(encoding="utf-8")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{html.escape(title)}</title><style>{THEME_CSS}\n{css}</style></head>"
        f'<body><header class="lw-export"><h1>{html.escape(title)}</h1>'
        f"<div>{html.escape(subtitle)}</div></header>"
        f'<main class="lw-root lw-transcript">\n{cards}\n</main></body></html>\n'
    )


def transcript_markdown(messages: Iterable[Any], *, title: str, subtitle: str = "") -> str:
    """The messages as Markdown: one section per message; tool calls and returns fenced."""
    out = [f"# {title}", ""]
    if subtitle:
        out += [f"_{subtitle}_", ""]
    for raw in messages:
        m = as_dict(raw)
        mtype = str(m.get("message_type") or "message")
        known = MESSAGE_TYPES.get(mtype)
        if known is not None and known.kind == "stream":
            continue
        label = known.label if known is not None else mtype
        when = str(m.get("date") or "")[:19].replace("T", " ")
        out.append(f"### {label}" + (f" · {when}" if when else ""))
        out.append("")
        if known is not None and known.calls:
            for call in tool_calls_of(m):
                out.append(f"`{call.get('name')}`")
                out += ["```json", _pretty(call.get("arguments")), "```"]
        elif mtype == "tool_return_message":
            out += ["```", text_of(m), "```"]
        else:
            text = text_of(m)
            out.append(
                f"> {text}".replace("\n", "\n> ") if known and known.kind == "step" else text
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _pretty(arguments: Any) -> str:
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(arguments)


def transcript_format(name: str) -> Format:
    """``"md"`` or ``"html"`` for a format name or a file suffix (``.markdown``, ``htm``…);
    ``ValueError`` for anything else."""
    kind = name.lstrip(".").lower()
    kind = {"markdown": "md", "htm": "html"}.get(kind, kind)
    if kind not in ("md", "html"):
        raise ValueError(f"transcripts are .md or .html, not {name!r}")
    return kind  # type: ignore[return-value]


def render_transcript(
    client: Letta | AsyncLetta,
    conversation_id: str,
    format: Format,
    *,
    agent_id: str | None = None,
    title: str | None = None,
) -> str:
    """A conversation as Markdown (``"md"``) or one HTML page (``"html"``), as a string.

    ``agent_id`` is needed for ``conversation_id="default"``. Raises
    :class:`~letta_widgets.NotFound` for an unknown conversation.
    """
    from letta_widgets.frames import messages_frame

    frame = messages_frame(client, conversation_id, agent_id=agent_id, include_raw=True)
    messages = list(dict(_keys(frame)).values())
    head = title or f"Conversation {conversation_id}"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"{len(messages)} messages · exported {stamp}"
    if format == "md":
        return transcript_markdown(messages, title=head, subtitle=subtitle)
    return transcript_html(messages, title=head, subtitle=subtitle)


def export_transcript(
    client: Letta | AsyncLetta,
    conversation_id: str,
    path: str | Path,
    *,
    agent_id: str | None = None,
    format: Format | None = None,
    title: str | None = None,
) -> Path:
    """Write a conversation to ``path`` as Markdown (``.md``) or one HTML page (``.html``).

    ``format`` overrides the suffix. ``agent_id`` is needed for ``conversation_id="default"``.
    Returns the path written. Raises :class:`~letta_widgets.NotFound` for an unknown
    conversation, ``ValueError`` for a format it does not write.
    """
    target = Path(path)
    kind = transcript_format(format or target.suffix or target.name)
    text = render_transcript(client, conversation_id, kind, agent_id=agent_id, title=title)
    target.write_text(text, encoding="utf-8")
    return target


async def transcript_download(
    client: Letta | AsyncLetta,
    conversation_id: str,
    format: str,
    *,
    agent_id: str | None = None,
    title: str | None = None,
) -> dict[str, str]:
    """What a widget's Export button downloads: ``{"filename", "mime", "text"}`` (the
    transcript read in a worker thread, so the widget's loop stays free)."""
    kind = transcript_format(str(format))
    text = await asyncio.to_thread(
        render_transcript, client, conversation_id, kind, agent_id=agent_id, title=title
    )
    mime = "text/markdown" if kind == "md" else "text/html"
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in conversation_id)[:60]
    return {"filename": f"{stem or 'conversation'}.{kind}", "mime": mime, "text": text}


def _keys(frame: Any) -> Iterable[tuple[tuple[str, str], dict[str, Any]]]:
    """(id, type) -> the message, in thread order (a multi-call message is one entry)."""
    for mid, mtype, raw in zip(frame["id"], frame["message_type"], frame["raw"], strict=True):
        yield (str(mid), str(mtype)), raw
