"""``no_max_tokens``: calls without an output cap whose outputs run far past the norm.

Per (team, feature, prompt version, model), over the calls sent without ``max_tokens``
that produced output: the rollup keeps a histogram of their output lengths with edges
256, 512, 1,024, … 16,384 tokens. The feature's normal length is the top edge of the
bucket holding the median call; the suggested cap C is the smallest edge ≥
``output_cap_factor`` × that normal length. The excess is, over the buckets starting at
or above C, Σ output tokens − C × calls: exact, since those calls all ran past C.

Saving: the excess output tokens priced as output on the same model. The finding fires
when the excess is positive; calls stopped by the model's own limit (stop reason
``max_tokens`` / ``length``) are counted in the evidence.
"""

from __future__ import annotations

from collections import defaultdict

from aifinops.ledger.schema_optimize import OUTPUT_BUCKETS, OUTPUT_EDGES
from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import Group
from aifinops.optimize.waste.findings import Finding, usd
from aifinops.optimize.waste.histogram import above, edge_at_least, normal_size
from aifinops.optimize.waste.pricer import Tokens

KIND = "no_max_tokens"


def suggested_cap(counts: list[int], factor: int) -> tuple[int, int] | None:
    """(normal length, cap) from the bucket counts, or None when no edge fits."""
    normal = normal_size(counts, OUTPUT_EDGES)
    if normal is None:
        return None
    cap = edge_at_least(OUTPUT_EDGES, factor * normal)
    return None if cap is None else (normal, cap)


def detect(ctx: Context, groups: list[Group]) -> list[Finding]:
    by_key: dict[tuple[object, ...], list[Group]] = defaultdict(list)
    for g in groups:
        if g.m["uncapped_calls"]:
            by_key[(g.team, g.feature, g.prompt_version, g.target)].append(g)
    out = []
    for (team, feature, version, _target), members in by_key.items():
        assert isinstance(team, str) and isinstance(feature, str) and isinstance(version, str)
        counts = [sum(g.out_calls(i) for g in members) for i in range(OUTPUT_BUCKETS)]
        sums = [sum(g.out_tokens(i) for g in members) for i in range(OUTPUT_BUCKETS)]
        found = suggested_cap(counts, ctx.settings.output_cap_factor)
        if found is None:
            continue
        normal, cap = found
        over_calls, over_tokens = above(counts, sums, OUTPUT_EDGES, cap)
        excess = over_tokens - cap * over_calls
        if excess <= 0:
            continue
        first = members[0]
        calls = sum(counts)
        per_call = sum(g.tokens.total_input for g in members) // max(
            1, sum(g.calls for g in members)
        )
        saving = ctx.pricer.cost(first.target, Tokens(output=excess), per_call)
        if saving is None or saving <= 0:
            continue
        evidence: dict[str, object] = {
            "model": first.model,
            "uncapped_calls": calls,
            "uncapped_output_tokens": sum(sums),
            "normal_output_tokens": normal,
            "suggested_max_tokens": cap,
            "calls_over_cap": over_calls,
            "excess_output_tokens": excess,
            "stopped_by_length": sum(g.m["uncapped_length_stops"] for g in members),
            "example_event_ids": [min(g.example_event_id for g in members)],
        }
        method = (
            f"{calls:,} calls sent without max_tokens; the median output is under {normal:,} "
            f"tokens, so the suggested cap is {cap:,} ({ctx.settings.output_cap_factor} × "
            f"{normal:,}, rounded up to a bucket edge). {over_calls:,} calls ran past it by "
            f"{excess:,} output tokens in all, priced as output on {first.model}: "
            f"${usd(saving)}. " + ctx.window.scaling(saving)
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
                    f"Send max_tokens={cap} on {feature} calls (or let the gateway's max_tokens "
                    "guardrail inject it) and watch for length stops."
                ),
            )
        )
    return out
