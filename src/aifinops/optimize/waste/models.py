"""``overpowered_model``: a top-tier model where the feature's evals show a cheaper one
is good enough.

A model is top tier when it matches one of ``top_tier_models`` (fnmatch, case-
insensitive) or its list price for uncached input (first tier, on the window's last
day) is at least ``top_tier_min_input_usd_per_mtok`` per million tokens — the
providers' top price tier, whatever the model is called. For each feature running one,
its eval scores are read (the latest run per model, prompt version and metric,
`aifinops.optimize.evals`): the scores of the prompt version the traffic ran on when
there are any, else those recorded without a version, else any version; one metric (the
current model's). A candidate is another model of the
same provider with a score ≥ the current model's score − the feature's tolerance and a
known price. Saving: the same calls' tokens (input, cache reads and writes, output)
re-priced on the cheapest such candidate, in the same service tier and batch mode.

With no eval score for the current model, the finding is "top-tier model without eval
justification": it carries no saving (``monthly_saving_usd`` 0.00) and is always listed.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from aifinops.optimize.evals import EvalRecord
from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import Group
from aifinops.optimize.waste.findings import Finding, usd
from aifinops.optimize.waste.pricer import Target, Tokens

KIND = "overpowered_model"


def is_top_tier(ctx: Context, target: Target) -> bool:
    """Named top tier (``top_tier_models``), or priced like it: a list input price of at
    least ``top_tier_min_input_usd_per_mtok`` per million tokens."""
    name = target.model.lower()
    if any(fnmatch.fnmatchcase(name, p.lower()) for p in ctx.settings.top_tier_models):
        return True
    floor = ctx.settings.top_tier_min_input_usd_per_mtok
    if floor is None:
        return False
    price = ctx.pricer.list_input_usd_per_mtok(target)
    return price is not None and price >= floor


def _scores_for(evals: Sequence[EvalRecord], feature: str, version: str) -> list[EvalRecord]:
    mine = [e for e in evals if e.feature == feature]
    for pick in (
        [e for e in mine if e.prompt_version == version] if version else [],
        [e for e in mine if e.prompt_version is None],
        mine,
    ):
        if pick:
            return pick
    return []


def _score_of(records: list[EvalRecord], model: str, metric: str | None) -> EvalRecord | None:
    found = [r for r in records if r.model == model and (metric is None or r.metric == metric)]
    if not found:
        return None
    return max(found, key=lambda r: (r.score, r.sample_size))


def _merge(groups: list[Group]) -> tuple[Tokens, int, int, str]:
    tokens = Tokens(
        sum(g.m["input_tokens"] for g in groups),
        sum(g.m["cache_read_tokens"] for g in groups),
        sum(g.m["cache_write_5m_tokens"] for g in groups),
        sum(g.m["cache_write_1h_tokens"] for g in groups),
        sum(g.m["output_tokens"] for g in groups),
    )
    calls = sum(g.calls for g in groups)
    return (
        tokens,
        calls,
        tokens.total_input // calls if calls else 0,
        min(g.example_event_id for g in groups),
    )


def detect(ctx: Context, groups: list[Group], evals: Sequence[EvalRecord]) -> list[Finding]:
    by_key: dict[tuple[object, ...], list[Group]] = defaultdict(list)
    for g in groups:
        if is_top_tier(ctx, g.target):
            by_key[(g.team, g.feature, g.prompt_version, g.target)].append(g)
    out = []
    for (team, feature, version, target), members in by_key.items():
        assert isinstance(target, Target) and isinstance(feature, str)
        assert isinstance(team, str) and isinstance(version, str)
        tokens, calls, per_call, example = _merge(members)
        records = _scores_for(evals, feature, version)
        current = _score_of(records, target.model, None)
        evidence: dict[str, object] = {
            "model": target.model,
            "calls": calls,
            "input_tokens": tokens.total_input,
            "output_tokens": tokens.output,
            "example_event_ids": [example],
        }
        if current is None:
            out.append(_unjustified(ctx, team, feature, version, evidence))
            continue
        found = _cheapest(ctx, target, tokens, per_call, records, current, feature)
        if found is None:
            continue
        candidate, now, then = found
        saving = now - then
        tolerance = ctx.settings.tolerance_for(feature)
        evidence |= {
            "metric": current.metric,
            "current_score": f"{current.score:f}",
            "current_sample_size": current.sample_size,
            "candidate_model": candidate.model,
            "candidate_score": f"{candidate.score:f}",
            "candidate_sample_size": candidate.sample_size,
            "tolerance": f"{tolerance:f}",
            "current_cost_usd": usd(now),
            "candidate_cost_usd": usd(then),
        }
        method = (
            f"The same {calls:,} calls' tokens re-priced on {candidate.model} "
            f"(${usd(then)}) instead of {target.model} (${usd(now)}); {candidate.model} "
            f"scores {candidate.score:f} against {current.score:f} on "
            f"{current.metric or 'the eval'}, within the tolerance of {tolerance:f}. "
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
                    f"Route {feature} to {candidate.model} (a routing policy with "
                    f"{candidate.model} as a candidate, or change the model), and keep "
                    "its evals running."
                ),
            )
        )
    return out


def _cheapest(
    ctx: Context,
    target: Target,
    tokens: Tokens,
    per_call: int,
    records: list[EvalRecord],
    current: EvalRecord,
    feature: str,
) -> tuple[EvalRecord, int, int] | None:
    now = ctx.pricer.cost(target, tokens, per_call)
    if now is None:
        return None
    floor = current.score - ctx.settings.tolerance_for(feature)
    best: tuple[int, Decimal, str, EvalRecord] | None = None
    for model in sorted({r.model for r in records} - {target.model}):
        record = _score_of(records, model, current.metric)
        if record is None or record.score < floor:
            continue
        other = Target(target.provider, model, target.service_tier, target.batch)
        cost = ctx.pricer.cost(other, tokens, per_call)
        if cost is None or cost >= now:
            continue
        key = (cost, -record.score, model, record)
        if best is None or key[:3] < best[:3]:
            best = key
    if best is None:
        return None
    return best[3], now, best[0]


def _unjustified(
    ctx: Context, team: str, feature: str, version: str, evidence: dict[str, object]
) -> Finding:
    return Finding(
        kind=KIND,
        team=team,
        feature=feature,
        prompt_version=version or None,
        evidence=evidence | {"eval_scores": 0},
        saving_nusd=0,
        monthly_saving_usd=Decimal("0.00"),
        method=(
            "Top-tier model without eval justification: no eval score for "
            f"{evidence['model']} on {feature}, so no cheaper model can be shown good "
            "enough and no saving is priced."
        ),
        fix=(
            f"Score {feature} on a cheaper model of the same provider and import the "
            "results (`aifinops import evals FILE`); the next report prices the switch."
        ),
        justified=False,
    )
