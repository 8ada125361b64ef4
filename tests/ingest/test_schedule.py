"""The provider-report schedule: config, due times from ingest_runs, the leader lock,
status and metrics, and that the admin key never reaches an error, the log or the DB."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from aifinops.gateway.metrics import IngestCollector
from aifinops.ingest import anthropic_admin, provider_store
from aifinops.ingest.leader import FileLock, NoLock, PostgresLock, lock_for
from aifinops.ingest.schedule import (
    ScheduleError,
    Scheduler,
    ScheduleRunner,
    build_runner,
    make_clients,
    next_due,
    plan_jobs,
)
from aifinops.ingest.status import read_statuses
from aifinops.ledger.db import create_ledger_engine, open_ledger
from aifinops.ledger.schema_reports import ingest_runs, provider_costs, provider_usage
from aifinops.settings import (
    ConfigError,
    ReportSettings,
    ScheduledProvider,
    load_schedule,
    load_settings,
)
from tests.ingest.fake_admin import FakeServer, FakeState, Fault, serve
from tests.ingest.test_anthropic_admin import COST, USAGE, cost_result, usage_result

KEY = "sk-ant-admin-schedule-secret-0123456789"
NOON = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Clock:
    """The scheduler's and the pulls' clock (ingest_runs.started_at), moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moment = Clock(NOON)
    monkeypatch.setattr(provider_store, "now_utc", moment)
    return moment


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    first = datetime(2026, 8, 1, tzinfo=UTC)
    stamps = [first + timedelta(days=i) for i in range(12)]
    state = FakeState(
        buckets={
            USAGE: [(d, [usage_result()]) for d in stamps],
            COST: [(d, [cost_result()]) for d in stamps],
        },
        page_size=7,
        key_header=("x-api-key", KEY),
    )
    yield from serve("anthropic", state)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield engine
    engine.dispose()


def reports(fake: FakeServer, **options: Any) -> ReportSettings:
    return ReportSettings(
        anthropic_admin_api_key=KEY,
        anthropic_admin_base_url=fake.url,
        schedule=(ScheduledProvider("anthropic", **options),),
    )


def scheduler(db: Engine, settings: ReportSettings, clock: Clock, **options: Any) -> Scheduler:
    clients = make_clients(settings, sleep=lambda _s: None)
    options.setdefault("idle_s", 10**6)
    return Scheduler(db, plan_jobs(settings), clients, NoLock(), clock=clock, **options)


def runs(db: Engine) -> list[tuple[str, date, date, str]]:
    with db.connect() as conn:
        found = conn.execute(
            select(
                ingest_runs.c.source,
                ingest_runs.c.first_day,
                ingest_runs.c.last_day,
                ingest_runs.c.status,
            ).order_by(ingest_runs.c.started_at, ingest_runs.c.source)
        ).all()
    return [tuple(r) for r in found]


# --- config ----------------------------------------------------------------------------


def test_the_config_section_is_read_with_defaults_and_overrides(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(
        "provider_reports:\n"
        "  week_interval: 12h\n"
        "  providers:\n"
        "    - anthropic\n"
        "    - {provider: openai, recent_interval: 15m, bucket_width: 1h}\n"
    )
    settings = load_settings({}, config)
    assert settings.reports.schedule == (
        ScheduledProvider("anthropic", 3600.0, 43200.0, "1d"),
        ScheduledProvider("openai", 900.0, 43200.0, "1h"),
    )
    assert load_settings({}, tmp_path / "aifinops.yaml").reports.schedule
    assert load_schedule(None) == ()


@pytest.mark.parametrize(
    ("section", "field", "words"),
    [
        ("[anthropic]", "provider_reports", "must be a mapping"),
        ("{providers: []}", "provider_reports.providers", "non-empty list"),
        ("{providers: [gemini]}", "provider_reports.providers[0]", "'gemini' is not one of"),
        ("{providers: [bedrock]}", "provider_reports.providers[0]", "import bedrock-cur"),
        ("{providers: [openai, openai]}", "provider_reports.providers[1]", "listed twice"),
        ("{providers: [{model: x}]}", "provider_reports.providers[0].model", "unknown key"),
        ("{providers: [{recent_interval: 1h}]}", "providers[0].provider", "is missing"),
        ("{providers: [openai], every: 1h}", "provider_reports.every", "unknown key"),
        ("{providers: [{provider: openai, api_key: sk-x}]}", "api_key", "environment only"),
        ("{providers: [openai], recent_interval: soon}", "recent_interval", "not a duration"),
        ("{providers: [openai], week_interval: 0}", "week_interval", "shorter than 1 second"),
        ("{providers: [{provider: openai, bucket_width: 5m}]}", "bucket_width", "1d or 1h"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, section: str, field: str, words: str) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(f"provider_reports: {section}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({}, config)
    assert field in caught.value.field and words in str(caught.value)
    assert str(config) in str(caught.value)


def test_a_scheduled_provider_without_its_key_names_the_variable() -> None:
    settings = ReportSettings(schedule=(ScheduledProvider("openai"),))
    with pytest.raises(ScheduleError, match=r"providers\[0\]: openai .* OPENAI_ADMIN_API_KEY"):
        make_clients(settings)
    assert build_runner(ReportSettings(), create_ledger_engine("sqlite://"), NoLock()) is None


# --- when the windows are pulled ---------------------------------------------------------


def test_each_window_is_pulled_when_due_and_not_before(
    db: Engine, fake: FakeServer, clock: Clock
) -> None:
    sched = scheduler(db, reports(fake), clock)
    wait = sched.step()
    recent, week = (date(2026, 8, 9), date(2026, 8, 10)), (date(2026, 8, 3), date(2026, 8, 9))
    assert sorted(runs(db)) == [
        ("anthropic:cost", *week, "complete"),
        ("anthropic:cost", *recent, "complete"),
        ("anthropic:usage", *week, "complete"),
        ("anthropic:usage", *recent, "complete"),
    ]
    assert wait == pytest.approx(3600)  # the recent window, an hour after it started
    with db.connect() as conn:
        days = conn.scalars(select(func.count(func.distinct(provider_usage.c.day)))).one()
        costs = conn.scalars(select(func.count()).select_from(provider_costs)).one()
    assert (days, costs) == (8, 8)  # 3 to 10 August, each day once

    assert sched.step() > 3500 and len(runs(db)) == 4  # nothing is due yet
    clock.now += HOUR
    sched.step()
    assert [r[1:] for r in runs(db)[4:]] == [(*recent, "complete")] * 2  # only the recent one
    clock.now += timedelta(hours=23)
    sched.step()
    assert len(runs(db)) == 10  # a day later both again (the windows moved on, too)


def test_the_day_just_finished_is_pulled_right_after_midnight(
    db: Engine, fake: FakeServer, clock: Clock
) -> None:
    clock.now = datetime(2026, 8, 10, 23, 50, tzinfo=UTC)
    sched = scheduler(db, reports(fake), clock, idle_s=30)
    sched.step()
    clock.now += timedelta(minutes=10, seconds=1)
    sched.step()
    assert sorted(runs(db)[4:]) == [
        ("anthropic:cost", date(2026, 8, 4), date(2026, 8, 10), "complete"),
        ("anthropic:cost", date(2026, 8, 10), date(2026, 8, 11), "complete"),
        ("anthropic:usage", date(2026, 8, 4), date(2026, 8, 10), "complete"),
        ("anthropic:usage", date(2026, 8, 10), date(2026, 8, 11), "complete"),
    ]


def test_a_failed_window_is_retried_at_the_shortest_interval(
    db: Engine, fake: FakeServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.state.fail_with = Fault(500, body={"error": {"message": f"boom for key {KEY}"}})
    sched = scheduler(db, reports(fake, recent_interval_s=600.0), clock)
    with caplog.at_level(logging.INFO, logger="aifinops.ingest.schedule"):
        sched.step()
    assert {r[3] for r in runs(db)} == {"failed"} and len(runs(db)) == 4
    assert "anthropic:usage 2026-08-09..2026-08-10 (recent) failed: anthropic" in caplog.text
    fake.state.fail_with = None
    clock.now += timedelta(minutes=10)
    sched.step()  # the week window too, though its interval is a day
    assert [r[3] for r in runs(db)[4:]] == ["complete"] * 4
    # the key never reaches the ledger or the log, even when the server echoes it back
    with db.connect() as conn:
        errors = list(conn.scalars(select(ingest_runs.c.last_error)))
    assert any("[redacted]" in (e or "") for e in errors)
    assert not any(KEY in (e or "") for e in errors) and KEY not in caplog.text


def test_a_manual_import_of_the_same_days_counts(
    db: Engine, fake: FakeServer, clock: Clock
) -> None:
    settings = reports(fake)
    client = make_clients(settings)["anthropic"]
    for spec in anthropic_admin.report_specs():
        provider_store.pull_report(db, client, spec, date(2026, 8, 1), date(2026, 8, 10))
    (recent, week) = plan_jobs(settings)
    assert next_due(db, recent, clock(), 3600) == NOON + HOUR
    assert next_due(db, week, clock(), 3600) == NOON + timedelta(days=1)
    assert next_due(db, replace(week, first_back=30), clock(), 3600) == NOON  # never covered


# --- one scheduler ---------------------------------------------------------------------------


def test_only_the_holder_of_the_lock_pulls(
    db: Engine, fake: FakeServer, clock: Clock, tmp_path: Path
) -> None:
    first, second = FileLock(tmp_path / "l"), FileLock(tmp_path / "l")
    assert first.acquire() and first.acquire()  # held: taking it again is a no-op
    settings = reports(fake)
    standby = Scheduler(
        db, plan_jobs(settings), make_clients(settings), second, clock=clock, idle_s=7
    )
    assert standby.step() == 7 and runs(db) == []
    first.release()
    standby.step()
    assert len(runs(db)) == 4
    assert not first.acquire()
    second.release()
    assert isinstance(lock_for(db), FileLock)
    assert isinstance(lock_for(create_ledger_engine("sqlite://")), NoLock)


def test_the_postgres_lock_is_one_per_schema(pg_base_url: str, pg_schema: str) -> None:
    engines = [create_ledger_engine(pg_base_url, search_path=pg_schema) for _ in range(2)]
    other = create_ledger_engine(pg_base_url, search_path="public")
    locks = [PostgresLock(e) for e in engines]
    elsewhere = PostgresLock(other)
    try:
        assert isinstance(lock_for(engines[0]), PostgresLock)
        assert locks[0].acquire() and locks[0].acquire()
        assert not locks[1].acquire()
        assert elsewhere.acquire()  # another ledger (schema) has a scheduler of its own
        locks[0].release()
        assert locks[1].acquire()
        locks[1]._conn.invalidate()  # type: ignore[union-attr]  # the session dies …
        deadline = time.monotonic() + 10  # the server ends the backend a moment later
        while not locks[0].acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert locks[0].acquire()  # … and with it the lock
        assert not locks[1].acquire()
    finally:
        for lock in (*locks, elsewhere):
            lock.release()
        for engine in (*engines, other):
            engine.dispose()


# --- status and metrics -------------------------------------------------------------------


def test_status_keeps_the_last_error_after_a_success_and_metrics_show_it(
    db: Engine, fake: FakeServer, clock: Clock
) -> None:
    sched = scheduler(db, reports(fake), clock)
    fake.state.fail_with = Fault(503, retry_after="0")
    sched.step()
    fake.state.fail_with = None
    clock.now += HOUR
    sched.step()
    by_source = {s.source: s for s in read_statuses(db)}
    usage = by_source["anthropic:usage"]
    assert (usage.provider, usage.status, usage.error) == ("anthropic", "complete", None)
    assert usage.last_error is not None and "HTTP 503" in usage.last_error
    assert usage.last_success_at == NOON + HOUR
    assert dict(usage.runs) == {"complete": 2, "failed": 2}  # recent + week, retried

    collector = IngestCollector(partial(read_statuses, db), max_age_s=0)
    registry = CollectorRegistry()
    registry.register(collector)
    deadline = time.monotonic() + 5
    text = ""
    while "anthropic:cost" not in text and time.monotonic() < deadline:
        text = generate_latest(registry).decode()  # the first scrape asks, a later one has it
        time.sleep(0.02)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = (("provider", "anthropic"), ("source", "anthropic:usage"))
    success = samples[("aifinops_ingest_last_success_timestamp_seconds", labels)]
    assert success == (NOON + HOUR).timestamp()
    failed = tuple(sorted((*labels, ("result", "failed"))))
    assert samples[("aifinops_ingest_runs_total", failed)] == 2
    assert samples[("aifinops_ingest_last_run_ok", labels)] == 1


def test_an_unreachable_ledger_is_logged_and_never_taken_for_a_held_lock(
    tmp_path: Path, fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    away = create_ledger_engine("postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(OperationalError):
        PostgresLock(away).acquire()  # raises: "held elsewhere" would be a lie
    away.dispose()
    missing = create_ledger_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'ledger.db'}")
    settings = reports(fake)
    runner = ScheduleRunner(
        Scheduler(missing, plan_jobs(settings), make_clients(settings), NoLock(), idle_s=0.05)
    )
    with caplog.at_level(logging.WARNING, logger="aifinops.ingest.schedule"):
        runner.start()
        deadline = time.monotonic() + 5
        while "cannot be reached" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
        runner.stop()
    assert "provider reports: the ledger cannot be reached" in caplog.text
    assert runner.stopping.is_set()
    missing.dispose()
