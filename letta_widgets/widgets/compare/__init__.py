"""CompareView: the widget (:mod:`.widget`) and its parts, one job each (see its docstring)."""

from letta_widgets.widgets.compare.rounds import Round
from letta_widgets.widgets.compare.variants import Variant
from letta_widgets.widgets.compare.widget import FLUSH_HZ, CompareView

__all__ = ["FLUSH_HZ", "CompareView", "Round", "Variant"]
