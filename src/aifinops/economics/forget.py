"""`customers forget ID`: remove a customer's identifier from the ledger, keep the totals.

Every ``customer_id`` equal to the ID — raw events, hourly and daily rollups, outcomes,
their rollup, units — is replaced by one random tombstone (``forgotten-<16 hex>``), so
sums by day, team, feature and model are unchanged, the customer's rows still group
together, and nothing links the tombstone back to the ID (it is random, not a hash).
API tokens of role ``customer:ID`` are revoked and renamed to the tombstone, and audit
entries that mention the ID have it replaced. The forget itself is audited with the
tombstone and the row counts only.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Table, cast, func, select, update
from sqlalchemy.engine import Connection

from aifinops.ledger.schema import rollup_daily, rollup_hourly, usage_events
from aifinops.ledger.schema_api import api_tokens, audit_log
from aifinops.ledger.schema_economics import outcome_daily, outcomes, unit_rollup

_TABLES: tuple[Table, ...] = (
    usage_events,
    rollup_hourly,
    rollup_daily,
    outcomes,
    outcome_daily,
    unit_rollup,
)


@dataclass(frozen=True, slots=True)
class ForgetResult:
    tombstone: str
    rows: dict[str, int]
    tokens_revoked: int
    audit_entries: int

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _scrub(value: Any, customer: str, tombstone: str) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value).replace(json.dumps(customer)[1:-1], tombstone))


def forget_customer(conn: Connection, customer: str) -> ForgetResult:
    """Replace ``customer`` everywhere (see the module docstring). Run in a transaction."""
    tombstone = f"forgotten-{secrets.token_hex(8)}"
    rows: dict[str, int] = {}
    for table in _TABLES:
        result = conn.execute(
            update(table).where(table.c.customer_id == customer).values(customer_id=tombstone)
        )
        rows[table.name] = int(result.rowcount or 0)
    role = f"customer:{customer}"
    revoked = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.role == role)
        .values(
            role=f"customer:{tombstone}",
            revoked_at=func.coalesce(api_tokens.c.revoked_at, datetime.now(UTC)),
        )
    )
    pattern = f"%{customer}%"
    mentions = conn.execute(
        select(
            audit_log.c.audit_id,
            audit_log.c.target,
            audit_log.c.before_state,
            audit_log.c.after_state,
        ).where(
            cast(audit_log.c.before_state, String).like(pattern)
            | cast(audit_log.c.after_state, String).like(pattern)
            | audit_log.c.target.like(pattern)
        )
    ).all()
    for audit_id, target, before, after in mentions:
        conn.execute(
            update(audit_log)
            .where(audit_log.c.audit_id == audit_id)
            .values(
                target=target.replace(customer, tombstone) if target else target,
                before_state=_scrub(before, customer, tombstone),
                after_state=_scrub(after, customer, tombstone),
            )
        )
    return ForgetResult(tombstone, rows, int(revoked.rowcount or 0), len(mentions))
