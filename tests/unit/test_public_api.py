"""The public surface: what `import letta_widgets` offers, and what it costs."""

from __future__ import annotations

import subprocess
import sys

import letta_widgets as lw


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    for name in lw.__all__:
        value = getattr(lw, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"


def test_import_is_light() -> None:
    """`import letta_widgets` must not drag in pandas, anywidget or the devserver."""
    code = (
        "import sys, letta_widgets; "
        "heavy = [m for m in ('pandas', 'anywidget', 'starlette', 'pyarrow') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_runtime_dependencies_are_pinned_to_the_declared_set() -> None:
    """Runtime code imports only the declared dependencies (and the standard library)."""
    from importlib.metadata import requires

    declared = {
        r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for r in requires("letta-widgets") or []
        if "extra ==" not in r
    }
    assert {"letta-client", "anywidget", "ipywidgets", "pandas", "nest-asyncio"} <= declared
