"""Reconciliation: what the providers billed beside what the ledger recorded.

Per UTC day × provider × model, three sources meet:

- the ledger's hourly rollup (tokens, list and effective cost of recorded calls);
- the provider's usage report (tokens it served), priced here at aifinops' list price
  (base rates: an aggregate is not one request, so long-context tiers are not applied);
- the provider's cost report (what it billed).

From them (all money in integer nano-USD):

- ``coverage = ledger list cost / provider list cost``: the share of the provider's
  usage, valued at the same list prices, that went through aifinops (price-neutral);
  without a usage report, ``ledger effective cost / billed cost``;
- ``explained = billed × min(coverage, 1)`` and ``untracked = billed − explained``:
  spend on calls that bypassed the gateway (shadow spend);
- ``price drift = billed − provider list cost``: negative is a negotiated discount the
  rates file may not know, positive a stale list price or an uncaptured premium;
- a day × provider is **flagged** when ``|billed − ledger effective|`` exceeds the
  threshold percentage of ``billed`` (or the ledger has cost the provider did not bill).

Pure functions over SQL aggregates: the CLI and ``/api/v1/reconcile`` call
`reconcile` with a connection and get `ReconcileResult`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import rollup_hourly
from aifinops.ledger.schema_reports import (
    REPORT_TOKENS,
    ingest_days,
    provider_costs,
    provider_usage,
)
from aifinops.pricing import PricingEngine
from aifinops.pricing.engine import card_cost_pico, round_pico_to_nano, usage_vector
from aifinops.usage import Usage

#: The cost reports: a complete day of one of them means "the provider billed this".
COST_SOURCES: tuple[str, ...] = ("anthropic:cost", "openai:costs", "bedrock:cur")

#: Token kinds compared (the canonical split, without the informational reasoning count).
TOKEN_KINDS: tuple[str, ...] = REPORT_TOKENS

_ARN_TAIL = re.compile(r"^arn:aws[^:]*:bedrock:[^:]*:[^:]*:[^/]+/")
_GEO_PREFIX = re.compile(r"^(us|eu|apac|jp|au|ca|global|us-gov)\.")
_VENDOR_PREFIX = re.compile(r"^(anthropic|meta|amazon|mistral|cohere|ai21|deepseek|openai)\.")
_SUFFIXES = (
    re.compile(r"-v\d+(:\d+)?$"),
    re.compile(r"[-@]\d{8}$"),
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),
)
_PARTS = re.compile(r"[a-z]+|\d+(?:[.\-]\d+)*")


def model_key(model: str | None) -> str:
    """A name-insensitive key for one model family across sources.

    ``claude-sonnet-4-6``, ``us.anthropic.claude-sonnet-4-6-v1:0`` and the CUR usage
    type's ``Claude4.6Sonnet`` all become ``4.6 claude sonnet``; dates and version
    suffixes are dropped, digit runs joined with dots, words sorted.
    """
    if not model:
        return ""
    text = _ARN_TAIL.sub("", model.strip().lower())
    text = _VENDOR_PREFIX.sub("", _GEO_PREFIX.sub("", text))
    for suffix in _SUFFIXES:
        text = suffix.sub("", text)
    parts = [p.replace("-", ".") for p in _PARTS.findall(text)]
    return " ".join(sorted(parts))


@dataclass(slots=True)
class ReconcileLine:
    day: date
    provider: str
    model: str | None
    ledger_model: str | None = None
    provider_model: str | None = None
    provider_tokens: dict[str, int] | None = None
    provider_requests: int | None = None
    provider_list_cost_nusd: int | None = None
    provider_unpriced: bool = False
    billed_cost_nusd: int | None = None
    ledger_calls: int = 0
    ledger_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    ledger_list_cost_nusd: int = 0
    ledger_effective_cost_nusd: int = 0

    @property
    def coverage(self) -> float | None:
        if self.provider_list_cost_nusd and not self.provider_unpriced:
            return self.ledger_list_cost_nusd / self.provider_list_cost_nusd
        if self.billed_cost_nusd:
            return self.ledger_effective_cost_nusd / self.billed_cost_nusd
        return None

    @property
    def explained_cost_nusd(self) -> int | None:
        cov = self.coverage
        if self.billed_cost_nusd is None or cov is None:
            return None
        return round(self.billed_cost_nusd * min(cov, 1.0))

    @property
    def untracked_cost_nusd(self) -> int | None:
        explained = self.explained_cost_nusd
        if explained is None or self.billed_cost_nusd is None:
            return None
        return self.billed_cost_nusd - explained

    @property
    def price_drift_nusd(self) -> int | None:
        if self.billed_cost_nusd is None or self.provider_list_cost_nusd is None:
            return None
        if self.provider_unpriced:
            return None
        return self.billed_cost_nusd - self.provider_list_cost_nusd


@dataclass(frozen=True, slots=True)
class FlaggedDay:
    day: date
    provider: str
    billed_cost_nusd: int
    ledger_effective_cost_nusd: int
    reasons: tuple[str, ...]


@dataclass(slots=True)
class ReconcileResult:
    start: date
    end: date
    threshold_pct: float
    lines: list[ReconcileLine]
    flagged: list[FlaggedDay]
    providers_reported: tuple[str, ...]

    @property
    def has_provider_data(self) -> bool:
        return bool(self.providers_reported)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class _Lines:
    def __init__(self) -> None:
        self.by_key: dict[tuple[date, str, str], ReconcileLine] = {}

    def get(self, day: object, provider: str, model: str | None) -> ReconcileLine:
        key = (_as_date(day), provider, model_key(model))
        line = self.by_key.get(key)
        if line is None:
            line = ReconcileLine(day=key[0], provider=provider, model=model or None)
            self.by_key[key] = line
        return line


def _ledger(conn: Connection, start: date, end: date, lines: _Lines) -> None:
    r = rollup_hourly.c
    sums = [func.sum(r[name]).label(name) for name in TOKEN_KINDS]
    stmt = (
        select(
            r.day,
            r.provider,
            r.model,
            func.sum(r.calls).label("calls"),
            *sums,
            func.sum(r.list_cost_nusd).label("list_cost_nusd"),
            func.sum(r.effective_cost_nusd).label("effective_cost_nusd"),
        )
        .where(and_(r.day >= start, r.day <= end))
        .group_by(r.day, r.provider, r.model)
    )
    for row in conn.execute(stmt).mappings():
        line = lines.get(row["day"], row["provider"], row["model"])
        line.ledger_model = line.ledger_model or row["model"]
        line.model = line.ledger_model
        line.ledger_calls += int(row["calls"] or 0)
        for name in TOKEN_KINDS:
            line.ledger_tokens[name] += int(row[name] or 0)
        line.ledger_list_cost_nusd += int(row["list_cost_nusd"] or 0)
        line.ledger_effective_cost_nusd += int(row["effective_cost_nusd"] or 0)


def list_cost_at_base_rates(
    pricing: PricingEngine,
    provider: str,
    model: str | None,
    day: date,
    usage: Usage,
    tier: str | None,
    batch: bool,
) -> int | None:
    """List cost of aggregated usage at the model's base rates (None: no list price)."""
    if not model:
        return None
    plan = pricing.plan(provider, model, tier, batch)
    if plan is None:
        return None
    card = plan.period_at(day).list_card
    return round_pico_to_nano(card_cost_pico(card, usage_vector(usage), 0))


def _provider_usage(
    conn: Connection, pricing: PricingEngine, start: date, end: date, lines: _Lines
) -> set[str]:
    u = provider_usage.c
    sums = [func.sum(u[name]).label(name) for name in TOKEN_KINDS]
    stmt = (
        select(
            u.day,
            u.provider,
            u.model,
            u.service_tier,
            u.batch,
            *sums,
            func.sum(u.requests).label("requests"),
        )
        .where(and_(u.day >= start, u.day <= end))
        .group_by(u.day, u.provider, u.model, u.service_tier, u.batch)
    )
    providers: set[str] = set()
    for row in conn.execute(stmt).mappings():
        providers.add(row["provider"])
        line = lines.get(row["day"], row["provider"], row["model"])
        line.provider_model = line.provider_model or row["model"]
        line.model = line.model or row["model"]
        counts = {name: int(row[name] or 0) for name in TOKEN_KINDS}
        tokens = line.provider_tokens or dict.fromkeys(TOKEN_KINDS, 0)
        line.provider_tokens = {k: tokens[k] + counts[k] for k in TOKEN_KINDS}
        if row["requests"] is not None:
            line.provider_requests = (line.provider_requests or 0) + int(row["requests"])
        cost = list_cost_at_base_rates(
            pricing,
            row["provider"],
            row["model"],
            line.day,
            Usage(**counts),
            row["service_tier"],
            bool(row["batch"]),
        )
        if cost is None:
            line.provider_unpriced = True
        else:
            line.provider_list_cost_nusd = (line.provider_list_cost_nusd or 0) + cost
    return providers


def _provider_costs(conn: Connection, start: date, end: date, lines: _Lines) -> set[str]:
    c = provider_costs.c
    stmt = (
        select(c.day, c.provider, c.model, func.sum(c.cost_nusd).label("cost_nusd"))
        .where(and_(c.day >= start, c.day <= end))
        .group_by(c.day, c.provider, c.model)
    )
    providers: set[str] = set()
    for row in conn.execute(stmt).mappings():
        providers.add(row["provider"])
        line = lines.get(row["day"], row["provider"], row["model"])
        line.model = line.model or row["model"]
        line.billed_cost_nusd = (line.billed_cost_nusd or 0) + int(row["cost_nusd"] or 0)
    return providers


def _pct(part: int, whole: int) -> float:
    return part / whole * 100 if whole else 0.0


def flag_days(
    lines: Iterable[ReconcileLine], threshold_pct: float, reported: set[tuple[date, str]]
) -> list[FlaggedDay]:
    """Days × providers whose billed cost and ledger effective cost differ beyond the threshold."""
    groups: dict[tuple[date, str], list[ReconcileLine]] = {}
    for line in lines:
        groups.setdefault((line.day, line.provider), []).append(line)
    flagged = []
    for (day, provider), members in sorted(groups.items()):
        if (day, provider) not in reported:
            continue
        billed = sum(m.billed_cost_nusd or 0 for m in members)
        ledger = sum(m.ledger_effective_cost_nusd for m in members)
        reasons = _reasons(members, billed, ledger, threshold_pct)
        if reasons:
            flagged.append(FlaggedDay(day, provider, billed, ledger, tuple(reasons)))
    return flagged


def _reasons(
    members: list[ReconcileLine], billed: int, ledger: int, threshold_pct: float
) -> list[str]:
    gap = billed - ledger
    if billed == 0 and ledger == 0:
        return []
    if billed == 0:
        return [f"the ledger has ${ledger / 1e9:,.2f} the provider did not bill"]
    if abs(_pct(gap, billed)) <= threshold_pct:
        return []
    reasons = [
        f"billed ${billed / 1e9:,.2f} vs ledger ${ledger / 1e9:,.2f} ({_pct(-gap, billed):+.1f}%)"
    ]
    untracked = sum(m.untracked_cost_nusd or 0 for m in members)
    if _pct(untracked, billed) > threshold_pct:
        reasons.append(
            f"untracked spend ${untracked / 1e9:,.2f} ({_pct(untracked, billed):.1f}% of billed)"
        )
    priced = [m for m in members if m.price_drift_nusd is not None]
    drift = sum(m.price_drift_nusd or 0 for m in priced)
    base = sum(m.provider_list_cost_nusd or 0 for m in priced)
    if base and abs(_pct(drift, base)) > threshold_pct:
        reasons.append(f"price drift {_pct(drift, base):+.1f}% (${drift / 1e9:,.2f})")
    over = [m.model or "?" for m in members if (m.coverage or 0) > 1 + threshold_pct / 100]
    if over:
        reasons.append(f"ledger above provider usage for {', '.join(sorted(set(over)))}")
    return reasons


def _cost_days(conn: Connection, start: date, end: date) -> set[tuple[date, str]]:
    """(day, provider) of every complete cost-report pull in the range."""
    d = ingest_days.c
    stmt = select(d.day, d.source).where(
        and_(d.day >= start, d.day <= end, d.source.in_(COST_SOURCES), d.status == "complete")
    )
    return {(_as_date(day), source.split(":")[0]) for day, source in conn.execute(stmt)}


def reconcile(
    conn: Connection, pricing: PricingEngine, start: date, end: date, threshold_pct: float
) -> ReconcileResult:
    """Reconcile the inclusive UTC days ``start``..``end`` (SQL aggregates, bounded)."""
    lines = _Lines()
    _ledger(conn, start, end, lines)
    reported_usage = _provider_usage(conn, pricing, start, end, lines)
    reported_costs = _provider_costs(conn, start, end, lines)
    ordered = sorted(lines.by_key.values(), key=lambda x: (x.day, x.provider, x.model or ""))
    reported_days = {(ln.day, ln.provider) for ln in ordered if ln.billed_cost_nusd is not None}
    reported_days |= _cost_days(conn, start, end)
    return ReconcileResult(
        start=start,
        end=end,
        threshold_pct=threshold_pct,
        lines=ordered,
        flagged=flag_days(ordered, threshold_pct, reported_days),
        providers_reported=tuple(sorted(reported_usage | reported_costs)),
    )
