"""The last step for every piece of HTML built from untrusted text: an nh3 allowlist.

Markdown-it and Pygments output is passed through :func:`clean` before it is put into a
card. Card shells are built by this package with :func:`attr` / :func:`text` escaping, and
large plain-text regions are ``html.escape``-d (escaped text cannot contain markup; running
a parser over a megabyte of ``&lt;`` costs ~200 ms for nothing).
"""

from __future__ import annotations

import html
import re

import nh3
from pygments.token import STANDARD_TYPES

# Tags markdown-it (commonmark + tables + strikethrough) and the code renderer can emit.
# Deliberately absent: img (never load remote URLs; an attached image has a cleaner of its
# own, below), script, style, iframe, object, embed, svg, math, form, input, button,
# textarea, select, link, meta, base, video, audio.
TAGS: frozenset[str] = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td",
        "th", "thead", "tr", "ul",
    }
)  # fmt: skip

ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}

#: Pygments short token classes (``k``, ``s2``, ...) as emitted by ``HtmlFormatter``.
TOKEN_CLASSES: frozenset[str] = frozenset(c for c in STANDARD_TYPES.values() if c)

CLASSES: dict[str, set[str]] = {
    "span": set(TOKEN_CLASSES),
    "pre": {"lw-code", "lw-plain"},
    "code": set(),
    "a": {"lw-image-link"},
}

#: Only these URL schemes survive in ``href``; relative URLs are dropped as well.
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags={"script", "style"},
    attributes=ATTRIBUTES,
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=set(URL_SCHEMES),
    allowed_classes=CLASSES,
    filter_style_properties={"text-align"},
    url_relative="deny",
    strip_comments=True,
)


def clean(fragment: str) -> str:
    """Sanitize an HTML fragment with the renderer's allowlist (nh3/ammonia)."""
    return _CLEANER.clean(fragment)


#: The only image URLs a card may hold: inline base64 data of an accepted kind (no SVG, no
#: remote or relative URL: showing an image never makes a request).
IMAGE_DATA_URL = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")


def _image_src_only(element: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        return value if element == "img" and IMAGE_DATA_URL.fullmatch(value) else None
    return value


_IMAGE_CLEANER = nh3.Cleaner(
    tags={"img"},
    attributes={"img": {"src", "alt"}},
    allowed_classes={"img": {"lw-image"}},
    url_schemes={"data"},
    url_relative="deny",
    attribute_filter=_image_src_only,
    link_rel=None,
    strip_comments=True,
)


def clean_image(fragment: str) -> str:
    """Sanitize an image tag: ``<img class="lw-image" alt>`` whose ``src`` survives only as an
    :data:`IMAGE_DATA_URL`; every other element and attribute is dropped."""
    return _IMAGE_CLEANER.clean(fragment)


def text(value: object) -> str:
    """Escape any value for use as HTML text content."""
    return html.escape(str(value), quote=False)


def attr(value: object) -> str:
    """Escape any value for use inside a double-quoted attribute value."""
    return html.escape(str(value), quote=True)


_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def css_token(value: object, default: str = "unknown") -> str:
    """A value as a safe CSS class suffix (``[a-z][a-z0-9_]*``), else *default*."""
    s = str(value) if value is not None else ""
    return s if _TYPE_RE.fullmatch(s) else default
