"""Alert delivery to real local receivers: Slack (slack-sdk's WebhookClient, Block Kit)
and the signed generic webhook; retries with backoff, failures visible in `alerts list`,
secrets never stored or logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.governance.channels import verify
from aifinops.governance.runner import run_alerts
from tests.governance.alert_helpers import (
    budget,
    keys,
    pinned_url,
    receiver,
    rows,
    settings,
    spend,
    utc,
)

AT = utc("2026-11-20T12:00:00")
SECRET = "whsec-test-0123456789"


@pytest.fixture
def sales_at_60(ledger: Engine) -> Engine:
    """Sales spent 60 USD of its 100 USD month by the 20th: threshold 50 is crossed."""
    spend(ledger, "2026-11-19T10:00:00", "40", feature="lead-qualification")
    spend(ledger, "2026-11-19T11:00:00", "15", feature="email-drafting")
    spend(ledger, "2026-11-19T12:00:00", "5", feature="call-notes")
    return ledger


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_slack_receiver_failing_twice_gets_exactly_one_message(sales_at_60: Engine) -> None:
    waits: list[float] = []
    with receiver(statuses=[500, 500]) as slack:
        config = settings(
            [budget()],
            slack_team_webhook_urls=(("SALES", slack.url),),
            team_channels=(("sales", "#ai-spend-sales"),),
            retry_base_s=0.25,
            dashboard_url="https://finops.example.com/",
        )
        result = run_alerts(sales_at_60, config, at=AT, sleep=waits.append)
        assert [r.status for r in slack.requests] == [500, 500, 200]
        assert len(slack.accepted) == 1  # exactly one message reached the channel
        again = run_alerts(sales_at_60, config, at=AT, sleep=waits.append)  # "restart"
        assert again.new == [] and again.retried == []
        assert len(slack.requests) == 3
    assert waits == [0.25, 0.5]  # exponential backoff between the three attempts
    (alert,) = rows(sales_at_60)
    assert (alert.kind, alert.level, alert.status, alert.attempts) == (
        "threshold",
        50,
        "delivered",
        3,
    )
    assert alert.last_error is None and alert.delivered_at is not None
    assert alert.channel == "slack:#ai-spend-sales"
    assert [a.status for a in result.new] == ["delivered"]

    message = slack.accepted[0].json()
    assert "team sales passed 50 % of its monthly budget" in message["text"]
    blocks = _text(message["blocks"])
    for shown in (
        "*Scope*\\nteam sales",
        "$60.00 (60.0 %)",  # spend and percentage
        "$100.00 per month",  # budget
        "*Projected period end*\\n$92.31 (92.3 %)",  # 60 USD in 19.5 of 30 days
        "`lead-qualification` $40.00 (66.7 %)",
        "`email-drafting` $15.00 (25.0 %)",
        "`call-notes` $5.00 (8.3 %)",
        "https://finops.example.com/?budget=team%3Asales",
    ):
        assert shown in blocks, shown
    assert message["blocks"][0]["type"] == "header"


def test_generic_webhook_is_signed_with_the_secret(sales_at_60: Engine) -> None:
    with receiver() as hook:
        config = settings([budget()], webhook_url=hook.url, webhook_secret=SECRET)
        before = time.time()
        run_alerts(sales_at_60, config, at=AT)
    (request,) = hook.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["x-aifinops-signature"] == f"sha256={expected}"
    assert verify(request.body, SECRET, headers["x-aifinops-signature"])
    assert not verify(request.body, "another-secret", headers["x-aifinops-signature"])
    assert not verify(request.body + b" ", SECRET, headers["x-aifinops-signature"])
    assert headers["content-type"] == "application/json"
    assert before - 1 <= int(headers["x-aifinops-timestamp"]) <= time.time() + 1
    body = request.json()
    assert headers["x-aifinops-alert-id"] == body["alert_id"]
    assert (body["kind"], body["subject"], body["level"]) == ("threshold", "team:sales", 50)
    assert body["details"]["spend_usd"] == "60.000000000"
    assert body["details"]["amount_usd"] == "100.000000000"
    (alert,) = rows(sales_at_60)
    assert (alert.channel, alert.status, alert.attempts) == ("webhook", "delivered", 1)


def test_a_failing_receiver_ends_failed_and_alerts_list_shows_it(
    sales_at_60: Engine,
    ledger_url: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with receiver(default=500) as slack:
        config = settings([budget()], slack_webhook_url=slack.url, max_attempts=5)
        first = run_alerts(sales_at_60, config, at=AT)
        assert [(a.status, a.attempts) for a in first.new] == [("failed", 3)]
        assert len(slack.requests) == 3
        # the next run retries it with the attempts it has left, then gives up
        second = run_alerts(sales_at_60, config, at=AT)
        assert second.new == []
        assert [(a.status, a.attempts) for a in second.retried] == [("failed", 5)]
        assert len(slack.requests) == 5
        third = run_alerts(sales_at_60, config, at=AT)
        assert third.retried == [] and len(slack.requests) == 5
    (alert,) = rows(sales_at_60)
    assert alert.status == "failed" and alert.attempts == 5
    assert alert.last_error == "slack:sales: HTTP 500: internal_error"

    # the webhook URL (a secret) is in no row and no log line
    secret_part = "/services/T000/B000/secret-path"
    stored = json.dumps([a.details for a in rows(sales_at_60)]) + str(rows(sales_at_60))
    assert secret_part not in stored
    assert secret_part not in caplog.text
    assert "HTTP 500" in caplog.text

    url, schema = ledger_url
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", pinned_url(url, schema))
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["alerts", "list", "--status", "failed", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["totals"]["failed"] == 1 and doc["totals"]["alerts"] == 1
    (row,) = doc["rows"]
    assert row["last_error"] == "slack:sales: HTTP 500: internal_error"
    assert (row["status"], row["attempts"], row["kind"]) == ("failed", 5, "threshold")
    assert row["spend_usd"] == "60.000000000"
    table = CliRunner().invoke(app, ["alerts", "list"])
    assert table.exit_code == 0
    assert "failed" in table.stdout and "HTTP 500: internal_error" in table.stdout
    none = CliRunner().invoke(app, ["alerts", "list", "--status", "delivered"])
    assert none.exit_code == 0 and "no alert matches" in none.stderr


def test_a_revoked_webhook_is_not_retried(sales_at_60: Engine) -> None:
    with receiver(default=404) as slack:
        config = settings([budget()], slack_webhook_url=slack.url, max_attempts=5)
        result = run_alerts(sales_at_60, config, at=AT)
        assert len(slack.requests) == 1
        run_alerts(sales_at_60, config, at=AT)
        assert len(slack.requests) == 1
    assert [(a.status, a.attempts) for a in result.new] == [("failed", 5)]


def test_slack_and_webhook_each_get_the_alert_once(sales_at_60: Engine) -> None:
    """One channel failing does not resend to the one that took it."""
    with receiver() as slack, receiver(statuses=[503]) as hook:
        config = settings(
            [budget()], slack_webhook_url=slack.url, webhook_url=hook.url, webhook_secret=SECRET
        )
        (alert,) = run_alerts(sales_at_60, config, at=AT).new
    assert alert.status == "delivered" and alert.attempts == 2
    assert alert.channel == "slack:sales, webhook"
    assert len(slack.requests) == 1 and [r.status for r in hook.requests] == [503, 200]


def test_without_a_channel_nothing_is_sent(sales_at_60: Engine) -> None:
    (alert,) = run_alerts(sales_at_60, settings([budget()]), at=AT).new
    assert (alert.status, alert.channel, alert.attempts) == ("no_channel", None, 0)
    assert keys(rows(sales_at_60)) == [("team:sales", "threshold", 50)]


def test_alerts_evaluate_command(
    sales_at_60: Engine,
    ledger_url: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, schema = ledger_url
    config = tmp_path / "aifinops.yaml"
    config.write_text(
        "teams:\n  - {name: sales, slack_channel: '#ai-spend-sales'}\n"
        "budgets:\n  - {scope: team, name: sales, amount_usd: '100'}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", pinned_url(url, schema))
    monkeypatch.setenv("AIFINOPS_CONFIG", str(config))
    monkeypatch.setenv("AIFINOPS_ALERT_RETRY_BASE_S", "0")
    with receiver(statuses=[500]) as slack:
        monkeypatch.setenv("AIFINOPS_SLACK_WEBHOOK_URL_SALES", slack.url)
        cli = CliRunner()
        result = cli.invoke(app, ["alerts", "evaluate", "--at", "2026-11-20T12:00:00Z"])
        assert result.exit_code == 0, result.stderr
        assert "1 new alerts (1 delivered" in result.stdout
        again = cli.invoke(app, ["alerts", "evaluate", "--at", "2026-11-20", "--format", "json"])
        assert again.exit_code == 0, again.stderr
        assert json.loads(again.stdout)["rows"] == []
        assert len(slack.accepted) == 1
    bad = CliRunner().invoke(app, ["alerts", "evaluate", "--at", "soon"])
    assert bad.exit_code == 2 and "--at" in bad.stderr
    (alert,) = rows(sales_at_60)
    assert (alert.status, alert.attempts, alert.channel) == (
        "delivered",
        2,
        "slack:#ai-spend-sales",
    )
