"""The import layers of ARCHITECTURE.md, enforced: a module imports only layers below its own,
Letta's vocabulary imports nothing but the standard library, and no module imports another
module's private names."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import letta_widgets

ROOT = Path(letta_widgets.__file__).resolve().parent

LAYERS: dict[str, int] = {
    "letta_widgets.letta": 0,
    "letta_widgets.errors": 1,
    "letta_widgets.client": 1,
    "letta_widgets._loop": 1,
    "letta_widgets.lineage": 1,
    "letta_widgets.compare_stats": 1,
    "letta_widgets.costs": 1,
    "letta_widgets.render": 2,
    "letta_widgets._messages": 2,
    "letta_widgets.frames": 3,
    "letta_widgets.export": 5,  # the old import path of history_dataset
    "letta_widgets.history_dataset": 4,
    "letta_widgets.transcripts": 4,
    "letta_widgets.letta_evals": 4,
    "letta_widgets.turn": 4,
    "letta_widgets.stream": 5,
    "letta_widgets.branches": 5,
    "letta_widgets.judge": 5,
    "letta_widgets.widgets": 6,
    "letta_widgets.magics": 7,
    "letta_widgets.cli": 7,
    "letta_widgets": 8,
}
"""Each unit's layer (ARCHITECTURE.md): a unit is a top-level module or a subpackage."""


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    while parts and ".".join(parts) not in LAYERS:
        parts.pop()
    return ".".join(parts)


def _exists(module: str) -> bool:
    base = ROOT.parent / module.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import of ``letta_widgets``."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("letta_widgets")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("letta_widgets"):
                continue
            names = [a.name for a in node.names]
            subs = [n for n in names if _exists(f"{node.module}.{n}")]
            out += [(f"{node.module}.{n}", []) for n in subs]
            rest = [n for n in names if n not in subs]
            if rest:
                out.append((node.module, rest))
    return out


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    for path in _sources():
        assert _unit(_module(path)), f"{path} belongs to no layer of ARCHITECTURE.md"


def test_modules_import_only_lower_layers() -> None:
    wrong = []
    for path in _sources():
        me = _unit(_module(path))
        for target, _ in _imports(path):
            unit = _unit(target)
            if unit != me and LAYERS[unit] >= LAYERS[me]:
                wrong.append(f"{_module(path)} (layer {LAYERS[me]}) imports {target} "
                             f"(layer {LAYERS[unit]})")  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_the_vocabulary_imports_only_the_standard_library() -> None:
    for path in (ROOT / "letta").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                ok = top in sys.stdlib_module_names or top == "__future__"
                ok = ok or (
                    _module(path).startswith("letta_widgets.letta") and top == "letta_widgets"
                )
                assert ok, f"{path.name} imports {top}"
                if top == "letta_widgets":
                    assert node.module.startswith("letta_widgets.letta"), node.module  # type: ignore[union-attr]


def test_no_private_name_is_imported_across_modules() -> None:
    found = [
        f"{_module(path)}: from {module} import {name}"
        for path in _sources()
        for module, names in _imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not found, "\n".join(found)


def test_no_docstring_points_outside_the_repository() -> None:
    for path in _sources():
        text = path.read_text()
        assert "shared/" not in text, f"{path} cites shared/…, which is not in the repository"
