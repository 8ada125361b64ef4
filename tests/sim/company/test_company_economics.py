"""Unit economics, evals, routing and budgets land where the spec says.

Costs are the events priced with the pricing engine (list prices), as an importer would
price them; outcomes come from outcomes.jsonl; human costs and budgets from aifinops.yaml.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

from aifinops.money import nusd_to_decimal
from tests.sim.company.dataset import Company

HUMAN_COST = {
    "ticket-resolution": "6.50",
    "case-summary": "2.00",
    "ticket-triage": "0.40",
    "email-drafting": "1.50",
    "account-health": "12.00",
    "renewal-brief": "3.00",
    "internal-search": "0.50",
}


def _successes(company: Company) -> Counter[str]:
    return Counter(o["feature"] for o in company.outcomes if o["success"])


def _cost_per_success(company: Company) -> dict[str, Decimal]:
    cost = company.cost_by("feature")
    wins = _successes(company)
    return {f: nusd_to_decimal(cost[(f,)]) / wins[f] for f in wins}


def test_config_states_the_issue_table(company: Company) -> None:
    features = {f["name"]: f for f in company.config["features"]}
    assert {n: f.get("human_cost_usd") for n, f in features.items() if "human_cost_usd" in f} == (
        HUMAN_COST
    )
    assert features["lead-qualification"]["value_per_outcome_usd"] == "40.00"
    assert "human_cost_usd" not in features["lead-qualification"]
    assert {f["team"] for f in features.values()} == {"support", "sales", "success", "platform"}
    assert all(f["target_ratio"] == 0.25 and f["red_line"] == 0.5 for f in features.values())
    assert list(company.config) == ["teams", "features", "budgets", "routing"]
    assert all(t["slack_channel"].startswith("#") for t in company.config["teams"])


def test_only_renewal_brief_is_above_the_red_line(company: Company) -> None:
    ratios = {
        f: cps / Decimal(HUMAN_COST[f])
        for f, cps in _cost_per_success(company).items()
        if f in HUMAN_COST
    }
    assert len(ratios) == len(HUMAN_COST)
    assert Decimal("0.55") < ratios.pop("renewal-brief") < Decimal("1.0")
    assert max(ratios.values()) < Decimal("0.25"), ratios  # everything else within target
    assert ratios["ticket-resolution"] < Decimal("0.05")
    assert ratios["internal-search"] < Decimal("0.05")


def test_lead_qualification_costs_a_small_share_of_its_value(company: Company) -> None:
    cps = _cost_per_success(company)["lead-qualification"]
    assert cps / Decimal("40.00") < Decimal("0.05")
    leads = [o for o in company.outcomes if o["feature"] == "lead-qualification"]
    assert {(o["success"], o["value_usd"]) for o in leads} == {(True, "40.00"), (False, "0.00")}
    others = [o for o in company.outcomes if o["feature"] != "lead-qualification"]
    assert all(o["value_usd"] is None for o in others)
    assert 0.25 < sum(o["success"] for o in leads) / len(leads) < 0.37


def test_case_summary_cost_per_outcome_rises_while_quality_falls(company: Company) -> None:
    cost = company.cost_by("feature", "prompt_version")
    version = {r["unit_id"]: r["prompt_version"] for r in company.rows}
    wins: Counter[str] = Counter()
    units: Counter[str] = Counter()
    quality: dict[str, list[float]] = defaultdict(list)
    for o in company.outcomes:
        if o["feature"] == "case-summary":
            v = version[o["unit_id"]]
            units[v] += 1
            wins[v] += o["success"]
            quality[v].append(o["quality"])
    versions = ["v1", "v2", "v3", "v4"]
    cps = [nusd_to_decimal(cost[("case-summary", v)]) / wins[v] for v in versions]
    assert cps == sorted(cps) and len(set(cps)) == 4
    assert cps[-1] > 3 * cps[0]
    mean_quality = [sum(quality[v]) / len(quality[v]) for v in versions]
    assert mean_quality == sorted(mean_quality, reverse=True) and len(set(mean_quality)) == 4
    assert mean_quality[0] - mean_quality[-1] > 0.15
    success = [wins[v] / units[v] for v in versions]
    assert success == sorted(success, reverse=True)


def _cost_per_success_on(company: Company, feature: str, days: set[str]) -> Decimal:
    cost = sum(
        c
        for r, c in zip(company.rows, company.cost_nusd.tolist(), strict=True)
        if r["feature"] == feature and r["ts"][:10] in days
    )
    wins = sum(
        1
        for o in company.outcomes
        if o["feature"] == feature and o["success"] and o["ts"][:10] in days
    )
    return nusd_to_decimal(cost) / wins


def test_unplanted_features_show_no_trend(company: Company) -> None:
    days = sorted({r["ts"][:10] for r in company.rows})
    first, last = set(days[:7]), set(days[-7:])
    for feature in ("ticket-resolution", "ticket-triage", "lead-qualification", "internal-search"):
        before = _cost_per_success_on(company, feature, first)
        after = _cost_per_success_on(company, feature, last)
        assert Decimal("0.8") < after / before < Decimal("1.25"), (feature, before, after)
    before = _cost_per_success_on(company, "case-summary", first)
    after = _cost_per_success_on(company, "case-summary", last)
    assert after / before > 3  # the planted trend, for contrast


def test_outcome_fields(company: Company) -> None:
    types = {(o["feature"], o["type"]) for o in company.outcomes}
    assert len(types) == 8
    assert ("ticket-resolution", "resolution") in types
    graded = [o for o in company.outcomes if o["quality"] is not None]
    assert all(0 <= o["quality"] <= 1 for o in graded)
    assert {o["feature"] for o in company.outcomes if o["quality"] is None} == {"ticket-triage"}
    assert all(isinstance(o["success"], bool) for o in company.outcomes)


def test_evals_show_haiku_within_tolerance_only_for_ticket_triage(company: Company) -> None:
    rows = company.evals
    assert set(rows[0]) == {"feature", "model", "prompt_version", "metric", "score", "sample_size"}
    score = {(e["feature"], e["model"], e["prompt_version"]): Decimal(e["score"]) for e in rows}
    assert all(int(e["sample_size"]) >= 200 for e in rows)
    opus = score[("ticket-triage", "claude-opus-4-1", "v2")]
    haiku = score[("ticket-triage", "claude-haiku-4-5", "v2")]
    assert opus - Decimal("0.02") <= haiku < opus
    summary = [score[("case-summary", "claude-haiku-4-5", v)] for v in ("v1", "v2", "v3", "v4")]
    assert summary == sorted(summary, reverse=True)


def test_routing_lets_only_ticket_triage_move_to_a_cheaper_model(company: Company) -> None:
    score = {
        (e["feature"], e["model"], e["prompt_version"]): (
            Decimal(e["score"]),
            int(e["sample_size"]),
        )
        for e in company.evals
    }
    live_version = {r["feature"]: r["prompt_version"] for r in company.rows}  # the latest
    current = {r["feature"]: r["model"] for r in company.rows if r["endpoint"] != "/v1/embeddings"}
    routing = {r["feature"]: r for r in company.config["routing"]}
    assert set(routing) == set(current)
    movable = {}
    for feature, rule in routing.items():
        assert rule["current_model"] == current[feature]
        bar = rule["quality_bar"]
        assert bar["baseline_model"] == current[feature] and bar["max_drop"] == 0.02
        version = live_version[feature]
        base, _ = score[(feature, current[feature], version)]
        passing = {
            m
            for m in rule["allowed_models"]
            if m != current[feature]
            and score[(feature, m, version)][0] >= base - Decimal(str(bar["max_drop"]))
            and score[(feature, m, version)][1] >= bar["min_sample_size"]
        }
        if passing:
            movable[feature] = passing
    assert movable == {"ticket-triage": {"claude-haiku-4-5", "claude-sonnet-4-5"}}
    assert any(len(r["allowed_models"]) > 1 for f, r in routing.items() if f != "ticket-triage")


def test_budgets_sales_crosses_soft_thresholds_success_hits_hard_limit(company: Company) -> None:
    last_day = date.fromisoformat(max(r["ts"] for r in company.rows)[:10])
    month = last_day.strftime("%Y-%m")
    spent: Counter[tuple[str, str]] = Counter()
    for row, cost in zip(company.rows, company.cost_nusd.tolist(), strict=True):
        if row["ts"].startswith(month):
            spent[("team", row["team"])] += cost
            spent[("feature", row["feature"])] += cost
    budgets = {(b["scope"], b["name"]): b for b in company.config["budgets"]}
    assert {k for k in budgets if k[0] == "team"} == {
        ("team", t) for t in ("support", "sales", "success", "platform")
    }
    assert ("feature", "ticket-resolution") in budgets
    used = {}
    for key, b in budgets.items():
        assert b["period"] == "monthly" and b["action"] == "throttle"
        assert b["thresholds"] == [50, 75, 90] and b["hard_limit_pct"] == 110
        assert isinstance(b["amount_usd"], str)
        used[key] = nusd_to_decimal(spent[key]) / Decimal(b["amount_usd"]) * 100
    assert 90 <= used.pop(("team", "sales")) < 110, "sales: past every soft threshold, no hard"
    assert used.pop(("team", "success")) >= 110, "success: past its hard limit"
    assert max(used.values()) < 50, used  # nobody else alerts
