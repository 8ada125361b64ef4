"""The company's ``aifinops.yaml``: teams, features, budgets and the routing policy.

Budgets are sized from the generated spend, so that whatever the seed, scale and end
date, month-to-date spend (the month of the last generated day, list prices) is:

- sales: 95 % of its budget: past the 50/75/90 % soft thresholds, under the hard limit;
- success: 125 % of its budget: past the 110 % hard limit (action: throttle);
- support and platform: 40 %, and the ticket-resolution feature budget 30 %: no alert.

Amounts are rounded to three significant figures (so the shares above hold to 0.5 %).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import yaml

from aifinops.money import nusd_to_decimal
from aifinops.sim.company.evals import EVALS
from aifinops.sim.company.spec import FEATURES, TEAMS, Feature

TARGET_RATIO = 0.25
RED_LINE = 0.5
THRESHOLDS: tuple[int, ...] = (50, 75, 90)
HARD_LIMIT_PCT = 110
ROUTING_MAX_DROP = 0.02
ROUTING_MIN_SAMPLE = 200

#: Month-to-date spend as a share of the budget, per team and per feature budget.
TEAM_BUDGET_SHARE: dict[str, Decimal] = {
    "support": Decimal("0.40"),
    "sales": Decimal("0.95"),
    "success": Decimal("1.25"),
    "platform": Decimal("0.40"),
}
FEATURE_BUDGET_SHARE: dict[str, Decimal] = {"ticket-resolution": Decimal("0.30")}
EMPTY_BUDGET = "1.00"  # a team with no spend this month (only at tiny --scale)


def budget_amount(month_nusd: int, share: Decimal) -> str:
    """The monthly amount at which ``month_nusd`` is ``share`` of it, to 3 figures."""
    if month_nusd <= 0:
        return EMPTY_BUDGET
    value = nusd_to_decimal(month_nusd) / share
    rounded = value.quantize(Decimal(1).scaleb(value.adjusted() - 2), rounding=ROUND_HALF_UP)
    return f"{rounded:.2f}" if rounded.adjusted() >= 0 else format(rounded.normalize(), "f")


def _budget(scope: str, name: str, amount: str) -> dict[str, Any]:
    return {
        "scope": scope,
        "name": name,
        "amount_usd": amount,
        "period": "monthly",
        "thresholds": list(THRESHOLDS),
        "hard_limit_pct": HARD_LIMIT_PCT,
        "action": "throttle",
    }


def _feature(feature: Feature) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": feature.name,
        "team": feature.team,
        "outcome_type": feature.outcome_type,
    }
    if feature.human_cost_usd is not None:
        entry["human_cost_usd"] = feature.human_cost_usd
    if feature.value_per_outcome_usd is not None:
        entry["value_per_outcome_usd"] = feature.value_per_outcome_usd
    entry["target_ratio"] = TARGET_RATIO
    entry["red_line"] = RED_LINE
    return entry


def current_model(feature: Feature) -> str:
    """The generation model a feature runs on (its embeddings step, if any, aside)."""
    return next(s.model for s in feature.steps if s.uses_system)


def _routing(feature: Feature) -> dict[str, Any]:
    model = current_model(feature)
    version = feature.versions[-1].name
    scored = [e for e in EVALS if e.feature == feature.name and e.prompt_version == version]
    baseline = [e for e in scored if e.model == model]
    if not baseline:
        raise ValueError(f"evals.py has no score for {feature.name} on {model} ({version})")
    metric = baseline[0].metric
    return {
        "feature": feature.name,
        "current_model": model,
        "allowed_models": [e.model for e in scored],
        "quality_bar": {
            "metric": metric,
            "baseline_model": model,
            "max_drop": ROUTING_MAX_DROP,
            "min_sample_size": ROUTING_MIN_SAMPLE,
        },
    }


def company_config(
    month_by_team: dict[str, int], month_by_feature: dict[str, int]
) -> dict[str, Any]:
    """The configuration mapping; spend is month-to-date list cost in nano-USD."""
    budgets = [
        _budget(
            "team", team.name, budget_amount(month_by_team[team.name], TEAM_BUDGET_SHARE[team.name])
        )
        for team in TEAMS
    ]
    budgets += [
        _budget("feature", name, budget_amount(month_by_feature[name], share))
        for name, share in FEATURE_BUDGET_SHARE.items()
    ]
    return {
        "teams": [{"name": t.name, "slack_channel": t.slack_channel} for t in TEAMS],
        "features": [_feature(f) for f in FEATURES],
        "budgets": budgets,
        "routing": [_routing(f) for f in FEATURES],
    }


def config_yaml(config: dict[str, Any], header: str) -> str:
    """The mapping as YAML, after a comment block (``header``, one comment per line)."""
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
