"""Type-check the widgets' ES modules as they ship (``bundle()`` output) with ``tsc --noEmit``.

Every static .js file starts with ``// @ts-check`` and carries JSDoc types; the modules are
checked after concatenation, because a widget's module is ``common.js`` + its own file.
TypeScript comes from npm (pinned below) into ``.venv/node_modules`` on first use.
Usage: ``python scripts/check_js.py`` (``make lint`` runs it); exit code 1 on a type error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TYPESCRIPT = "typescript@5.9.3"
PREFIX = Path(os.environ.get("LW_NODE_PREFIX", REPO / ".venv"))
TSC = PREFIX / "node_modules" / ".bin" / "tsc"
STATIC = REPO / "letta_widgets" / "static"


def _tsc() -> Path:
    if not TSC.exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("check_js: npm not found (node and npm are needed to type-check the JS)")
        subprocess.run(
            [npm, "install", "--prefix", str(PREFIX), "--no-save", "--no-audit", "--no-fund",
             "--loglevel=error", TYPESCRIPT],
            check=True,
        )  # fmt: skip
    return TSC


def _modules() -> dict[str, object]:
    from letta_widgets.widgets.browser import ConversationBrowser
    from letta_widgets.widgets.chat import ChatCell
    from letta_widgets.widgets.compare import CompareView
    from letta_widgets.widgets.connection import ConnectionCard

    return {
        "chat.js": ChatCell._esm,
        "browser.js": ConversationBrowser._esm,
        "compare.js": CompareView._esm,
        "connection.js": ConnectionCard._esm,
    }


def _to_sources(report: str, modules: dict[str, object]) -> str:
    """tsc's ``bundle.js(L,C)`` positions as ``letta_widgets/static/<file>.js:L:C``."""
    starts: dict[str, list[tuple[int, str]]] = {}
    for name, source in modules.items():
        text = str(source)
        spans = []
        for part in STATIC.glob("*.js"):
            at = text.find(part.read_text(encoding="utf-8"))
            if at >= 0:
                spans.append((text[:at].count("\n") + 1, part.name))
        starts[name] = sorted(spans)
    out = []
    for line in report.splitlines():
        m = re.search(r"([\w.-]+\.js)\((\d+),(\d+)\)", line)
        if m and m.group(1) in starts:
            row = int(m.group(2))
            begin, file = max(((b, f) for b, f in starts[m.group(1)] if b <= row), default=(1, "?"))
            where = f"letta_widgets/static/{file}:{row - begin + 1}:{m.group(3)}"
            line = where + line[m.end() :]
        out.append(line)
    return "\n".join(dict.fromkeys(out))  # common.js errors once, not once per widget


def main() -> int:
    """Write each widget's module to a temporary folder and run ``tsc --noEmit`` on them."""
    missing = [p.name for p in STATIC.glob("*.js") if not p.read_text().startswith("// @ts-check")]
    if missing:
        print(f"check_js: these files do not start with // @ts-check: {missing}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, source in _modules().items():
            path = Path(tmp) / name
            path.write_text(str(source), encoding="utf-8")
            files.append(str(path))
        cmd = [
            str(_tsc()), "--noEmit", "--allowJs", "--checkJs", "--skipLibCheck",
            "--target", "es2022", "--module", "es2022", "--lib", "es2022,dom,dom.iterable",
            *files,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        print(_to_sources(proc.stdout + proc.stderr, _modules()))
        return 1
    print(f"check_js: {len(files)} widget modules type-check ({TYPESCRIPT})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
