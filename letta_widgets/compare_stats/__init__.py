"""CompareView's numbers: the results schema, summaries and the statistics of an evaluation,
word diffs, and turn-by-turn alignment of existing conversations.

Everything here is pure (no server, no widget), so it is unit-tested on its own and
usable on a saved results file: ``summarize(pd.read_parquet("ab.parquet"))``.

* :mod:`.schema`: the results columns and dtypes (``results_frame``, ``conform_results``);
* :mod:`.inference`: the statistics on plain numbers (Wilson interval, exact sign test,
  bootstrap median difference, Cohen's kappa, position bias, plurality, unanimity);
* :mod:`.grouping`: a results frame as rounds and as prompts over their repeats;
* :mod:`.summary`: ``summarize``, one row per variant;
* :mod:`.diff` and :mod:`.align`: word diffs; ``from_history``'s alignment.

Win rate
--------
For each variant, ``wins / voted`` over the prompts that carry a vote (a variant's
label, ``"tie"`` or ``"all_bad"``; a prompt run with repeats counts once, with the
plurality of its repeats' votes): a tie and an all-bad vote count as voted prompts that
nobody won. The 95 % interval is Wilson's score interval, which stays inside [0, 1] and
behaves at 0 or n wins, unlike the normal approximation.
"""

from __future__ import annotations

from letta_widgets.compare_stats.align import (
    HistoryTurn,
    align_history,
    align_turns,
    default_labels,
    history_turns,
)
from letta_widgets.compare_stats.diff import diff_similarity, word_diff
from letta_widgets.compare_stats.grouping import (
    paired_differences,
    prompt_verdicts,
    repeat_spread,
    round_table,
    verdict_groups,
)
from letta_widgets.compare_stats.inference import (
    Z95,
    Interval,
    Kappa,
    PositionBias,
    cohen_kappa,
    median_difference,
    plurality,
    position_bias,
    sign_test,
    unanimity,
    wilson_interval,
)
from letta_widgets.compare_stats.schema import (
    METRICS,
    RESULT_COLUMNS,
    RESULT_DOC,
    RESULT_DTYPES,
    SPECIAL_VOTES,
    conform_results,
    display_order_text,
    parse_display_order,
    results_frame,
)
from letta_widgets.compare_stats.summary import PAIRED_METRICS, SPREAD_METRICS, summarize

__all__ = [
    "METRICS",
    "PAIRED_METRICS",
    "RESULT_COLUMNS",
    "RESULT_DOC",
    "RESULT_DTYPES",
    "SPECIAL_VOTES",
    "SPREAD_METRICS",
    "Z95",
    "HistoryTurn",
    "Interval",
    "Kappa",
    "PositionBias",
    "align_history",
    "align_turns",
    "cohen_kappa",
    "conform_results",
    "default_labels",
    "diff_similarity",
    "display_order_text",
    "history_turns",
    "median_difference",
    "paired_differences",
    "parse_display_order",
    "plurality",
    "position_bias",
    "prompt_verdicts",
    "repeat_spread",
    "results_frame",
    "round_table",
    "sign_test",
    "summarize",
    "unanimity",
    "verdict_groups",
    "wilson_interval",
    "word_diff",
]
