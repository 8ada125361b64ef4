"""`aifinops demo` governs its live traffic: the company's budgets apply at the gateway
(team success over its hard limit is throttled) and the alerts reach the demo's own
signed-webhook receiver, each exactly once."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.cli.demo_alerts import AlertReceiver, alert_line
from aifinops.cli.demo_live import governance_refusal
from aifinops.governance.channels import sign
from aifinops.ledger.db import open_ledger
from aifinops.ledger.schema import gateway_rejections
from aifinops.ledger.schema_governance import budget_alerts

runner = CliRunner()

SALES = [("team:sales", "threshold", level) for level in (50, 75, 90)]
SUCCESS = [("team:success", "threshold", level) for level in (50, 75, 90)]
SUCCESS_HARD = [("team:success", "hard_limit", 110)]


def _skip_on_the_first() -> None:
    if datetime.now(UTC).day == 1:
        pytest.skip(
            "on the 1st (UTC) the company's generated days are last month's: "
            "this month's budgets have no spend yet"
        )


def test_live_demo_delivers_the_alerts_once_and_throttles_success(tmp_path: Path) -> None:
    _skip_on_the_first()
    directory = tmp_path / "demo"
    args = ["demo", "--dir", str(directory), "--days", "5", "--port", "0"]
    args += ["--live-calls", "300", "--rate", "80", "--alert-interval", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.stdout

    # what the receiver accepted (signature checked), one line per delivery, repeats too
    lines = (directory / "logs" / "webhook.jsonl").read_text().splitlines()
    deliveries = [json.loads(line) for line in lines]
    got = Counter((d["subject"], d["kind"], d["level"]) for d in deliveries)
    for key in SALES + SUCCESS + SUCCESS_HARD:
        assert got[key] == 1, (key, got)
    assert max(got.values()) == 1  # evaluated every second, yet nothing sent twice
    assert len({d["alert_id"] for d in deliveries}) == len(deliveries)

    engine = open_ledger(f"sqlite:///{directory / 'aifinops.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                budget_alerts.c.subject,
                budget_alerts.c.kind,
                budget_alerts.c.level,
                budget_alerts.c.status,
                budget_alerts.c.channel,
            )
        ).all()
        throttled_rows: dict[str, int] = dict(
            conn.execute(
                select(gateway_rejections.c.team, func.count())
                .where(gateway_rejections.c.reason == "budget_throttled")
                .group_by(gateway_rejections.c.team)
            ).all()
        )
    engine.dispose()
    delivered = {(r.subject, r.kind, r.level) for r in rows if r.status == "delivered"}
    assert set(SALES + SUCCESS + SUCCESS_HARD) <= delivered
    assert all(r.channel == "webhook" for r in rows)  # never a real Slack channel

    # printed as readable lines, after the gateway's pointers
    assert out.index("The gateway is live at") < out.index("ALERT sales: 50% threshold crossed")
    for level in (50, 75, 90):
        assert out.count(f"ALERT sales: {level}% threshold crossed — $") == 1
        assert out.count(f"ALERT success: {level}% threshold crossed — $") == 1
    assert out.count("ALERT success: hard limit (110%) reached, the gateway applies throttle") == 1
    assert "over the hard limit now: team:success → throttle (10 requests a minute" in out

    # the throttled calls are counted as such, not as errors, and match the gateway's record
    live = [line for line in out.splitlines() if line.startswith("live: 300 sent")]
    assert live, out
    found = re.search(r"(\d+) answered, (\d+) throttled \(([^)]*)\), errors none;", live[-1])
    assert found, live[-1]
    answered, throttled = int(found[1]), int(found[2])
    per_team = {team: int(n) for team, n in (part.split() for part in found[3].split(", "))}
    assert per_team["success"] > 0  # more than 10 of its calls a minute
    assert sum(per_team.values()) == throttled
    assert answered + throttled == 300
    assert throttled_rows == per_team  # what the gateway recorded as budget_throttled
    assert "alerts: " in out and "received by the demo's webhook, signatures checked" in out


def _body(**overrides: Any) -> dict[str, Any]:
    details = {
        "scope": "team",
        "name": "sales",
        "period": "month",
        "spend_usd": "202.351",
        "amount_usd": "213.00",
        "projected_usd": "250.1",
        "action": "throttle",
        "top_features": [{"feature": "lead-qualification"}, {"feature": "email-drafting"}],
    }
    doc = {
        "alert_id": "al_1",
        "kind": "threshold",
        "subject": "team:sales",
        "level": 90,
        "details": details,
    }
    return {**doc, **overrides}


def test_alert_line_reads_like_a_sentence() -> None:
    assert alert_line(_body()) == (
        "ALERT sales: 90% threshold crossed — $202.35 of $213.00 (monthly), projected "
        "$250.10; top: lead-qualification, email-drafting"
    )
    hard = alert_line(_body(kind="hard_limit", level=110))
    assert hard.startswith("ALERT sales: hard limit (110%) reached, the gateway applies throttle")
    feature = _body(details={**_body()["details"], "scope": "feature", "name": "triage"})
    assert alert_line(feature).startswith("ALERT feature triage: 90% threshold crossed")


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_receiver_checks_signature_and_age_and_drops_repeats(tmp_path: Path) -> None:
    said: list[str] = []
    record = tmp_path / "webhook.jsonl"
    with AlertReceiver("s3cret", record, said.append) as receiver:
        body = json.dumps(_body()).encode()
        now = str(int(time.time()))

        def headers(secret: str, at: str = now) -> dict[str, str]:
            return {
                "X-Aifinops-Signature": sign(body, secret),
                "X-Aifinops-Timestamp": at,
                "X-Aifinops-Alert-Id": "al_1",
            }

        assert _post(receiver.url, body, headers("wrong")) == 401
        assert _post(receiver.url, body, headers("s3cret", str(int(time.time()) - 3600))) == 401
        assert _post(receiver.url, body, headers("s3cret")) == 200
        assert _post(receiver.url, body, headers("s3cret")) == 200  # a repeat: taken, not shown
        assert said == []  # held until released (the demo's pointers come first)
        receiver.release()
        summary = receiver.summary()
    assert [line for line in said if line.startswith("ALERT")] == [alert_line(_body())]
    assert sum("refused a delivery" in line for line in said) == 2
    assert len(record.read_text().splitlines()) == 2  # every accepted delivery is recorded
    assert "1 received" in summary and "1 repeats dropped" in summary and "2 refused" in summary


def test_only_the_gateways_own_429s_count_as_governance() -> None:
    throttled = b'{"error":{"message":"budget team:success (team success, monthly, UTC) is over its hard limit: spent $1 ...; throttled to 10 requests a minute until ..."}}'  # noqa: E501
    blocked = b"... is over its hard limit: ...; blocked until it resets at 2026-12-01T00:00:00Z"
    limited = b"rate limit team:sales reached: too many requests this minute; retry in 3 s"
    assert governance_refusal(429, throttled) == "throttled"
    assert governance_refusal(429, blocked) == "blocked"
    assert governance_refusal(429, limited) == "rate-limited"
    assert governance_refusal(429, b'{"error":{"message":"upstream overloaded"}}') is None
    assert governance_refusal(200, throttled) is None
