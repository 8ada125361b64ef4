"""Delivering alerts: Slack incoming webhooks (Block Kit) and a signed generic webhook.

Channels are labelled on the alert row (``slack:#ai-spend-sales``, ``webhook``); the
URLs and the signing secret come from the environment only (`AlertSettings`) and never
reach a log line, an error message or the database.

- **Slack**: `slack_sdk.webhook.WebhookClient` posts a Block Kit message (scope, spend,
  budget, percentage, projected period-end spend, the top 3 features, a dashboard link)
  to the team's webhook (``AIFINOPS_SLACK_WEBHOOK_URL_<TEAM>``), else the default one.
- **Generic webhook**: a POST of the alert as JSON, with ``X-Aifinops-Signature:
  sha256=<hex HMAC-SHA256 of the body with the secret>``, ``X-Aifinops-Timestamp`` (Unix
  seconds, also ``sent_at`` in the signed body) and ``X-Aifinops-Alert-Id`` (the same for
  every attempt, so a receiver can drop a repeat).

**Retries.** An attempt sends to every channel the alert has not reached yet; it
succeeds when all of them answered 2xx. A run makes at most 3 attempts per alert,
waiting ``retry_base_s`` (default 1 s) before the second and twice as long before each
further one; ``max_attempts`` (default 5) bounds them across runs. After a run's last
failed attempt the row's status is ``failed`` with ``last_error`` (shown by ``aifinops
alerts list``); the next evaluation run tries it again until its attempts are used up.
A 4xx other than 408 and 429 (a revoked or mistyped webhook) is not retried. Every
attempt is claimed first by bumping ``attempts`` from the value read (compare and set),
so two processes never make the same attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from slack_sdk.webhook import WebhookClient
from sqlalchemy import and_, update
from sqlalchemy.engine import Engine

from aifinops.governance.alerts import Alert, iso
from aifinops.ledger.schema_governance import budget_alerts
from aifinops.settings import AlertSettings, env_team_key

log = logging.getLogger("aifinops.alerts")

ATTEMPTS_PER_RUN = 3
TIMEOUT_S = 10
SIGNATURE_HEADER = "X-Aifinops-Signature"
TIMESTAMP_HEADER = "X-Aifinops-Timestamp"
ALERT_ID_HEADER = "X-Aifinops-Alert-Id"
_RETRYABLE_4XX = (408, 429)


class DeliveryError(Exception):
    """A channel did not take the alert; the message never holds the URL."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# --- the message ------------------------------------------------------------------------


def money(usd: str | None) -> str:
    """``"202.351"`` → ``$202.35`` (four decimals below a dollar)."""
    if usd is None:
        return "—"
    value = Decimal(usd)
    places = Decimal("0.0001") if 0 < abs(value) < 1 else Decimal("0.01")
    return f"${value.quantize(places):,}"


def _scope(d: dict[str, Any]) -> str:
    return "the whole org" if d.get("scope") == "org" else f"{d.get('scope')} {d.get('name')}"


_ADJECTIVE = {"month": "monthly", "week": "weekly", "day": "daily"}


def headline(alert: Alert) -> str:
    """One line saying what happened (the message's header and fallback text)."""
    d = alert.details
    scope = _scope(d)
    budget = f"{_ADJECTIVE.get(str(d.get('period')), '')} budget".strip()
    if alert.kind == "threshold":
        return f"{scope} passed {alert.level} % of its {budget}"
    if alert.kind == "hard_limit":
        return (
            f"{scope} reached the hard limit of its {budget} ({alert.level} %): "
            f"action {d.get('action')}"
        )
    if alert.kind == "projected":
        return (
            f"{scope} is on course to pass the hard limit of its {budget} "
            f"({alert.level} %) before the {d.get('period')} ends"
        )
    if alert.kind == "counters_down":
        admitted = "admitted unchecked" if d.get("mode") == "open" else "refused (503)"
        return f"Budget counters unreachable ({d.get('error')}): calls are {admitted}"
    times = d.get("times_median")
    jump = f", {times}× its usual day" if times else ""
    return f"Spend anomaly: {scope} spent {money(d.get('spend_usd'))} on {d.get('day')}{jump}"


_ICONS = {
    "threshold": "🟠",
    "hard_limit": "🔴",
    "projected": "📈",
    "anomaly": "⚡",
    "counters_down": "🚨",
}


def _budget_fields(alert: Alert) -> list[str]:
    d = alert.details
    projected = f"{money(d.get('projected_usd'))} ({d.get('projected_pct')} %)"
    elapsed = d.get("elapsed_pct")
    if isinstance(elapsed, (int, float)) and elapsed < 10:
        projected += f", early: {elapsed:g} % of the period gone"
    return [
        f"*Scope*\n{_scope(d)}",
        f"*Spend so far*\n{money(d.get('spend_usd'))} ({d.get('pct_of_budget')} %)",
        f"*Budget*\n{money(d.get('amount_usd'))} per {d.get('period')} "
        f"({d.get('timezone')}), resets {d.get('period_end')}",
        f"*Projected period end*\n{projected}",
        f"*Hard limit*\n{money(d.get('hard_limit_usd'))} ({d.get('hard_limit_pct')} %), "
        f"then {d.get('action')}",
    ]


def _anomaly_fields(alert: Alert) -> list[str]:
    d = alert.details
    return [
        f"*Scope*\n{_scope(d)}",
        f"*Spend on {d.get('day')}*\n{money(d.get('spend_usd'))}",
        f"*Usual day*\n{money(d.get('baseline_median_usd'))} (median of 14 days)",
        f"*Anomaly above*\n{money(d.get('bound_usd'))}",
    ]


def slack_message(alert: Alert) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) of an alert."""
    d = alert.details
    text = f"{_ICONS.get(alert.kind, '')} {headline(alert)}".strip()
    fields = (
        _anomaly_fields(alert)
        if alert.kind == "anomaly"
        else [f"*Fail mode*\n{d.get('mode')}", f"*Since*\n{d.get('at')}"]
        if alert.kind == "counters_down"
        else _budget_fields(alert)
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    top = d.get("top_features") or []
    if top:
        lines = [
            f"{i}. `{f.get('feature') or '(no feature)'}` {money(f.get('spend_usd'))} "
            f"({f.get('share_pct')} %)"
            for i, f in enumerate(top, 1)
        ]
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Top features*\n" + "\n".join(lines)},
            }
        )
    if d.get("dashboard_url"):
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the dashboard"},
                        "url": d["dashboard_url"],
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"aifinops alert `{alert.alert_id}` · fired {iso(alert.fired_at)}",
                }
            ],
        }
    )
    return text, blocks


def webhook_body(alert: Alert, sent_at: datetime) -> bytes:
    """The generic webhook's JSON body (what the signature covers)."""
    doc = {
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "subject": alert.subject,
        "level": alert.level,
        "period_start": iso(alert.period_start),
        "fired_at": iso(alert.fired_at),
        "text": headline(alert),
        "details": {k: v for k, v in alert.details.items() if k != "delivered_to"},
        "sent_at": iso(sent_at),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of the body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(body, secret), header)


# --- sending ---------------------------------------------------------------------------


def _silent_logger() -> logging.Logger:
    """slack-sdk logs the URL at debug level: give its client a logger that says nothing."""
    quiet = logging.Logger("aifinops.alerts.slack-sdk", level=logging.CRITICAL + 1)
    quiet.propagate = False
    return quiet


def _check_status(status: int, body: str) -> None:
    if 200 <= status < 300:
        return
    permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
    raise DeliveryError(f"HTTP {status}: {body.strip()[:200]}", permanent=permanent)


def _failure(exc: BaseException, url: str) -> DeliveryError:
    text = str(getattr(exc, "reason", None) or exc).replace(url, "<webhook url>")
    return DeliveryError(f"{type(exc).__name__}: {text[:200]}")


def send_slack(url: str, alert: Alert) -> None:
    text, blocks = slack_message(alert)
    client = WebhookClient(url, timeout=TIMEOUT_S, logger=_silent_logger(), retry_handlers=[])
    try:
        response = client.send(text=text, blocks=blocks, unfurl_links=False)
    except Exception as exc:  # urllib's URLError, timeouts, SlackRequestError …
        raise _failure(exc, url) from None
    _check_status(response.status_code, response.body)


def send_webhook(url: str, secret: str, alert: Alert, now: datetime) -> None:
    body = webhook_body(alert, now)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "aifinops-alerts",
            SIGNATURE_HEADER: sign(body, secret),
            TIMESTAMP_HEADER: str(int(now.timestamp())),
            ALERT_ID_HEADER: alert.alert_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            _check_status(response.status, response.read(500).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        _check_status(exc.code, exc.read(500).decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _failure(exc, url) from None


Sender = Callable[[Alert], None]


def sender_for(label: str, alert: Alert, settings: AlertSettings, now: datetime) -> Sender:
    """The function that sends ``alert`` to the channel ``label``."""
    team = alert.details.get("team")
    if label.startswith("slack:"):
        url = settings.slack_url_for(team)
        if url is None:
            own = f"AIFINOPS_SLACK_WEBHOOK_URL_{env_team_key(team)} or " if team else ""
            raise DeliveryError(f"{own}AIFINOPS_SLACK_WEBHOOK_URL is not set any more")
        return lambda a: send_slack(url, a)
    if label == "webhook":
        hook, secret = settings.webhook_url, settings.webhook_secret
        if hook is None or secret is None:
            raise DeliveryError("AIFINOPS_ALERT_WEBHOOK_URL is not set any more")
        return lambda a: send_webhook(hook, secret, a, now)
    raise DeliveryError(f"unknown channel {label!r}", permanent=True)


# --- delivering, with the row's state ---------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Deliverer:
    """Delivers alerts and records each attempt on the row."""

    engine: Engine
    settings: AlertSettings
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = _now
    per_run: int = ATTEMPTS_PER_RUN
    send: Callable[[str, Alert], None] | None = None  # tests: replace the network

    def deliver(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Deliver each alert (status pending or failed, attempts left); the final rows."""
        return [self.deliver_one(alert) for alert in alerts]

    def _claim(self, alert: Alert) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(budget_alerts)
                .where(
                    and_(
                        budget_alerts.c.alert_id == alert.alert_id,
                        budget_alerts.c.attempts == alert.attempts,
                        budget_alerts.c.status.in_(("pending", "failed")),
                    )
                )
                .values(attempts=alert.attempts + 1, status="pending")
            )
        return result.rowcount == 1

    def _save(self, alert: Alert) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(budget_alerts)
                .where(budget_alerts.c.alert_id == alert.alert_id)
                .values(
                    attempts=alert.attempts,
                    status=alert.status,
                    last_error=alert.last_error,
                    delivered_at=alert.delivered_at,
                    details=alert.details,
                )
            )

    def _attempt(self, alert: Alert) -> tuple[list[str], list[str], bool]:
        """Send to the channels not reached yet: (reached, errors, any error permanent)."""
        reached = list(alert.details.get("delivered_to") or [])
        errors, permanent = [], False
        for label in alert.labels:
            if label in reached:
                continue
            try:
                if self.send is not None:
                    self.send(label, alert)
                else:
                    sender_for(label, alert, self.settings, self.clock())(alert)
            except DeliveryError as exc:
                errors.append(f"{label}: {exc}")
                permanent = permanent or exc.permanent
                continue
            reached.append(label)
        return reached, errors, permanent

    def deliver_one(self, alert: Alert) -> Alert:
        limit = self.settings.max_attempts
        for n in range(self.per_run):
            if alert.attempts >= limit or alert.status not in ("pending", "failed"):
                break
            if n:
                self.sleep(self.settings.retry_base_s * 2 ** (n - 1))
            if not self._claim(alert):
                log.info("alert %s: another process is delivering it", alert.alert_id)
                return alert
            reached, errors, permanent = self._attempt(alert)
            done = not errors
            alert = replace(
                alert,
                attempts=alert.attempts + 1,
                status="delivered" if done else "pending",
                last_error=None if done else "; ".join(errors)[:2000],
                delivered_at=self.clock() if done else None,
                details={**alert.details, "delivered_to": reached},
            )
            if done:
                self._save(alert)
                log.info("alert %s delivered to %s", alert.alert_id, alert.channel)
                return alert
            log.warning(
                "alert %s: attempt %d of %d failed: %s",
                alert.alert_id,
                alert.attempts,
                limit,
                alert.last_error,
            )
            if permanent:  # retrying cannot help: no attempt left
                alert = replace(alert, attempts=max(limit, alert.attempts))
                break
            self._save(alert)
        if alert.status == "pending" and alert.attempts > 0:
            alert = replace(alert, status="failed")
            self._save(alert)
        return alert
