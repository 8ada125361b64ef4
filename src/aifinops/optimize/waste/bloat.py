"""``context_bloat``: calls that carry many context chunks (documents, tool results).

Per (team, feature, prompt version, model): the calls with context chunks, their mean
chunks per call m = Σ chunks ÷ chunk calls. The finding fires when m > ``max_chunks``.

Saving if trimmed to the top k = ``trim_top_k`` chunks: the non-system input of those
calls (all input, cached included, minus their system tokens) × (m − k) ÷ m — the
chunks beyond k, assuming chunks of equal size — priced as uncached input on the same
model at the tier of the calls' mean input.
"""

from __future__ import annotations

from collections import defaultdict

from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import Group
from aifinops.optimize.waste.findings import Finding, usd
from aifinops.optimize.waste.pricer import Tokens

KIND = "context_bloat"


def detect(ctx: Context, groups: list[Group]) -> list[Finding]:
    by_key: dict[tuple[object, ...], list[Group]] = defaultdict(list)
    for g in groups:
        if g.m["chunk_calls"]:
            by_key[(g.team, g.feature, g.prompt_version, g.target)].append(g)
    k = ctx.settings.trim_top_k
    out = []
    for (team, feature, version, _target), members in by_key.items():
        assert isinstance(team, str) and isinstance(feature, str) and isinstance(version, str)
        calls = sum(g.m["chunk_calls"] for g in members)
        chunks = sum(g.m["context_chunks"] for g in members)
        if chunks <= ctx.settings.max_chunks * calls:
            continue
        all_input = sum(g.m["chunk_input_tokens"] for g in members)
        context = all_input - sum(g.m["chunk_system_tokens"] for g in members)
        trimmed = context * (chunks - k * calls) // chunks
        first = members[0]
        saving = ctx.pricer.cost(first.target, Tokens(input=trimmed), all_input // calls)
        if saving is None or saving <= 0:
            continue
        mean = chunks / calls
        evidence: dict[str, object] = {
            "model": first.model,
            "calls_with_chunks": calls,
            "mean_chunks": f"{mean:.1f}",
            "max_chunks": max(g.m["context_chunks_max"] for g in members),
            "input_tokens": all_input,
            "non_system_input_tokens": context,
            "trimmed_tokens": trimmed,
            "example_event_ids": [min(g.example_event_id for g in members)],
        }
        method = (
            f"{calls:,} calls carried {mean:.1f} chunks on average "
            f"(above {ctx.settings.max_chunks}). "
            f"Trimmed to the top {k}: their {context:,} non-system input tokens × "
            f"({chunks:,} − {k} × {calls:,}) ÷ {chunks:,} chunks = {trimmed:,} tokens, priced "
            f"as uncached input on {first.model}: ${usd(saving)}. " + ctx.window.scaling(saving)
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
                    f"Retrieve fewer, better chunks for {feature}: rerank and keep the top {k}, "
                    "or summarise long documents; the gateway's context-chunk guardrail can "
                    "warn on or refuse oversized requests."
                ),
            )
        )
    return out
