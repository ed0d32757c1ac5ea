"""The one renderer: every Letta message -> a safe HTML fragment.

Used by ChatCell, ConversationBrowser and CompareView alike, so a message looks the same
everywhere. Input is a message as the SDK returns it (a pydantic model) or as a plain dict
(``model.model_dump(mode="json")``, a row of a messages frame, a devserver payload).

Everything the agent or the user wrote is treated as hostile. The pipeline is
markdown-it-py (CommonMark + tables + strikethrough, ``html=False`` so raw HTML in a
message is shown as text, links restricted to absolute ``http``/``https``/``mailto``,
images turned into links so nothing remote is ever loaded) -> Pygments for fenced code
(class-based spans styled by ``static/messages.css`` through JupyterLab ``--jp-*``
variables; unknown languages stay plain) -> nh3 with an explicit allowlist as the last
step (no ``script``/``style``/``iframe``/``object``/``embed``/``svg``/``math``/``form``,
no ``on*`` or ``style`` attributes except ``text-align`` on table cells, no non-http(s)
URLs, links get ``rel="noopener noreferrer nofollow" target="_blank"``).

Why these libraries: **markdown-it-py** is the CommonMark-compliant parser the Jupyter
ecosystem already builds on (MyST/Jupyter Book, jupytext, mdformat), pure Python with a
single small dependency (mdurl), with a per-token renderer we can override (fences, images) and a
``validateLink`` hook; python-markdown and mistune are not CommonMark-exact and mistune's
plugin API has churned across majors. **Pygments** is the de-facto Python highlighter
(nbconvert and IPython already depend on it), covers ~500 languages, and emits stable
short token classes we can theme with CSS instead of inline colours, so light and dark
JupyterLab themes both work. **nh3** binds ammonia, the Rust sanitizer built on the
html5ever browser-grade parser: allowlist-only, maintained, about 20x faster than the
deprecated bleach it replaces (nh3's own benchmark), with per-tag class and URL-scheme
allowlists; a parser-based sanitizer as the final
step means a bug upstream (markdown or highlighting) still cannot emit markup outside
the allowlist.

Huge text is bounded: at most :data:`MARKDOWN_LIMIT` characters (and a weighted budget of
markdown-syntax characters) are parsed as markdown, at most :data:`HIGHLIGHT_BUDGET`
characters highlighted, and the rest of a message is shown escaped in a closed
``<details class="lw-truncated">`` "show all (N KB)" block; a 1 MB message renders in a
few tens of milliseconds and markdown bombs (10,000 nested ``>`` or ``[``) stay linear.

Public API: :func:`render_message`, :func:`render_messages`, :func:`render_tool_exchange`,
:func:`render_markdown`, :func:`render_usage`, :func:`message_text`, and :data:`CSS_PATH`
(the stylesheet the widgets include; every rule is scoped under ``.lw-root``).
"""

from __future__ import annotations

from pathlib import Path

from letta_widgets.letta.messages import as_dict
from letta_widgets.letta.messages import text_of as message_text
from letta_widgets.render._cards import (
    compaction_label,
    compaction_summary,
    render_message,
    render_messages,
    render_tool_exchange,
    render_usage,
)
from letta_widgets.render._markdown import (
    HIGHLIGHT_BUDGET,
    MARKDOWN_LIMIT,
    PLAIN_LIMIT,
    markdown_html,
)

#: The stylesheet for rendered messages (scoped under ``.lw-root``; ``--jp-*`` variables).
CSS_PATH: Path = Path(__file__).resolve().parent.parent / "static" / "messages.css"

__all__ = [
    "CSS_PATH",
    "HIGHLIGHT_BUDGET",
    "MARKDOWN_LIMIT",
    "PLAIN_LIMIT",
    "as_dict",
    "compaction_label",
    "compaction_summary",
    "message_text",
    "render_markdown",
    "render_message",
    "render_messages",
    "render_tool_exchange",
    "render_usage",
]


def render_markdown(text: str) -> str:
    """Render untrusted markdown to a sanitized ``<div class="lw-md">`` fragment.

    Raw HTML is shown as text; code fences are highlighted; only http(s)/mailto links
    survive; text past :data:`MARKDOWN_LIMIT` (or the cost budget) is shown plain under a
    collapsed "show all" block.
    """
    return f'<div class="lw-md">{markdown_html(text or "")}</div>'
