"""Markdown (markdown-it-py) and code highlighting (Pygments), bounded in cost.

Markdown-it-py is linear but slow per special character: 64 KiB of ``![`` takes ~430 ms.
So a message is parsed as markdown only up to :data:`MARKDOWN_LIMIT` characters *and* a
cost budget (:data:`MARKDOWN_BUDGET`: a cost per line, more for list items and headings,
plus weighted counts of the characters that start inline constructs, calibrated so the
worst case stays near 60 ms); whatever lies beyond is shown as escaped preformatted text
inside a closed ``<details class="lw-truncated">``. Highlighting has its own per-message budget
(:data:`HIGHLIGHT_BUDGET` characters); code beyond it is shown plain.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight as _pyg_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_all_lexers, get_lexer_by_name
from pygments.util import ClassNotFound

from letta_widgets.render._sanitize import attr, clean, text

#: Characters of a message rendered as markdown at most; the rest goes to "show all".
MARKDOWN_LIMIT = 32 * 1024
#: Weighted cost of inline-syntax characters allowed in the markdown part (~5 µs a unit).
MARKDOWN_BUDGET = 10_000
#: Characters of code highlighted per message at most (Pygments: ~1.8 µs a character).
HIGHLIGHT_BUDGET = 16 * 1024
_HIGHLIGHT_CALL_COST = 64  # fixed cost of one Pygments call, in characters
#: Plain (preformatted) text longer than this is truncated with "show all".
PLAIN_LIMIT = 64 * 1024
#: Nesting depth markdown-it may reach; a deeper document is shown as plain text.
MAX_NESTING = 20

_WEIGHTS = {"[": 3, "]": 1, "!": 5, "(": 2, "*": 2, "_": 3, "~": 2, "|": 2, "`": 1, "<": 1, "&": 2}
_LINE_COST = 4
_LIST_ITEM_COST = 6
_HEADING_COST = 2
_LIST_MARKS = ("- ", "* ", "+ ", "-", "*", "+")
_OL_MARKS = (". ", ") ", ".", ")")
_FENCE_WEIGHT_DIVISOR = 8  # fenced code is cheap for markdown-it (no inline parsing)
_ALLOWED_LINK_PREFIXES = ("http://", "https://", "mailto:")


def _validate_link(url: str) -> bool:
    # Absolute http(s)/mailto only: no javascript:, data:, vbscript:, file:, relative or
    # protocol-relative URLs. markdown-it has decoded entities and percent-normalized by now.
    u = url.strip().lower()
    return u.startswith(_ALLOWED_LINK_PREFIXES)


@lru_cache(maxsize=1)
def _aliases() -> frozenset[str]:
    # Every alias Pygments knows, read once: an unknown fence language is then a set miss,
    # not a ~1 ms scan of lexers and plugins (a message can hold thousands of fences).
    return frozenset(
        a.lower() for _, aliases, _, _ in get_all_lexers(plugins=False) for a in aliases
    )


@lru_cache(maxsize=128)
def _lexer(lang: str) -> Lexer | None:
    if lang not in _aliases():
        return None
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except (ClassNotFound, ValueError):
        return None


_FORMATTER = HtmlFormatter(nowrap=True)


def _plain_pre(code: str, cls: str = "lw-code") -> str:
    return f'<pre class="{cls}"><code>{text(code)}</code></pre>'


def code_block(code: str, lang: str | None, env: dict[str, Any] | None = None) -> str:
    """Return a ``<pre class="lw-code">`` block, highlighted if *lang* is known and in budget.

    The result is sanitized (nh3) when highlighted, escaped otherwise.
    """
    env = env if env is not None else {}
    budget = env.get("hl_budget", HIGHLIGHT_BUDGET)
    name = (lang or "").strip().split(None, 1)[0].lower()[:40] if lang and lang.strip() else ""
    lexer = _lexer(name) if name else None
    cost = len(code) + _HIGHLIGHT_CALL_COST
    if lexer is None or cost > budget:
        return _plain_pre(code)
    env["hl_budget"] = budget - cost
    out = f'<pre class="lw-code"><code>{_pyg_highlight(code, lexer, _FORMATTER)}</code></pre>'
    # Inside markdown the whole document is cleaned once at the end; standalone, here.
    return out if env.get("in_markdown") else clean(out)


def json_block(value: Any, env: dict[str, Any] | None = None) -> str:
    """Pretty-print *value* (a JSON string or any JSON-able object) as a highlighted block.

    A string that is not valid JSON is shown as it is, escaped.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return plain_block(value, cls="lw-code")
    try:
        pretty = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        pretty = str(value)
    if len(pretty) > PLAIN_LIMIT:
        return plain_block(pretty, cls="lw-code")
    return code_block(pretty, "json", env)


def _kb(s: str) -> str:
    n = len(s.encode("utf-8", "surrogatepass"))
    return f"{n / 1024:,.0f} KB" if n >= 10 * 1024 else f"{n / 1024:,.1f} KB"


def truncated_tail(rest: str, whole: str) -> str:
    """The collapsed "show all" block holding *rest* of *whole* as escaped plain text."""
    return (
        f'<details class="lw-truncated"><summary>show all ({_kb(whole)})</summary>'
        f'<pre class="lw-plain">{text(rest)}</pre></details>'
    )


def plain_block(s: str, cls: str = "lw-plain", limit: int = PLAIN_LIMIT) -> str:
    """Escaped preformatted text, truncated with a "show all" block past *limit*."""
    if len(s) <= limit:
        return f'<pre class="{cls}">{text(s)}</pre>'
    cut = _nice_cut(s, limit)
    return f'<pre class="{cls}">{text(s[:cut])}</pre>' + truncated_tail(s[cut:], s)


def _nice_cut(s: str, limit: int) -> int:
    """Cut position <= *limit*, on a paragraph or line boundary when one is near."""
    if len(s) <= limit:
        return len(s)
    floor = limit * 3 // 4
    for sep in ("\n\n", "\n"):
        i = s.rfind(sep, floor, limit)
        if i > 0:
            return i + len(sep)
    return limit


def _line_cost(line: str) -> int:
    c = _LINE_COST
    for ch, w in _WEIGHTS.items():
        k = line.count(ch)
        if k:
            c += k * w
    head = line.lstrip(" >")
    if head[:2] in _LIST_MARKS or (
        head[:1].isdigit() and head.lstrip("0123456789")[:2] in _OL_MARKS
    ):
        c += _LIST_ITEM_COST
    elif head[:1] == "#":
        c += _HEADING_COST
    return c


def markdown_split(s: str) -> int:
    """How many leading characters of *s* to render as markdown (size and cost bounded).

    The cost model is calibrated on markdown-it-py 4 (one unit is ~5 µs): a base cost per
    line (block rules run per line; list items and headings cost more) plus weights for the
    characters that start inline constructs. Fenced code counts 1/8 (no inline parsing).
    """
    end = _nice_cut(s, MARKDOWN_LIMIT)
    window = s[:end]
    quick = (window.count("\n") + 1) * (_LINE_COST + _LIST_ITEM_COST) + sum(
        window.count(ch) * w for ch, w in _WEIGHTS.items()
    )
    if quick <= MARKDOWN_BUDGET:  # an upper bound of the real cost: no line scan needed
        return end
    cost = 0
    pos = 0
    in_fence = False
    for line in window.split("\n"):
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) <= 3 and stripped[:3] in ("```", "~~~"):
            in_fence = not in_fence
        c = _line_cost(line)
        if in_fence:
            c //= _FENCE_WEIGHT_DIVISOR
        if cost + c > MARKDOWN_BUDGET:
            if c > MARKDOWN_BUDGET // 4:
                # One huge line: cut inside it, proportionally to its cost.
                pos += len(line) * (MARKDOWN_BUDGET - cost) // c
            return min(pos, end)
        cost += c
        pos += len(line) + 1
    return end


def image_link(url: str, label: str) -> str:
    """An image that is never loaded: a link ``[image: label]`` to an http(s) URL, or the
    bare label for any other URL (to be sanitized with the rest of the fragment)."""
    shown = f"[image: {text(label)}]"
    if url and _validate_link(url):
        return f'<a href="{attr(url)}" class="lw-image-link">{shown}</a>'
    return shown


def _make_md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _validate_link  # type: ignore[method-assign]

    def fence(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        tok = tokens[idx]
        return code_block(tok.content, tok.info, env)

    def code_indented(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        return _plain_pre(tokens[idx].content)

    def image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        # Never load images from agent text (tracking pixels, remote content): a link instead.
        tok = tokens[idx]
        alt = self.renderInlineAsText(tok.children or [], options, env) or "image"
        return image_link(str(tok.attrGet("src") or ""), alt)

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", code_indented)
    md.add_render_rule("image", image)
    return md


_MD = _make_md()


def markdown_html(s: str) -> str:
    """Markdown -> sanitized HTML (no wrapper), with the over-budget tail as plain text."""
    cut = markdown_split(s)
    head, rest = s[:cut], s[cut:]
    env: dict[str, Any] = {"hl_budget": HIGHLIGHT_BUDGET, "in_markdown": True}
    try:
        tokens = _MD.parse(head, env)
        if any(t.level >= MAX_NESTING - 2 for t in tokens):
            body = _plain_pre(head, "lw-plain")  # a nesting bomb: markdown would drop text
        else:
            body = clean(_MD.renderer.render(tokens, _MD.options, env))
    except (RecursionError, ValueError, IndexError):
        body = _plain_pre(head, "lw-plain")
    if rest:
        body += truncated_tail(rest, s)
    return body
