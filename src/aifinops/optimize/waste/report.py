"""All five detectors over one date range: the findings and their document."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Connection

from aifinops.optimize.evals import load_evals
from aifinops.optimize.waste import bloat, caching, models, output, system
from aifinops.optimize.waste.context import Context
from aifinops.optimize.waste.data import (
    Group,
    load_daily_system,
    load_groups,
    load_system_windows,
)
from aifinops.optimize.waste.findings import Finding, Window, findings_document
from aifinops.optimize.waste.pricer import Pricer
from aifinops.optimize.waste_settings import WasteSettings
from aifinops.pricing import PricingEngine


@dataclass(frozen=True, slots=True)
class WasteQuery:
    start: date
    end: date  # inclusive
    team: str | None = None
    feature: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def elapsed(self, today: date | None = None) -> WasteQuery:
        """The range cut at today (UTC) when it runs into the future (``--month
        current``): a saving is scaled to a month over the days that have had traffic,
        not over days still to come."""
        today = today or datetime.now(UTC).date()
        if self.start <= today < self.end:
            return replace(self, end=today)
        return self


def find_waste(
    conn: Connection,
    pricing: PricingEngine,
    settings: WasteSettings,
    query: WasteQuery,
    today: date | None = None,
) -> list[Finding]:
    """Every finding over the range (cut at today, see `WasteQuery.elapsed`), those
    below ``min_monthly_saving_usd`` left out (a top-tier model without eval
    justification is always kept)."""
    query = query.elapsed(today)
    filters = {"team": query.team, "feature": query.feature}
    groups = load_groups(conn, query.start, query.end, **filters)
    ctx = Context(Pricer(pricing, query.end), Window(query.days), settings)
    found = caching.repeated(ctx, groups)
    if _volatile_candidates(groups):
        hourly = load_system_windows(conn, query.start, query.end, **filters)
        found += caching.volatile(ctx, groups, hourly)
    top = [g for g in groups if models.is_top_tier(ctx, g.target)]
    if top:
        evals = [r for f in sorted({g.feature for g in top}) for r in load_evals(conn, f)]
        found += models.detect(ctx, top, evals)
    grown = system.detect(ctx, groups)
    found += grown
    if query.days >= 2 * system.BASELINE_DAYS:
        daily = load_daily_system(conn, query.start, query.end, **filters)
        found += system.detect_over_time(ctx, daily, {(f.team, f.feature) for f in grown})
    found += bloat.detect(ctx, groups)
    found += output.detect(ctx, groups)
    floor = settings.min_monthly_saving_usd
    return [f for f in found if not f.justified or f.monthly_saving_usd >= floor]


def _volatile_candidates(groups: list[Group]) -> bool:
    """Whether some feature, prompt version and model was sent with more than one
    prefix (only then is the per-hour query for volatile prefixes needed)."""
    prefixes: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for g in groups:
        if g.prefix_hash and g.m["system_calls"]:
            prefixes[caching.system_key(g)].add(g.prefix_hash)
    return any(len(found) >= 2 for found in prefixes.values())


def waste_document(
    conn: Connection,
    pricing: PricingEngine,
    settings: WasteSettings,
    query: WasteQuery,
    today: date | None = None,
) -> dict[str, Any]:
    query = query.elapsed(today)
    findings = find_waste(conn, pricing, settings, query)
    meta = {
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "days": query.days,
        "team": query.team,
        "feature": query.feature,
        "source": "waste_rollup",
        "monthly": "saving over the window × 30 / days",
        "prices_on": query.end.isoformat(),
    }
    return findings_document(findings, meta)
