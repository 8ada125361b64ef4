"""Alerts from real processes: two evaluators at once deliver each alert once, and
`aifinops serve` (two instances, two workers each) evaluates in exactly one process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from aifinops.ledger.db import open_ledger
from tests.gateway.procs import SERVE_LAUNCH, Proc, _start, gateway_env, stop
from tests.governance.alert_helpers import keys, pinned_url, receiver, rows, spend

ROOT = Path(__file__).resolve().parents[2]

EVALUATOR = """
import sys, time
from aifinops.governance.alerts import evaluate_alerts
from aifinops.governance.channels import Deliverer
from aifinops.ledger.db import create_ledger_engine
from tests.governance.alert_helpers import budget, settings, utc

url, slack, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
engine = create_ledger_engine(url)
config = settings([budget(), budget(id="sales-small", amount_usd="50")], slack_webhook_url=slack)
while time.time() < start_at:
    time.sleep(0.001)
with engine.begin() as conn:
    new = evaluate_alerts(conn, config.budgets, utc("2026-11-20T12:00:00"), config)
Deliverer(engine, config.alerts).deliver(new)
engine.dispose()
print(len(new))
"""


def test_two_processes_evaluating_at_once_deliver_each_alert_once(
    ledger: Engine, ledger_url: tuple[str, str | None]
) -> None:
    spend(ledger, "2026-11-19T10:00:00", "95")
    url = pinned_url(*ledger_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with receiver() as slack:
        start_at = time.time() + 2.0  # both processes are imported and connected by then
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", EVALUATOR, url, slack.url, str(start_at)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
        counts = sorted(int(out.strip()) for out, _ in outputs)
        assert sum(counts) == 8  # each alert went to one of the two processes
        assert len(slack.accepted) == 8
    sent = [re.findall(r"al_[0-9a-f]{32}", r.body.decode())[0] for r in slack.accepted]
    stored = rows(ledger)
    assert sorted(sent) == sorted(a.alert_id for a in stored)  # each alert once
    assert keys(stored) == [
        ("sales-small", "hard_limit", 110),
        ("sales-small", "threshold", 50),
        ("sales-small", "threshold", 75),
        ("sales-small", "threshold", 90),
        ("team:sales", "projected", 110),  # 95 USD by the 20th: 146 USD by the 30th
        ("team:sales", "threshold", 50),
        ("team:sales", "threshold", 75),
        ("team:sales", "threshold", 90),
    ]
    assert {(a.status, a.attempts) for a in stored} == {("delivered", 1)}


def _wait_for(what: str, probe: Callable[[], Any], timeout: float = 40) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_serve_evaluates_alerts_in_exactly_one_process(tmp_path: Path) -> None:
    """Two `serve` instances on one ledger (one with two workers): every alert is sent
    once, by one process."""
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = open_ledger(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    # past the hard limit of this month's budget: 50/75/90 % and the hard limit, whatever
    # the day (a projection needs the spend still under the hard limit)
    spend(engine, now.replace(tzinfo=None).isoformat(), "115")
    engine.dispose()
    config = tmp_path / "aifinops.yaml"
    config.write_text(
        "teams:\n  - {name: sales, slack_channel: '#ai-spend-sales'}\n"
        "budgets:\n  - {scope: team, name: sales, amount_usd: '100'}\n"
    )
    with receiver() as slack:
        env = gateway_env(
            "http://127.0.0.1:9",
            db_url,
            tmp_path / "spool",
            AIFINOPS_CONFIG=str(config),
            AIFINOPS_SLACK_WEBHOOK_URL_SALES=slack.url,
            AIFINOPS_ALERT_INTERVAL_S="0.2",
        )
        logs = [tmp_path / "serve-a.log", tmp_path / "serve-b.log"]
        procs: list[Proc] = []
        try:
            for log, workers in zip(logs, ("2", "1"), strict=True):
                args = [SERVE_LAUNCH, "serve", "--port", "0", "--workers", workers]
                procs.append(_start(args, env, log, "gateway listening on"))
            _wait_for("four alerts", lambda: len(slack.requests) >= 4)
            time.sleep(2.0)  # about ten more runs of the evaluator
            seen = [log.read_text() for log in logs]  # before a stop hands the lock over
        finally:
            for p in reversed(procs):
                stop(p.proc)
        texts = sorted(r.json()["text"] for r in slack.requests)
    assert len(texts) == 4, texts
    assert [r.status for r in slack.requests] == [200] * 4
    assert "team sales reached the hard limit of its monthly budget (110 %)" in texts[0]
    leaders = [text for text in seen if "this process evaluates them" in text]
    assert len(leaders) == 1, [text[-2000:] for text in seen]
    assert sum("holds the alert lock and evaluates them" in text for text in seen) == 1
    assert slack.url.split("/services")[1] not in "".join(log.read_text() for log in logs)
