"""Each planted pattern is where the spec plants it, and nowhere else.

Every check is written as a small detector over the event rows that returns the set of
features it flags; the test holds it to exactly the planted set ("these and nothing
else"). The thresholds are the magnitudes docs/synthetic-company.md promises.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import numpy as np

from tests.sim.company.dataset import Company

Row = dict[str, Any]
EMBEDDINGS = "/v1/embeddings"
#: Smallest cacheable prefix per model (Anthropic needs cache_control; OpenAI is automatic).
MIN_CACHEABLE = {
    "claude-sonnet-4-5": 1024,
    "claude-opus-4-1": 1024,
    "claude-haiku-4-5": 4096,
    "gpt-4.1": 1024,
    "gpt-4o-mini": 1024,
    "gpt-4.1-nano": 1024,
}
FEATURES = {
    "ticket-resolution",
    "case-summary",
    "ticket-triage",
    "lead-qualification",
    "email-drafting",
    "account-health",
    "renewal-brief",
    "internal-search",
}


def _generation(rows: list[Row]) -> list[Row]:
    """Successful calls to a generation endpoint (embeddings have no output to bound)."""
    return [r for r in rows if r["status"] == 200 and r["endpoint"] != EMBEDDINGS]


def _by_feature(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r["feature"]].append(r)
    return out


def test_models_per_feature_are_the_spec_table(company: Company) -> None:
    models = {f: {r["model"] for r in rows} for f, rows in _by_feature(company.rows).items()}
    assert models == {
        "ticket-resolution": {"claude-sonnet-4-5"},
        "case-summary": {"claude-haiku-4-5"},
        "ticket-triage": {"claude-opus-4-1"},
        "lead-qualification": {"claude-sonnet-4-5"},
        "email-drafting": {"gpt-4o-mini"},
        "account-health": {"gpt-4.1"},
        "renewal-brief": {"claude-sonnet-4-5"},
        "internal-search": {"text-embedding-3-small", "gpt-4.1-nano"},
    }
    teams = {(r["team"], r["feature"]) for r in company.rows}
    assert {t for t, _ in teams} == {"support", "sales", "success", "platform"}
    assert len(teams) == len(FEATURES)  # each feature belongs to one team
    assert all(r["model"] == r["requested_model"] for r in company.rows)


def test_opus_only_in_ticket_triage_on_a_classification_shape(company: Company) -> None:
    flagged = {r["feature"] for r in company.rows if "opus" in r["model"]}
    assert flagged == {"ticket-triage"}
    triage = _generation(company.rows_of("ticket-triage"))
    assert {r["max_tokens"] for r in triage} == {64}
    assert max(r["output_tokens"] for r in triage) < 64
    assert statistics.median(r["output_tokens"] for r in triage) < 30


def _no_max_tokens(rows: list[Row]) -> set[str]:
    return {r["feature"] for r in _generation(rows) if r["max_tokens"] is None}


def _runaway(rows: list[Row]) -> set[str]:
    """Features whose 99th-percentile output is over ten times the median."""
    flagged = set()
    for feature, calls in _by_feature(_generation(rows)).items():
        out = np.array([r["output_tokens"] for r in calls])
        if np.percentile(out, 99) > 10 * np.median(out):
            flagged.add(feature)
    return flagged


def test_no_max_tokens_and_runaway_outputs_only_in_email_drafting(company: Company) -> None:
    assert _no_max_tokens(company.rows) == {"email-drafting"}
    assert _runaway(company.rows) == {"email-drafting"}
    drafts = _generation(company.rows_of("email-drafting"))
    assert all(r["max_tokens"] is None for r in company.rows_of("email-drafting"))
    out = np.array([r["output_tokens"] for r in drafts])
    assert 250 < np.median(out) < 450
    assert 0.04 < (out >= 2500).mean() < 0.10
    at_cap = [r for r in drafts if r["output_tokens"] == 16384]
    assert 0.005 < len(at_cap) / len(drafts) < 0.02
    assert {r["stop_reason"] for r in at_cap} == {"length"}


def test_every_other_call_sets_max_tokens_and_stops_naturally(company: Company) -> None:
    others = [r for r in _generation(company.rows) if r["feature"] != "email-drafting"]
    assert others
    assert all(r["max_tokens"] is not None for r in others)
    assert all(r["output_tokens"] < 0.95 * r["max_tokens"] for r in others)
    assert {r["stop_reason"] for r in others} == {"end_turn", "stop"}
    assert max(r["output_tokens"] for r in others) <= 4096
    embeddings = [r for r in company.rows if r["endpoint"] == EMBEDDINGS]
    assert embeddings and {r["feature"] for r in embeddings} == {"internal-search"}
    assert all(r["output_tokens"] == 0 and r["stop_reason"] is None for r in embeddings)


def _context_stuffing(rows: list[Row]) -> set[str]:
    return {r["feature"] for r in rows if (r["context_chunks"] or 0) > 8}


def test_thirty_plus_chunks_only_in_account_health(company: Company) -> None:
    assert _context_stuffing(company.rows) == {"account-health"}
    health = _generation(company.rows_of("account-health"))
    assert min(r["context_chunks"] for r in health) >= 30
    uncached = statistics.median(r["input_tokens"] for r in health)
    assert 12_000 < uncached < 25_000


def _growing_system_prompt(rows: list[Row]) -> set[str]:
    """Features whose system prompt is larger in each later prompt version."""
    sizes: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        if r["system_tokens"] is not None:
            sizes[r["feature"]][r["prompt_version"]].add(r["system_tokens"])
    flagged = set()
    for feature, by_version in sizes.items():
        ordered = [by_version[v] for v in sorted(by_version)]
        assert all(len(s) == 1 for s in ordered), (feature, by_version)  # constant per version
        values = [next(iter(s)) for s in ordered]
        if len(values) > 1 and values == sorted(values) and values[-1] > values[0]:
            flagged.add(feature)
    return flagged


def test_system_prompt_grows_only_in_case_summary(company: Company) -> None:
    assert _growing_system_prompt(company.rows) == {"case-summary"}
    shape: dict[str, dict[str, set[tuple[int, str, str]]]] = defaultdict(lambda: defaultdict(set))
    first_day: dict[str, str] = {}
    for r in _generation(company.rows):
        shape[r["feature"]][r["prompt_version"]].add(
            (r["system_tokens"], r["system_hash"], r["prefix_hash"])
        )
        if r["feature"] == "case-summary":
            first_day.setdefault(r["prompt_version"], r["ts"][:10])
    summary = shape.pop("case-summary")
    assert sorted(summary) == ["v1", "v2", "v3", "v4"]
    assert all(len(s) == 1 for s in summary.values())  # one prompt per version
    sizes = [next(iter(summary[v]))[0] for v in sorted(summary)]
    assert sizes == [4300, 6900, 10400, 15200]
    assert len({next(iter(s))[1] for s in summary.values()}) == 4
    assert list(first_day) == ["v1", "v2", "v3", "v4"]  # rolled out one after another
    assert len(shape) == len(FEATURES) - 1
    for feature, by_version in shape.items():
        assert len(by_version) == 1, feature
        assert all(len(s) == 1 for s in by_version.values()), feature


def _cache_hit_rate(calls: list[Row]) -> float:
    return sum(1 for r in calls if r["cache_read_tokens"] > 0) / len(calls)


def _uncached_repeated_prefix(rows: list[Row]) -> set[str]:
    """Features that repeat a cacheable prefix (same hash, above the model's minimum) uncached."""
    flagged = set()
    for feature, calls in _by_feature(_generation(rows)).items():
        cacheable = [r for r in calls if r["system_tokens"] >= MIN_CACHEABLE[r["model"]]]
        prefixes = {r["prefix_hash"] for r in cacheable}
        if cacheable and len(cacheable) > 100 * len(prefixes) and _cache_hit_rate(cacheable) < 0.5:
            flagged.add(feature)
    return flagged


def test_repeated_prompt_without_caching_only_in_lead_qualification(company: Company) -> None:
    assert _uncached_repeated_prefix(company.rows) == {"lead-qualification"}
    leads = company.rows_of("lead-qualification")
    assert {(r["system_tokens"], r["prefix_hash"]) for r in leads} == {
        (9200, leads[0]["prefix_hash"])
    }
    assert all(
        r["cache_read_tokens"] == r["cache_write_5m_tokens"] == r["cache_write_1h_tokens"] == 0
        for r in leads
    )
    ok = _generation(leads)
    assert min(r["input_tokens"] for r in ok) > 9200  # the whole prompt billed as input


def test_caching_is_used_well_wherever_else_a_prefix_repeats(company: Company) -> None:
    hit_rates = {}
    for feature, calls in _by_feature(_generation(company.rows)).items():
        if feature == "lead-qualification":
            continue
        cacheable = [r for r in calls if r["system_tokens"] >= MIN_CACHEABLE[r["model"]]]
        if not cacheable:
            assert all(r["cache_read_tokens"] == 0 for r in calls)
            continue
        assert len(cacheable) == len(calls), feature
        hit_rates[feature] = _cache_hit_rate(cacheable)
        for r in cacheable:
            written = r["cache_write_5m_tokens"] + r["cache_write_1h_tokens"]
            if r["provider"] == "anthropic":  # a cold call writes the prefix, a warm one reads it
                assert (r["cache_read_tokens"] > 0) != (written > 0)
                assert max(r["cache_read_tokens"], written) == r["system_tokens"]
            else:  # OpenAI: automatic, nothing written; reads in steps of 128 tokens
                assert written == 0
                assert r["cache_read_tokens"] in (0, r["system_tokens"] // 128 * 128)
    assert set(hit_rates) == {
        "ticket-resolution",
        "case-summary",
        "ticket-triage",
        "account-health",
        "renewal-brief",
    }
    assert min(hit_rates.values()) >= 0.9, hit_rates
    small = {r["feature"] for r in _generation(company.rows) if r["system_tokens"] < 1024}
    assert small == {"email-drafting", "internal-search"}
