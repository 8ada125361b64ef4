"""``context_bloat``: calls that carry many context chunks, or far more input than the
feature normally sends.

Per (team, feature, prompt version, model), two variants; the second is tried only when
the first does not fire, so no call is counted twice:

1. **Many chunks.** The calls with context chunks, their mean chunks per call
   m = Σ chunks ÷ chunk calls; fires when m > ``max_chunks``. Saving if trimmed to the
   top k = ``trim_top_k`` chunks: the non-system input of those calls (all input, cached
   included, minus their system tokens) × (m − k) ÷ m — the chunks beyond k, assuming
   chunks of equal size — priced as uncached input on the same model at the tier of the
   calls' mean input.
2. **Input far above the norm** (no chunk count needed). The rollup keeps a histogram of
   every call's all-input size (`INPUT_EDGES`, doubling from 1,024 tokens). The normal
   input N is the top edge of the median call's bucket; the calls in the buckets
   starting at or above T — the smallest edge ≥ ``input_norm_factor`` × N — are far
   above it. Saving if those calls were trimmed to N: Σ their input − N × their count
   (exact: each holds at least T > N), priced as uncached input on the same model at the
   tier of their mean input. Calls recorded before the histogram existed (revision
   0011) are left out.
"""

from __future__ import annotations

from collections import defaultdict

from aifinops.ledger.schema_optimize import INPUT_BUCKETS, INPUT_EDGES
from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import Group
from aifinops.optimize.waste.findings import Finding, usd
from aifinops.optimize.waste.histogram import above, edge_at_least, normal_size
from aifinops.optimize.waste.pricer import Tokens

KIND = "context_bloat"


def detect(ctx: Context, groups: list[Group]) -> list[Finding]:
    by_key: dict[tuple[object, ...], list[Group]] = defaultdict(list)
    for g in groups:
        by_key[(g.team, g.feature, g.prompt_version, g.target)].append(g)
    out = []
    for (team, feature, version, _target), members in by_key.items():
        assert isinstance(team, str) and isinstance(feature, str) and isinstance(version, str)
        found = _many_chunks(ctx, members) or _above_norm(ctx, members)
        if found is None:
            continue
        evidence, saving, method, fix = found
        out.append(
            Finding(
                kind=KIND,
                team=team,
                feature=feature,
                prompt_version=version or None,
                evidence=evidence,
                saving_nusd=saving,
                monthly_saving_usd=ctx.window.monthly_usd(saving),
                method=method + " " + ctx.window.scaling(saving),
                fix=fix,
            )
        )
    return out


Found = tuple[dict[str, object], int, str, str]


def _many_chunks(ctx: Context, members: list[Group]) -> Found | None:
    calls = sum(g.m["chunk_calls"] for g in members)
    chunks = sum(g.m["context_chunks"] for g in members)
    if not calls or chunks <= ctx.settings.max_chunks * calls:
        return None
    k = ctx.settings.trim_top_k
    all_input = sum(g.m["chunk_input_tokens"] for g in members)
    context = all_input - sum(g.m["chunk_system_tokens"] for g in members)
    trimmed = context * (chunks - k * calls) // chunks
    first = members[0]
    saving = ctx.pricer.cost(first.target, Tokens(input=trimmed), all_input // calls)
    if saving is None or saving <= 0:
        return None
    mean = chunks / calls
    evidence: dict[str, object] = {
        "variant": "many_chunks",
        "model": first.model,
        "calls_with_chunks": calls,
        "mean_chunks": f"{mean:.1f}",
        "max_chunks": max(g.m["context_chunks_max"] for g in members),
        "input_tokens": all_input,
        "non_system_input_tokens": context,
        "trimmed_tokens": trimmed,
        "example_event_ids": [_example(members, "chunk_calls")],
    }
    method = (
        f"{calls:,} calls carried {mean:.1f} chunks on average "
        f"(above {ctx.settings.max_chunks}). "
        f"Trimmed to the top {k}: their {context:,} non-system input tokens × "
        f"({chunks:,} − {k} × {calls:,}) ÷ {chunks:,} chunks = {trimmed:,} tokens, priced "
        f"as uncached input on {first.model}: ${usd(saving)}."
    )
    fix = (
        f"Retrieve fewer, better chunks for {first.feature}: rerank and keep the top {k}, "
        "or summarise long documents; the gateway's context-chunk guardrail can "
        "warn on or refuse oversized requests."
    )
    return evidence, saving, method, fix


def _above_norm(ctx: Context, members: list[Group]) -> Found | None:
    counts = [sum(g.in_calls(i) for g in members) for i in range(INPUT_BUCKETS)]
    sums = [sum(g.in_tokens(i) for g in members) for i in range(INPUT_BUCKETS)]
    normal = normal_size(counts, INPUT_EDGES)
    if normal is None:
        return None
    factor = ctx.settings.input_norm_factor
    threshold = edge_at_least(INPUT_EDGES, factor * normal)
    if threshold is None:
        return None
    far_calls, far_tokens = above(counts, sums, INPUT_EDGES, threshold)
    trimmed = far_tokens - normal * far_calls
    if far_calls == 0 or trimmed <= 0:
        return None
    first = members[0]
    saving = ctx.pricer.cost(first.target, Tokens(input=trimmed), far_tokens // far_calls)
    if saving is None or saving <= 0:
        return None
    calls = sum(counts)
    evidence: dict[str, object] = {
        "variant": "input_above_norm",
        "model": first.model,
        "calls": calls,
        "normal_input_tokens": normal,
        "threshold_input_tokens": threshold,
        "calls_far_above": far_calls,
        "far_above_input_tokens": far_tokens,
        "trimmed_tokens": trimmed,
        "example_event_ids": [_example(members, None)],
    }
    method = (
        f"{calls:,} calls; the median input is under {normal:,} tokens. {far_calls:,} "
        f"calls sent {threshold:,} or more ({factor} × {normal:,}, rounded up to a bucket "
        f"edge), {far_tokens:,} input tokens in all. Trimmed to {normal:,} each: "
        f"{far_tokens:,} − {normal:,} × {far_calls:,} = {trimmed:,} tokens, priced as "
        f"uncached input on {first.model}: ${usd(saving)}."
    )
    fix = (
        f"Find what inflates the largest {first.feature} calls (whole documents or search "
        f"results pasted in, unbounded history): keep the top-k retrieved chunks or a "
        f"summary, aiming near {normal:,} input tokens; send retrieved text as separate "
        "documents or tool results so the gateway counts the chunks and its context-chunk "
        "guardrail can act."
    )
    return evidence, saving, method, fix


def _example(members: list[Group], measure: str | None) -> str:
    pool = [g for g in members if measure is None or g.m[measure]] or members
    return min(g.example_event_id for g in pool)
