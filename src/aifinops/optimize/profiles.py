"""What a routing decision is costed on, read from the rollups (never raw events).

- the feature's token profile per provider: its calls (errors excluded) and their
  uncached input, cache read, cache write and output tokens over a window (the last 30
  days at the gateway; the month in a what-if), from ``rollup_daily``;
- the model that served most of those calls, and the feature's outcome success rate
  over the same window (``outcome_daily``): the stand-in score when that model has no
  eval score (`aifinops.optimize.routing`);
- the cost of a profile on a model at a date's effective prices (negotiated rates and
  discounts included), computed as the pricing engine does: exact pico-USD from the
  summed counts, the long-context tier chosen by the mean input per call, rounded once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import rollup_daily
from aifinops.ledger.schema_economics import outcome_daily
from aifinops.optimize.evals import load_evals
from aifinops.optimize.routing import (
    Decision,
    OutcomeScore,
    RoutingPolicy,
    Score,
    decide,
    model_scores,
)
from aifinops.pricing import PricingEngine
from aifinops.pricing.engine import apply_discount, card_cost_pico, round_pico_to_nano

PROFILE_DAYS = 30
#: The profile of a feature with no recorded calls in the window: one call of this shape.
DEFAULT_INPUT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 250


@dataclass(frozen=True, slots=True)
class TokenProfile:
    """Calls and their summed tokens (the canonical split)."""

    calls: int
    input_tokens: int
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    observed: bool = True  # False: the default profile (no calls in the window)

    @property
    def counts(self) -> tuple[int, ...]:
        return (
            self.input_tokens,
            self.cache_read_tokens,
            self.cache_write_5m_tokens,
            self.cache_write_1h_tokens,
            self.output_tokens,
            0,
        )

    @property
    def mean_total_input(self) -> int:
        total = (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
        )
        return total // self.calls if self.calls else 0


DEFAULT_PROFILE = TokenProfile(
    1, DEFAULT_INPUT_TOKENS, output_tokens=DEFAULT_OUTPUT_TOKENS, observed=False
)


def profile_cost(
    pricing: PricingEngine, provider: str, model: str, profile: TokenProfile, day: date
) -> tuple[int, int] | None:
    """(list, effective) nano-USD of ``profile`` on ``model`` at ``day``; None: no price."""
    plan = pricing.plan(provider, model, None, False)
    if plan is None:
        return None
    period = plan.period_at(day)
    counts, mean_input = profile.counts, profile.mean_total_input
    list_nusd = round_pico_to_nano(card_cost_pico(period.list_card, counts, mean_input))
    effective = (
        list_nusd
        if period.effective_card is period.list_card
        else round_pico_to_nano(card_cost_pico(period.effective_card, counts, mean_input))
    )
    return list_nusd, apply_discount(effective, period.discount_bp)


@dataclass(frozen=True, slots=True)
class FeatureUsage:
    """One feature on one provider over a window: its profile and busiest model."""

    feature: str
    provider: str
    profile: TokenProfile
    top_model: str | None


def _add(a: TokenProfile, b: TokenProfile) -> TokenProfile:
    return TokenProfile(
        a.calls + b.calls,
        a.input_tokens + b.input_tokens,
        a.cache_read_tokens + b.cache_read_tokens,
        a.cache_write_5m_tokens + b.cache_write_5m_tokens,
        a.cache_write_1h_tokens + b.cache_write_1h_tokens,
        a.output_tokens + b.output_tokens,
    )


def routed_models(policy: RoutingPolicy, used: Iterable[str]) -> set[str]:
    """The models whose calls a policy routes: its candidates and current model among
    ``used``; all of ``used`` when none of them is (an embeddings step is left alone)."""
    own = {*policy.candidates, *((policy.current_model,) if policy.current_model else ())}
    mine = own.intersection(used)
    return mine or set(used)


def model_profiles(
    conn: Connection, features: Iterable[str], start: date, end: date
) -> dict[tuple[str, str], dict[str, TokenProfile]]:
    """(feature, provider) → model → its calls' profile over ``start``..``end``."""
    names = sorted(set(features))
    if not names:
        return {}
    r = rollup_daily.c
    stmt = (
        select(
            r.feature,
            r.provider,
            r.model,
            func.sum(r.calls - r.errors),
            func.sum(r.input_tokens),
            func.sum(r.cache_read_tokens),
            func.sum(r.cache_write_5m_tokens),
            func.sum(r.cache_write_1h_tokens),
            func.sum(r.output_tokens),
        )
        .where(r.feature.in_(names), r.day >= start, r.day <= end)
        .group_by(r.feature, r.provider, r.model)
    )
    out: dict[tuple[str, str], dict[str, TokenProfile]] = {}
    for feature, provider, model, *values in conn.execute(stmt):
        calls, fresh, read, write_5m, write_1h, output = (int(v or 0) for v in values)
        if calls > 0:
            profile = TokenProfile(calls, fresh, read, write_5m, write_1h, output)
            out.setdefault((feature, provider), {})[model] = profile
    return out


def feature_usage(
    policy: RoutingPolicy, provider: str, by_model: dict[str, TokenProfile] | None
) -> FeatureUsage | None:
    """The policy's feature on ``provider``: the summed profile of the models it routes."""
    if not by_model:
        return None
    models = sorted(routed_models(policy, by_model))
    total = TokenProfile(0, 0)
    for model in models:
        total = _add(total, by_model[model])
    top = max(models, key=lambda m: (by_model[m].calls, m))
    return FeatureUsage(policy.feature, provider, total, top)


def outcome_rates(
    conn: Connection, features: Iterable[str], start: date, end: date
) -> dict[str, tuple[Decimal, int]]:
    """feature → (success rate, outcomes) over the window, from ``outcome_daily``."""
    names = sorted(set(features))
    if not names:
        return {}
    o = outcome_daily.c
    stmt = (
        select(o.feature, func.sum(o.successes), func.sum(o.outcomes))
        .where(o.feature.in_(names), o.day >= start, o.day <= end)
        .group_by(o.feature)
    )
    out: dict[str, tuple[Decimal, int]] = {}
    for feature, successes, outcomes in conn.execute(stmt):
        if outcomes:
            rate = (Decimal(int(successes or 0)) / Decimal(int(outcomes))).quantize(
                Decimal("0.0001")
            )
            out[feature] = (rate, int(outcomes))
    return out


def scores_with_outcomes(
    policy: RoutingPolicy,
    evals: Sequence[Score],
    usage: FeatureUsage | None,
    rates: dict[str, tuple[Decimal, int]],
) -> list[Score]:
    """The feature's eval scores, plus its outcome success rate as the score of its
    busiest model when that model has no eval score the policy would use."""
    own: list[Score] = [e for e in evals if e.feature == policy.feature]
    top = usage.top_model if usage is not None else None
    rate = rates.get(policy.feature)
    if top is None or rate is None or top in model_scores(policy, own):
        return own
    return [*own, OutcomeScore(policy.feature, top, rate[0], rate[1])]


def decisions(
    conn: Connection,
    policies: Sequence[RoutingPolicy],
    pricing: PricingEngine,
    start: date,
    end: date,
    providers: Sequence[str] = ("anthropic", "openai"),
) -> dict[tuple[str, str], tuple[Decision, TokenProfile]]:
    """(feature, provider) → the routing decision costed on the window's token profile
    at ``end``'s prices. Three queries in all, whatever the number of policies."""
    features = [p.feature for p in policies]
    evals = load_evals(conn)
    profiles = model_profiles(conn, features, start, end)
    rates = outcome_rates(conn, features, start, end)
    out: dict[tuple[str, str], tuple[Decision, TokenProfile]] = {}
    for policy in policies:
        for provider in providers:
            used = feature_usage(policy, provider, profiles.get((policy.feature, provider)))
            profile = used.profile if used is not None else DEFAULT_PROFILE
            scores = scores_with_outcomes(policy, evals, used, rates)

            def cost(prov: str, model: str, profile: TokenProfile = profile) -> int | None:
                priced = profile_cost(pricing, prov, model, profile, end)
                return None if priced is None else priced[1]

            out[(policy.feature, provider)] = (decide(policy, provider, scores, cost), profile)
    return out
