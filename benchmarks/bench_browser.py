"""ConversationBrowser on a 20,000-message conversation, in JupyterLab + Chromium (`make bench`).

Starts its own devserver (in-memory) and JupyterLab on loopback, fills one conversation
through the devserver's bulk insert, opens a ConversationBrowser on its agent in Chromium
and prints a table:

1. Time to first paint of the newest page after selection: from the click on the row to
   the animation frame after the page is in the DOM (measured in the page; median and max
   of ``--repeat`` selections). Target: at most 300 ms. The kernel-side share (the
   ``messages`` request alone, Python, newest page) is shown for reference.
2. DOM size after scrolling up through 2,000 messages: element count of the widget and
   message items in the DOM, against what a pane that kept every page would hold.
   Target: bounded (at most 3 pages of at most 100 messages, whatever the length).
3. The conversation list of an agent with ``--conversations`` conversations, scrolled to
   the end a page at a time: rows and elements in the list's DOM (most at any time and
   after), against the number of rows loaded. Target: bounded (the rows near the
   viewport plus the overscan, fewer than ``LIST_ROWS_BOUND``), whatever the count.

Usage: ``python benchmarks/bench_browser.py [--messages 20000] [--scroll 2000] [--repeat 5]
[--conversations 2000]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from letta_client import Letta

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from _server import devserver  # noqa: E402
from jlab import (  # noqa: E402
    NON_LOOPBACK,
    add_cell_and_run,
    launch_chromium,
    open_notebook,
    run_all_cells,
    start_jupyter,
    wait_for_cells_done,
    write_notebook,
)
from playwright.sync_api import sync_playwright  # noqa: E402

from letta_widgets.widgets.browser import ConversationBrowser  # noqa: E402

CELL = (
    "import letta_widgets as lw\n"
    "from letta_widgets.widgets.browser import ConversationBrowser\n"
    "browser = ConversationBrowser(lw.connect(), {agent!r}, lineage_path={lineage!r})\n"
    "browser"
)


LIST_DOM = """el => {
  const list = el.querySelector('.lw-conv-list');
  return [list.querySelectorAll('.lw-conv-row').length, list.querySelectorAll('*').length];
}"""
LIST_ROWS_BOUND = 100
"""Most conversation rows the windowed list may hold in the DOM (a viewport plus overscan)."""


def fill(base_url: str, messages: int) -> tuple[str, str, str, int]:
    """An agent with a `messages`-long conversation and a short one; returns ids and count."""
    client = Letta(base_url=base_url, max_retries=0)
    agent = client.agents.create(
        name="bench-browser",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "human", "value": "The human's name is Ada."}],
    )
    short = client.conversations.create(agent_id=agent.id, summary="short").id
    list(client.conversations.messages.create(short, messages=[{"role": "user", "content": "hi"}]))
    long = client.conversations.create(agent_id=agent.id, summary="twenty thousand").id
    total = 0
    while total < messages:
        turns = max(1, min(2000, (messages - total) // 4 + 1))
        r = httpx.post(
            f"{base_url}/v1/_devserver/conversations/{long}/synthetic",
            json={"turns": turns},
            timeout=300,
        )
        r.raise_for_status()
        total = _count(client, long)
    return agent.id, long, short, total


def _count(client: Letta, cid: str) -> int:
    n, after = 0, None
    while True:
        kw = {"limit": 5000, "order": "asc", **({"after": after} if after else {})}
        page = client.conversations.messages.list(cid, **kw).items
        new = [m for m in page if m.id != after]
        if not new:
            return n
        # count whole id groups only once: the next page starts after the last id
        last = page[-1].id
        n += sum(1 for m in page if m.id != last) if len(page) >= 5000 else len(page)
        if len(page) < 5000:
            return n
        after = next(m.id for m in reversed(page) if m.id != last)


def many_conversations(base_url: str, n: int) -> str:
    """An agent with ``n`` conversations (summaries only)."""
    client = Letta(base_url=base_url, max_retries=0)
    agent = client.agents.create(
        name="bench-browser-many",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "human", "value": "The human's name is Ada."}],
    )
    for i in range(n):
        client.conversations.create(agent_id=agent.id, summary=f"conversation {i:05d}")
    return agent.id


def kernel_side(base_url: str, agent_id: str, cid: str, repeat: int) -> list[float]:
    client = Letta(base_url=base_url, max_retries=0)
    with tempfile.TemporaryDirectory() as tmp:
        b = ConversationBrowser(client, agent_id, lineage_path=f"{tmp}/l.json")
        b.select(cid)
        times = []
        for _ in range(repeat):
            b._in_context.clear()
            t0 = time.perf_counter()
            b.messages_page()
            times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--scroll", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--conversations", type=int, default=2_000)
    args = ap.parse_args()

    with devserver() as server, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        agent_id, long, short, total = fill(server.base_url, args.messages)
        print(f"filled {total:,} messages in {time.perf_counter() - t0:.1f} s", flush=True)
        kernel_ms = kernel_side(server.base_url, agent_id, long, args.repeat)
        many_agent = many_conversations(server.base_url, args.conversations)

        root = Path(tmp) / "root"
        state = Path(tmp) / "state"
        root.mkdir()
        state.mkdir()
        lineage = str(Path(tmp) / "lineage.json")
        write_notebook(root / "bench.ipynb", [CELL.format(agent=agent_id, lineage=lineage)])
        lab = start_jupyter("lab", root, state, env={"LETTA_BASE_URL": server.base_url})
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.route(NON_LOOPBACK, lambda route: route.abort())
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                open_notebook(page, lab, "bench.ipynb")
                run_all_cells(page)
                wait_for_cells_done(page)
                w = page.locator(".lw-browser").first
                w.wait_for()
                long_row = w.locator(f".lw-conv-row[data-id='{long}']")
                short_row = w.locator(f".lw-conv-row[data-id='{short}']")
                long_row.wait_for()
                # statistics (message counts) of the visible rows settle first
                page.wait_for_function(
                    "id => /\\d messages/.test(document.querySelector("
                    "`.lw-conv-row[data-id='${id}'] .lw-conv-meta`).textContent)",
                    arg=long,
                    timeout=300_000,
                )
                paints: list[float] = []
                for _ in range(args.repeat):
                    short_row.click()
                    page.wait_for_function(
                        "() => document.querySelector('.lw-browser').dataset.msgState === 'ready'"
                    )
                    page.wait_for_timeout(300)
                    ms = page.evaluate(
                        """id => new Promise(resolve => {
                          const root = document.querySelector('.lw-browser');
                          const row = root.querySelector(`.lw-conv-row[data-id='${id}']`);
                          const t0 = performance.now();
                          const check = () => {
                            if (root.dataset.msgState === 'ready'
                                && root.querySelector('.lw-pages .lw-item')
                                && root.dataset.selected === id) {
                              requestAnimationFrame(() => resolve(performance.now() - t0));
                            } else setTimeout(check, 2);
                          };
                          row.click();
                          setTimeout(check, 0);
                        })""",
                        long,
                    )
                    paints.append(ms)
                nodes_first = w.evaluate("el => el.querySelectorAll('*').length")
                items_first = w.locator(".lw-pages .lw-item").count()

                seen: set[str] = set()
                scrolls = 0
                most_nodes = nodes_first
                most_items = items_first
                while len(seen) < args.scroll and scrolls < 200:
                    ids = w.locator(".lw-pages .lw-item").evaluate_all(
                        "els => els.map(e => e.dataset.key)"
                    )
                    seen.update(ids)
                    w.locator(".lw-messages").evaluate("el => { el.scrollTop = 0; }")
                    page.wait_for_function(
                        "() => document.querySelector('.lw-browser').dataset.msgState === 'ready'"
                    )
                    page.wait_for_timeout(60)
                    scrolls += 1
                    most_nodes = max(
                        most_nodes, w.evaluate("el => el.querySelectorAll('*').length")
                    )
                    most_items = max(most_items, w.locator(".lw-pages .lw-item").count())
                nodes_after = w.evaluate("el => el.querySelectorAll('*').length")
                items_after = w.locator(".lw-pages .lw-item").count()
                per_item = (nodes_first - 200) / max(1, items_first)

                # the conversation list: scroll through every page of a large agent
                add_cell_and_run(page, f"browser.agent_id = {many_agent!r}")
                page.wait_for_function(
                    "id => document.querySelector('.lw-browser').dataset.agent === id",
                    arg=many_agent,
                )
                page.wait_for_function(
                    "() => document.querySelector('.lw-browser').dataset.listState === 'ready'"
                )
                t_list = time.perf_counter()
                conv_list = w.locator(".lw-conv-list")
                most_list_rows = most_list_nodes = 0
                while w.get_attribute("data-list-done") != "true":
                    conv_list.evaluate("el => { el.scrollTop = el.scrollHeight; }")
                    page.wait_for_timeout(50)
                    rows_now, nodes_now = w.evaluate(LIST_DOM)
                    most_list_rows = max(most_list_rows, rows_now)
                    most_list_nodes = max(most_list_nodes, nodes_now)
                    if time.perf_counter() - t_list > 600:
                        break
                list_s = time.perf_counter() - t_list
                conv_list.evaluate("el => { el.scrollTop = el.scrollHeight; }")
                page.wait_for_timeout(300)
                loaded = int(w.get_attribute("data-conversations") or "0")
                list_rows, list_nodes = w.evaluate(LIST_DOM)
                most_list_rows = max(most_list_rows, list_rows)
                most_list_nodes = max(most_list_nodes, list_nodes)
                widget_nodes = w.evaluate("el => el.querySelectorAll('*').length")
                # a click on a row far down still answers promptly
                t_click = time.perf_counter()
                w.locator(".lw-conv-row").last.click()
                page.wait_for_function(
                    "() => document.querySelector('.lw-browser').dataset.msgState === 'ready'"
                )
                list_click_ms = (time.perf_counter() - t_click) * 1000
                browser.close()
        finally:
            lab.stop()

    med = statistics.median(paints)
    rows = [
        ("conversation length (messages)", f"{total:,}", ""),
        (
            "first paint of newest page after selection (median)",
            f"{med:.0f} ms",
            "<= 300 ms " + ("OK" if med <= 300 else "MISSED"),
        ),
        ("first paint, max of runs", f"{max(paints):.0f} ms", f"{len(paints)} runs"),
        ("kernel side: newest page request (median)", f"{statistics.median(kernel_ms):.0f} ms", ""),
        ("message items scrolled through", f"{len(seen):,}", f"{scrolls} scroll-ups"),
        ("DOM elements after first page", f"{nodes_first:,}", f"{items_first} items"),
        ("DOM elements after scrolling", f"{nodes_after:,}", f"{items_after} items"),
        ("DOM elements, most at any time", f"{most_nodes:,}", f"{most_items} items (<= 300)"),
        (
            "DOM elements if every page were kept (est.)",
            f"{int(200 + per_item * len(seen)):,}",
            "for comparison",
        ),
    ]
    rows += [
        (
            f"conversation list: all {args.conversations:,} loaded by scrolling",
            f"{list_s:.1f} s",
            f"{loaded:,} rows loaded (with the default row)",
        ),
        (
            "conversation list: rows in the DOM after scrolling",
            f"{list_rows:,}",
            f"most at any time {most_list_rows:,} (viewport + overscan)",
        ),
        (
            "conversation list: DOM elements after scrolling",
            f"{list_nodes:,}",
            f"most {most_list_nodes:,}; whole widget {widget_nodes:,}",
        ),
        ("conversation list: select the last row (to ready)", f"{list_click_ms:.0f} ms", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'ConversationBrowser':<{width}}  {'value':>12}  note")
    print("-" * (width + 40))
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    ok = med <= 300 and most_items <= 300 and most_list_rows < LIST_ROWS_BOUND
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
