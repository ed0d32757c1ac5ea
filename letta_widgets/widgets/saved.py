"""What a widget leaves in a notebook for front-ends that cannot run it.

A widget's output carries, besides the widget view, a ``text/html`` fallback: the transcript
(or the widget's facts) as sanitized HTML with a small scoped stylesheet and no script.
JupyterLab, Notebook 7, Voila and VS Code show the widget; a page that cannot load widgets
(nbconvert or nbviewer without saved widget state, GitHub's notebook preview) shows the
fallback instead of an empty box.

The fallback is written when the widget is displayed, and rewritten (``update_display``)
whenever the transcript settles *as long as no view has rendered*: headless runs (nbclient,
papermill) save the last transcript. Once a front-end shows the widget it is never rewritten,
because JupyterLab answers an updated output by building a second view of the widget (the
first is not disposed, a draft being typed is lost); there the saved widget state carries the
last transcript instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["MAX_ITEMS", "SAVED_CSS", "fallback_html", "items_html", "plain_block"]

MAX_ITEMS = 200
"""At most this many transcript items in a fallback (the newest): a saved notebook stays small."""

# Scoped to the fallback; JupyterLab's theme variables when they exist, light colours else.
SAVED_CSS = (
    ".lw-saved{font-family:var(--jp-content-font-family,system-ui,sans-serif);"
    "font-size:var(--jp-content-font-size1,14px);line-height:1.5;"
    "color:var(--jp-content-font-color1,#212121);"
    "border:1px solid var(--jp-border-color2,#e0e0e0);border-radius:6px;padding:.5rem .75rem;"
    "max-height:36rem;overflow:auto}"
    ".lw-saved-head{font-weight:600;margin:0 0 .25rem}"
    ".lw-saved-facts{color:var(--jp-ui-font-color2,#616161);font-size:.9em;margin:0 0 .5rem}"
    ".lw-saved-note{color:var(--jp-ui-font-color2,#616161);font-size:.85em;margin:.5rem 0 0}"
    ".lw-saved .lw-card,.lw-saved .lw-msg{border-top:1px solid var(--jp-border-color2,#e0e0e0);"
    "padding:.35rem 0}"
    ".lw-saved pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0}"
    ".lw-saved details{margin:.25rem 0}"
    ".lw-saved .lw-card-head,.lw-saved .lw-label{font-weight:600}"
    ".lw-saved table{border-collapse:collapse}"
    ".lw-saved td,.lw-saved th{border:1px solid var(--jp-border-color2,#e0e0e0);"
    "padding:.15rem .4rem;text-align:left!important;vertical-align:top}"
    ".lw-saved time{margin-left:.5em;color:var(--jp-ui-font-color2,#616161);font-weight:400}"
)
"""The fallback's stylesheet (scoped to ``.lw-saved``; readable without it too)."""

_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)


def _without_images(fragment: str) -> str:
    """Inline images out of a sanitized fragment (a saved notebook stays small)."""
    return _IMAGE.sub('<span class="lw-saved-image">[image]</span>', fragment)


def items_html(items: Sequence[Mapping[str, Any]], limit: int = MAX_ITEMS) -> tuple[str, int]:
    """The newest ``limit`` transcript items' sanitized HTML (images left out), and how many
    older ones were left out."""
    shown = [i for i in items if i.get("html") and not i.get("pending")]
    left_out = max(0, len(shown) - limit)
    body = "\n".join(_without_images(str(i["html"])) for i in shown[left_out:])
    return body, left_out


def plain_block(label: str, text: str) -> str:
    """One labelled block of untrusted text, escaped (``<pre>`` keeps its lines)."""
    return (
        f'<div class="lw-msg"><div class="lw-label">{html.escape(label)}</div>'
        f"<pre>{html.escape(text)}</pre></div>"
    )


def fallback_html(
    title: str, facts: Iterable[str], body: str, *, note: str, left_out: int = 0
) -> str:
    """The ``text/html`` fallback: a heading, a line of facts (escaped), the body (already
    sanitized HTML) and a note on how to get the live widget."""
    fact_line = " · ".join(html.escape(f) for f in facts if f)
    older = (
        f'<p class="lw-saved-note">{left_out} earlier item{"s" if left_out != 1 else ""} '
        "not shown.</p>"
        if left_out
        else ""
    )
    return (
        f'<div class="lw-saved" role="region" aria-label="{html.escape(title)}">'
        f"<style>{SAVED_CSS}</style>"
        f'<p class="lw-saved-head">{html.escape(title)}</p>'
        + (f'<p class="lw-saved-facts">{fact_line}</p>' if fact_line else "")
        + older
        + body
        + f'<p class="lw-saved-note">{html.escape(note)}</p></div>'
    )
