"""Word-level diffs of two answers, and how much of them the two sides share."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

__all__ = ["diff_similarity", "word_diff"]

_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(a: str, b: str, *, limit: int = 20_000) -> list[list[str]]:
    """A word-level diff of ``a`` -> ``b`` as ``[[op, text], ...]`` runs.

    ``op`` is ``"="`` (in both), ``"-"`` (only in ``a``) or ``"+"`` (only in ``b``).
    Whitespace is kept with the words, so joining the ``=`` and ``-`` runs gives ``a``
    back and the ``=`` and ``+`` runs give ``b``. Texts longer than ``limit`` words are
    diffed on their first ``limit`` words; the rest is one ``-`` / ``+`` run each.
    """
    ta, tb = _WORDS.findall(a or ""), _WORDS.findall(b or "")
    tail_a, tail_b = ta[limit:], tb[limit:]
    ta, tb = ta[:limit], tb[:limit]
    out: list[list[str]] = []

    def push(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1][1] += text
        else:
            out.append([op, text])

    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            push("=", "".join(ta[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            push("-", "".join(ta[i1:i2]))
        if tag in ("insert", "replace"):
            push("+", "".join(tb[j1:j2]))
    push("-", "".join(tail_a))
    push("+", "".join(tail_b))
    return out


def diff_similarity(ops: Sequence[Sequence[str]]) -> float:
    """Share of words the two sides have in common (1.0 = same words), from ``word_diff``."""

    def count(ops_: set[str]) -> int:
        return sum(len(re.findall(r"\S+", text)) for op, text in ops if op in ops_)

    same, a, b = count({"="}), count({"=", "-"}), count({"=", "+"})
    return 1.0 if a + b == 0 else 2 * same / (a + b)
