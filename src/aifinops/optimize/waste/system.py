"""``system_prompt_growth``: the system prompt of a feature growing across prompt versions.

Per (team, feature), the prompt versions seen in the window are ordered by their first
hour; S₀ is the mean system tokens per call of the earliest, S₁ that of the latest. The
finding fires when S₁ ÷ S₀ ≥ ``system_growth_ratio``, or when S₁ ÷ S₀ ≥
``system_share_growth_ratio`` and the system prompt takes at least ``system_share`` of
the latest version's input (all input: uncached, cache reads and writes) — a prompt that
is most of every call needs less growth to cost as much. The evidence also gives each
version's mean and that share.

Saving (the cost of the growth): for each later version v and model, its growth tokens
Gᵥ = Σ system tokens − calls × S₀ (when positive), priced at v's own input mix: the
effective cost of v's input tokens (uncached, cache reads and writes, no output) ×
Gᵥ ÷ v's total input tokens — the growth costs what the rest of its input costs.

Within one prompt version (a feature whose calls in the window all carry one version),
over time: with at least 14 days of traffic in the window, S₀ is the mean of the first
7 days with traffic and S₁ that of the last 7; the finding fires on the same ratios (the
share taken over the last 7 days), and
the growth is priced the same way, day by day after the first 7 (each day a segment).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import Group
from aifinops.optimize.waste.findings import Finding, usd
from aifinops.optimize.waste.pricer import Tokens

KIND = "system_prompt_growth"


def _input_only(t: Tokens) -> Tokens:
    return Tokens(t.input, t.cache_read, t.cache_write_5m, t.cache_write_1h, 0)


def detect(ctx: Context, groups: list[Group]) -> list[Finding]:
    by_feature: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for g in groups:
        if g.m["system_calls"]:
            by_feature[(g.team, g.feature)].append(g)
    out = []
    for (team, feature), members in sorted(by_feature.items()):
        versions: dict[str, list[Group]] = defaultdict(list)
        for g in members:
            versions[g.prompt_version].append(g)
        if len(versions) < 2:
            continue
        order = sorted(versions, key=lambda v: (min(g.first_hour for g in versions[v]), v))
        mean = {
            v: Fraction(
                sum(g.m["system_tokens"] for g in versions[v]),
                sum(g.m["system_calls"] for g in versions[v]),
            )
            for v in order
        }
        first, last = order[0], order[-1]
        share = _share(versions[last])
        if mean[first] <= 0 or not _grew(ctx, mean[last] / mean[first], share):
            continue
        saving, growth_tokens, unpriced = _growth_cost(ctx, versions, order[1:], mean[first])
        if unpriced:
            continue
        latest = versions[last]
        evidence: dict[str, object] = {
            "versions": [
                {
                    "prompt_version": v,
                    "calls": sum(g.calls for g in versions[v]),
                    "mean_system_tokens": round(mean[v]),
                    "first_hour": min(g.first_hour for g in versions[v]),
                }
                for v in order
            ],
            "growth_ratio": f"{float(mean[last] / mean[first]):.2f}",
            "growth_tokens": growth_tokens,
            "latest_system_share_of_input": f"{float(share):.2f}",
            "example_event_ids": [min(g.example_event_id for g in latest)],
        }
        method = (
            f"Mean system prompt grew from {round(mean[first]):,} tokens ({first}) to "
            f"{round(mean[last]):,} ({last}){_trigger(ctx, mean[last] / mean[first], share)}. "
            f"The {growth_tokens:,} system tokens the later "
            f"versions sent above {round(mean[first]):,} per call, priced at each version's "
            f"own input mix (its input cost × growth ÷ its input tokens): ${usd(saving)}. "
            + ctx.window.scaling(saving)
        )
        out.append(
            Finding(
                kind=KIND,
                team=team,
                feature=feature,
                prompt_version=last or None,
                evidence=evidence,
                saving_nusd=saving,
                monthly_saving_usd=ctx.window.monthly_usd(saving),
                method=method,
                fix=(
                    f"Trim the system prompt of {feature} back towards {first}'s size: move "
                    "examples and rarely used instructions out, and compare evals per version."
                ),
            )
        )
    return out


def _growth_cost(
    ctx: Context, versions: dict[str, list[Group]], later: list[str], base: Fraction
) -> tuple[int, int, bool]:
    saving = 0
    growth_total = 0
    for v in later:
        by_target: dict[object, list[Group]] = defaultdict(list)
        for g in versions[v]:
            by_target[g.target].append(g)
        for members in by_target.values():
            target = members[0].target
            system = sum(g.m["system_tokens"] for g in members)
            system_calls = sum(g.m["system_calls"] for g in members)
            growth = int(system - system_calls * base)
            if growth <= 0:
                continue
            tokens = Tokens(
                sum(g.m["input_tokens"] for g in members),
                sum(g.m["cache_read_tokens"] for g in members),
                sum(g.m["cache_write_5m_tokens"] for g in members),
                sum(g.m["cache_write_1h_tokens"] for g in members),
            )
            calls = sum(g.calls for g in members)
            cost = ctx.pricer.cost(target, _input_only(tokens), tokens.total_input // calls)
            if cost is None:
                return 0, 0, True
            saving += cost * growth // tokens.total_input
            growth_total += growth
    return saving, growth_total, False


def _share(groups: list[Group]) -> Fraction:
    """The share of all input (uncached, cache reads and writes) the system prompt takes."""
    total = sum(g.tokens.total_input for g in groups)
    return Fraction(sum(g.m["system_tokens"] for g in groups), total) if total else Fraction(0)


def _grew(ctx: Context, ratio: Fraction, share: Fraction) -> bool:
    """Growth beyond the threshold, or beyond the lower one when the prompt takes most of
    the input."""
    s = ctx.settings
    return ratio >= s.system_growth_ratio or (
        ratio >= s.system_share_growth_ratio and share >= s.system_share
    )


def _trigger(ctx: Context, ratio: Fraction, share: Fraction) -> str:
    s = ctx.settings
    if ratio >= s.system_growth_ratio:
        return f", × {float(ratio):.2f} (threshold × {s.system_growth_ratio})"
    return (
        f", × {float(ratio):.2f}, and it takes {float(share):.0%} of the input (at least "
        f"{float(s.system_share):.0%}: threshold × {s.system_share_growth_ratio})"
    )


BASELINE_DAYS = 7


def _mean(groups: list[Group]) -> Fraction:
    calls = sum(g.m["system_calls"] for g in groups)
    return Fraction(sum(g.m["system_tokens"] for g in groups), calls) if calls else Fraction(0)


def detect_over_time(ctx: Context, daily: list[Group], skip: set[tuple[str, str]]) -> list[Finding]:
    """Growth within one prompt version over the window, from per-day sums
    (`aifinops.optimize.waste.data.load_daily_system`); ``skip``: (team, feature) pairs
    already reported across versions."""
    by_feature: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for g in daily:
        by_feature[(g.team, g.feature)].append(g)
    out = []
    for (team, feature), members in sorted(by_feature.items()):
        if (team, feature) in skip or len({g.prompt_version for g in members}) != 1:
            continue
        days: dict[str, list[Group]] = defaultdict(list)
        for g in members:
            days[g.first_hour].append(g)
        order = sorted(days)
        if len(order) < 2 * BASELINE_DAYS:
            continue
        first = [g for d in order[:BASELINE_DAYS] for g in days[d]]
        last = [g for d in order[-BASELINE_DAYS:] for g in days[d]]
        base, recent = _mean(first), _mean(last)
        share = _share(last)
        if base <= 0 or not _grew(ctx, recent / base, share):
            continue
        saving, growth_tokens, unpriced = _growth_cost(ctx, days, order[BASELINE_DAYS:], base)
        if unpriced:
            continue
        version = members[0].prompt_version
        evidence: dict[str, object] = {
            "baseline_days": [order[0], order[BASELINE_DAYS - 1]],
            "recent_days": [order[-BASELINE_DAYS], order[-1]],
            "baseline_mean_system_tokens": round(base),
            "recent_mean_system_tokens": round(recent),
            "growth_ratio": f"{float(recent / base):.2f}",
            "growth_tokens": growth_tokens,
            "recent_system_share_of_input": f"{float(share):.2f}",
            "calls": sum(g.m["system_calls"] for g in members),
            "example_event_ids": [min(g.example_event_id for g in last)],
        }
        method = (
            f"Within prompt version {version or '(none)'}, the mean system prompt grew from "
            f"{round(base):,} tokens ({order[0]} to {order[BASELINE_DAYS - 1]}) to "
            f"{round(recent):,} ({order[-BASELINE_DAYS]} to {order[-1]})"
            f"{_trigger(ctx, recent / base, share)}. The "
            f"{growth_tokens:,} system tokens sent above {round(base):,} per call after the "
            f"first {BASELINE_DAYS} days, priced at each day's own input mix: ${usd(saving)}. "
            + ctx.window.scaling(saving)
        )
        out.append(
            Finding(
                kind=KIND,
                team=team,
                feature=feature,
                prompt_version=version or None,
                evidence=evidence,
                saving_nusd=saving,
                monthly_saving_usd=ctx.window.monthly_usd(saving),
                method=method,
                fix=(
                    f"Find what keeps adding to {feature}'s system prompt (accumulated "
                    "examples, memory, injected records) and cap or summarise it."
                ),
            )
        )
    return out
