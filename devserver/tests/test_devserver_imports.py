"""letta-devserver stands alone: it imports the standard library, its two dependencies, and
(only where a test suite or a client needs them) pytest and letta-client; never letta-widgets."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import letta_devserver

PACKAGE = Path(letta_devserver.__file__).parent
ALLOWED = {"starlette": None, "uvicorn": None, "pytest": "pytest_plugin.py", "letta_client": None}
"""Third-party imports and the one module allowed each (None: any)."""
STDLIB_ONLY = (
    "script.py", "facts.py", "images.py", "process.py", "testing.py", "faults.py", "profiles.py",
)  # fmt: skip
"""Modules the stub LLM (script) or every pytest run (the plugin's imports) load: stdlib only
at import time (letta_client is imported inside LettaServer.client)."""


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out - set(sys.stdlib_module_names) - {"letta_devserver"}


def test_third_party_imports_are_declared_and_never_the_widgets() -> None:
    for path in PACKAGE.glob("*.py"):
        for module in _imports(path):
            assert module in ALLOWED, f"{path.name} imports {module}"
            where = ALLOWED[module]
            assert where in (None, path.name), f"{module} belongs in {where}, not {path.name}"


def test_what_the_stub_llm_and_the_plugin_load_is_stdlib_only() -> None:
    for name in STDLIB_ONLY:
        assert not _imports(PACKAGE / name, top_level_only=True), name


def test_importing_the_plugin_loads_no_server_stack() -> None:
    code = (
        "import sys, letta_devserver.pytest_plugin, letta_devserver.script\n"
        "heavy = {'starlette', 'uvicorn', 'letta_client', 'letta_widgets'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
