"""Budgets: what they cover, how much, over which period, and what happens at the limit.

A budget covers a scope — a ``team``, ``feature``, ``customer``, gateway ``key`` or the
whole ``org`` — over a calendar ``month`` (default), ISO ``week`` or ``day`` in a
whole-hour time zone (UTC default). Its amount is in USD of effective cost (or list
cost). Soft thresholds (default 50, 75, 90 % of the amount) raise alerts; at the hard
limit (default 110 %) the action applies:

- ``throttle`` (default): at most ``throttle_rpm`` requests a minute (default 10) for the
  scope, the rest get a 429 with Retry-After;
- ``block``: every request of the scope gets a 429 until the period resets;
- ``downgrade``: requests for a model in ``downgrade`` (e.g. claude-opus-4-1 →
  claude-sonnet-4-5) go to the cheaper model, recorded as the event's ``route_reason``.

`parse_budget` validates one definition from the config file, the CLI or the API; every
error names the field (``budgets[2].thresholds``) and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from aifinops.governance.periods import PeriodSpecError, parse_period, parse_tz_hours, tz_name
from aifinops.money import nusd_to_usd, usd_to_nusd

SCOPES = ("team", "feature", "customer", "key", "org")
ACTIONS = ("throttle", "block", "downgrade")
COSTS = ("effective", "list")
DEFAULT_THRESHOLDS = (50, 75, 90)
DEFAULT_HARD_LIMIT = 110
DEFAULT_THROTTLE_RPM = 10
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=#-]{0,199}$")
_KEYS = frozenset(
    {
        "id",
        "scope",
        "name",
        "amount_usd",
        "period",
        "timezone",
        "cost",
        "thresholds",
        "hard_limit_pct",
        "action",
        "throttle_rpm",
        "downgrade",
        "note",
    }
)
#: The ledger column a scope filters on (``org`` filters on nothing).
SCOPE_COLUMNS: dict[str, str | None] = {
    "team": "team",
    "feature": "feature",
    "customer": "customer_id",
    "key": "api_key_id",
    "org": None,
}


class BudgetError(ValueError):
    """A bad budget definition; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class Budget:
    id: str
    scope: str
    name: str | None  # the team, feature, customer or key id; None for org
    amount_nusd: int
    period: str = "month"
    tz_hours: int = 0
    cost: str = "effective"
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    hard_limit_pct: int = DEFAULT_HARD_LIMIT
    action: str = "throttle"
    throttle_rpm: int = DEFAULT_THROTTLE_RPM
    downgrade: tuple[tuple[str, str], ...] = ()
    note: str | None = None
    source: str = "config"  # "config" (read-only at run time) or "api"/"cli"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def hard_limit_nusd(self) -> int:
        """The amount × hard_limit_pct / 100, rounded down to the nano-dollar."""
        return self.amount_nusd * self.hard_limit_pct // 100

    def threshold_nusd(self, pct: int) -> int:
        return self.amount_nusd * pct // 100

    def covers(self, attribution: Mapping[str, str | None]) -> bool:
        """Whether a call with this attribution (team, feature, customer_id, api_key_id)
        counts against the budget."""
        column = SCOPE_COLUMNS[self.scope]
        return column is None or attribution.get(column) == self.name

    def as_dict(self) -> dict[str, Any]:
        """The definition as the API and ``budget list --format json`` show it."""
        return {
            "id": self.id,
            "scope": self.scope,
            "name": self.name,
            "amount_usd": nusd_to_usd(self.amount_nusd),
            "period": self.period,
            "timezone": tz_name(self.tz_hours),
            "cost": self.cost,
            "thresholds": list(self.thresholds),
            "hard_limit_pct": self.hard_limit_pct,
            "action": self.action,
            "throttle_rpm": self.throttle_rpm,
            "downgrade": dict(self.downgrade),
            "note": self.note,
            "source": self.source,
        }


def _text(where: str, value: object, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BudgetError(where, "is required")
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise BudgetError(where, "must be a string of at most 200 characters")
    return value.strip()


def _int(where: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise BudgetError(where, f"must be a whole number from {low} to {high}, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BudgetError(where, f"{value!r} is not a number") from None
    if number != number.to_integral_value() or not low <= number <= high:
        raise BudgetError(where, f"must be a whole number from {low} to {high}, got {value}")
    return int(number)


def _amount(where: str, value: object) -> int:
    if value is None:
        raise BudgetError(where, "is required (USD per period, e.g. '500.00')")
    if isinstance(value, bool) or not isinstance(value, (int, str, float, Decimal)):
        raise BudgetError(where, f"must be a decimal USD amount, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise BudgetError(where, f"{value!r} is not a decimal USD amount") from None
    if not amount.is_finite() or amount <= 0:
        raise BudgetError(where, f"must be more than 0, got {value}")
    return usd_to_nusd(amount)


def _thresholds(where: str, value: object) -> tuple[int, ...]:
    if value is None:
        return DEFAULT_THRESHOLDS
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise BudgetError(where, "must be a list of percentages, e.g. [50, 75, 90]")
    out = tuple(_int(f"{where}[{i}]", v, 1, 1000) for i, v in enumerate(value))
    if any(b <= a for a, b in pairwise(out)):
        raise BudgetError(where, f"must be in increasing order without repeats, got {list(out)}")
    return out


def _downgrade(where: str, value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise BudgetError(where, "must be a mapping from model to cheaper model")
    pairs = []
    for source, target in value.items():
        src = _text(f"{where}.{source}", source, required=True)
        dst = _text(f"{where}.{source}", target, required=True)
        assert src is not None and dst is not None
        if src == dst:
            raise BudgetError(f"{where}.{source}", "maps a model to itself")
        pairs.append((src, dst))
    return tuple(pairs)


def _identity(raw: Mapping[str, Any], where: str) -> tuple[str, str | None, str]:
    """(scope, name, id) of a definition."""
    scope = _text(f"{where}.scope", raw.get("scope", "org"))
    if scope not in SCOPES:
        raise BudgetError(f"{where}.scope", f"{scope!r} is not a scope; use {', '.join(SCOPES)}")
    name = _text(f"{where}.name", raw.get("name"))
    if scope == "org":
        name = None
    elif name is None:
        raise BudgetError(f"{where}.name", f"is required: the {scope} the budget covers")
    ident = _text(f"{where}.id", raw.get("id")) or (f"{scope}:{name}" if name else "org")
    if not _ID.match(ident):
        raise BudgetError(f"{where}.id", "must be 1-200 letters, digits and . _ : @ / + = # -")
    return scope, name, ident


def parse_budget(raw: object, where: str = "budget", source: str = "config") -> Budget:
    """One budget definition (config entry, CLI options or API body)."""
    if not isinstance(raw, Mapping):
        raise BudgetError(where, "must be a mapping with scope, name and amount_usd")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise BudgetError(
            f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(sorted(_KEYS))}"
        )
    scope, name, ident = _identity(raw, where)
    try:
        period = parse_period(raw.get("period", "month"))
    except PeriodSpecError as exc:
        raise BudgetError(f"{where}.period", str(exc)) from None
    try:
        tz_hours = parse_tz_hours(raw.get("timezone", "UTC"))
    except PeriodSpecError as exc:
        raise BudgetError(f"{where}.timezone", str(exc)) from None
    cost = str(raw.get("cost", "effective")).strip().lower()
    if cost not in COSTS:
        raise BudgetError(f"{where}.cost", f"{cost!r} is not effective or list")
    thresholds = _thresholds(f"{where}.thresholds", raw.get("thresholds"))
    hard = _int(f"{where}.hard_limit_pct", raw.get("hard_limit_pct", DEFAULT_HARD_LIMIT), 1, 1000)
    if thresholds and hard <= thresholds[-1]:
        raise BudgetError(
            f"{where}.hard_limit_pct",
            f"must be above the last threshold ({thresholds[-1]}), got {hard}",
        )
    action = str(raw.get("action", "throttle")).strip().lower()
    if action not in ACTIONS:
        raise BudgetError(f"{where}.action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    rpm = _int(f"{where}.throttle_rpm", raw.get("throttle_rpm", DEFAULT_THROTTLE_RPM), 0, 100_000)
    downgrade = _downgrade(f"{where}.downgrade", raw.get("downgrade"))
    if action == "downgrade" and not downgrade:
        raise BudgetError(f"{where}.downgrade", "action downgrade needs a model map")
    return Budget(
        id=ident,
        scope=scope,
        name=name,
        amount_nusd=_amount(f"{where}.amount_usd", raw.get("amount_usd")),
        period=period,
        tz_hours=tz_hours,
        cost=cost,
        thresholds=thresholds,
        hard_limit_pct=hard,
        action=action,
        throttle_rpm=rpm,
        downgrade=downgrade,
        note=_text(f"{where}.note", raw.get("note")),
        source=source,
    )


def parse_budgets(raw: object) -> tuple[Budget, ...]:
    """The ``budgets:`` list of the config file; ids must be unique."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BudgetError("budgets", "must be a list of budget entries")
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(raw):
        budget = parse_budget(entry, f"budgets[{i}]")
        if budget.id in seen:
            raise BudgetError(f"budgets[{i}].id", f"{budget.id!r} is defined twice")
        seen.add(budget.id)
        out.append(budget)
    return tuple(out)
