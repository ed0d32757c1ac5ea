"""Execute a notebook with nbclient in a real ipykernel, and check the widget ESM it saved."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import letta_widgets as lw

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def execute(path: Path, base_url: str, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell of ``path`` top to bottom (cwd = its folder) with LETTA_BASE_URL set.

    A failing cell raises ``nbclient.exceptions.CellExecutionError``. Widget state is stored
    in the notebook's metadata, as a user's "Save widget state" would.
    """
    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("LETTA_BASE_URL")
    os.environ["LETTA_BASE_URL"] = base_url  # the kernel inherits this environment
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            store_widget_state=True,
            coalesce_streams=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        if old is None:
            os.environ.pop("LETTA_BASE_URL", None)
        else:
            os.environ["LETTA_BASE_URL"] = old
    return nb


def anywidget_states(nb: nbformat.NotebookNode) -> list[dict]:
    """The saved state of every anywidget model in an executed notebook."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return [m["state"] for m in state.values() if m.get("model_name") == "AnyModel"]


NODE_CHECK = """
import(process.argv[1]).then((m) => {
  const w = m.default;
  const ok = w && (typeof w.render === "function" || typeof w.initialize === "function");
  if (!ok) { console.error("no `export default { render }`"); process.exit(3); }
}, (e) => { console.error(String(e && e.stack || e)); process.exit(2); });
"""


def check_esm(esm: str) -> str:
    """Load ``esm`` as an ES module in Node: '' if it parses and exports ``{ render }``,
    else Node's error. Catches a broken widget without a browser."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found: the Makefile needs node (apt-get install nodejs)")
    with tempfile.TemporaryDirectory() as tmp:
        mod = Path(tmp) / "widget.mjs"
        mod.write_text(esm)
        proc = subprocess.run(
            [node, "-e", NODE_CHECK, mod.as_uri()],
            capture_output=True,
            text=True,
            timeout=60,
        )
    if proc.returncode == 0:
        return ""
    return proc.stderr or proc.stdout or f"node exited {proc.returncode}"


def demo_data(base_url: str) -> dict[str, object]:
    """What a notebook (or an app of one) must leave as it found it: every agent's memory blocks and, per
    conversation, how many messages it has."""
    client = lw.connect(base_url, max_retries=0)
    state: dict[str, object] = {}
    for agent in client.agents.list(limit=100):
        blocks = {b.label: b.value for b in client.agents.blocks.list(agent.id).items}
        convs = lw.conversations_frame(client, agent.id, archived="all", counts=True)
        state[agent.name] = (blocks, dict(zip(convs["id"], convs["message_count"], strict=True)))
    return state
