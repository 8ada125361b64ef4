"""The routing decision over a table of scores and prices, and policy parsing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from aifinops.optimize.evals import EvalRecord
from aifinops.optimize.routing import (
    OutcomeScore,
    RoutingConfigError,
    RoutingPolicy,
    decide,
    model_provider,
    model_scores,
    parse_routing,
)
from aifinops.settings import ConfigError, load_settings
from aifinops.sim.company.config import company_config


def ev(model: str, score: str, n: int = 100, **kw: Any) -> EvalRecord:
    values: dict[str, Any] = {
        "feature": "triage",
        "model": model,
        "prompt_version": "v1",
        "metric": "acc",
        "score": Decimal(score),
        "sample_size": n,
        "run_date": None,
    }
    values.update(kw)
    return EvalRecord(**values)


def policy(*candidates: str, **kw: Any) -> RoutingPolicy:
    values: dict[str, Any] = {"min_score": Decimal("0.90")}
    values.update(kw)
    return RoutingPolicy("triage", candidates, **values)


PRICES = {"claude-opus-4-1": 7500, "claude-sonnet-4-5": 1500, "claude-haiku-4-5": 500}


def cost_of(prices: dict[str, int | None]) -> Any:
    return lambda provider, model: prices.get(model)


def test_cheapest_meeting_the_bar_wins() -> None:
    scores = [
        ev("claude-opus-4-1", "0.96"),
        ev("claude-sonnet-4-5", "0.93"),
        ev("claude-haiku-4-5", "0.85"),
    ]
    d = decide(policy(*PRICES), "anthropic", scores, cost_of(dict(PRICES)))
    assert d.model == "claude-sonnet-4-5" and d.score == Decimal("0.93")
    assert d.threshold == Decimal("0.90")
    assert d.reason == "cheapest candidate meeting the bar 0.90: claude-sonnet-4-5 0.93"
    notes = {c.model: c.note for c in d.considered}
    assert notes == {
        "claude-opus-4-1": "meets the bar",
        "claude-sonnet-4-5": "meets the bar",
        "claude-haiku-4-5": "below the bar",
    }


def test_tolerance_lowers_the_bar_inclusively() -> None:
    scores = [ev("claude-opus-4-1", "0.96"), ev("claude-haiku-4-5", "0.88")]
    p = policy("claude-opus-4-1", "claude-haiku-4-5", tolerance=Decimal("0.02"))
    d = decide(p, "anthropic", scores, cost_of(dict(PRICES)))
    assert d.model == "claude-haiku-4-5" and d.threshold == Decimal("0.88")  # 0.88 >= 0.90 - 0.02


def test_baseline_model_bar() -> None:
    scores = [
        ev("claude-opus-4-1", "0.96"),
        ev("claude-sonnet-4-5", "0.96"),
        ev("claude-haiku-4-5", "0.95"),
    ]
    p = policy(*PRICES, min_score=None, baseline_model="claude-opus-4-1", tolerance=Decimal("0.02"))
    d = decide(p, "anthropic", scores, cost_of(dict(PRICES)))
    assert d.model == "claude-haiku-4-5" and d.threshold == Decimal("0.94")
    tight = policy(*PRICES, min_score=None, baseline_model="claude-opus-4-1")
    assert decide(tight, "anthropic", scores, cost_of(dict(PRICES))).model == "claude-sonnet-4-5"


def test_ties_go_to_the_higher_score_then_the_name() -> None:
    same = {"claude-sonnet-4-5": 1000, "claude-haiku-4-5": 1000, "claude-3-5-haiku": 1000}
    scores = [
        ev("claude-sonnet-4-5", "0.95"),
        ev("claude-haiku-4-5", "0.97"),
        ev("claude-3-5-haiku", "0.97"),
    ]
    d = decide(policy(*same), "anthropic", scores, cost_of(dict(same)))
    assert d.model == "claude-3-5-haiku"  # 0.97 twice: alphabetical
    scores[2] = ev("claude-3-5-haiku", "0.96")
    assert (
        decide(policy(*same), "anthropic", scores, cost_of(dict(same))).model == "claude-haiku-4-5"
    )


def test_no_model_meets_the_bar() -> None:
    scores = [ev("claude-sonnet-4-5", "0.80"), ev("claude-haiku-4-5", "0.70")]
    d = decide(
        policy("claude-sonnet-4-5", "claude-haiku-4-5"), "anthropic", scores, cost_of(dict(PRICES))
    )
    assert d.model is None and d.score is None
    assert d.reason == (
        "no candidate meets the bar 0.90 (claude-sonnet-4-5: below the bar; "
        "claude-haiku-4-5: below the bar)"
    )


def test_missing_prices_and_scores_and_other_providers_are_skipped_with_reasons() -> None:
    prices: dict[str, int | None] = {
        "claude-haiku-4-5": None,
        "claude-sonnet-4-5": 1500,
        "claude-new": 10,
    }
    scores = [
        ev("claude-haiku-4-5", "0.99"),
        ev("claude-sonnet-4-5", "0.95"),
        ev("gpt-4o-mini", "0.99"),
    ]
    p = policy("claude-haiku-4-5", "gpt-4o-mini", "claude-new", "claude-sonnet-4-5")
    d = decide(p, "anthropic", scores, cost_of(prices))
    assert d.model == "claude-sonnet-4-5"
    assert {c.model: c.note for c in d.considered} == {
        "claude-haiku-4-5": "no anthropic price",
        "gpt-4o-mini": "openai model: not on the anthropic route",
        "claude-new": "no eval score",
        "claude-sonnet-4-5": "meets the bar",
    }


def test_scores_latest_run_then_version_and_lowest_metric() -> None:
    scores = [
        ev("claude-haiku-4-5", "0.99", prompt_version="v2"),
        ev("claude-haiku-4-5", "0.80", prompt_version="v10"),  # natural order: v10 is later
        ev("claude-sonnet-4-5", "0.70", run_date=date(2026, 1, 1)),
        ev("claude-sonnet-4-5", "0.95", run_date=date(2026, 2, 1)),
        ev("claude-sonnet-4-5", "0.91", metric="safety"),
        ev("claude-opus-4-1", "0.99", n=10),
        ev("claude-opus-4-1", "0.99", feature="other"),
    ]
    got = model_scores(policy(*PRICES, min_sample_size=50), scores)
    assert {m: s for m, (s, _) in got.items()} == {
        "claude-haiku-4-5": Decimal("0.80"),
        "claude-sonnet-4-5": Decimal("0.91"),
    }
    only = model_scores(policy(*PRICES, metric="acc", prompt_version="v2"), scores)
    assert {m: s for m, (s, _) in only.items()} == {"claude-haiku-4-5": Decimal("0.99")}


def test_outcome_success_stands_in_without_evals() -> None:
    stand_in = OutcomeScore("triage", "claude-haiku-4-5", Decimal("0.93"), 500)
    d = decide(policy(*PRICES), "anthropic", [stand_in], cost_of(dict(PRICES)))
    assert d.model == "claude-haiku-4-5"
    assert "outcome_success" not in d.reason  # the reason names model and score
    named = decide(policy(*PRICES, metric="acc"), "anthropic", [stand_in], cost_of(dict(PRICES)))
    assert named.model is None  # another metric asked for: outcomes do not count


def test_model_provider() -> None:
    assert model_provider("claude-haiku-4-5") == "anthropic"
    assert model_provider("gpt-4.1-nano") == model_provider("o4-mini") == "openai"
    assert model_provider("mistral-large") is None


def test_parse_policy_and_errors() -> None:
    (p,) = parse_routing(
        [
            {
                "feature": "triage",
                "candidates": ["claude-opus-4-1", "claude-haiku-4-5"],
                "mode": "enforce",
                "quality_bar": {"min_score": 0.9, "tolerance": "0.02", "metric": "acc"},
            }
        ]
    )
    assert p.mode == "enforce" and p.min_score == Decimal("0.9") and p.tolerance == Decimal("0.02")
    bad: list[tuple[Any, str]] = [
        ({"feature": "f", "candidates": ["a"]}, "routing[0].quality_bar: is required"),
        (
            {"feature": "f", "candidates": [], "quality_bar": {"min_score": 1}},
            "routing[0].candidates",
        ),
        (
            {"feature": "f", "candidates": ["a"], "quality_bar": {"min_score": 2}},
            "routing[0].quality_bar.min_score: must be a number from 0 to 1",
        ),
        (
            {
                "feature": "f",
                "candidates": ["a"],
                "quality_bar": {"min_score": 1, "baseline_model": "a"},
            },
            "give exactly one of min_score",
        ),
        (
            {
                "feature": "f",
                "candidates": ["a"],
                "mode": "always",
                "quality_bar": {"min_score": 1},
            },
            "routing[0].mode: 'always' is not one of auto, enforce",
        ),
        (
            {
                "feature": "f",
                "candidates": ["a"],
                "mode": "enforce",
                "fallback": "a",
                "quality_bar": {"min_score": 1},
            },
            "routing[0].fallback: only applies to mode: auto",
        ),
    ]
    for entry, message in bad:
        with pytest.raises(RoutingConfigError, match=re.escape(message)):
            parse_routing([entry])


def test_the_synthetic_company_config_loads(tmp_path: Any) -> None:
    import yaml

    config = company_config(
        {t: 10**9 for t in ("support", "sales", "success", "platform")},
        {"ticket-resolution": 10**9},
    )
    path = tmp_path / "aifinops.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = load_settings({}, path)
    triage = next(p for p in settings.routing if p.feature == "ticket-triage")
    assert triage.baseline_model == "claude-opus-4-1" and triage.tolerance == Decimal("0.02")
    assert triage.min_sample_size == 200 and triage.mode == "auto"
    path.write_text(yaml.safe_dump({"routing": [{"feature": "x", "candidates": ["a"]}]}))
    with pytest.raises(ConfigError, match=r"routing\[0\]\.quality_bar: is required"):
        load_settings({}, path)
