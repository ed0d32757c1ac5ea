"""CompareView's ``text/html`` fallback: the newest rounds as a table (module
:mod:`letta_widgets.widgets.saved` says when it is written)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from letta_widgets.widgets.compare.rounds import Round

__all__ = ["MAX_ROUNDS", "rounds_html"]

MAX_ROUNDS = 20
"""The newest rounds a fallback shows."""

_TEXT_CHARS = 4000


def _cell_text(text: str | None, error: BaseException | None) -> str:
    if error is not None:
        return f"<em>error: {html.escape(str(error))}</em>"
    shown = text or ""
    if len(shown) > _TEXT_CHARS:
        shown = shown[:_TEXT_CHARS] + "…"
    return f"<pre>{html.escape(shown)}</pre>"


def rounds_html(rounds: Sequence[Round], limit: int = MAX_ROUNDS) -> tuple[str, int]:
    """The newest ``limit`` rounds (prompt, each column's answer as it is shown, the vote;
    a blind round not yet voted on keeps its "Response n" names), and how many were left out."""
    if not rounds:
        return '<p class="lw-saved-note">No rounds yet.</p>', 0
    left_out = max(0, len(rounds) - limit)
    rows = []
    for rnd in rounds[left_out:]:
        cells = rnd.shown()
        answers = "".join(
            f'<td><div class="lw-label">{html.escape(name)}</div>'
            f"{_cell_text(cell.text, cell.error)}</td>"
            for cell, name in cells
        )
        vote = html.escape(rnd.vote) if rnd.vote else "—"
        rows.append(
            f"<tr><td><pre>{html.escape(rnd.prompt)}</pre></td>{answers}<td>{vote}</td></tr>"
        )
    width = max(len(r.shown()) for r in rounds[left_out:])
    head = "<tr><th>Prompt</th>" + "<th>Answer</th>" * width + "<th>Vote</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>", left_out
