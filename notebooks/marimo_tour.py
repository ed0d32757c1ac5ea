import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="letta-widgets in marimo")


@app.cell
def _():
    import html

    import marimo as mo

    import letta_widgets as lw

    return html, lw, mo


@app.cell
def _(mo):
    mo.md("""
    # letta-widgets in marimo

    Every widget is an anywidget: wrap it in `mo.ui.anywidget(...)`. This notebook
    connects to `LETTA_BASE_URL` (default `http://localhost:8283`; `make devserver`
    starts an offline one with demo data).
    """)
    return


@app.cell
def _(lw):
    client = lw.connect()
    agents = {a.name: a for a in client.agents.list()}
    agent = agents.get("ada-research-assistant") or next(iter(agents.values()))
    conversations = list(client.conversations.list(agent_id=agent.id))
    source = next(
        (c for c in conversations if (c.summary or "").startswith("Getting to know")),
        conversations[0],
    )
    return agent, client, source


@app.cell
def _(mo):
    mo.md("""
    ## Chat: type a message, Enter sends; Stop ends a run
    """)
    return


@app.cell
def _(agent, client, lw, mo):
    chat = mo.ui.anywidget(lw.ChatCell(client, agent_id=agent.id, height="320px"))
    chat
    return (chat,)


@app.cell
def _(mo):
    mo.md("""
    ## One message, one cell: `lw.ask`

    The function form of Jupyter's `%%letta` cell magic (marimo has no magics): a ChatCell
    whose turn is already streaming. `asked.wait()` blocks until it ends.
    """)
    return


@app.cell
def _(agent, client, lw, mo):
    asked_in = client.conversations.create(agent_id=agent.id, summary="Asked from marimo")
    asked = mo.ui.anywidget(lw.ask(asked_in.id, "What do you remember about me?", client=client))
    asked
    return


@app.cell
def _(mo):
    mo.md("""
    ## Browse: the agent's conversations, older messages on scroll
    """)
    return


@app.cell
def _(agent, client, lw, mo):
    browser = mo.ui.anywidget(lw.ConversationBrowser(client, agent.id))
    browser
    return


@app.cell
def _(browser, mo):
    # marimo re-runs this cell when a click in the browser changes its selection
    mo.stop(not browser.selected, mo.md("*Select a conversation: its messages show here.*"))
    selected = browser.selected_frame()
    mo.vstack(
        [
            mo.md(f"Selected `{browser.selected}`: {len(selected)} messages"),
            selected[["date", "message_type", "text"]].tail(5),
        ]
    )
    return


@app.cell
def _(mo):
    mo.md("""
    ## Compare: one prompt, two forks of the same history; vote for the better
    """)
    return


@app.cell
def _(client, lw, mo, source):
    cmp = mo.ui.anywidget(
        lw.CompareView(
            client,
            [lw.Variant(fork_of=source.id), lw.Variant(fork_of=source.id, model="openai/gpt-4o")],
            labels=["A", "B"],
        )
    )
    cmp
    return (cmp,)


@app.cell
def _(mo):
    show = mo.ui.run_button(label="Show the results")
    show
    return (show,)


@app.cell
def _(chat, cmp, html, mo, show):
    mo.stop(not show.value, mo.md("*Press the button to read the widgets' state in Python.*"))
    results = cmp.results
    votes = ", ".join(f"{p}: {v}" for p, v in results.groupby("prompt")["vote"].first().items())
    last = chat.last_turn.stop_reason if chat.last_turn else None
    mo.vstack(
        [
            mo.Html(
                f'<p class="lw-tour-state">Chat <code>{chat.conversation_id}</code>: '
                f"<b>{chat.status}</b>, last stop reason {html.escape(str(last))}<br>"
                f"Votes: {html.escape(votes or 'none yet')}</p>"
            ),
            results[["prompt", "variant", "vote", "ttft_s", "total_tokens", "stop_reason"]],
        ]
    )
    return


if __name__ == "__main__":
    app.run()
