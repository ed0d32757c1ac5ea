"""Hostile input through the renderer: nothing executable survives, nothing is pathological.

Every output is parsed with ``html.parser`` and checked element by element: no forbidden
element, no ``on*`` attribute, no URL with a scheme other than http(s)/mailto, no style
other than table-cell text-align.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import pytest

from letta_widgets.render import (
    message_text,
    render_markdown,
    render_message,
    render_messages,
    render_tool_exchange,
    render_usage,
)
from letta_widgets.render._sanitize import clean_image

FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "svg", "math",
    "form", "input", "button", "textarea", "select", "link", "meta", "base", "img",
    "video", "audio", "source", "picture", "applet", "noscript", "template", "portal",
}  # fmt: skip
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "background",
             "poster", "srcset", "cite", "longdesc", "ping", "manifest", "codebase"}  # fmt: skip
SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")
"""The one image a card may show: inline base64 data of an accepted kind, nothing fetched."""
VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "embed"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "img" and _inline_image(dict(attrs)):
            return
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"forbidden element <{tag}>")
        for name, value in attrs:
            v = value or ""
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            if name in URL_ATTRS:
                cleaned = re.sub(r"[\x00-\x20]", "", v)
                if not SAFE_URL.match(cleaned):
                    self.problems.append(f"unsafe URL {name}={v!r} on <{tag}>")
            if name == "style" and not re.fullmatch(r"text-align:\s*(left|right|center);?", v):
                self.problems.append(f"style={v!r} on <{tag}>")
            if name == "srcdoc":
                self.problems.append("srcdoc")
        if tag == "a" and attrs and dict(attrs).get("href"):
            a = dict(attrs)
            rel = set((a.get("rel") or "").split())
            if not {"noopener", "noreferrer", "nofollow"} <= rel or a.get("target") != "_blank":
                self.problems.append(f"link without rel/target: {a}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment survived")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction survived")


def _inline_image(attrs: dict[str, str | None]) -> bool:
    """An ``<img class="lw-image" src="data:image/…;base64,…" alt>`` and nothing more (an
    image without a ``src`` loads nothing either)."""
    src = attrs.get("src")
    return (
        set(attrs) <= {"class", "src", "alt"}
        and attrs.get("class") in (None, "lw-image")
        and (src is None or IMAGE_DATA.fullmatch(src) is not None)
    )


def assert_inert(html: str) -> _Checker:
    """Fail unless *html* is balanced and has nothing that could execute or load."""
    c = _Checker()
    c.feed(html)
    c.close()
    assert not c.problems, c.problems[:5]
    assert not c.stack, f"unclosed elements: {c.stack[-5:]}"
    return c


PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="window.__pwned=1">',
    "[click me](javascript:alert(1))",
    "[click me](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1)  )",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/path)",
    "[x](/lab/tree/secret)",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="jAvAsCrIpT:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<iframe src=https://evil.example></iframe>",
    "<object data=x></object><embed src=x>",
    "<style>body{display:none}</style>",
    "<form action=https://evil.example><input name=q><button>go</button></form>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<div onclick=alert(1)>raw html block</div>\n\nafter",
    "**bold <b onmouseover=alert(1)>x</b>**",
    "![pic](javascript:alert(1))",
    "![pic](data:image/png;base64,iVBORw0KGgo=)",
    "![pic](https://tracker.example/pixel.gif)",
    '![pic](https://x.example/a.png "title" onerror="alert(1)")',
    '[x](https://ok.example/" onmouseover="alert(1))',
    '[x](https://ok.example "\\" onmouseover=\\"alert(1)")',
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '```"><script>alert(1)</script>\ncode\n```',
    "```javascript:alert(1) onload=x\nvar a = 1;\n```",
    "```html\n<script>alert(1)</script><img src=x onerror=alert(1)>\n```",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "<!-- comment --><![CDATA[x]]><?php echo 1 ?>",
    "<details open ontoggle=alert(1)>x</details>",
    "<a href=https://ok.example target=_self rel=opener>x</a>",
    '<p style="position:fixed;top:0">overlay</p>',
    "<base href=https://evil.example/><meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "\u202e<script>alert(1)</script>\x00<img\x00src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_payload_is_inert(payload: str) -> None:
    assert_inert(render_markdown(payload))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_every_field_is_inert(payload: str) -> None:
    p = payload
    args = json.dumps({"q": p, p: [p]})
    msgs = [
        {"id": p, "message_type": "user_message", "content": p, "date": p, "name": p},
        {"id": p, "message_type": "assistant_message", "content": [{"type": "text", "text": p}]},
        {"id": "a", "message_type": "assistant_message", "content": p, "run_id": p, "step_id": p},
        {"id": "r", "message_type": "reasoning_message", "reasoning": p},
        {"id": "h", "message_type": "hidden_reasoning_message", "state": p, "hidden_reasoning": p},
        {
            "id": "t",
            "message_type": "tool_call_message",
            "tool_call": {"name": p, "arguments": args, "tool_call_id": p},
            "tool_calls": [{"name": p, "arguments": p, "tool_call_id": p}],
        },
        {
            "id": "tr",
            "message_type": "tool_return_message",
            "status": p,
            "tool_call_id": p,
            "tool_return": p,
            "stdout": [p],
            "stderr": [p],
            "name": p,
        },
        {
            "id": "tr2",
            "message_type": "tool_return_message",
            "status": "error",
            "tool_call_id": "c",
            "tool_return": args,
            "tool_returns": [
                {"status": "error", "tool_call_id": p, "tool_return": [{"type": "text", "text": p}]}
            ],
        },
        {
            "id": p,
            "message_type": "approval_request_message",
            "tool_call": {"name": p, "arguments": args, "tool_call_id": p},
        },
        {
            "id": "ar",
            "message_type": "approval_response_message",
            "approval_request_id": p,
            "approve": False,
            "reason": p,
            "approvals": [
                {"type": "approval", "approve": True, "tool_call_id": p, "reason": p},
                {"type": "tool", "status": "success", "tool_call_id": p, "tool_return": p},
            ],
        },
        {"id": "s", "message_type": "system_message", "content": p},
        {"id": "su", "message_type": "summary_message", "summary": p},
        {"id": "e", "message_type": "event_message", "event_type": p, "event_data": {p: p}},
        {"message_type": "error_message", "error_type": p, "message": p, "detail": p},
        {"message_type": "stop_reason", "stop_reason": p},
        {"id": p, "message_type": p, "content": p, p: p},
        {"id": "x", "message_type": "totally_new_type", "payload": p},
        {
            "id": "img",
            "message_type": "user_message",
            "content": [
                {"type": "image", "source": {"type": "url", "url": p}},
                {"type": "image", "source": {"type": "url", "url": "javascript:alert(1)"}},
                {"type": "image", "source": {"type": "base64", "data": "AAAA", "media_type": p}},
                {"type": "reasoning", "reasoning": p, "is_native": True},
                {"type": "tool_call", "id": p, "name": p, "input": {"a": p}},
                {"type": "tool_return", "tool_call_id": p, "content": p, "is_error": True},
                {"type": "redacted_reasoning", "data": p},
                {"type": p, "text": p},
            ],
        },
    ]
    for m in msgs:
        html = render_message(m)
        checker = assert_inert(html)
        # The root carries the data attributes, values intact after parsing.
        root_tag, root_attrs = checker.tags[0]
        assert root_tag == "div"
        assert "lw-msg" in (root_attrs.get("class") or "").split()
        if "id" in m:
            assert root_attrs.get("data-id") == m["id"]
        assert root_attrs.get("data-message-type") == m["message_type"]
        message_text(m)  # never raises
    assert_inert(render_tool_exchange(msgs[5], [msgs[6], msgs[7]]))
    for h in render_messages(msgs):
        assert_inert(h)
    assert_inert(render_usage({"total_tokens": p, "step_count": p, "stop_reason": p}))


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown("hello <b>world</b> <script>alert(1)</script>")
    assert "&lt;b&gt;world&lt;/b&gt;" in html
    assert "&lt;script&gt;" in html
    assert "<b>" not in html


def test_safe_links_keep_href_and_get_rel_target() -> None:
    c = assert_inert(render_markdown("[site](https://example.com/a?b=1&c=2) <https://x.example>"))
    links = [a for t, a in c.tags if t == "a"]
    assert [a["href"] for a in links] == ["https://example.com/a?b=1&c=2", "https://x.example"]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in links)
    assert all(a["target"] == "_blank" for a in links)


def test_bad_links_lose_href() -> None:
    for md in ("[x](javascript:alert(1))", "[x](/relative)", "[x](data:text/html,hi)"):
        c = assert_inert(render_markdown(md))
        assert all("href" not in a for t, a in c.tags if t == "a"), md


def test_markdown_images_never_load() -> None:
    c = assert_inert(render_markdown("![cat](https://example.com/cat.png)"))
    assert not [t for t, _ in c.tags if t == "img"]
    html = render_markdown("![cat](https://example.com/cat.png)")
    assert "[image: cat]" in html
    assert 'href="https://example.com/cat.png"' in html


def _user(*parts: dict) -> dict:
    return {
        "id": "u",
        "message_type": "user_message",
        "content": [{"type": "text", "text": "look"}, *parts],
    }


def _images(html: str) -> list[dict[str, str | None]]:
    return [a for t, a in assert_inert(html).tags if t == "img"]


def test_an_attached_image_is_shown_inline_and_its_kind_read_from_the_bytes(images) -> None:
    png = base64.b64encode(images.png()).decode()
    gif = base64.b64encode(images.gif()).decode()
    listed = {"type": "letta", "file_id": "file-1", "media_type": "image/png", "data": png}
    m = _user(
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "image", "source": listed},  # letta 0.16.8 lists attached images so
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": gif}},
    )
    shown = _images(render_message(m))
    assert [a["src"] for a in shown] == [
        f"data:image/png;base64,{png}",
        f"data:image/png;base64,{png}",
        f"data:image/gif;base64,{gif}",  # what the bytes are, whatever media_type says
    ]
    assert {a["alt"] for a in shown} == {"image (PNG)", "image (GIF)"}
    assert message_text(m) == "look[image][image][image]"


def test_url_images_are_links_never_fetched() -> None:
    m = _user(
        {"type": "image", "source": {"type": "url", "url": "https://example.com/x.png"}},
        {"type": "image", "source": {"type": "url", "url": "javascript:alert(1)"}},
        {"type": "image", "source": {"type": "url", "url": "data:image/png;base64,iVBORw0KGgo="}},
    )
    html = render_message(m)
    c = assert_inert(html)
    assert not [t for t, _ in c.tags if t == "img"]
    hrefs = [a.get("href") for t, a in c.tags if t == "a"]
    assert hrefs == ["https://example.com/x.png"]
    assert "[image: javascript:alert(1)]" in html and "lw-image-placeholder" in html
    assert message_text(m) == "look[image][image][image]"


def test_an_image_listed_without_data_is_a_labelled_placeholder() -> None:
    m = _user(
        {
            "type": "image",
            "source": {"type": "letta", "file_id": "file-9", "media_type": "image/png"},
        }
    )
    html = render_message(m)
    assert not _images(html)
    assert "[image: image/png, no data listed]" in html


@pytest.mark.parametrize(
    "source",
    [
        {"type": "base64", "media_type": "image/svg+xml", "data": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"},
        {"type": "base64", "media_type": "image/png", "data": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"},
        {
            "type": "base64",
            "media_type": "text/html",
            "data": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        },
        {"type": "base64", "media_type": 'image/png" onerror="alert(1)', "data": "iVBORw0KGgo="},
        {"type": "base64", "media_type": "image/png", "data": 'iVBORw0KGgo=" onerror="alert(1)'},
        {"type": "base64", "media_type": "image/png", "data": "iVBO Rw0K\nGgo="},
        {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo=AAAA"},
        {"type": "letta", "file_id": '"><script>alert(1)</script>', "data": None},
        {"type": "url", "url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
        {"type": "url", "url": 'https://tracker.example/p.gif" onerror="alert(1)'},
    ],
)
def test_hostile_image_parts_show_nothing_that_runs_or_loads(source) -> None:
    html = render_message(_user({"type": "image", "source": source}))
    for img in _images(html):  # only PNG magic bytes may come through, as a PNG
        assert img["src"].startswith("data:image/png;base64,iVBORw0KGgo")


@pytest.mark.parametrize(
    "tag",
    [
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
        '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
        '<img src="javascript:alert(1)">',
        '<img src="data:text/html;base64,PHNjcmlwdD4=">',
        '<img src="https://tracker.example/pixel.gif">',
        '<img src="//tracker.example/pixel.gif">',
        '<img src="pixel.gif">',
        '<img src="data:image/png;base64,AAAA" onerror="alert(1)" onload="alert(2)">',
        '<img src="data:image/png;base64,AAAA" srcset="https://x.example/a.png 1x">',
        '<img src="data:image/png;base64,AAAA" style="position:fixed" class="lw-image evil">',
        '<img src="data:image/png;base64,AAAA"><script>alert(1)</script>',
        '<a href="data:image/png;base64,AAAA">x</a><svg><image href="x"/></svg>',
    ],
)
def test_the_image_sanitizer_keeps_only_data_image_sources(tag: str) -> None:
    out = clean_image(tag)
    assert_inert(out)
    for name, value in re.findall(r'(\w[\w-]*)="([^"]*)"', out):
        assert name in ("src", "alt", "class"), out
        if name == "src":
            assert IMAGE_DATA.fullmatch(value), out
    assert "<script" not in out and "<a" not in out and "<svg" not in out


# --- size and markdown bombs -------------------------------------------------------------

BOMBS = {
    "nested_gt": ">" * 10_000 + " deep",
    "nested_gt_spaced": "> " * 10_000 + "deep",
    "nested_brackets": "[" * 10_000 + "deep",
    "brackets_closed": "[" * 10_000 + "deep" + "]" * 10_000 + "(https://x.example)",
    "link_openers": "[a](" * 10_000,
    "image_openers": "![" * 50_000,
    "emphasis": "*a " * 30_000,
    "underscores": "_a" * 30_000,
    "strong_nest": "**" * 10_000 + "deep" + "**" * 10_000,
    "backticks": "` `` " * 10_000,
    "nested_list": "".join("  " * i + "- deep\n" for i in range(3_000)),
    "flat_list": "- a\n" * 30_000,
    "headings": "# a\n" * 30_000,
    "table_rows": "|a|b|\n|-|-|\n" + "|x|y|\n" * 30_000,
    "entities": "&amp;" * 50_000,
    "angles": "<" * 200_000,
    "long_line": "x" * 1_000_000,
    "unknown_fences": "".join(f"```lang{i}\nx\n```\n" for i in range(3_000)),
    "python_fences": "```python\nx = 1\n```\n" * 3_000,
    "references": "".join(f"[{i}]: https://x.example\n" for i in range(5_000)) + "[1]" * 5_000,
}


@pytest.mark.timeout(60)  # a hang guard, not a speed threshold: speed is in bench_render
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_markdown_bombs_are_bounded(name: str) -> None:
    text = BOMBS[name]
    html = render_message({"id": "b", "message_type": "assistant_message", "content": text})
    assert_inert(html)
    # the cost budget sends what it cannot afford to markdown-render to plain text
    assert len(text) <= 32 * 1024 or "lw-truncated" in html or "lw-plain" in html


def test_nesting_bomb_keeps_its_text() -> None:
    html = render_markdown(">" * 10_000 + " the end")
    assert "the end" in html


def _one_mb_message() -> str:
    para = (
        "Here is **some** markdown with `code`, a [link](https://example.com) and a list:\n\n"
        "- one\n- two\n\n```python\nprint('hi')\n```\n\n"
    )
    return (para * (1_048_576 // len(para) + 1))[:1_048_576]


@pytest.mark.timeout(60)  # a hang guard; the time is measured in bench_render
def test_one_megabyte_message_truncates() -> None:
    text = _one_mb_message()
    html = render_message({"id": "big", "message_type": "assistant_message", "content": text})
    c = assert_inert(html)
    assert '<details class="lw-truncated">' in html
    assert "show all (1,024 KB)" in html
    assert any(t == "pre" and a.get("class") == "lw-plain" for t, a in c.tags)
    # Nothing is lost: the tail is there, escaped.
    assert html.count("Here is") == text.count("Here is")


def test_huge_tool_return_and_system_prompt_truncate() -> None:
    big = "line of output <b>\n" * 60_000
    for m in (
        {"id": "t", "message_type": "tool_return_message", "status": "success",
         "tool_call_id": "c", "tool_return": big, "stdout": [big]},
        {"id": "s", "message_type": "system_message", "content": big},
    ):  # fmt: skip
        html = render_message(m)
        assert_inert(html)
        assert "lw-truncated" in html
        assert "&lt;b&gt;" in html


@pytest.mark.parametrize(
    "bad",
    [
        "<script>x</script>",
        '<img src="https://x.example/a.png">',
        '<a href="javascript:alert(1)" rel="noopener noreferrer nofollow" target="_blank">x</a>',
        '<a href=" JAVASCRIPT:alert(1)" rel="noopener noreferrer nofollow" target="_blank">x</a>',
        '<a href="https://x.example">no rel</a>',
        '<div onclick="x()">x</div>',
        "<svg></svg>",
        '<p style="color:red">x</p>',
        "<div><span>unclosed</div>",
        "<!-- hi -->",
    ],
)
def test_the_checker_catches(bad: str) -> None:
    with pytest.raises(AssertionError):
        assert_inert(bad)
