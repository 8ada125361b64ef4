"""What-if: a month re-priced as if a routing policy had sent every call of each feature
(on each provider route) to the model its decision picks.

From the rollups only: the decision is costed on the month's own token profile of the
feature at the month's last-day prices (`aifinops.optimize.profiles`); then every
(day, model) of the feature's calls on another model is re-priced on the chosen one at
that day's prices (list and effective: negotiated rates apply), while calls already on
the chosen model keep their recorded cost. Standard tier, no batch: the rollups keep no
service tier. Cache tokens stay cache tokens (a model with a larger minimum cacheable
length might cache less: not modelled).

Row status: ``routed`` (a cheaper model meets the bar), ``stays`` (the chosen model is
the one already used), ``below_bar`` (no candidate meets the bar: the feature stays on
its models), ``no_eval_data`` (nothing scores the feature: it stays), ``no_traffic``
(no calls in the month).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import rollup_daily
from aifinops.money import nusd_to_usd
from aifinops.optimize.evals import load_evals
from aifinops.optimize.profiles import (
    TokenProfile,
    feature_usage,
    model_profiles,
    outcome_rates,
    profile_cost,
    routed_models,
    scores_with_outcomes,
)
from aifinops.optimize.routing import Decision, RoutingPolicy, decide, model_scores
from aifinops.pricing import PricingEngine

PROVIDERS = ("anthropic", "openai")


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    feature: str
    provider: str | None
    from_models: tuple[str, ...]
    to_model: str | None
    status: str
    calls: int
    list_cost_nusd: int
    effective_cost_nusd: int
    whatif_list_cost_nusd: int
    whatif_effective_cost_nusd: int
    score: str | None
    threshold: str | None
    reason: str

    @property
    def saving_nusd(self) -> int:
        return self.effective_cost_nusd - self.whatif_effective_cost_nusd

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "provider": self.provider,
            "from_models": ",".join(self.from_models),
            "to_model": self.to_model,
            "status": self.status,
            "calls": self.calls,
            "list_cost_usd": nusd_to_usd(self.list_cost_nusd),
            "effective_cost_usd": nusd_to_usd(self.effective_cost_nusd),
            "whatif_list_cost_usd": nusd_to_usd(self.whatif_list_cost_nusd),
            "whatif_effective_cost_usd": nusd_to_usd(self.whatif_effective_cost_nusd),
            "saving_usd": nusd_to_usd(self.saving_nusd),
            "score": self.score,
            "threshold": self.threshold,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class _Slice:
    day: date
    model: str
    profile: TokenProfile
    list_nusd: int
    effective_nusd: int


def _slices(
    conn: Connection, features: Sequence[str], start: date, end: date
) -> dict[tuple[str, str], list[_Slice]]:
    r = rollup_daily.c
    stmt = (
        select(
            r.feature,
            r.provider,
            r.day,
            r.model,
            func.sum(r.calls - r.errors),
            func.sum(r.input_tokens),
            func.sum(r.cache_read_tokens),
            func.sum(r.cache_write_5m_tokens),
            func.sum(r.cache_write_1h_tokens),
            func.sum(r.output_tokens),
            func.sum(r.list_cost_nusd),
            func.sum(r.effective_cost_nusd),
        )
        .where(r.feature.in_(sorted(set(features))), r.day >= start, r.day <= end)
        .group_by(r.feature, r.provider, r.day, r.model)
        .order_by(r.feature, r.provider, r.day, r.model)
    )
    out: dict[tuple[str, str], list[_Slice]] = {}
    for feature, provider, day, model, calls, *rest in conn.execute(stmt):
        fresh, read, w5, w1, output, list_nusd, eff_nusd = (int(v or 0) for v in rest)
        profile = TokenProfile(int(calls or 0), fresh, read, w5, w1, output)
        day_value = day if isinstance(day, date) else date.fromisoformat(str(day))
        out.setdefault((feature, provider), []).append(
            _Slice(day_value, model, profile, list_nusd, eff_nusd)
        )
    return out


def _status(decision: Decision, has_scores: bool, from_models: Sequence[str]) -> str:
    if decision.model is None:
        return "below_bar" if has_scores else "no_eval_data"
    return "stays" if set(from_models) <= {decision.model} else "routed"


def _row(
    policy: RoutingPolicy,
    provider: str,
    decision: Decision,
    has_scores: bool,
    slices: list[_Slice],
    pricing: PricingEngine,
) -> WhatIfRow:
    calls_by_model: dict[str, int] = {}
    for s in slices:
        calls_by_model[s.model] = calls_by_model.get(s.model, 0) + s.profile.calls
    moved = routed_models(policy, calls_by_model)
    from_models = tuple(sorted(moved, key=lambda m: (-calls_by_model[m], m)))
    list_total = sum(s.list_nusd for s in slices)
    eff_total = sum(s.effective_nusd for s in slices)
    new_list, new_eff = list_total, eff_total
    if decision.model is not None:
        new_list = new_eff = 0
        for s in slices:
            priced = None
            if s.model in moved and s.model != decision.model and s.profile.calls > 0:
                priced = profile_cost(pricing, provider, decision.model, s.profile, s.day)
            new_list += priced[0] if priced else s.list_nusd
            new_eff += priced[1] if priced else s.effective_nusd
    return WhatIfRow(
        feature=policy.feature,
        provider=provider,
        from_models=from_models,
        to_model=decision.model,
        status=_status(decision, has_scores, from_models),
        calls=sum(calls_by_model[m] for m in from_models),
        list_cost_nusd=list_total,
        effective_cost_nusd=eff_total,
        whatif_list_cost_nusd=new_list,
        whatif_effective_cost_nusd=new_eff,
        score=None if decision.score is None else str(decision.score),
        threshold=None if decision.threshold is None else str(decision.threshold),
        reason=decision.reason,
    )


def whatif(
    conn: Connection,
    policies: Sequence[RoutingPolicy],
    pricing: PricingEngine,
    start: date,
    end: date,
) -> list[WhatIfRow]:
    """One row per (policy feature, provider route it used in the window)."""
    features = [p.feature for p in policies]
    evals = load_evals(conn)
    profiles = model_profiles(conn, features, start, end)
    rates = outcome_rates(conn, features, start, end)
    slices = _slices(conn, features, start, end) if features else {}
    rows: list[WhatIfRow] = []
    for policy in policies:
        used = [p for p in PROVIDERS if (policy.feature, p) in slices]
        if not used:
            rows.append(
                WhatIfRow(
                    policy.feature,
                    None,
                    (),
                    None,
                    "no_traffic",
                    0,
                    0,
                    0,
                    0,
                    0,
                    None,
                    None,
                    "no calls in the period",
                )
            )
            continue
        for provider in used:
            fu = feature_usage(policy, provider, profiles.get((policy.feature, provider)))
            scores = scores_with_outcomes(policy, evals, fu, rates)
            profile = fu.profile if fu is not None else TokenProfile(0, 0)

            def cost(prov: str, model: str, profile: TokenProfile = profile) -> int | None:
                priced = profile_cost(pricing, prov, model, profile, end)
                return None if priced is None else priced[1]

            decision = decide(policy, provider, scores, cost)
            has_scores = bool(model_scores(policy, scores))
            rows.append(
                _row(
                    policy,
                    provider,
                    decision,
                    has_scores,
                    slices[(policy.feature, provider)],
                    pricing,
                )
            )
    return rows


def whatif_document(rows: Sequence[WhatIfRow], start: date, end: date) -> dict[str, Any]:
    """``{"rows", "totals", "meta"}`` as every report's JSON."""
    totals = {
        "calls": sum(r.calls for r in rows),
        "list_cost_usd": nusd_to_usd(sum(r.list_cost_nusd for r in rows)),
        "effective_cost_usd": nusd_to_usd(sum(r.effective_cost_nusd for r in rows)),
        "whatif_list_cost_usd": nusd_to_usd(sum(r.whatif_list_cost_nusd for r in rows)),
        "whatif_effective_cost_usd": nusd_to_usd(sum(r.whatif_effective_cost_nusd for r in rows)),
        "saving_usd": nusd_to_usd(sum(r.saving_nusd for r in rows)),
    }
    return {
        "rows": [r.as_dict() for r in rows],
        "totals": totals,
        "meta": {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "below_bar": sorted({r.feature for r in rows if r.status == "below_bar"}),
            "no_eval_data": sorted({r.feature for r in rows if r.status == "no_eval_data"}),
            "method": (
                "each feature's calls re-priced on the model its policy picks (the cheapest "
                "candidate meeting the quality bar, costed on the month's token profile); "
                "calls already on that model keep their recorded cost"
            ),
        },
    }
