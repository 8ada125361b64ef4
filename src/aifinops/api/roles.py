"""Roles of API tokens and what each may do.

``admin`` everything; ``finance`` reads everything and writes budgets and settings;
``team:T`` reads only team T (of budgets: those whose scope is team T, and their alerts);
``customer:C`` reads only customer C's statement (spend, events and its statement);
``ingest`` writes outcomes (and evals); ``metrics`` reads ``/metrics`` and the recorder's
health.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aifinops.gateway.attribution import valid_value
from aifinops.ledger.queries import EVERYTHING, Scope


class RoleKind(StrEnum):
    admin = "admin"
    finance = "finance"
    team = "team"
    customer = "customer"
    ingest = "ingest"
    metrics = "metrics"


class Permission(StrEnum):
    spend_read = "spend:read"
    events_read = "events:read"
    keys_read = "keys:read"
    keys_write = "keys:write"
    tokens_read = "tokens:read"
    tokens_write = "tokens:write"
    rejections_read = "rejections:read"
    health_read = "health:read"
    audit_read = "audit:read"
    metrics_read = "metrics:read"
    outcomes_write = "outcomes:write"
    economics_read = "economics:read"
    showback_read = "showback:read"
    statement_read = "statement:read"
    settings_read = "settings:read"
    settings_write = "settings:write"
    provider_reports_read = "provider_reports:read"
    budgets_read = "budgets:read"
    budgets_write = "budgets:write"
    gates_read = "gates:read"
    waste_read = "waste:read"
    alerts_read = "alerts:read"


_READS = frozenset(
    {
        Permission.spend_read,
        Permission.events_read,
        Permission.keys_read,
        Permission.rejections_read,
        Permission.health_read,
        Permission.economics_read,
        Permission.showback_read,
        Permission.statement_read,
        Permission.settings_read,
        Permission.provider_reports_read,
        Permission.budgets_read,
        Permission.gates_read,
        Permission.waste_read,
        Permission.alerts_read,
    }
)

#: The permissions of each kind of role (team and customer reads are also scoped).
GRANTS: dict[RoleKind, frozenset[Permission]] = {
    RoleKind.admin: frozenset(Permission),
    RoleKind.finance: _READS | {Permission.settings_write, Permission.budgets_write},
    RoleKind.team: frozenset(
        {
            Permission.spend_read,
            Permission.events_read,
            Permission.keys_read,
            Permission.rejections_read,
            Permission.economics_read,
            Permission.settings_read,
            Permission.budgets_read,  # budgets whose scope is team T only
            Permission.gates_read,  # gate runs of team T's features only
            Permission.waste_read,  # findings and routing what-if of team T's only
            Permission.alerts_read,  # alerts of team T's budgets and anomalies only
        }
    ),
    RoleKind.customer: frozenset(
        {Permission.spend_read, Permission.events_read, Permission.statement_read}
    ),
    RoleKind.ingest: frozenset({Permission.outcomes_write}),
    RoleKind.metrics: frozenset({Permission.metrics_read, Permission.health_read}),
}

_SCOPED = (RoleKind.team, RoleKind.customer)
ROLE_HELP = "admin, finance, team:T, customer:C, ingest or metrics"


class RoleError(ValueError):
    """A role that cannot be parsed; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class Role:
    kind: RoleKind
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Role:
        name, sep, value = text.strip().partition(":")
        try:
            kind = RoleKind(name.lower())
        except ValueError:
            raise RoleError(f"{text!r} is not a role; use {ROLE_HELP}") from None
        if kind in _SCOPED:
            if not sep or not valid_value(value):
                raise RoleError(
                    f"{text!r}: {kind}:NAME needs a name of 1-200 letters, digits "
                    "and . _ : @ / + = # -"
                )
            return cls(kind, value)
        if sep:
            raise RoleError(f"{text!r}: the {kind} role takes no name; use {ROLE_HELP}")
        return cls(kind)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" if self.value is not None else str(self.kind)

    @property
    def permissions(self) -> frozenset[Permission]:
        return GRANTS[self.kind]

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.kind]

    @property
    def scope(self) -> Scope:
        """The rows this role may read: its team, its customer, or everything."""
        if self.kind is RoleKind.team:
            return Scope(team=self.value)
        if self.kind is RoleKind.customer:
            return Scope(customer_id=self.value)
        return EVERYTHING
