"""What every request handler gets: the caller (from its token) and a ledger in its scope.

Handlers never see the engine for reads: they get a `ScopedLedger`, built from the
caller's role, whose every query goes through `aifinops.ledger.queries` with that
role's `Scope`. A handler cannot forget the scope, and no filter can leave it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.engine import Engine

from aifinops.api.roles import Role
from aifinops.api.tokens import TokenRecord, verify_token
from aifinops.ledger.queries import Page, PageQuery, Scope, SpendQuery, SpendResult, page, spend
from aifinops.ledger.schema import gateway_keys, gateway_rejections, usage_events
from aifinops.ledger.schema_api import audit_log
from aifinops.settings import Settings

#: What the events endpoint returns of a row: never content (none is stored), nor details.
EVENT_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in usage_events.columns if c.name not in ("details", "guardrails")
)

RecorderProbe = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: an active API token."""

    token: TokenRecord

    @property
    def role(self) -> Role:
        return self.token.role

    @property
    def actor(self) -> str:
        return f"token:{self.token.token_id}"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    utc = value.astimezone(UTC) if value.tzinfo else value
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class ScopedLedger:
    """Reads of the ledger, each restricted to one scope."""

    def __init__(self, engine: Engine, scope: Scope) -> None:
        self._engine = engine
        self.scope = scope

    def spend(self, query: SpendQuery) -> SpendResult:
        with self._engine.connect() as conn:
            return spend(conn, query, self.scope)

    def events(self, query: PageQuery) -> Page:
        with self._engine.connect() as conn:
            return page(conn, usage_events, "event_id", query, self.scope, columns=EVENT_COLUMNS)

    def rejections(self, query: PageQuery) -> Page:
        with self._engine.connect() as conn:
            return page(conn, gateway_rejections, "rejection_id", query, self.scope)

    def audit(self, query: PageQuery) -> Page:
        with self._engine.connect() as conn:
            return page(conn, audit_log, "audit_id", query, self.scope)

    def keys(self, *, include_revoked: bool) -> list[dict[str, Any]]:
        conds = self.scope.where(gateway_keys)
        if not include_revoked:
            conds.append(gateway_keys.c.revoked_at.is_(None))
        stmt = (
            select(gateway_keys)
            .where(and_(true(), *conds))
            .order_by(gateway_keys.c.created_at, gateway_keys.c.key_id)
            .limit(100_000)
        )
        with self._engine.connect() as conn:
            return [key_summary(m) for m in conn.execute(stmt).mappings()]

    def last_event_ts(self) -> datetime | None:
        stmt = select(func.max(usage_events.c.ts)).where(
            and_(true(), *self.scope.where(usage_events))
        )
        with self._engine.connect() as conn:
            value = conn.execute(stmt).scalar()
        return value if isinstance(value, datetime) else None


def key_summary(m: Any) -> dict[str, Any]:
    return {
        "key_id": m["key_id"],
        "team": m["team"],
        "feature": m["feature"],
        "name": m["name"],
        "created_at": iso(m["created_at"]),
        "revoked_at": iso(m["revoked_at"]),
        "rotated_from": m["rotated_from"],
    }


class ApiContext:
    """The app's dependencies, passed explicitly (no module globals)."""

    def __init__(
        self, settings: Settings, engine: Engine, recorder: RecorderProbe | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.recorder = recorder

    def authenticate(self, token: str) -> Principal | None:
        with self.engine.connect() as conn:
            record = verify_token(conn, token)
        return None if record is None else Principal(record)

    def ledger_for(self, principal: Principal) -> ScopedLedger:
        return ScopedLedger(self.engine, principal.role.scope)
