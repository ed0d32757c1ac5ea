"""A notebook used in JupyterLab, saved with widget state, opened where no kernel runs.

In JupyterLab the widgets are live; the kernel learns that a view rendered and leaves the
outputs alone from then on (a rewritten output would make JupyterLab build a second view).
Saved with "Save Widget State Automatically" and exported by nbconvert, the page shows the
chat's transcript and the browser's conversation list and messages as the user last saw them
(its answers kept in the front-end model), read-only.
"""

from __future__ import annotations

import json
import re
import uuid

import nbformat
import pytest
from jlab import (
    add_cell_and_run,
    cell,
    open_notebook,
    output_text,
    run_all_cells,
    save_notebook,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from playwright.sync_api import expect
from static_site import static_site

import letta_widgets as lw

pytestmark = pytest.mark.browser

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SETTINGS = "/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin"


def _say(client, cid: str, text: str) -> None:  # type: ignore[no-untyped-def]
    list(client.conversations.messages.create(cid, messages=[{"role": "user", "content": text}]))


def test_saved_from_lab_the_browser_and_chat_show_what_the_user_saw(
    lab, page, seeded_devserver, tmp_path, artifacts_dir
):
    client = lw.connect(seeded_devserver.base_url, max_retries=0)
    agent = client.agents.create(
        name=f"saved-{uuid.uuid4().hex[:6]}",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "human", "value": "The human's name is Ada."}],
    )
    topic = client.conversations.create(agent_id=agent.id, summary="Saved topic").id
    _say(client, topic, "Remember the saved-view check, please.")
    client.conversations.create(agent_id=agent.id, summary="Another topic")

    name = "saved-lab.ipynb"
    write_notebook(
        lab.root / name,
        [
            f"import letta_widgets as lw\nclient = lw.connect()\nagent_id = {agent.id!r}",
            "browser = lw.ConversationBrowser(client, agent_id)\nbrowser",
            "chat = lw.ChatCell(client, agent_id=agent_id)\nchat",
        ],
    )
    lab.api("PUT", SETTINGS, {"raw": json.dumps({"saveState": True})})
    try:
        open_notebook(page, lab, name)
        run_all_cells(page)
        wait_for_cells_done(page)
        browser = cell(page, 1).locator(".lw-browser")
        wait_for_widget(page, browser)
        row = browser.locator(".lw-conv-row", has_text="Saved topic")
        row.click()
        expect(browser.locator(".lw-conv-heading")).to_have_text("Saved topic", timeout=30_000)
        expect(browser.locator(".lw-pages")).to_contain_text("saved-view check")

        chat = cell(page, 2).locator(".lw-chat")
        wait_for_widget(page, chat)
        chat.locator(".lw-input").fill("Hi there!")
        chat.locator(".lw-input").press("Enter")
        expect(chat).to_have_attribute("data-status", "done", timeout=30_000)
        answer = chat.locator(".lw-items .lw-msg--assistant_message").last.inner_text()
        # the finished turn did not rebuild the output: still one view of each widget
        expect(page.locator(".lw-chat")).to_have_count(1)
        expect(page.locator(".lw-browser")).to_have_count(1)
        add_cell_and_run(page, "print('VIEWED', chat._viewed, browser._viewed)")
        wait_for_cells_done(page)
        assert "VIEWED True True" in output_text(page, 3)

        titles = browser.locator(".lw-conv-row .lw-conv-title-text").all_inner_texts()
        assert "Saved topic" in titles and "Another topic" in titles
        save_notebook(page)
    finally:
        lab.api("PUT", SETTINGS, {"raw": "{}"})

    saved = nbformat.read(lab.root / name, as_version=4)
    state = saved.metadata["widgets"][WIDGET_STATE]["state"]
    replays = [m["state"]["_lw_replay"] for m in state.values() if "_lw_replay" in m["state"]]
    assert len(replays) == 1 and any(k.startswith("messages ") for k in replays[0])
    assert "Hi there!" not in json.dumps(replays)  # the chat keeps nothing of the kind
    # shown live, the chat's output was left as displayed (a rewrite rebuilds the view)
    chat_html = saved.cells[2].outputs[0]["data"]["text/html"]
    assert "Chat with a Letta agent" in chat_html and "Hi there!" not in chat_html

    with static_site(saved, tmp_path) as url:
        page.goto(f"{url}/index.html")
        static_browser = page.locator(".lw-browser")
        wait_for_widget(page, static_browser)
        expect(static_browser).to_have_attribute("data-saved", "true")
        expect(static_browser.locator(".lw-conv-row .lw-conv-title-text")).to_have_text(
            titles, timeout=30_000
        )
        expect(static_browser.locator(".lw-conv-heading")).to_have_text("Saved topic")
        expect(static_browser.locator(".lw-pages")).to_contain_text("saved-view check")
        static_chat = page.locator(".lw-chat")
        expect(static_chat).to_contain_text("Hi there!")
        expect(static_chat).to_contain_text(re.sub(r"\s+", " ", answer.split("\n")[-1]).strip())
        expect(static_chat.locator(".lw-saved-view")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "saved-from-lab.png"), full_page=True)
        assert page.blocked_requests == [], f"requests left loopback: {page.blocked_requests}"
    client.agents.delete(agent.id)
