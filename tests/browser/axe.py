"""axe-core in the browser tier: find it (install it on first use), run it on one widget.

``make browser-deps`` (``scripts/install-browser-deps.sh``, where the version is pinned) puts
``axe.min.js`` in ``<venv>/share/letta-widgets-axe/``; when it is missing (pytest run without
make), :func:`axe_script` runs that script for the venv running the tests.

``axe_run(page, locator)`` injects ``axe.min.js`` (``page.add_script_tag(path=…)``: the
file's text inline, no request) and runs ``axe.run(element, {resultTypes: ["violations"]})``
scoped to the widget's element, so JupyterLab's own chrome is not judged. It also says how
many elements the color-contrast rule looked at: few means it silently skipped the text (out
of view, or clipped by JupyterLab's 0-px body, see ``_RUN``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
AXE_JS = Path(sys.prefix) / "share" / "letta-widgets-axe" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_script() -> Path:
    """The path of ``axe.min.js``; ``scripts/install-browser-deps.sh`` runs when it is missing."""
    if not AXE_JS.is_file():
        script = REPO / "scripts" / "install-browser-deps.sh"
        subprocess.run(["bash", str(script), sys.prefix], check=True)
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
    // elements with text of their own, not scrolled out of a scroll box or the viewport
    const overlaps = (a, b) =>
      a.top < b.bottom && b.top < a.bottom && a.left < b.right && b.left < a.right;
    const view = { top: 0, left: 0, bottom: innerHeight, right: innerWidth };
    const inView = (n) => {
      const r = n.getBoundingClientRect();
      if (!r.width || !r.height || !overlaps(r, view)) return false;
      for (let up = n.parentElement; up && up !== el.parentElement; up = up.parentElement) {
        const s = getComputedStyle(up);
        if ((s.overflowX !== "visible" || s.overflowY !== "visible") &&
            !overlaps(r, up.getBoundingClientRect())) return false;
      }
      return true;
    };
    const texts = [...el.querySelectorAll("*")].filter((n) =>
      !n.closest(".lw-sr-only, [aria-hidden='true']") &&
      [...n.childNodes].some((c) => c.nodeType === 3 && c.data.trim()) && inView(n));
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
