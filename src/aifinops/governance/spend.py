"""A budget's spend in a period, read from the hourly rollup (never raw events).

Periods start on whole UTC hours (whole-hour time zones), so the hourly rollup answers
them exactly. The hour that is still running is in the rollup too (rollups are kept at
insert time), so "spend so far" includes every recorded call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from aifinops.governance.budgets import SCOPE_COLUMNS, Budget
from aifinops.governance.periods import period_bounds
from aifinops.ledger.schema import rollup_hourly, usage_events


def spend_between(conn: Connection, budget: Budget, start: datetime, end: datetime) -> int:
    """Nano-USD the budget's scope spent in [start, end) (effective or list cost).

    ``key`` budgets cannot be answered by the rollup (it has no key dimension) and are
    summed from raw events instead.
    """
    column = SCOPE_COLUMNS[budget.scope]
    cost = "effective_cost_nusd" if budget.cost == "effective" else "list_cost_nusd"
    if budget.scope == "key":
        stmt = select(func.coalesce(func.sum(usage_events.c[cost]), 0)).where(
            and_(
                usage_events.c.ts >= start,
                usage_events.c.ts < end,
                usage_events.c.api_key_id == budget.name,
            )
        )
        return int(conn.execute(stmt).scalar() or 0)
    table = rollup_hourly
    conds = [table.c.hour >= start, table.c.hour < end]
    if column is not None:
        conds.append(table.c[column] == budget.name)
    stmt = select(func.coalesce(func.sum(table.c[cost]), 0)).where(and_(*conds))
    return int(conn.execute(stmt).scalar() or 0)


def spend_in_period(
    conn: Connection, budget: Budget, at: datetime
) -> tuple[int, datetime, datetime]:
    """(spent nano-USD, period start, period end) of the budget's period containing ``at``."""
    start, end = period_bounds(budget.period, budget.tz_hours, at)
    return spend_between(conn, budget, start, end), start, end
