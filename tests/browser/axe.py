"""axe-core in the browser tier: install it on first use, run it on one widget, report.

axe-core comes from npm (pinned below) into ``.venv/share/letta-widgets-axe`` the first time
a test needs it (``$LW_NODE_PREFIX`` instead of ``.venv``, as for ``scripts/check_js.py``).
It has a prefix of its own: ``npm install --no-save`` into ``.venv`` would prune the
TypeScript that ``check_js.py`` keeps in ``.venv/node_modules`` (npm removes packages that
no package.json lists), and the next lint would then remove axe-core.

``axe_run(page, locator)`` injects ``axe.min.js`` (``page.add_script_tag(path=…)``: the
file's text inline, no request) and runs ``axe.run(element, {resultTypes: ["violations"]})``
scoped to the widget's element, so JupyterLab's own chrome is not judged. It also says how
many elements the color-contrast rule looked at: few means it silently skipped the text (out
of view, or clipped by JupyterLab's 0-px body, see ``_RUN``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
AXE = "axe-core@4.14.1"
PREFIX = Path(os.environ.get("LW_NODE_PREFIX", REPO / ".venv")) / "share" / "letta-widgets-axe"
AXE_JS = PREFIX / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_script() -> Path:
    """The path of ``axe.min.js``, installed with npm the first time."""
    version = AXE.rsplit("@", 1)[1]
    stamp = PREFIX / ".version"
    if AXE_JS.exists() and stamp.exists() and stamp.read_text().strip() == version:
        return AXE_JS
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: node and npm are needed for the axe-core checks")
    PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(PREFIX), "--no-save", "--no-audit", "--no-fund",
         "--loglevel=error", AXE],
        check=True,
    )  # fmt: skip
    stamp.write_text(version)
    return AXE_JS


_RUN = """async (el) => {
  // JupyterLab's <body> is 0 px tall (its shell is absolutely positioned) with overflow:
  // hidden, and axe counts all text clipped by it as invisible: color-contrast would then
  // check no text at all. For the run, the body gets the viewport's height.
  const body = document.body.style.height;
  if (document.body.getBoundingClientRect().height < 2) document.body.style.height = "100vh";
  let res, contrast;
  try {
    res = await axe.run(el, { resultTypes: ["violations"] });
    // How much text color-contrast looked at: its own run with every result (resultTypes
    // keeps one node per rule of the passes), against the elements with visible text.
    const cc = await axe.run(el, { runOnly: ["color-contrast"] });
    const checked = [cc.violations, cc.passes, cc.incomplete].flat()
      .reduce((n, r) => n + r.nodes.length, 0);
    const texts = [...el.querySelectorAll("*")].filter((n) => n.getClientRects().length &&
      !n.closest(".lw-sr-only, [aria-hidden='true']") &&
      [...n.childNodes].some((c) => c.nodeType === 3 && c.data.trim()));
    contrast = { checked, texts: texts.length };
  } finally { document.body.style.height = body; }
  const violations = res.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 200),
                                 impact: n.impact, summary: n.failureSummary || "" })),
  }));
  return { violations, contrast };
}"""


def axe_run(page: Any, locator: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """axe's violations within ``locator``'s element, and how much text its color-contrast
    rule checked: ``{"checked": elements, "texts": elements with visible text}`` (axe is
    injected once per page)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_script()))
    result = locator.evaluate(_RUN)
    return result["violations"], result["contrast"]


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations whose impact is serious or critical."""
    return [v for v in violations if v["impact"] in SERIOUS]


def describe(violations: list[dict[str, Any]], where: str = "") -> str:
    """One block per violation: id, impact, help, and each offending node's target and HTML."""
    lines = []
    for v in violations:
        lines.append(f"{where}{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}  {node['html']}")
            if node["summary"]:
                lines.append("      " + node["summary"].replace("\n", "\n      "))
    return "\n".join(lines)
