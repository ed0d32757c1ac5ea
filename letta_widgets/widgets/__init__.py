"""The package's widgets, one module per widget (re-exported from ``letta_widgets``)."""

from __future__ import annotations

from letta_widgets.widgets.connection import ConnectionCard, show_connection

__all__ = ["ConnectionCard", "show_connection"]
