"""``no_prompt_caching``: a long prefix sent again and again with no cache reads.

Two shapes, both on prefixes at least the model's minimum cacheable length (Anthropic:
`aifinops.providers.cache_rules`, per model; OpenAI: 1,024 tokens):

- **repeated prefix**: one ``prefix_hash`` sent at least ``min_repeats`` times in the
  window with no cache reads and no cache writes at all;
- **volatile prefix**: one feature, prompt version and model whose calls carry a
  different prefix hash almost every time (distinct prefixes ÷ calls ≥
  ``volatile_share``, at least ``min_repeats`` calls, no cache reads) while the system
  prompt keeps its size (largest ≤ 1.1 × mean): something volatile (a timestamp, an id)
  sits at the start — in the system prompt (its hash changes too) or before it — so
  nothing can ever be reused.

Saving, with P = the mean system prompt tokens of those calls (the stable part of the
prefix), N calls and W = the 5-minute slots that had calls (from the rollup's
``cache_slots``): N × P tokens priced as uncached input, minus W × P priced as cache
writes (Anthropic: 5-minute writes; OpenAI: writes cost plain input) plus (N − W) × P as
cache reads — one write per 5-minute cache lifetime with traffic, every other call a
read. Priced at the tier of the calls' mean input, with the prices in force on the last
day of the window.
"""

from __future__ import annotations

from collections import defaultdict

from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import Group
from aifinops.optimize.waste.findings import Finding, usd
from aifinops.optimize.waste.pricer import Target, Tokens
from aifinops.providers.cache_rules import (
    OPENAI_MIN_CACHEABLE_TOKENS,
    anthropic_min_cacheable_tokens,
)

KIND = "no_prompt_caching"
_FIX = (
    "Put the stable part first and mark it cacheable: Anthropic `cache_control` on the "
    "system prompt (or the gateway's caching guardrail); OpenAI caches a stable prefix of "
    "1,024+ tokens automatically. Move anything that changes per call (timestamps, ids) "
    "after the stable prefix."
)


def min_cacheable(provider: str, model: str) -> int | None:
    """The model's minimum cacheable prefix, or None when its provider is unknown."""
    if provider == "anthropic" or (provider == "bedrock" and "anthropic" in model):
        return anthropic_min_cacheable_tokens(model)
    if provider == "openai":
        return OPENAI_MIN_CACHEABLE_TOKENS
    return None


def _cached_tokens(ctx: Context, provider: str, prefix: int, calls: int, writes: int) -> Tokens:
    reads = (calls - writes) * prefix
    if provider == "openai":
        return Tokens(input=writes * prefix, cache_read=reads)
    return Tokens(cache_write_5m=writes * prefix, cache_read=reads)


def _saving(
    ctx: Context, target: Target, prefix: int, calls: int, writes: int, per_call: int
) -> tuple[int, int, int] | None:
    now = ctx.pricer.cost(target, Tokens(input=calls * prefix), per_call)
    cached = ctx.pricer.cost(
        target, _cached_tokens(ctx, target.provider, prefix, calls, writes), per_call
    )
    if now is None or cached is None:
        return None
    return now - cached, now, cached


def _method(
    ctx: Context, target: Target, prefix: int, calls: int, writes: int, costs: tuple[int, ...]
) -> str:
    saving, now, cached = costs
    write_kind = "input" if target.provider == "openai" else "5-minute cache writes"
    return (
        f"{calls:,} calls × {prefix:,} prefix tokens priced as uncached input on {target.model} "
        f"(${usd(now)}) minus the same tokens with caching: {writes:,} calls' worth as "
        f"{write_kind} (one per 5-minute slot that had calls) and {calls - writes:,} as "
        f"cache reads (${usd(cached)}). " + ctx.window.scaling(saving)
    )


def _finding(
    ctx: Context,
    first: Group,
    evidence: dict[str, object],
    costs: tuple[int, int, int],
    method: str,
) -> Finding:
    return Finding(
        kind=KIND,
        team=first.team,
        feature=first.feature,
        prompt_version=first.prompt_version or None,
        evidence=evidence,
        saving_nusd=costs[0],
        monthly_saving_usd=ctx.window.monthly_usd(costs[0]),
        method=method,
        fix=_FIX,
    )


def _uncached(g: Group) -> bool:
    return (
        g.m["cache_read_tokens"] == 0
        and g.m["cache_write_5m_tokens"] == 0
        and g.m["cache_write_1h_tokens"] == 0
    )


def _prefix_tokens(g: Group) -> int:
    return g.m["system_tokens"] // g.m["system_calls"] if g.m["system_calls"] else 0


def repeated(ctx: Context, groups: list[Group]) -> list[Finding]:
    out = []
    for g in groups:
        minimum = min_cacheable(g.provider, g.model)
        prefix = _prefix_tokens(g)
        if (
            not g.prefix_hash
            or minimum is None
            or prefix < minimum
            or g.calls < ctx.settings.min_repeats
            or not _uncached(g)
        ):
            continue
        writes = min(g.cache_windows, g.calls)
        costs = _saving(ctx, g.target, prefix, g.calls, writes, g.per_call_input)
        if costs is None or costs[0] <= 0:
            continue
        evidence: dict[str, object] = {
            "model": g.model,
            "prefix_hash": g.prefix_hash,
            "calls": g.calls,
            "prefix_tokens": prefix,
            "min_cacheable_tokens": minimum,
            "cache_read_tokens": 0,
            "hours_with_traffic": g.hours,
            "cache_writes_assumed": writes,
            "example_event_ids": [g.example_event_id],
        }
        out.append(
            _finding(
                ctx, g, evidence, costs, _method(ctx, g.target, prefix, g.calls, writes, costs)
            )
        )
    return out


def volatile(
    ctx: Context, groups: list[Group], hourly_windows: dict[tuple[object, ...], int]
) -> list[Finding]:
    """``hourly_windows``: per `system_key`, the 5-minute slots that had calls, whatever
    their prefix (`aifinops.optimize.waste.data.load_system_windows`)."""
    by_system: dict[tuple[object, ...], list[Group]] = defaultdict(list)
    for g in groups:
        if g.prefix_hash and g.m["system_calls"]:
            by_system[system_key(g)].append(g)
    out = []
    for key, members in by_system.items():
        first = members[0]
        calls = sum(g.calls for g in members)
        distinct = len({g.prefix_hash for g in members})
        system_calls = sum(g.m["system_calls"] for g in members)
        prefix = sum(g.m["system_tokens"] for g in members) // system_calls if system_calls else 0
        minimum = min_cacheable(first.provider, first.model)
        if (
            minimum is None
            or prefix < minimum
            or distinct < 2
            or calls < ctx.settings.min_repeats
            or distinct < ctx.settings.volatile_share * calls
            or any(g.m["cache_read_tokens"] for g in members)
            or 10 * max(g.m["system_tokens_max"] for g in members) > 11 * prefix
        ):
            continue
        writes = min(hourly_windows.get(key, calls), calls)
        per_call = sum(g.tokens.total_input for g in members) // calls
        costs = _saving(ctx, first.target, prefix, calls, writes, per_call)
        if costs is None or costs[0] <= 0:
            continue
        examples = sorted(g.example_event_id for g in members)[:3]
        evidence: dict[str, object] = {
            "model": first.model,
            "calls": calls,
            "distinct_prefixes": distinct,
            "distinct_system_prompts": len({g.system_hash for g in members}),
            "prefix_tokens": prefix,
            "min_cacheable_tokens": minimum,
            "cache_read_tokens": 0,
            "cache_writes_assumed": writes,
            "example_event_ids": examples,
        }
        method = (
            f"Volatile prefix: {distinct:,} distinct prefix hashes over {calls:,} calls "
            "whose system prompt keeps its size, so no call can reuse another's cache. "
            + _method(ctx, first.target, prefix, calls, writes, costs)
        )
        out.append(_finding(ctx, first, evidence, costs, method))
    return out


def system_key(g: Group) -> tuple[object, ...]:
    """What a volatile prefix is judged over: model, price context and attribution."""
    return (
        g.provider,
        g.model,
        g.service_tier,
        g.batch,
        g.team,
        g.feature,
        g.prompt_version,
    )
