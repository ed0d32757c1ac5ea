"""The history schema as documentation: :func:`schema_table`."""

from __future__ import annotations

import pandas as pd

from letta_widgets._messages import SCHEMA, SCHEMA_DOC


def schema_table() -> str:
    """The schema as a markdown table (column, dtype, meaning): used in the README."""
    lines = ["| column | dtype | meaning |", "|---|---|---|"]
    for col, dtype in [*SCHEMA.items(), ("raw", "object")]:
        shown = "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype)
        if col == "tool_args":
            shown = "object (dict)"
        if col == "raw":
            shown = "object (dict)"
        lines.append(f"| `{col}` | `{shown}` | {SCHEMA_DOC[col]} |")
    return "\n".join(lines)
