"""Blind rounds: whatever the shown order, a vote for a column names its variant."""

from __future__ import annotations

import itertools
import random

from letta_widgets.widgets.compare.rounds import Cell, Round, blind_name, column_info, round_info


def blind_round(order: list[int], labels: str = "ABC") -> Round:
    rnd = Round("p0", 0, "hi", order=order, blind=True)
    rnd._cells = [Cell(label=x, conversation_id=f"conv-{x}", model=f"m-{x}") for x in labels]
    return rnd


def test_every_order_maps_each_column_back_to_its_variant() -> None:
    for order in itertools.permutations(range(3)):
        rnd = blind_round(list(order))
        for pos, i in enumerate(order):
            assert rnd.variant_of(blind_name(pos)) == "ABC"[i]
            assert rnd.position_of(i) == pos
        assert rnd.variant_of("tie") == "tie"


def test_many_seeded_shuffles_map_back() -> None:
    for seed in range(200):
        order = list(range(4))
        random.Random(seed).shuffle(order)
        rnd = blind_round(order, "ABCD")
        chosen = random.Random(seed + 1).randrange(4)
        assert rnd.variant_of(blind_name(chosen)) == "ABCD"[order[chosen]]


def test_a_blind_column_hides_what_tells_it_apart_until_the_vote() -> None:
    rnd = blind_round([2, 0, 1])
    cols = [column_info(c, name) for c, name in rnd.shown()]
    assert [c["label"] for c in cols] == ["Response 1", "Response 2", "Response 3"]
    assert all(c["hidden"] and not c["model"] and not c["conversation_id"] for c in cols)
    info = round_info(rnd)
    assert info["choices"][:3] == [["Response 1"] * 2, ["Response 2"] * 2, ["Response 3"] * 2]
    assert not info["revealed"]
    rnd.vote = rnd.variant_of("Response 1")
    assert rnd.vote == "C" and rnd.revealed
    cols = [column_info(c, name) for c, name in rnd.shown()]
    assert [c["label"] for c in cols] == ["C", "A", "B"]
    assert cols[0]["model"] == "m-C" and not cols[0]["hidden"]
    assert round_info(rnd)["choices"][0] == ["C", "C"]
