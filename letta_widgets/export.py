"""Message history -> a Parquet dataset: kept importable, the code is in
:mod:`letta_widgets.history_dataset`."""

from __future__ import annotations

from letta_widgets.history_dataset import compact_history, export_history, read_history

__all__ = ["compact_history", "export_history", "read_history"]
