"""A turn's dollar cost from genai-prices' bundled table, computed by hand from the published
prices: OpenAI gpt-4o-mini $0.15 / M input, $0.075 / M cached input, $0.60 / M output;
Anthropic Claude 3.5 Sonnet $3 / M input, $0.30 / M cache read, $3.75 / M cache write,
$15 / M output."""

from __future__ import annotations

import math
import socket
from datetime import datetime, timezone

import pandas as pd
import pytest

from letta_widgets.compare_stats import results_frame
from letta_widgets.costs import (
    LETTA_PROVIDERS,
    prices_version,
    results_costs,
    split_handle,
    turn_cost,
)

AT = datetime(2025, 6, 1, tzinfo=timezone.utc)


def test_openai_handle_priced_by_hand() -> None:
    # 1200 · 0.15 / 1e6 + 300 · 0.60 / 1e6
    assert turn_cost("openai/gpt-4o-mini", 1200, 300, at=AT) == (pytest.approx(0.00036), None)
    # 1000 of the 1200 read from cache: 200 · 0.15 + 1000 · 0.075 + 300 · 0.60 (per M)
    cached = turn_cost("openai/gpt-4o-mini", 1200, 300, cached_input_tokens=1000, at=AT)
    assert cached.usd == pytest.approx(0.000285) and cached.note is None


def test_anthropic_handle_with_cache_reads_and_writes() -> None:
    # 2000 input of which 500 cache reads, 300 cache writes: 1200 · 3 + 500 · 0.3 + 300 · 3.75
    # + 1000 output · 15 = 19 875 per M
    got = turn_cost(
        "anthropic/claude-3-5-sonnet",
        2000,
        1000,
        cached_input_tokens=500,
        cache_write_tokens=300,
        at=AT,
    )
    assert got.usd == pytest.approx(0.019875)
    dated = turn_cost("anthropic/claude-3-5-sonnet-20241022", 1000, 1000, at=AT)
    assert dated.usd == pytest.approx((1000 * 3 + 1000 * 15) / 1e6)


@pytest.mark.parametrize(
    ("handle", "words"),
    [
        ("openai-proxy/stub-model", ["openai-proxy/stub-model", "no price table", "openai-proxy"]),
        ("openai/stub-model", ["openai/stub-model", "has no price", prices_version()]),
        ("letta/letta-free", ["letta/letta-free", "no per-token price"]),
        ("ollama/llama3", ["ollama/llama3", "no per-token price"]),
    ],
)
def test_unknown_models_are_nan_with_a_note_naming_them(handle: str, words: list[str]) -> None:
    got = turn_cost(handle, 100, 10, at=AT)
    assert math.isnan(got.usd)
    for word in words:
        assert word in (got.note or ""), got.note


def test_missing_handle_or_usage() -> None:
    assert math.isnan(turn_cost(None, 1, 1).usd) and "no model handle" in turn_cost("", 1, 1).note
    got = turn_cost("openai/gpt-4o-mini", None, 10)
    assert math.isnan(got.usd) and "no token usage" in got.note
    assert math.isnan(turn_cost("openai/gpt-4o-mini", pd.NA, 10).usd)


def test_provider_map_and_bare_model_names() -> None:
    assert split_handle("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_handle("gpt-4o-mini") == (None, "gpt-4o-mini")
    assert LETTA_PROVIDERS["google_ai"] == "google" and LETTA_PROVIDERS["letta"] is None
    byok = turn_cost("my-openai/gpt-4o-mini", 1200, 300, at=AT, providers={"my-openai": "openai"})
    assert byok.usd == pytest.approx(0.00036)
    # no provider part: genai-prices finds the provider by the model's name
    assert turn_cost("gpt-4o-mini", 1200, 300, at=AT).usd == pytest.approx(0.00036)


def test_the_price_table_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert turn_cost("openai/gpt-4o-mini", 1_000_000, 0, at=AT).usd == pytest.approx(0.15)


def test_results_costs_per_row() -> None:
    df = results_frame(
        [
            {"prompt_id": "p0", "variant": "A", "model": "openai/gpt-4o-mini",
             "prompt_tokens": 1200, "completion_tokens": 300, "started_at": AT},
            {"prompt_id": "p0", "variant": "B", "prompt_tokens": 1000,
             "completion_tokens": 1000, "started_at": AT},
            {"prompt_id": "p1", "variant": "A", "model": "openai-proxy/stub-model",
             "prompt_tokens": 5, "completion_tokens": 5},
            {"prompt_id": "p1", "variant": "B", "gap": True},
            {"prompt_id": "p2", "variant": "A", "model": "openai-proxy/stub-model",
             "prompt_tokens": 7, "completion_tokens": 7},
        ]
    )  # fmt: skip
    costs, notes = results_costs(df, {"B": "anthropic/claude-3-5-sonnet"})
    assert costs[0] == pytest.approx(0.00036) and costs[1] == pytest.approx(0.018)
    assert costs[2:].isna().all()
    assert len(notes) == 1 and "openai-proxy/stub-model" in notes[0]  # once, the gap says nothing
