"""The public surface: what `import letta_widgets` offers, and what it costs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

import letta_widgets as lw


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    for name in lw.__all__:
        value = getattr(lw, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"


def test_import_is_light() -> None:
    """`import letta_widgets` must not drag in the SDK, pandas, anywidget or the devserver."""
    code = (
        "import sys, letta_widgets; "
        "heavy = [m for m in ('pandas', 'anywidget', 'starlette', 'pyarrow', 'letta_client') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# import name -> distribution, for every third-party module runtime code may import
RUNTIME_IMPORTS = {
    "letta_client": "letta-client",
    "anywidget": "anywidget",
    "ipywidgets": "ipywidgets",
    "traitlets": "ipywidgets",  # ipywidgets' own dependency, the widget trait system
    "pandas": "pandas",
    "numpy": "pandas",
    "nest_asyncio": "nest-asyncio",
    "markdown_it": "markdown-it-py",
    "pygments": "pygments",
    "nh3": "nh3",
    "tqdm": "tqdm",
    "httpx": "letta-client",  # the SDK's transport; only its exception types are used
    "IPython": "ipywidgets",
    "platformdirs": "platformdirs",
    "pyarrow": "pyarrow",  # optional: the `parquet` extra, imported only by export
    "matplotlib": "matplotlib",  # optional: the `demo` extra, only CompareView.report()
    "genai_prices": "genai-prices",  # the price table of costs.py
    "letta_devserver": "letta-devserver",  # optional: the `server` extra, only the CLI's demo
}


def _declared(pyproject: Path) -> list[str]:
    """The requirements this checkout declares (dependencies and every extra), if it has a
    pyproject.toml: the installed metadata may be another checkout's."""
    if not pyproject.exists():
        return []
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [*project.get("dependencies", []), *(r for group in extras for r in group)]


def test_runtime_code_imports_only_declared_dependencies() -> None:
    """Every import is stdlib, ours, or a declared dependency (extras included)."""
    import ast
    from importlib.metadata import requires

    root = Path(lw.__file__).parent
    declared = {
        r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for r in _declared(root.parent / "pyproject.toml") or requires("letta-widgets") or []
    }
    found: dict[str, str] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "letta_widgets":
                    continue
                found[top] = str(path.relative_to(root))
    unknown = {m: f for m, f in found.items() if m not in RUNTIME_IMPORTS}
    assert not unknown, f"undeclared imports: {unknown}"
    for module in found:
        assert RUNTIME_IMPORTS[module] in declared, module
