"""ChatCell in a real JupyterLab, driven in Chromium: typing, live tokens, Stop, Interrupt,
approvals, older pages, hostile text, dark theme, attached images."""

from __future__ import annotations

import base64
import re

import pytest
from jlab import (
    cell,
    open_notebook,
    output_text,
    page_problems,
    run_cell,
    set_theme,
    wait_for_widget,
    write_notebook,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SETUP = """\
import letta_client, letta_widgets as lw
client = lw.connect()
agent = client.agents.create(
    name="chat-@TAG@", model="openai/gpt-4o-mini", embedding="openai/text-embedding-3-small",
    memory_blocks=[{"label": "human", "value": "The human's name is Ada."},
                   {"label": "persona", "value": "I am a helpful assistant."}])
paced = lw.connect(default_headers={"X-Devserver-Token-Delay-Ms": "@DELAY@"})
chat = lw.ChatCell(paced, agent_id=agent.id, height="300px")
chat"""

PROBE = """\
def server_has_run():
    try:
        client.conversations.cancel(chat.conversation_id)
        return "yes"
    except letta_client.ConflictError:
        return "no"
t = chat.last_turn
print(f"STOP={t.stop_reason if t else None} BUSY={chat.busy} STATUS={chat.status} "
      f"RUNNING={server_has_run()}")"""


def setup(lab, page, name: str, delay_ms: int = 60, extra: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """A notebook of [setup + ChatCell, probe, *extra] with the first cell run.

    Extra cells are written up front and run later with ``run_cell(page, 2 + i)``."""
    src = SETUP.replace("@TAG@", name).replace("@DELAY@", str(delay_ms))
    write_notebook(lab.root / f"{name}.ipynb", [src, PROBE, *extra])
    open_notebook(page, lab, f"{name}.ipynb")
    run_cell(page, 0)
    root = cell(page, 0).locator(".lw-chat")
    wait_for_widget(page, root, timeout=60)
    return root


def type_and_send(root, text: str) -> None:  # type: ignore[no-untyped-def]
    box = root.locator(".lw-input")
    box.click()
    box.fill(text)
    box.press("Enter")


def wait_live_text(page, root) -> None:  # type: ignore[no-untyped-def]
    expect(root).to_have_attribute("data-status", "streaming", timeout=30_000)
    page.wait_for_function(
        "el => el.querySelector('.lw-live-area').innerText.trim().length > 0",
        arg=root.element_handle(),
        timeout=30_000,
    )


def probe(page) -> str:  # type: ignore[no-untyped-def]
    run_cell(page, 1)
    out = cell(page, 1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("RUNNING=", timeout=30_000)
    return output_text(page, 1)


RETURNS = (
    "print('RETURNS', sum(m['message_type'] == 'tool_return_message'\n"
    "                     for m in chat.last_turn.messages))"
)


def test_type_enter_streams_tokens_progressively_and_approve(lab, page, artifacts_dir):
    root = setup(lab, page, "chat_live", extra=(RETURNS,))
    type_and_send(root, "Please tell me a slow story about the sea.")
    wait_live_text(page, root)
    seen: list[int] = []
    for _ in range(150):
        if root.get_attribute("data-status") != "streaming":
            break
        seen.append(len(root.locator(".lw-live-area").inner_text()))
        page.wait_for_timeout(60)
    # The turn's end empties the live area (its text moves into the transcript); that message
    # can land just before the status leaves "streaming", so a last sample may read 0.
    while len(seen) > 1 and seen[-1] == 0:
        seen.pop()
    distinct = sorted(set(seen))
    assert len(distinct) >= 4, f"tokens did not arrive progressively: {seen}"
    assert seen == sorted(seen), f"live text shrank while streaming: {seen}"
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    expect(root.locator(".lw-item--assistant_message")).to_have_count(1)
    expect(root.locator(".lw-item--user_message")).to_contain_text("slow story")
    expect(root.locator(".lw-item--usage")).to_have_count(1)
    expect(root.locator(".lw-live-area")).to_be_empty()
    assert "STOP=end_turn BUSY=False STATUS=done RUNNING=no" in probe(page)
    # Shift+Enter is a new line, not a send (nor JupyterLab's run-cell shortcut)
    box = root.locator(".lw-input")
    box.click()
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("line one\nline two")
    assert root.get_attribute("data-status") == "done"
    box.fill("")
    # Escape leaves the box (as it leaves a cell editor): the notebook has the keys again
    box.click()
    box.press("Escape")
    assert not box.evaluate("el => el === document.activeElement")
    assert page.evaluate("() => !!document.activeElement.closest('.jp-Notebook')")
    # a tool call that needs approval: Approve in the widget continues the run
    type_and_send(root, "Please send an email to bob@example.com saying the build is green.")
    approve = root.locator(".lw-approve")
    expect(approve).to_be_visible(timeout=30_000)
    expect(root.locator(".lw-status")).to_contain_text("approval")
    approve.click()
    # "waiting for your approval" -> streaming -> "done · end_turn"
    expect(root.locator(".lw-status")).to_contain_text("end_turn", timeout=30_000)
    expect(root).to_have_attribute("data-status", "done")
    expect(root.locator(".lw-approve")).to_have_count(0)
    expect(
        root.locator(".lw-msg--tool_return_message, .lw-item--tool_exchange").first
    ).to_be_visible()
    run_cell(page, 2)
    expect(cell(page, 2).locator(".jp-OutputArea-output")).to_contain_text(
        "RETURNS 1", timeout=15_000
    )
    assert page_problems(page) == []
    page.screenshot(path=str(artifacts_dir / "chat-light.png"))


def test_stop_and_interrupt_leave_nothing_streaming(lab, page):
    """Stop for a click-started run, for ``await chat.asend()`` and for a blocking
    ``chat.send()`` (JupyterLab >= 4.6 routes widget messages to a comm subshell, and the
    job publishes in the context of the last click); the kernel's Interrupt for
    ``chat.send()``. Each leaves no run on the server and nothing streaming."""
    cells = (
        't = await chat.asend("slow: a long answer"); print("ASEND", t.stop_reason)',
        't = chat.send("slow: one more long answer"); print("SEND", t.stop_reason)',
        't = chat.send("slow: interrupt me")',
    )
    root = setup(lab, page, "chat_stop", delay_ms=150, extra=cells)

    type_and_send(root, "slow: count to twenty please")
    wait_live_text(page, root)
    root.locator(".lw-stop").click()
    expect(root).to_have_attribute("data-status", "stopped", timeout=15_000)
    assert "STOP=cancelled BUSY=False STATUS=stopped RUNNING=no" in probe(page)

    for index, marker in ((2, "ASEND cancelled"), (3, "SEND cancelled")):
        run_cell(page, index)
        wait_live_text(page, root)
        root.locator(".lw-stop").click()
        out = cell(page, index).locator(".jp-OutputArea-output")
        expect(out).to_contain_text(marker, timeout=15_000)
        assert "BUSY=False STATUS=stopped RUNNING=no" in probe(page)

    run_cell(page, 4)
    wait_live_text(page, root)
    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
    page.locator('li[data-command="kernelmenu:interrupt"]').click()
    out = cell(page, 4).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("KeyboardInterrupt", timeout=15_000)
    text = probe(page)
    assert "BUSY=False" in text and "RUNNING=no" in text
    before = root.locator(".lw-live-area").inner_text()
    page.wait_for_timeout(1500)
    assert root.locator(".lw-live-area").inner_text() == before  # nothing streams on
    assert root.get_attribute("data-status") != "streaming"
    # the widget works after all that
    type_and_send(root, "Hello again")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)


def test_scrolling_up_loads_older_pages_in_the_dark_theme(lab, page, artifacts_dir):
    older_cell = (
        "conv = client.conversations.create(agent_id=agent.id).id\n"
        'client.post(f"/v1/_devserver/conversations/{conv}/synthetic",\n'
        '            body={"turns": 40}, cast_to=object)\n'
        "old = lw.ChatCell(client, conversation_id=conv, history=10, height='240px')\n"
        "old"
    )
    root = setup(lab, page, "chat_older", delay_ms=1, extra=(older_cell,))
    set_theme(page, "dark")
    try:
        _older_pages_and_dark_theme(page, root, artifacts_dir)
    finally:
        set_theme(page, "light")


def _older_pages_and_dark_theme(page, root, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    type_and_send(root, "Please remember that I like green tea.")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    bg = root.evaluate("el => getComputedStyle(el).backgroundColor")
    fg = root.locator(".lw-item--assistant_message").first.evaluate(
        "el => getComputedStyle(el).color"
    )
    assert _luminance(bg) < 0.35, bg
    assert _luminance(fg) > 0.6, fg
    run_cell(page, 2)
    older = cell(page, 2).locator(".lw-chat")
    wait_for_widget(page, older, timeout=60)
    items = older.locator(".lw-items > .lw-item")
    expect(items.first).to_be_visible(timeout=30_000)
    counts = [items.count()]
    for _ in range(3):
        older.locator(".lw-transcript").evaluate(
            "el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }"
        )
        page.wait_for_function(
            "([el, n]) => el.querySelectorAll('.lw-items > .lw-item').length > n",
            arg=[older.element_handle(), counts[-1]],
            timeout=30_000,
        )
        counts.append(items.count())
    assert counts == sorted(counts) and counts[-1] > counts[0]
    keys = older.locator(".lw-items > .lw-item").evaluate_all("els => els.map(e => e.dataset.key)")
    assert len(keys) == len(set(keys))
    assert page_problems(page) == []
    page.screenshot(path=str(artifacts_dir / "chat-dark.png"))


HOSTILE = (
    "<script>window.__pwned = 'script'</script> <img src=x onerror=\"window.__pwned='img'\"> "
    "[click me](javascript:window.__pwned='link') <svg onload=\"window.__pwned='svg'\"></svg> "
    '<a href="jAvAsCrIpT:window.__pwned=\'a\'">a</a> <iframe src="javascript:alert(1)"></iframe>'
)


def test_hostile_and_huge_text_render_as_text(lab, page):
    big = 't = chat.send("B" * (1 << 20)); print("BIG", t.stop_reason)'
    root = setup(lab, page, "chat_hostile", delay_ms=1, extra=(big,))
    type_and_send(root, HOSTILE)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    expect(root.locator(".lw-item--user_message")).to_contain_text("onerror")
    run_cell(page, 2)
    expect(cell(page, 2).locator(".jp-OutputArea-output")).to_contain_text(
        "BIG end_turn", timeout=90_000
    )
    expect(root.locator(".lw-truncated").first).to_be_attached()
    assert page.evaluate("() => window.__pwned") is None
    widget = root.element_handle()
    bad = page.evaluate(
        """el => {
          const out = [];
          for (const n of el.querySelectorAll('*')) {
            const tag = n.tagName.toUpperCase();
            if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'SVG'].includes(tag)) out.push(tag);
            for (const a of n.attributes) {
              if (a.name.startsWith('on')) out.push(n.tagName + '@' + a.name);
              const url = ['href', 'src'].includes(a.name);
              if (url && /^\\s*javascript:/i.test(a.value)) out.push(a.value);
            }
          }
          return out;
        }""",
        widget,
    )
    assert bad == []
    # still responsive: a front-end round trip and another turn work
    assert page.evaluate("() => 1 + 1") == 2
    type_and_send(root, "Hello after the big one")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    assert page.evaluate("() => window.__pwned") is None


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


AT_BOTTOM = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 30"


def test_an_existing_conversation_opens_at_the_newest_message_and_follows(lab, page):
    """Opens scrolled to the bottom; follows the stream; stops following when the reader
    scrolls up (a jump-to-latest button), resumes from it; a page reload opens at the bottom."""
    long_chat = (
        "conv = client.conversations.create(agent_id=agent.id).id\n"
        'client.post(f"/v1/_devserver/conversations/{conv}/synthetic",\n'
        '            body={"turns": 40}, cast_to=object)\n'
        "old = lw.ChatCell(paced, conversation_id=conv, history=30, height='240px')\n"
        "old"
    )
    setup(lab, page, "chat_follow", delay_ms=40, extra=(long_chat,))
    run_cell(page, 2)
    root = cell(page, 2).locator(".lw-chat")
    wait_for_widget(page, root, timeout=60)
    transcript = root.locator(".lw-transcript")
    expect(root.locator(".lw-items > .lw-item").first).to_be_visible(timeout=30_000)
    page.wait_for_function(AT_BOTTOM, arg=transcript.element_handle(), timeout=10_000)
    expect(root).to_have_attribute("data-follow", "true")
    expect(root.locator(".lw-jump")).to_be_hidden()

    type_and_send(root, "Please tell me a slow story about the sea.")
    wait_live_text(page, root)
    for _ in range(5):  # the live text grows and stays in view
        page.wait_for_timeout(200)
        assert transcript.evaluate(AT_BOTTOM)
    # the reader scrolls up: following stops, the place holds while tokens arrive
    transcript.evaluate("el => { el.scrollTop = el.scrollTop - 200; }")
    expect(root).to_have_attribute("data-follow", "false", timeout=5_000)
    expect(root.locator(".lw-jump")).to_be_visible()
    held = transcript.evaluate("el => el.scrollTop")
    page.wait_for_timeout(600)
    assert abs(transcript.evaluate("el => el.scrollTop") - held) < 2
    assert not transcript.evaluate(AT_BOTTOM)
    root.locator(".lw-jump").click()
    expect(root).to_have_attribute("data-follow", "true", timeout=5_000)
    assert transcript.evaluate(AT_BOTTOM)
    expect(root).to_have_attribute("data-status", "done", timeout=60_000)
    page.wait_for_function(AT_BOTTOM, arg=transcript.element_handle(), timeout=10_000)

    # saved with its widget views, reloaded: the live kernel's widget shows again, at the end
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-current .jp-mod-dirty, .jp-Document.jp-mod-dirty')",
        timeout=30_000,
    )
    page.reload()
    again = cell(page, 2).locator(".lw-chat")
    wait_for_widget(page, again, timeout=60)
    expect(again.locator(".lw-items > .lw-item").first).to_be_visible(timeout=30_000)
    page.wait_for_function(
        AT_BOTTOM, arg=again.locator(".lw-transcript").element_handle(), timeout=10_000
    )
    assert page_problems(page) == []


def test_an_older_copy_of_memory_is_said_and_recompile_clears_it(lab, page):
    stale_chat = (
        "conv = client.conversations.create(agent_id=agent.id).id\n"
        "client.agents.blocks.update('human', agent_id=agent.id, value='The name is Bo.')\n"
        "old = lw.ChatCell(client, conversation_id=conv, height='160px')\n"
        "old"
    )
    setup(
        lab, page, "chat_memory", delay_ms=1, extra=(stale_chat, "print(repr(old.memory_notice))")
    )
    run_cell(page, 2)
    root = cell(page, 2).locator(".lw-chat")
    wait_for_widget(page, root, timeout=60)
    notice = root.locator(".lw-memory-notice")
    expect(notice).to_be_visible(timeout=30_000)
    expect(notice).to_contain_text("human changed since")
    notice.locator(".lw-recompile").click()
    expect(notice).to_be_hidden(timeout=30_000)
    run_cell(page, 3)
    expect(cell(page, 3).locator(".jp-OutputArea-output")).to_have_text("''", timeout=30_000)
    assert page_problems(page) == []


def test_copy_buttons_copy_a_message_and_a_code_block(lab, page):
    """Every card has a copy button, and every code block in it: clicking puts the text on
    the clipboard (read back in Chromium) and the button says so; a page that may not write
    the clipboard says that instead."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    root = setup(lab, page, "chat_copy", delay_ms=1)
    type_and_send(root, "My name is Grace.\n\n```python\nprint('hi')\n```")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    answer = root.locator(".lw-item--assistant_message").last
    answer.hover()
    button = answer.locator(".lw-copy").first
    expect(button).to_have_attribute("aria-label", "Copy this message")
    button.click()
    expect(button).to_have_attribute("data-state", "copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == "Nice to meet you, Grace!"
    code = root.locator(".lw-item--user_message .lw-copy--code").last
    code.click()
    expect(code).to_have_attribute("data-state", "copied")
    assert page.evaluate("() => navigator.clipboard.readText()").strip() == "print('hi')"
    # the label is CSS content: a message's text does not gain a "Copy"
    assert "Copy" not in answer.inner_text()
    page.evaluate("() => Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    button.click()
    expect(button).to_have_attribute("data-state", "refused")
    expect(button).to_have_attribute("aria-label", "Copy not allowed here")


BRANCH_CELLS = (
    "first = chat.conversation_id",
    """\
def user_texts(cid):
    page = client.conversations.messages.list(cid, order="asc", limit=100).items
    return [lw.letta.messages.text_of(m) for m in page if m.message_type == "user_message"]
[p] = chat.branches()
print(f"SHOWN={chat.conversation_id == p.current} INDEX={p.index} N={len(p.conversation_ids)} "
      f"FIRST={p.conversation_ids[0] == first} OLD={user_texts(first)} "
      f"NOW={user_texts(chat.conversation_id)}")""",
)


def branch_report(page) -> str:  # type: ignore[no-untyped-def]
    run_cell(page, 3)
    expect(cell(page, 3).locator(".jp-OutputArea-output")).to_contain_text("NOW=", timeout=30_000)
    return output_text(page, 3)


def test_edit_an_earlier_message_regenerate_and_switch_branches(lab, page, shots_dir):
    """Edit forks before the message and shows the fork; ‹ › switch between the branches,
    each with its own history; Regenerate adds a sibling; the old branch is untouched."""
    root = setup(lab, page, "chat_branches", delay_ms=1, extra=BRANCH_CELLS)
    run_cell(page, 2)
    for text in ("My name is Grace.", "What is my name?"):
        type_and_send(root, text)
        expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    first = root.locator(".lw-item--user_message").first
    first.locator(".lw-edit").click()
    box = first.locator(".lw-edit-input")
    expect(box).to_be_focused()
    expect(box).to_have_value("My name is Grace.")
    box.fill("My name is Ada.")
    box.press("Enter")
    nav = root.locator(".lw-branch-nav")
    expect(nav.locator(".lw-branch-count")).to_have_text("2/2", timeout=30_000)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    expect(root.locator(".lw-items")).to_contain_text("My name is Ada.")
    expect(root.locator(".lw-items")).not_to_contain_text("What is my name?")
    report = branch_report(page)
    assert "SHOWN=True INDEX=1 N=2 FIRST=True" in report
    assert "OLD=['My name is Grace.', 'What is my name?'] NOW=['My name is Ada.']" in report
    cell(page, 0).locator(".jp-OutputArea").screenshot(path=str(shots_dir / "chat-branches.png"))

    nav.locator(".lw-branch-prev").click()  # back to the old branch, whole
    expect(nav.locator(".lw-branch-count")).to_have_text("1/2", timeout=30_000)
    expect(root.locator(".lw-items")).to_contain_text("What is my name?")
    assert "SHOWN=True INDEX=0 N=2" in branch_report(page)
    root.locator(".lw-branch-next").click()
    expect(root.locator(".lw-branch-count")).to_have_text("2/2", timeout=30_000)

    root.locator(".lw-regenerate").click()  # the last message again: a third sibling
    expect(root.locator(".lw-branch-count")).to_have_text("3/3", timeout=30_000)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    assert "SHOWN=True INDEX=2 N=3" in branch_report(page)
    # Escape leaves an edit box without sending
    root.locator(".lw-item--user_message").first.locator(".lw-edit").click()
    root.locator(".lw-edit-input").press("Escape")
    expect(root.locator(".lw-editor")).to_have_count(0)
    expect(root.locator(".lw-branch-count")).to_have_text("3/3")
    assert page_problems(page) == []


def test_edit_is_refused_where_forks_ignore_the_fork_point(lab, page):
    """On a letta-0.16 devserver (forks copy everything, as on letta 0.16.8) Regenerate is
    refused with the reason in the widget, then not offered; nothing changed."""
    old = """\
from letta_devserver.process import DevServerProcess
old_server = DevServerProcess(["--memory", "--profile", "letta-0.16"]).start()
old_client = lw.connect(old_server.base_url)
old_agent = old_client.agents.create(name="old", model="openai/gpt-4o-mini",
                                     embedding="openai/text-embedding-3-small")
old_chat = lw.ChatCell(old_client, agent_id=old_agent.id, height="200px")
old_chat.send("hello")
old_chat"""
    report = """\
convs = old_client.conversations.list(agent_id=old_agent.id)
print("CONVS", len(convs), convs[0].id == old_chat.conversation_id)
old_server.stop()"""
    setup(lab, page, "chat_no_fork", delay_ms=1, extra=(old, report))
    run_cell(page, 2)
    root = cell(page, 2).locator(".lw-chat")
    wait_for_widget(page, root, timeout=60)
    regen = root.locator(".lw-regenerate")
    expect(regen).to_be_enabled()
    regen.click()
    expect(root.locator(".lw-error")).to_contain_text("0.16.8", timeout=30_000)
    expect(regen).to_be_disabled()
    expect(regen).to_have_attribute("title", re.compile("ignores the fork point"))
    expect(root.locator(".lw-edit").first).to_be_disabled()
    run_cell(page, 3)
    expect(cell(page, 3).locator(".jp-OutputArea-output")).to_contain_text("CONVS 1 True")


def test_export_both_formats_and_the_page_opens_with_no_request_and_no_script(lab, page, tmp_path):
    """Export .md and .html download the conversation; the HTML opens in Chromium on its own
    (file://) with no network request, no script, the sanitized cards and hostile text inert."""
    root = setup(lab, page, "chat_export", delay_ms=1)
    type_and_send(root, "My name is Grace.")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    type_and_send(root, HOSTILE)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    with page.expect_download() as got:
        root.locator(".lw-export-md").click()
    md = tmp_path / got.value.suggested_filename
    got.value.save_as(md)
    assert md.suffix == ".md" and md.name.startswith("conv-")
    assert "My name is Grace." in md.read_text() and "Nice to meet you, Grace!" in md.read_text()
    with page.expect_download() as got:
        root.locator(".lw-export-html").click()
    html = tmp_path / got.value.suggested_filename
    got.value.save_as(html)
    assert html.suffix == ".html"

    viewer = page.context.new_page()
    requests: list[str] = []
    viewer.on("request", lambda r: requests.append(r.url))
    viewer.goto(html.as_uri())
    expect(viewer.locator(".lw-msg--assistant_message").first).to_contain_text("Grace")
    assert requests == [html.as_uri()]  # the page itself, nothing else
    assert viewer.evaluate("() => document.scripts.length") == 0
    assert viewer.evaluate("() => window.__pwned") is None
    viewer.close()


def test_long_messages_collapse_with_show_more(lab, page):
    root = setup(lab, page, "chat_long", delay_ms=1)
    type_and_send(root, "\n".join(f"line {n} of a long message" for n in range(80)))
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    card = root.locator(".lw-item--user_message").last
    more = card.locator(".lw-show-more")
    expect(more).to_be_visible()
    expect(more).to_have_attribute("aria-expanded", "false")
    body = card.locator(".lw-msg__body")
    short = body.evaluate("el => el.clientHeight")
    more.click()
    expect(more).to_have_text("Show less")
    expect(more).to_have_attribute("aria-expanded", "true")
    assert body.evaluate("el => el.clientHeight") > short + 100
    assert body.evaluate("el => el.scrollHeight - el.clientHeight") < 2  # nothing hidden
    # a short message has no toggle
    expect(root.locator(".lw-item--assistant_message").last.locator(".lw-show-more")).to_be_hidden()


USERS = (
    "users = [m for m in client.conversations.messages.list(chat.conversation_id, order='asc')"
    ".items if m.message_type == 'user_message']\n"
    "print('USERS', len(users), [[p.type for p in m.content] if isinstance(m.content, list)"
    " else 'text' for m in users])"
)
REOPEN = "again = lw.ChatCell(client, conversation_id=chat.conversation_id, height='260px')\nagain"
LOADED = "img => img.complete && img.naturalWidth > 0"
DROP = """([el, kind, files]) => {
  const dt = new DataTransfer();
  for (const [name, b64, type] of files) {
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
  }
  const init = { bubbles: true, cancelable: true };
  if (kind === "paste") {
    el.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: dt }));
  } else {
    el.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: dt }));
    el.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: dt }));
  }
}"""


def file_picker(page):  # type: ignore[no-untyped-def]
    """``pick(action, *paths)``: run ``action`` (a click or key press that opens the file
    picker) and choose ``paths``. The page listens for file choosers from the start, so the
    picker is caught however soon it opens (``expect_file_chooser`` turns interception on
    only when it is entered, and a picker opened at once was sometimes missed)."""
    opened: list = []
    page.on("filechooser", lambda chooser: opened.append(chooser))

    def pick(action, *paths: object) -> None:  # type: ignore[no-untyped-def]
        before = len(opened)
        action()
        for _ in range(100):
            if len(opened) > before:
                opened[-1].set_files([str(p) for p in paths])
                return
            page.wait_for_timeout(100)
        raise AssertionError("the file picker did not open")

    return pick


def users(page) -> str:  # type: ignore[no-untyped-def]
    """The kernel's word on the conversation's user messages (cell 2)."""
    run_cell(page, 2)
    expect(cell(page, 2).locator(".jp-OutputArea-output")).to_contain_text("USERS", timeout=30_000)
    return output_text(page, 2).strip()


def test_images_are_attached_sent_shown_and_kept_after_a_reload(
    lab, page, artifacts_dir, images, tmp_path
):
    """The attach button (keyboard and mouse), a thumbnail with a remove button, the image in
    the sent message and the agent's answer; too large and non-image files refused with the
    reason and nothing sent; a dropped and a pasted image; the images again after a page
    reload and in a ChatCell opened anew."""
    cat = tmp_path / "cat.png"
    cat.write_bytes(images.png(96, 64))
    big = tmp_path / "big.png"
    big.write_bytes(images.png() + b"\0" * int(7.2 * 1024 * 1024))
    bmp = tmp_path / "photo.bmp"
    bmp.write_bytes(images.bmp())
    fake = tmp_path / "notes.png"
    fake.write_text("plain text with an image's name")
    root = setup(lab, page, "chat_images", delay_ms=1, extra=(USERS, REOPEN))
    button = root.locator(".lw-image-button")
    expect(button).to_have_attribute("aria-label", re.compile(r"^Attach images \(PNG, JPEG"))
    expect(root.locator("input.lw-image-input")).to_have_attribute(
        "aria-label", re.compile("^Attach images")
    )
    assert root.locator("input.lw-image-input").bounding_box()["width"] <= 1  # visually hidden

    # the keyboard opens the file picker and removes a thumbnail (real buttons, and Enter is
    # theirs even in the notebook's command mode, where it would open the cell editor)
    pick = file_picker(page)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:enter-command-mode')")
    button.focus()
    pick(lambda: page.keyboard.press("Enter"), cat)
    thumbs = root.locator(".lw-attachment")
    expect(thumbs).to_have_count(1)
    expect(thumbs.first.locator("img")).to_have_attribute("alt", "cat.png")
    remove = thumbs.first.locator(".lw-attachment-remove")
    expect(remove).to_have_attribute("aria-label", "Remove cat.png")
    remove.focus()
    page.keyboard.press("Enter")
    expect(thumbs).to_have_count(0)
    pick(button.click, cat)
    expect(thumbs).to_have_count(1)
    page.wait_for_function(LOADED, arg=thumbs.first.locator("img").element_handle())

    type_and_send(root, "what is this?")
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    expect(thumbs).to_have_count(0)
    shown = root.locator(".lw-item--user_message img.lw-image")
    expect(shown).to_have_count(1)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 96", arg=shown.element_handle()
    )
    expect(shown).to_have_attribute("alt", "image (PNG)")
    assert shown.get_attribute("src").startswith("data:image/png;base64,iVBORw0KGgo")
    expect(root.locator(".lw-item--assistant_message").last).to_contain_text(
        "I see 1 image (PNG, 96×64)."
    )
    assert users(page) == "USERS 1 [['text', 'image']]"

    # refused at once, with the reason; nothing is sent, even with Send pressed
    root.locator("input.lw-image-input").set_input_files([str(big), str(bmp), str(fake)])
    expect(root.locator(".lw-attach-problem")).to_have_text(
        [
            "big.png: 7.2 MB, images are at most 5 MB",
            "photo.bmp: not an image type Letta accepts (PNG, JPEG, GIF, WebP)",
            "notes.png: not an image type Letta accepts (PNG, JPEG, GIF, WebP)",
        ]
    )
    expect(root.locator(".lw-attach-problems")).to_have_attribute("role", "alert")
    expect(thumbs).to_have_count(0)
    root.locator(".lw-send").click()
    assert users(page) == "USERS 1 [['text', 'image']]"

    # a file dropped on the cell and one pasted into the box; both go with the next message
    gif = base64.b64encode(images.gif(48, 48)).decode()
    png = base64.b64encode(images.png(120, 80)).decode()
    page.evaluate(DROP, [root.element_handle(), "drop", [["dropped.gif", gif, "image/gif"]]])
    page.evaluate(
        DROP, [root.locator(".lw-input").element_handle(), "paste", [["pasted.png", png, ""]]]
    )
    expect(thumbs).to_have_count(2)
    expect(root.locator(".lw-attach-problem")).to_have_count(0)
    for img in thumbs.locator("img").element_handles():
        page.wait_for_function(LOADED, arg=img)
    root.screenshot(path=str(artifacts_dir / "chat-images-composer.png"))
    type_and_send(root, "and these two?")
    expect(root.locator(".lw-item--assistant_message").last).to_contain_text(
        "I see 2 images (GIF, 48×48; PNG, 120×80).", timeout=30_000
    )
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    assert users(page) == "USERS 2 [['text', 'image'], ['text', 'image', 'image']]"
    expect(shown).to_have_count(3)
    root.screenshot(path=str(artifacts_dir / "chat-images.png"))

    # saved and reloaded: the widget's state shows the images again
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-current .jp-mod-dirty, .jp-Document.jp-mod-dirty')",
        timeout=30_000,
    )
    page.reload()
    root = cell(page, 0).locator(".lw-chat")
    wait_for_widget(page, root, timeout=60)
    reloaded = root.locator(".lw-item--user_message img.lw-image")
    expect(reloaded).to_have_count(3, timeout=30_000)
    for img in reloaded.element_handles():
        page.wait_for_function(LOADED, arg=img)
    # opened anew from the server's history (0.16.8 would list letta sources: the same cards)
    run_cell(page, 3)
    fresh = cell(page, 3).locator(".lw-chat")
    wait_for_widget(page, fresh, timeout=60)
    expect(fresh.locator(".lw-item--user_message img.lw-image")).to_have_count(3, timeout=30_000)
    assert page.blocked_requests == []  # showing the images fetched nothing
    assert page_problems(page) == []
