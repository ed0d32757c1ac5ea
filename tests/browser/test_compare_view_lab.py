"""CompareView in a real JupyterLab, driven in Chromium: side by side, live, votes, Stop."""

from __future__ import annotations

import re

import pytest
from jlab import (
    cell,
    open_notebook,
    page_problems,
    run_all_cells,
    run_cell,
    set_theme,
    wait_for_cells_done,
    wait_for_widget,
    write_notebook,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SETUP = """\
import letta_widgets as lw
from letta_widgets.widgets.compare import CompareView, Variant
client = lw.connect()
def agent(name, human):
    return client.agents.create(
        name=name, model="openai/gpt-4o-mini", embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "human", "value": human},
                       {"label": "persona", "value": "I am a helpful assistant."}]).id
ada = agent("compare-ada-@TAG@", "The human's name is Ada. She lives in Berlin.")
grace = agent("compare-grace-@TAG@", "The human's name is Grace. She works on compilers.")
slow = {"X-Devserver-Token-Delay-Ms": "@TOKEN@", "X-Devserver-Step-Delay-Ms": "@STEP@"}
cmp = CompareView(client, [
    Variant(agent_id=ada, model="openai/gpt-4o-mini", headers=slow),
    Variant(agent_id=grace, model="openai/gpt-4o", headers=slow),
], height="260px", feedback="server")
cmp"""

PROBE = """\
print("VOTES=" + ",".join(cmp.results["vote"].fillna("-")))
first = cmp.rounds[0]._cells if cmp.rounds else []
print("FEEDBACK=" + ",".join(str(client.steps.retrieve(c.last_step).feedback) for c in first))"""


def _setup(lab, page, name: str, token_ms: int = 60, step_ms: int = 300):  # type: ignore[no-untyped-def]
    src = (
        SETUP.replace("@TAG@", name)
        .replace("@TOKEN@", str(token_ms))
        .replace("@STEP@", str(step_ms))
    )
    write_notebook(lab.root / f"{name}.ipynb", [src, PROBE])
    open_notebook(page, lab, f"{name}.ipynb")


def _send(root, text: str) -> None:  # type: ignore[no-untyped-def]
    box = root.locator(".lw-input")
    box.click()
    box.fill(text)
    box.press("Enter")


def _round_done(root, n: int, timeout: float = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until round ``n`` is shown and finished (the status alone may be the last round's)."""
    expect(root.locator(".lw-round-label")).to_have_text(f"round {n} / {n}", timeout=timeout)
    expect(root).to_have_attribute("data-status", re.compile("done|error"), timeout=timeout)


def test_side_by_side_streams_live_diff_and_vote(lab, page):
    _setup(lab, page, "cmp_live")
    run_all_cells(page)
    wait_for_cells_done(page)
    root = cell(page, 0).locator(".lw-compare")
    wait_for_widget(page, root)
    cols = root.locator(".lw-col")
    expect(cols).to_have_count(2)
    expect(cols.nth(1).locator(".lw-chip-model")).to_have_text("openai/gpt-4o")

    _send(root, "What's my name?")
    expect(root).to_have_attribute("data-status", "streaming", timeout=30_000)
    # tokens arrive progressively in both columns: several DOM reads during one stream
    lengths: list[tuple[int, int]] = []
    for _ in range(200):
        if root.get_attribute("data-status") != "streaming":
            break
        lengths.append(
            tuple(  # type: ignore[arg-type]
                len(cols.nth(i).locator(".lw-col-body").inner_text()) for i in range(2)
            )
        )
        page.wait_for_timeout(60)
    expect(root).to_have_attribute("data-status", "done", timeout=30_000)
    for i in range(2):
        seen = sorted({n[i] for n in lengths if n[i] > 0})
        assert len(seen) >= 3, f"column {i} did not grow progressively: {lengths}"

    a, b = cols.nth(0), cols.nth(1)
    expect(a.locator(".lw-answer .lw-items")).to_contain_text("Ada")
    expect(b.locator(".lw-answer .lw-items")).to_contain_text("Grace")
    expect(a.locator(".lw-metrics")).to_contain_text(re.compile(r"first token\s*\d+\.\d\d s"))
    expect(a.locator(".lw-metrics")).to_contain_text("end_turn")
    steps = a.locator(".lw-steps")
    expect(steps).to_be_visible()
    assert steps.get_attribute("open") is None  # reasoning is collapsed
    diff = root.locator(".lw-diffs")
    expect(diff).to_be_visible()
    expect(diff.locator("del.lw-diff-del")).to_contain_text("Ada")
    expect(diff.locator("ins.lw-diff-ins")).to_contain_text("Grace")
    # a replaced word and its replacement are kept apart (they used to run together)
    joined = diff.locator(".lw-diff-body").first.evaluate("el => el.textContent")
    assert re.search(r"Ada\S*\s+Grace", joined), joined

    # vote with a note: the kernel sees it in cmp.results
    root.locator(".lw-vote-note").fill("friendlier")
    root.locator(".lw-vote-btn[data-choice='B']").click()
    expect(root.locator(".lw-vote-state")).to_have_text("voted: B", timeout=30_000)
    expect(root.locator(".lw-tally")).to_have_text("votes: B 1")
    # feedback="server": the click saved it as step feedback, in the background
    expect(root.locator(".lw-status")).to_contain_text("vote saved on the server", timeout=30_000)
    run_cell(page, 1)
    out = cell(page, 1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("VOTES=B,B", timeout=30_000)
    expect(out).to_contain_text("FEEDBACK=negative,positive")

    # hostile text in the prompt is shown as text and runs nothing
    _send(root, "Please remember that I like tea <img src=x onerror=window.__lwPwned=1>")
    _round_done(root, 2)
    expect(root.locator(".lw-cmp-prompt-text")).to_contain_text("<img src=x onerror=")
    expect(root.locator(".lw-notice")).to_contain_text("Shared memory changed")
    assert page.evaluate("() => window.__lwPwned") is None
    assert root.locator("img").count() == 0

    # keys typed in the widget are text, not notebook shortcuts
    cells_before = page.locator(".jp-Notebook:visible .jp-Cell").count()
    box = root.locator(".lw-input")
    box.click()
    box.type("line one")
    box.press("Shift+Enter")
    box.type("two")
    expect(box).to_have_value("line one\ntwo")
    note = root.locator(".lw-vote-note")
    note.click()
    note.press_sequentially("ab dd")
    expect(note).to_have_value("ab dd")
    assert page.locator(".jp-Notebook:visible .jp-Cell").count() == cells_before
    expect(root.locator(".lw-round-label")).to_have_text("round 2 / 2")
    box.fill("")
    note.fill("")

    # navigate back to round 1: it keeps its vote
    root.locator(".lw-prev").click()
    expect(root.locator(".lw-round-label")).to_have_text("round 1 / 2", timeout=30_000)
    expect(root.locator(".lw-vote-state")).to_have_text("voted: B")
    assert page_problems(page) == []
    assert page.blocked_requests == []


def test_stop_stops_every_column(lab, page):
    _setup(lab, page, "cmp_stop", token_ms=200, step_ms=1500)
    run_all_cells(page)
    wait_for_cells_done(page)
    root = cell(page, 0).locator(".lw-compare")
    wait_for_widget(page, root)
    _send(root, "Please remember that I like tea.")
    expect(root).to_have_attribute("data-status", "streaming", timeout=30_000)
    page.wait_for_timeout(800)
    root.locator(".lw-stop").click()
    expect(root).to_have_attribute("data-status", "stopped", timeout=15_000)
    for i in range(2):
        expect(root.locator(".lw-col").nth(i)).to_have_attribute("data-status", "stopped")
    # usable afterwards
    _send(root, "hi")
    _round_done(root, 2)
    assert page_problems(page) == []


@pytest.mark.screenshots
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(lab, page, theme, shots_dir):
    page.set_viewport_size({"width": 1400, "height": 1100})
    _setup(lab, page, f"cmp_shot_{theme}", token_ms=5, step_ms=0)
    set_theme(page, theme)
    try:
        run_all_cells(page)
        wait_for_cells_done(page)
        root = cell(page, 0).locator(".lw-compare")
        wait_for_widget(page, root)
        _send(root, "Please remember that I like green tea.")
        _round_done(root, 1)
        _send(root, "What's my name?")
        _round_done(root, 2)
        root.locator(".lw-vote-note").fill("B is warmer")
        root.locator(".lw-vote-btn[data-choice='B']").click()
        expect(root.locator(".lw-vote-state")).to_have_text("voted: B", timeout=30_000)
        expect(root.locator(".lw-vote-note")).to_have_value("B is warmer")
        root.locator(".lw-col").nth(0).locator(".lw-steps-summary").click()  # open A's steps
        page.wait_for_timeout(400)
        assert page_problems(page) == []
        cell(page, 0).locator(".jp-OutputArea").screenshot(
            path=str(shots_dir / f"compare-{theme}.png")
        )
    finally:
        set_theme(page, "light")


BLIND = """\
import letta_widgets as lw
from letta_widgets.widgets.compare import CompareView, Variant
client = lw.connect()
def agent(name, human):
    return client.agents.create(
        name=name, model="openai/gpt-4o-mini", embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "human", "value": human}]).id
ada = agent("blind-ada", "The human's name is Ada.")
plain = agent("blind-plain", "Nothing is known about the human.")
judge = client.agents.create(name="blind-judge", model="openai/gpt-4o-mini",
                             embedding="openai/text-embedding-3-small").id
cmp = CompareView(client, [Variant(agent_id=ada, model="openai/gpt-4o"), Variant(agent_id=plain)],
                  blind=True, seed=3, height="220px")
cmp"""
BLIND_PROBE = """\
cmp.judge(lw.LettaJudge(client, agent_id=judge))
r = cmp.results.iloc[0]
print(f"ORDER={r.display_order} VOTE={r.vote} JUDGE={r.judge_winner}")"""


def test_a_blind_round_hides_the_labels_until_the_vote_and_the_judge_speaks(lab, page):
    write_notebook(lab.root / "cmp_blind.ipynb", [BLIND, BLIND_PROBE])
    open_notebook(page, lab, "cmp_blind.ipynb")
    run_cell(page, 0)
    root = cell(page, 0).locator(".lw-compare")
    wait_for_widget(page, root, timeout=60)
    _send(root, "What is my name?")
    _round_done(root, 1)
    labels = root.locator(".lw-col-label")
    expect(labels).to_have_text(["Response 1", "Response 2"])
    expect(root).to_have_attribute("data-blind", "true")
    expect(root.locator(".lw-chip-model")).to_have_count(0)  # nothing tells them apart
    buttons = root.locator(".lw-vote-btn")
    expect(buttons.first).to_have_text("Response 1")
    buttons.first.click()  # the left column, whichever variant it is
    expect(root).to_have_attribute("data-blind", "false", timeout=30_000)
    shown = labels.all_inner_texts()
    assert sorted(shown) == ["A", "B"]
    expect(root.locator(".lw-vote-state")).to_have_text(f"voted: {shown[0]}")
    run_cell(page, 1)
    out = cell(page, 1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("ORDER=", timeout=60_000)
    assert f"ORDER={','.join(shown)} VOTE={shown[0]}" in out.inner_text()
    expect(root.locator(".lw-judge")).to_contain_text("Judge:", timeout=30_000)
    chart = root.locator(".lw-chart svg")  # the summary, drawn once there is a vote
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("aria-label", re.compile(r"by votes: 100%"))
    assert chart.locator("circle").count() >= 2
    assert page_problems(page) == []
