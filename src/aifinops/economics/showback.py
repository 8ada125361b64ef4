"""Showback and chargeback: spend per customer, shared spend allocated, statements.

Direct spend is what calls tagged with the customer cost. Spend with no customer
(shared: internal features, untagged calls) is allocated by the configured rule and
always shown apart from direct spend:

- ``proportional`` (default): each customer gets the shared spend × its share of the
  attributed (direct) spend;
- ``fixed``: each customer listed in ``showback.fixed_split`` gets its fixed share;
- ``none``: nothing is allocated; shared spend stays its own line.

Allocation works in integer nano-USD with the largest-remainder method, so the
allocated amounts add up to the shared spend exactly, and direct + allocated + whatever
stays unallocated is the total. A chargeback applies ``markup_pct`` to the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from aifinops.economics.settings import ShowbackSettings
from aifinops.ledger.queries import EVERYTHING, Scope
from aifinops.ledger.schema import rollup_daily
from aifinops.ledger.schema_economics import outcome_daily
from aifinops.money import nusd_to_usd


@dataclass(frozen=True, slots=True)
class CustomerSpend:
    direct_nusd: dict[str, int]  # customer → direct spend
    shared_nusd: int
    calls: dict[str, int]


def largest_remainder(amount: int, weights: Mapping[str, Fraction]) -> dict[str, int]:
    """Split ``amount`` (integer) by ``weights`` (summing to 1) so the parts add up exactly."""
    if not weights:
        return {}
    exact = {k: amount * w for k, w in weights.items()}
    parts = {k: int(v) for k, v in exact.items()}  # floor toward zero for amount >= 0
    left = amount - sum(parts.values())
    order = sorted(weights, key=lambda k: (-(exact[k] - parts[k]), k))
    for k in order[:left]:
        parts[k] += 1
    return parts


def customer_spend(conn: Connection, start: date, end: date) -> CustomerSpend:
    table = rollup_daily
    stmt = (
        select(table.c.customer_id, func.sum(table.c.effective_cost_nusd), func.sum(table.c.calls))
        .where(and_(table.c.day >= start, table.c.day <= end))
        .group_by(table.c.customer_id)
    )
    direct: dict[str, int] = {}
    calls: dict[str, int] = {}
    shared = 0
    for customer, cost, count in conn.execute(stmt):
        if customer:
            direct[customer] = int(cost or 0)
            calls[customer] = int(count or 0)
        else:
            shared = int(cost or 0)
    return CustomerSpend(direct, shared, calls)


def allocate(spend: CustomerSpend, rule: ShowbackSettings) -> dict[str, int]:
    """customer → allocated share of the shared spend (see the module docstring)."""
    if rule.allocation == "none" or not spend.shared_nusd:
        return {}
    if rule.allocation == "fixed":
        return largest_remainder(spend.shared_nusd, dict(rule.fixed_split))
    attributed = sum(spend.direct_nusd.values())
    if not attributed:
        return {}
    weights = {c: Fraction(v, attributed) for c, v in spend.direct_nusd.items() if v}
    return largest_remainder(spend.shared_nusd, weights)


def _charge(total_nusd: int, markup_pct: Decimal) -> int:
    factor = Decimal(1) + markup_pct / 100
    return int((Decimal(total_nusd) * factor).to_integral_value(rounding=ROUND_HALF_UP))


def _outcome_counts(
    conn: Connection, start: date, end: date, scope: Scope, by: str
) -> dict[str, tuple[int, int]]:
    table = outcome_daily
    stmt = (
        select(table.c[by], func.sum(table.c.outcomes), func.sum(table.c.successes))
        .where(and_(table.c.day >= start, table.c.day <= end, *scope.where(table)))
        .group_by(table.c[by])
    )
    return {str(k or ""): (int(o or 0), int(s or 0)) for k, o, s in conn.execute(stmt)}


def _per_success(cost: int, successes: int) -> str | None:
    return nusd_to_usd(round(Fraction(cost, successes))) if successes else None


def _meta(report: str, start: date, end: date, rule: ShowbackSettings) -> dict[str, Any]:
    return {
        "report": report,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "currency": "USD",
        "cost": "effective",
        "allocation": rule.allocation,
        "markup_pct": str(rule.markup_pct),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def customers_document(
    conn: Connection, start: date, end: date, rule: ShowbackSettings
) -> dict[str, Any]:
    """Every customer's direct, allocated and total spend, outcomes and charge."""
    spend = customer_spend(conn, start, end)
    allocated = allocate(spend, rule)
    outcomes = _outcome_counts(conn, start, end, EVERYTHING, "customer_id")
    customers = sorted(set(spend.direct_nusd) | set(allocated) | {c for c in outcomes if c})
    total = sum(spend.direct_nusd.values()) + spend.shared_nusd
    ranked: list[tuple[int, str, dict[str, Any]]] = []
    for customer in customers:
        direct = spend.direct_nusd.get(customer, 0)
        share = allocated.get(customer, 0)
        count, successes = outcomes.get(customer, (0, 0))
        row = {
            "customer_id": customer,
            "direct_spend_usd": nusd_to_usd(direct),
            "allocated_spend_usd": nusd_to_usd(share),
            "total_spend_usd": nusd_to_usd(direct + share),
            "share_of_total": round((direct + share) / total, 4) if total else 0.0,
            "calls": spend.calls.get(customer, 0),
            "outcomes": count,
            "successes": successes,
            "cost_per_successful_outcome_usd": _per_success(direct + share, successes),
            "charge_usd": nusd_to_usd(_charge(direct + share, rule.markup_pct)),
        }
        ranked.append((-(direct + share), customer, row))
    rows = [row for _, _, row in sorted(ranked, key=lambda item: item[:2])]
    allocated_total = sum(allocated.values())
    totals = {
        "direct_spend_usd": nusd_to_usd(sum(spend.direct_nusd.values())),
        "shared_spend_usd": nusd_to_usd(spend.shared_nusd),
        "allocated_spend_usd": nusd_to_usd(allocated_total),
        "unallocated_spend_usd": nusd_to_usd(spend.shared_nusd - allocated_total),
        "total_spend_usd": nusd_to_usd(total),
        "charge_usd": nusd_to_usd(
            sum(
                _charge(spend.direct_nusd.get(c, 0) + allocated.get(c, 0), rule.markup_pct)
                for c in customers
            )
        ),
    }
    return {"rows": rows, "totals": totals, "meta": _meta("customers", start, end, rule)}


def statement_document(
    conn: Connection, customer: str, start: date, end: date, rule: ShowbackSettings
) -> dict[str, Any]:
    """One customer's statement: its spend by feature, outcomes, allocated share, charge.

    Every row is read in the customer's scope; only the allocated amount needs the
    totals of all customers, and only that one figure leaves the computation.
    """
    scope = Scope(customer_id=customer)
    table = rollup_daily
    stmt = (
        select(table.c.feature, func.sum(table.c.effective_cost_nusd), func.sum(table.c.calls))
        .where(and_(table.c.day >= start, table.c.day <= end, *scope.where(table)))
        .group_by(table.c.feature)
    )
    by_feature = {str(f or ""): (int(c or 0), int(n or 0)) for f, c, n in conn.execute(stmt)}
    outcomes = _outcome_counts(conn, start, end, scope, "feature")
    rows = []
    for feature in sorted(set(by_feature) | set(outcomes)):
        cost, calls = by_feature.get(feature, (0, 0))
        count, successes = outcomes.get(feature, (0, 0))
        rows.append(
            {
                "customer_id": customer,
                "feature": feature or None,
                "spend_usd": nusd_to_usd(cost),
                "calls": calls,
                "outcomes": count,
                "successes": successes,
                "cost_per_successful_outcome_usd": _per_success(cost, successes),
            }
        )
    direct = sum(c for c, _ in by_feature.values())
    share = allocate(customer_spend(conn, start, end), rule).get(customer, 0)
    successes = sum(s for _, s in outcomes.values())
    totals = {
        "spend_usd": nusd_to_usd(direct),
        "calls": sum(n for _, n in by_feature.values()),
        "direct_spend_usd": nusd_to_usd(direct),
        "allocated_spend_usd": nusd_to_usd(share),
        "total_spend_usd": nusd_to_usd(direct + share),
        "outcomes": sum(o for o, _ in outcomes.values()),
        "successes": successes,
        "cost_per_successful_outcome_usd": _per_success(direct + share, successes),
        "markup_pct": str(rule.markup_pct),
        "charge_usd": nusd_to_usd(_charge(direct + share, rule.markup_pct)),
    }
    meta = _meta("statement", start, end, rule)
    meta["customer_id"] = customer
    return {"rows": rows, "totals": totals, "meta": meta}
