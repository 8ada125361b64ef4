"""The four files: deterministic, canonical, in range, in order, linked by unit."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aifinops.economics.outcomes import OUTCOME_FIELDS
from aifinops.pricing import Catalog
from aifinops.sim.company import (
    CONFIG_FILE,
    EVALS_FILE,
    EVENTS_FILE,
    OUTCOMES_FILE,
    CompanyOptions,
    generate,
)
from aifinops.sim.company.render import EVENT_FIELDS
from aifinops.usage import TOKEN_FIELDS
from tests.sim.company.dataset import Company

SMALL = CompanyOptions(days=3, end=date(2026, 10, 31), scale=0.5)
FILES = (EVENTS_FILE, OUTCOMES_FILE, EVALS_FILE, CONFIG_FILE)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    generate(tmp_path / "a", SMALL)
    generate(tmp_path / "b", SMALL)
    generate(tmp_path / "c", replace(SMALL, seed=SMALL.seed + 1))
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in (EVENTS_FILE, OUTCOMES_FILE, CONFIG_FILE):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name
    assert not list(tmp_path.glob("*/*.tmp"))


def test_every_row_is_a_canonical_event(company: Company) -> None:
    assert len(company.events) == len(company.rows) > 20_000
    for row, event in zip(company.rows, company.events, strict=True):
        assert tuple(row) == EVENT_FIELDS
        assert event.event_id == row["event_id"]
        assert event.attribution.unit_id == row["unit_id"]
        assert event.attribution.customer_id == row["customer_id"]
        assert event.max_tokens == row["max_tokens"]
        assert event.context_chunks == row["context_chunks"]
        for name in TOKEN_FIELDS:
            assert getattr(event.usage, name) == row[name]
    assert len({r["event_id"] for r in company.rows}) == len(company.rows)


def test_tens_of_thousands_of_calls_over_30_days_ending_yesterday(company: Company) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = {r["ts"][:10] for r in company.rows}
    assert max(days) == yesterday.isoformat()
    assert min(days) == (yesterday - timedelta(days=29)).isoformat()
    assert len(days) == 30
    assert all(o["ts"][:10] <= yesterday.isoformat() for o in company.outcomes)
    assert 20_000 <= len(company.rows) <= 100_000
    assert all(r["ts"].endswith("Z") for r in company.rows)


def test_events_and_outcomes_are_in_time_order(company: Company) -> None:
    ts = [r["ts"] for r in company.rows]
    assert ts == sorted(ts)
    outcome_ts = [o["ts"] for o in company.outcomes]
    assert outcome_ts == sorted(outcome_ts)


def test_each_unit_has_one_outcome_after_its_calls(company: Company) -> None:
    last_call: dict[str, str] = {}
    owner: dict[str, tuple[str, str]] = {}
    for r in company.rows:
        last_call[r["unit_id"]] = max(last_call.get(r["unit_id"], ""), r["ts"])
        assert owner.setdefault(r["unit_id"], (r["feature"], r["customer_id"])) == (
            r["feature"],
            r["customer_id"],
        )
    by_unit = {o["unit_id"]: o for o in company.outcomes}
    assert len(by_unit) == len(company.outcomes) == len(last_call)
    for unit, outcome in by_unit.items():
        assert tuple(outcome) == OUTCOME_FIELDS
        assert outcome["ts"] > last_call[unit]
        assert (outcome["feature"], outcome["customer_id"]) == owner[unit]
    assert len({o["outcome_id"] for o in company.outcomes}) == len(company.outcomes)


def test_several_calls_per_unit_where_realistic(company: Company) -> None:
    calls: dict[str, Counter[str]] = defaultdict(Counter)
    for r in company.rows:
        if r["status"] == 200:
            calls[r["feature"]][r["unit_id"]] += 1
    spread = {f: (min(c.values()), max(c.values())) for f, c in calls.items()}
    assert spread["ticket-resolution"] == (2, 6)
    assert spread["renewal-brief"] == (9, 15)
    assert spread["lead-qualification"] == (2, 2)
    assert spread["ticket-triage"] == (1, 1)
    assert spread["internal-search"] == (2, 2)  # an embedding, then an answer


def test_failed_attempts_are_rare_unbilled_and_retried(company: Company) -> None:
    failed = [r for r in company.rows if r["status"] != 200]
    assert 0.005 < len(failed) / len(company.rows) < 0.02
    assert {r["status"] for r in failed} == {429, 500, 529}
    assert {r["status"] for r in failed if r["provider"] == "openai"} == {429, 500}
    for r in failed:
        assert all(r[name] == 0 for name in TOKEN_FIELDS), r
        assert r["error_type"] and r["stop_reason"] is None and r["ttft_ms"] is None
    attempts: dict[str, list[int]] = defaultdict(list)
    for r in company.rows:
        attempts[r["request_id"]].append(r["status"])
    for statuses in attempts.values():
        assert statuses[-1] == 200 and all(s != 200 for s in statuses[:-1])
    ok = [r for r in company.rows if r["status"] == 200]
    assert all(r["error_type"] is None for r in ok)
    assert all(r["reasoning_tokens"] == 0 for r in company.rows)


def test_forty_customers_with_a_long_tail(company: Company) -> None:
    calls = Counter(r["customer_id"] for r in company.rows)
    assert len(calls) == 40
    shares = sorted((n / len(company.rows) for n in calls.values()), reverse=True)
    assert shares[0] > 0.15
    assert sum(shares[:5]) > 0.5
    assert sum(shares[20:]) < 0.2
    assert shares[-1] > 0  # the smallest customer still appears


def test_customers_option_sets_the_tenant_count(tmp_path: Path) -> None:
    result = generate(tmp_path, replace(SMALL, customers=5))
    with result.files[0].path.open(encoding="utf-8") as f:
        customers = {json.loads(line)["customer_id"] for line in f}
    assert customers == {f"cust-00{i}" for i in range(1, 6)}


def test_end_option_fixes_the_window(tmp_path: Path) -> None:
    result = generate(tmp_path, SMALL)
    with result.files[0].path.open(encoding="utf-8") as f:
        days = {json.loads(line)["ts"][:10] for line in f}
    assert days == {"2026-10-29", "2026-10-30", "2026-10-31"}


def test_every_model_is_in_the_price_catalog(company: Company) -> None:
    catalog = Catalog()
    used = {(r["provider"], r["model"]) for r in company.rows}
    evaluated = {e["model"] for e in company.evals}
    assert len(used) == 7 and evaluated - {m for _, m in used} == {"gpt-4.1-mini"}
    for provider, model in used:
        assert catalog.find(provider, model) is not None, model
    for model in evaluated:
        provider = "openai" if model.startswith("gpt") else "anthropic"
        assert catalog.find(provider, model) is not None, model
