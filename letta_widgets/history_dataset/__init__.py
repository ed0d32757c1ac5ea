"""Message history as a Parquet dataset for big organizations (see ``docs/history.md``).

::

    PATH/_manifest.parquet                      the commit record: live files, high-water marks
    PATH/agent_id=agent-…/month=2026-05/part-<run>-00001.parquet
    PATH/_staging/…parquet.tmp                  parts of a run not yet committed
    PATH/_lock                                  held by the one export or compaction running

One module per job: :mod:`.schema` (Arrow schema, months), :mod:`.watermark` (where a
thread ends), :mod:`.manifest`, :mod:`.lock`, :mod:`.writer` (rolled parts),
:mod:`.commit` (the protocol and recovery), :mod:`.export`, :mod:`.compact`, :mod:`.read`,
:mod:`.legacy` (the old per-conversation layout).
"""

from letta_widgets.history_dataset.compact import compact_history
from letta_widgets.history_dataset.export import export_history
from letta_widgets.history_dataset.read import read_history

__all__ = ["compact_history", "export_history", "read_history"]
