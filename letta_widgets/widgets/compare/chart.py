"""CompareView's answer to "is the difference real?", drawn: the numbers behind the chart.

:func:`chart_data` reads :func:`letta_widgets.compare_stats.summarize` into the small dict
the widget syncs (``chart``) and draws as SVG under the rounds; :func:`report_figure` draws
the same as a matplotlib figure for the notebook (``cmp.report()``). Both show each
variant's win rate with its 95 % Wilson interval (people's votes and the judge's verdicts)
and the median paired difference in total time against the first variant with its
bootstrap interval.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["chart_data", "report_figure"]


def _num(value: Any) -> float | None:
    """A JSON-ready float (``None`` for NA)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def chart_data(summary: pd.DataFrame) -> dict[str, Any]:
    """``{"win": [...], "latency": [...], "sign_p": ...}`` from a summary frame: one entry per
    variant, ``rate``/``low``/``high``/``n`` for people and the judge, ``diff``/``low``/
    ``high`` seconds against the first variant."""
    if summary.empty:
        return {}
    win, latency = [], []
    for label, row in summary.iterrows():  # indexed by variant
        for who, prefix, count in (
            ("votes", "win_rate", "voted"),
            ("judge", "judge_win_rate", "judged"),
        ):
            n = int(row.get(count) or 0)
            if n:
                win.append(
                    {
                        "label": str(label),
                        "who": who,
                        "rate": _num(row.get(prefix)),
                        "low": _num(row.get(f"{prefix}_low")),
                        "high": _num(row.get(f"{prefix}_high")),
                        "n": n,
                    }
                )
        diff = _num(row.get("median_diff_total_s"))
        if diff is not None:
            latency.append(
                {
                    "label": str(label),
                    "diff": diff,
                    "low": _num(row.get("median_diff_total_s_low")),
                    "high": _num(row.get("median_diff_total_s_high")),
                    "n": int(row.get("median_diff_total_s_n") or 0),
                    "sign_p": _num(row.get("sign_p")),
                }
            )
    base = str(summary.index[0])
    return {"win": win, "latency": latency, "baseline": base} if win or latency else {}


def report_figure(summary: pd.DataFrame) -> Any:
    """A matplotlib figure: win rates with intervals, and paired time differences."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib ships with the demo extra
        raise ImportError("cmp.report() draws with matplotlib: pip install matplotlib") from None
    data = chart_data(summary)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), constrained_layout=True)
    wins = data.get("win", [])
    for y, w in enumerate(wins):
        if w["rate"] is None:
            continue
        lo, hi = w["low"] or 0.0, w["high"] or 1.0
        left.errorbar(
            w["rate"], y, xerr=[[w["rate"] - lo], [hi - w["rate"]]], fmt="o",
            color="C0" if w["who"] == "votes" else "C1", capsize=4,
        )  # fmt: skip
    left.set_yticks(range(len(wins)), [f"{w['label']} ({w['who']}, n={w['n']})" for w in wins])
    left.set_xlim(0, 1)
    left.axvline(0.5, color="grey", lw=0.8, ls=":")
    left.set_xlabel("win rate (95 % Wilson interval)")
    left.set_title("Who wins")
    lat = [d for d in data.get("latency", []) if d["label"] != data.get("baseline")]
    for y, d in enumerate(lat):
        lo = d["low"] if d["low"] is not None else d["diff"]
        hi = d["high"] if d["high"] is not None else d["diff"]
        right.errorbar(d["diff"], y, xerr=[[d["diff"] - lo], [hi - d["diff"]]], fmt="s", capsize=4)
    right.set_yticks(range(len(lat)), [f"{d['label']} − {data.get('baseline')}" for d in lat])
    right.axvline(0, color="grey", lw=0.8)
    right.set_xlabel("median paired difference in total time, s (bootstrap 95 %)")
    right.set_title("How much slower")
    plt.close(fig)
    return fig
