"""Real `aifinops serve` processes pulling a fake Anthropic Admin API on a schedule:
status in /api/v1/ingest and /metrics, errors without the key, one scheduler only."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema_reports import ingest_runs, provider_costs
from tests.gateway.procs import (
    METRICS_TOKEN,
    SERVE_LAUNCH,
    Proc,
    _start,
    gateway_env,
    gateway_process,
    stop,
)
from tests.ingest.fake_admin import FakeServer, FakeState, Fault, serve
from tests.ingest.test_anthropic_admin import COST, USAGE, cost_result, usage_result

KEY = "sk-ant-admin-serve-secret-9876543210"
LAST_SUCCESS = "aifinops_ingest_last_success_timestamp_seconds"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    first = datetime.combine(TODAY - timedelta(days=9), datetime.min.time(), UTC)
    stamps = [first + timedelta(days=i) for i in range(11)]
    state = FakeState(
        buckets={
            USAGE: [(d, [usage_result()]) for d in stamps],
            COST: [(d, [cost_result()]) for d in stamps],
        },
        page_size=7,
        key_header=("x-api-key", KEY),
    )
    yield from serve("anthropic", state)


def serve_env(tmp_path: Path, fake: FakeServer, schedule: str) -> dict[str, str]:
    config = tmp_path / "aifinops.yaml"
    config.write_text(f"provider_reports:\n{schedule}")
    env = gateway_env("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "s")
    env.update(
        AIFINOPS_CONFIG=str(config),
        ANTHROPIC_ADMIN_API_KEY=KEY,
        AIFINOPS_ANTHROPIC_ADMIN_BASE_URL=fake.url,
    )
    return env


def admin_token(log: Path) -> dict[str, str]:
    (token,) = [line.strip() for line in log.read_text().splitlines() if line.startswith("aft_")]
    return {"authorization": f"Bearer {token}"}


def wait_for(
    what: str, probe: Callable[[], Any], timeout: float = 90, logs: tuple[Path, ...] = ()
) -> Any:
    """Poll ``probe`` until it answers (generous: two cores shared with other test runs)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {log.name}:\n{log.read_text()[-2000:]}" for log in logs)
            raise AssertionError(f"timed out waiting for {what}{tails}")
        time.sleep(0.1)


def ingest_rows(proc: Proc, auth: dict[str, str], status: str) -> dict[str, Any] | None:
    doc: dict[str, Any] = httpx.get(f"{proc.url}/api/v1/ingest", headers=auth, timeout=10).json()
    rows = {r["source"]: r for r in doc["rows"]}
    done = {"anthropic:usage", "anthropic:cost"} <= set(rows)
    if done and all(r["status"] == status for r in rows.values()):
        return doc
    return None


def metric(proc: Proc, name: str, source: str) -> str | None:
    text = httpx.get(
        f"{proc.url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    ).text
    for line in text.splitlines():
        if line.startswith(name + "{") and f'source="{source}"' in line:
            return line
    return None


def test_serve_pulls_on_schedule_and_shows_the_status(tmp_path: Path, fake: FakeServer) -> None:
    env = serve_env(tmp_path, fake, "  providers: [anthropic]\n")
    log = tmp_path / "serve.log"
    with gateway_process(env, log) as proc:
        auth = admin_token(log)
        doc = wait_for("complete pulls", lambda: ingest_rows(proc, auth, "complete"), logs=(log,))
        cost = {r["source"]: r for r in doc["rows"]}["anthropic:cost"]
        assert cost["error"] is None and cost["last_error"] is None
        assert cost["runs_complete"] >= 1 and cost["last_success_at"].endswith("Z")
        windows = {w["window"]: w for w in doc["meta"]["schedule"]}
        assert windows["recent"]["to"] == TODAY.isoformat()
        assert windows["week"]["from"] == (TODAY - timedelta(days=7)).isoformat()
        assert windows["recent"]["interval_s"] == 3600
        line = wait_for(
            "the metric",
            lambda: metric(proc, LAST_SUCCESS, "anthropic:cost"),
        )
        assert float(line.split()[-1]) > time.time() - 600
        assert "pulls them" in log.read_text()
    engine = open_ledger(env["AIFINOPS_DATABASE_URL"])
    with engine.connect() as conn:
        days = conn.scalars(select(func.count(func.distinct(provider_costs.c.day)))).one()
        first = conn.scalars(select(func.min(provider_costs.c.day))).one()
    engine.dispose()
    assert days == 8  # the 7 days before today, and today
    assert date.fromisoformat(str(first)) == TODAY - timedelta(days=7)


def test_a_failing_admin_api_shows_the_error_without_the_key(
    tmp_path: Path, fake: FakeServer
) -> None:
    message = f"internal error while checking key {KEY}"  # a server that echoes the key
    fake.state.fail_with = Fault(500, retry_after="0", body={"error": {"message": message}})
    env = serve_env(tmp_path, fake, "  providers: [anthropic]\n")
    log = tmp_path / "serve.log"
    with gateway_process(env, log) as proc:
        auth = admin_token(log)
        doc = wait_for("failed pulls", lambda: ingest_rows(proc, auth, "failed"), logs=(log,))
        for row in doc["rows"]:
            assert "HTTP 500: internal error while checking key [redacted]" in row["error"]
            assert row["last_error"] == row["error"] and row["runs_failed"] >= 1
        line = wait_for(
            "the metric", lambda: metric(proc, "aifinops_ingest_last_run_ok", "anthropic:usage")
        )
        assert line.endswith(" 0.0")
        assert metric(proc, LAST_SUCCESS, "anthropic:usage") is None
        metrics = httpx.get(
            f"{proc.url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}
        ).text
        assert KEY not in metrics and KEY not in str(doc)
    assert "failed: anthropic" in log.read_text() and KEY not in log.read_text()
    engine = open_ledger(env["AIFINOPS_DATABASE_URL"])
    with engine.connect() as conn:
        stored = " ".join(e or "" for e in conn.scalars(select(ingest_runs.c.last_error)))
    engine.dispose()
    assert "[redacted]" in stored and KEY not in stored


def test_a_scheduled_provider_without_a_key_stops_start_up(
    tmp_path: Path, fake: FakeServer
) -> None:
    env = serve_env(tmp_path, fake, "  providers: [anthropic, openai]\n")
    log = tmp_path / "serve.log"
    with pytest.raises(AssertionError, match="OPENAI_ADMIN_API_KEY is not set"):
        _start([SERVE_LAUNCH, "serve", "--port", "0"], env, log, "gateway listening on")


def _runs(url: str) -> list[tuple[str, datetime, datetime | None]]:
    engine = open_ledger(url)
    with engine.connect() as conn:
        found = conn.execute(
            select(ingest_runs.c.source, ingest_runs.c.started_at, ingest_runs.c.finished_at)
        ).all()
    engine.dispose()
    return [(r[0], r[1], r[2]) for r in found]


def test_one_scheduler_with_workers_and_beside_a_second_serve(
    tmp_path: Path, fake: FakeServer
) -> None:
    env = serve_env(
        tmp_path, fake, "  recent_interval: 1s\n  week_interval: 1h\n  providers: [anthropic]\n"
    )
    url = env["AIFINOPS_DATABASE_URL"]
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    args = [SERVE_LAUNCH, "serve", "--port", "0"]
    first = _start([*args, "--workers", "2"], env, first_log, "gateway listening on")
    try:
        wait_for("a few scheduled pulls", lambda: len(_runs(url)) >= 8, logs=(first_log,))
        second = _start(args, env, second_log, "gateway listening on")
        try:
            wait_for(
                "the second to stand by",
                lambda: "standing by" in second_log.read_text(),
                logs=(first_log, second_log),
            )
            time.sleep(1.5)  # the first goes on pulling meanwhile, the second does not
        finally:
            stop(second.proc)
    finally:
        stop(first.proc)
    assert first_log.read_text().count("this process pulls them") == 1, first_log.read_text()
    assert "this process pulls them" not in second_log.read_text()
    assert "provider reports:" not in second_log.read_text().split("standing by")[1]
    by_source: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for source, started, finished in _runs(url):
        by_source.setdefault(source, []).append((started, finished))
    for source, spans in by_source.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and end <= start, f"{source}: two pulls overlapped"
