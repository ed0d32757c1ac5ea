"""What a turn cost in dollars, from its token usage and its Letta model handle.

Prices come from the ``genai-prices`` package, whose price table ships inside it (nothing
is fetched). A Letta handle is ``"<provider>/<model>"`` (``"openai/gpt-4o-mini"``,
``"anthropic/claude-3-5-sonnet-20241022"``); the provider part is looked up in
:data:`LETTA_PROVIDERS` (or the ``providers`` given) to name genai-prices' provider, and
the model part is matched in that provider's table. Anything not found is NaN with a note
naming the model: no price is ever guessed.

Token counts follow Letta's usage statistics: ``prompt_tokens`` is every input token of
the turn, cached ones included (``cached_input_tokens`` read from cache and
``cache_write_tokens`` written to it are the parts priced differently), summed over the
turn's steps. Models whose price steps up above a prompt size (tiers) are priced on that
sum, so a multi-step turn whose summed prompt crosses a tier is priced at the higher rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

import pandas as pd

__all__ = [
    "LETTA_PROVIDERS",
    "TurnCost",
    "prices_version",
    "results_costs",
    "split_handle",
    "turn_cost",
]

LETTA_PROVIDERS: dict[str, str | None] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google_ai": "google",
    "google_vertex": "google",
    "azure": "azure",
    "bedrock": "aws",
    "baseten": "baseten",
    "cerebras": "cerebras",
    "deepseek": "deepseek",
    "fireworks": "fireworks",
    "groq": "groq",
    "minimax": "minimax",
    "mistral": "mistral",
    "moonshot": "moonshotai",
    "openrouter": "openrouter",
    "together": "together",
    "xai": "x-ai",
    "zai": "zai",
    # no per-token price: local servers, Letta's own, flat-rate subscriptions
    "letta": None,
    "ollama": None,
    "lmstudio_openai": None,
    "vllm": None,
    "sglang": None,
    "chatgpt_oauth": None,
    "moonshot_coding": None,
    "zai_coding": None,
}
"""Letta provider name (the handle's first part) -> genai-prices provider id (``None``: the
provider charges no per-token price). Other names (a BYOK provider's own name, an
OpenAI-compatible proxy) are unknown: pass ``providers={"my-openai": "openai"}``."""


class TurnCost(NamedTuple):
    """A turn's price in dollars (NaN when unknown) and why it is unknown."""

    usd: float
    note: str | None = None


def split_handle(handle: str) -> tuple[str | None, str]:
    """``"openai/gpt-4o-mini"`` -> ``("openai", "gpt-4o-mini")``; no slash -> ``(None, handle)``."""
    provider, sep, model = handle.partition("/")
    return (provider, model) if sep else (None, handle)


def turn_cost(
    model: str | None,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    *,
    cached_input_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    at: datetime | None = None,
    providers: Mapping[str, str | None] | None = None,
) -> TurnCost:
    """The dollar price of one turn's usage on ``model`` (a Letta handle), with a note if NaN.

    ``at`` is when the turn ran (prices change; default now). ``providers`` adds to or
    overrides :data:`LETTA_PROVIDERS`. A handle without a provider part is matched by model
    name across genai-prices' providers. NaN (with the reason in ``note``) when: there is
    no handle or no usage; the provider is unknown or has no per-token price; the model is
    not in the table; genai-prices is not installed.
    """
    if _missing(model) or not str(model).strip():
        return TurnCost(math.nan, "no model handle for this turn")
    handle = str(model).strip()
    if _missing(prompt_tokens) or _missing(completion_tokens):
        return TurnCost(math.nan, f"{handle}: the turn reported no token usage")
    letta_provider, name = split_handle(handle)
    table = {**LETTA_PROVIDERS, **(providers or {})}
    provider_id = None
    if letta_provider is not None:
        if letta_provider not in table:
            return TurnCost(
                math.nan,
                f"{handle}: no price table for provider {letta_provider!r} (if it bills as "
                f"a known provider, pass providers={{{letta_provider!r}: '<genai-prices id>'}})",
            )
        provider_id = table[letta_provider]
        if provider_id is None:
            return TurnCost(
                math.nan,
                f"{handle}: provider {letta_provider!r} has no per-token price "
                "(a local server, Letta's own or a flat-rate plan)",
            )
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        return TurnCost(math.nan, f"{handle}: genai-prices is not installed")
    usage = Usage(
        input_tokens=int(prompt_tokens),  # type: ignore[arg-type]
        output_tokens=int(completion_tokens),  # type: ignore[arg-type]
        cache_read_tokens=None if _missing(cached_input_tokens) else int(cached_input_tokens),  # type: ignore[arg-type]
        cache_write_tokens=None if _missing(cache_write_tokens) else int(cache_write_tokens),  # type: ignore[arg-type]
    )
    try:
        price = calc_price(usage, name, provider_id=provider_id, genai_request_timestamp=at)
    except LookupError:
        where = f" at {provider_id}" if provider_id else ""
        return TurnCost(math.nan, f"{handle}: genai-prices {prices_version()} has no price{where}")
    return TurnCost(float(price.total_price))


def results_costs(
    results: pd.DataFrame,
    models: Mapping[str, str] | None = None,
    *,
    providers: Mapping[str, str | None] | None = None,
) -> tuple[pd.Series, list[str]]:
    """(``cost_usd`` per row, the distinct notes) for a CompareView results frame.

    Each row is priced on its ``model`` (the variant's override), else on
    ``models[variant]`` (the model its agent runs), at its ``started_at``. Gap rows cost
    nothing (NaN, no note).
    """
    costs, notes = [], {}
    for row in results.to_dict("records"):
        if bool(row.get("gap", False)):
            costs.append(math.nan)
            continue
        handle = row.get("model")
        if _missing(handle):
            handle = (models or {}).get(str(row.get("variant")))
        started = row.get("started_at")
        got = turn_cost(
            handle,
            row.get("prompt_tokens"),
            row.get("completion_tokens"),
            at=None if _missing(started) else pd.Timestamp(started).to_pydatetime(),
            providers=providers,
        )
        costs.append(got.usd)
        if got.note:
            notes.setdefault(got.note, None)
    return pd.Series(costs, index=results.index, dtype="float64", name="cost_usd"), list(notes)


@cache
def prices_version() -> str:
    """The installed genai-prices version (``"not installed"`` without it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return "not installed"


def _missing(value: Any) -> bool:
    """None, NA, NaN or NaT (a scalar's own ``pd.isna``)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array is a value, not missing
        return False
