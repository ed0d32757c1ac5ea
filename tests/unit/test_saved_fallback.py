"""The text/html fallback a widget's output carries (letta_widgets.widgets.saved)."""

from __future__ import annotations

import re

from letta_widgets.widgets.compare.fallback import rounds_html
from letta_widgets.widgets.compare.rounds import Cell, Round
from letta_widgets.widgets.saved import MAX_ITEMS, fallback_html, items_html, plain_block

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_untrusted_text_is_escaped_everywhere() -> None:
    page = fallback_html(HOSTILE, [HOSTILE], plain_block(HOSTILE, HOSTILE), note=HOSTILE)
    assert "<script>alert" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") == 6  # aria-label, title, facts, label, text, note
    assert "<style>" in page and not re.search(r"<script|\son\w+=\"", page)


def test_items_keep_the_newest_leave_out_images_and_pending() -> None:
    items = [{"key": str(i), "html": f'<div class="lw-msg">m{i}</div>'} for i in range(250)]
    items.append({"key": "live", "html": "<div>streaming</div>", "pending": True})
    items.append({"key": "img", "html": '<div><img src="data:image/png;base64,AAAA"></div>'})
    body, left_out = items_html(items)
    assert left_out == 251 - MAX_ITEMS
    assert "m0<" not in body and "m249<" in body and "streaming" not in body
    assert "data:image" not in body and "[image]" in body


def test_rounds_show_answers_as_shown_and_a_blind_round_hides_its_labels() -> None:
    blind = Round("p1", 0, "Which <b>is</b> better?", blind=True, order=[1, 0])
    blind._cells = [Cell("gpt", text="answer one"), Cell("claude", text="answer two")]
    voted = Round("p2", 1, "second", vote="gpt")
    voted._cells = [Cell("gpt", text="a"), Cell("claude", error=RuntimeError("<boom>"))]
    body, left_out = rounds_html([blind, voted])
    assert left_out == 0
    first_row = body.split("<tr>")[2]
    assert "Response 1" in first_row and "answer two" in first_row.split("Response 2")[0]
    assert "gpt" not in first_row and "claude" not in first_row
    assert "&lt;b&gt;is&lt;/b&gt;" in body and "error: &lt;boom&gt;" in body
    assert rounds_html([])[0].count("No rounds yet") == 1
