"""Feature economics and showback settings, from the config file (``features``,
``showback``) or the API (feature settings stored in the ledger).

A feature's yardstick is its human cost per outcome (given directly, or as a labour rate
× minutes); without one, its value per outcome. ``target_ratio`` (default 0.25) and
``red_line`` (default 0.5) bound the healthy / watch / review status of
cost per successful outcome ÷ yardstick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from aifinops.money import nusd_to_usd, usd_to_nusd

DEFAULT_TARGET = Decimal("0.25")
DEFAULT_RED_LINE = Decimal("0.5")
ALLOCATION_RULES = ("proportional", "fixed", "none")

_FEATURE_KEYS = frozenset(
    {
        "name",
        "team",
        "outcome_type",
        "human_cost_usd",
        "labour_rate_usd_per_hour",
        "minutes_per_outcome",
        "value_per_outcome_usd",
        "revenue_per_outcome_usd",
        "target_ratio",
        "red_line",
        "description",
    }
)


class EconomicsConfigError(ValueError):
    """A bad economics setting; ``field`` names it (e.g. ``features[2].red_line``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class FeatureEconomics:
    name: str
    team: str | None = None
    outcome_type: str | None = None
    human_cost_nusd: int | None = None
    value_per_outcome_nusd: int | None = None
    target_ratio: Decimal = DEFAULT_TARGET
    red_line: Decimal = DEFAULT_RED_LINE
    source: str = "config"  # "config" (read-only at run time) or "api"

    @property
    def yardstick_nusd(self) -> int | None:
        """What one successful outcome is measured against: human cost, else value."""
        return (
            self.human_cost_nusd
            if self.human_cost_nusd is not None
            else (self.value_per_outcome_nusd)
        )

    @property
    def yardstick(self) -> str | None:
        if self.human_cost_nusd is not None:
            return "human_cost"
        return "value" if self.value_per_outcome_nusd is not None else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "team": self.team,
            "outcome_type": self.outcome_type,
            "human_cost_usd": nusd_to_usd(self.human_cost_nusd),
            "value_per_outcome_usd": nusd_to_usd(self.value_per_outcome_nusd),
            "target_ratio": str(self.target_ratio),
            "red_line": str(self.red_line),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ShowbackSettings:
    """How unattributed (shared) spend is allocated to customers, and the markup."""

    allocation: str = "proportional"
    fixed_split: tuple[tuple[str, Fraction], ...] = ()
    markup_pct: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class EconomicsSettings:
    features: tuple[FeatureEconomics, ...] = ()
    showback: ShowbackSettings = field(default_factory=ShowbackSettings)

    def feature(self, name: str) -> FeatureEconomics | None:
        for feature in self.features:
            if feature.name == name:
                return feature
        return None


def _decimal(where: str, value: object, *, minimum: Decimal = Decimal(0)) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise EconomicsConfigError(where, f"must be a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise EconomicsConfigError(where, f"{value!r} is not a number") from None
    if not number.is_finite() or number < minimum:
        raise EconomicsConfigError(where, f"must be a number of at least {minimum}, got {value}")
    return number


def _money(where: str, value: object) -> int | None:
    if value is None:
        return None
    return usd_to_nusd(_decimal(where, value))


def _text(where: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise EconomicsConfigError(where, "must be a non-empty string of at most 200 characters")
    return value.strip()


def parse_feature(raw: object, where: str, source: str = "config") -> FeatureEconomics:
    """One feature entry; errors name ``where.key`` and say what is accepted."""
    if not isinstance(raw, Mapping):
        raise EconomicsConfigError(where, "must be a mapping with at least a name")
    unknown = sorted(set(raw) - _FEATURE_KEYS)
    if unknown:
        raise EconomicsConfigError(
            f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(sorted(_FEATURE_KEYS))}"
        )
    name = _text(f"{where}.name", raw.get("name"))
    if name is None:
        raise EconomicsConfigError(f"{where}.name", "is required (the feature's name)")
    human = _money(f"{where}.human_cost_usd", raw.get("human_cost_usd"))
    rate, minutes = raw.get("labour_rate_usd_per_hour"), raw.get("minutes_per_outcome")
    if (rate is None) != (minutes is None):
        missing = "minutes_per_outcome" if minutes is None else "labour_rate_usd_per_hour"
        raise EconomicsConfigError(
            f"{where}.{missing}", "labour_rate_usd_per_hour and minutes_per_outcome go together"
        )
    if rate is not None:
        if human is not None:
            raise EconomicsConfigError(
                f"{where}.human_cost_usd",
                "give human_cost_usd or labour_rate_usd_per_hour × minutes_per_outcome, not both",
            )
        cost = _decimal(f"{where}.labour_rate_usd_per_hour", rate) * _decimal(
            f"{where}.minutes_per_outcome", minutes
        )
        human = usd_to_nusd(cost / 60)
    value_key = (
        "value_per_outcome_usd" if "value_per_outcome_usd" in raw else "revenue_per_outcome_usd"
    )
    value = _money(f"{where}.{value_key}", raw.get(value_key))
    target = _decimal(f"{where}.target_ratio", raw.get("target_ratio", DEFAULT_TARGET))
    red = _decimal(f"{where}.red_line", raw.get("red_line", DEFAULT_RED_LINE))
    if target <= 0:
        raise EconomicsConfigError(f"{where}.target_ratio", "must be above 0 (e.g. 0.25)")
    if red < target:
        raise EconomicsConfigError(
            f"{where}.red_line", f"must be at least target_ratio ({target}), got {red}"
        )
    return FeatureEconomics(
        name=name,
        team=_text(f"{where}.team", raw.get("team")),
        outcome_type=_text(f"{where}.outcome_type", raw.get("outcome_type")),
        human_cost_nusd=human,
        value_per_outcome_nusd=value,
        target_ratio=target,
        red_line=red,
        source=source,
    )


def parse_features(raw: Sequence[object] | None) -> tuple[FeatureEconomics, ...]:
    features: list[FeatureEconomics] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw or ()):
        feature = parse_feature(entry, f"features[{i}]")
        if feature.name in seen:
            raise EconomicsConfigError(f"features[{i}].name", f"{feature.name!r} is listed twice")
        seen.add(feature.name)
        features.append(feature)
    return tuple(features)


def parse_showback(raw: object) -> ShowbackSettings:
    if raw is None:
        return ShowbackSettings()
    if not isinstance(raw, Mapping):
        raise EconomicsConfigError("showback", "must be a mapping (allocation, fixed_split, …)")
    unknown = sorted(set(raw) - {"allocation", "fixed_split", "markup_pct"})
    if unknown:
        raise EconomicsConfigError(
            f"showback.{unknown[0]}", "unknown key; known: allocation, fixed_split, markup_pct"
        )
    rule = str(raw.get("allocation", "proportional")).strip().lower()
    if rule not in ALLOCATION_RULES:
        raise EconomicsConfigError(
            "showback.allocation", f"{rule!r} is not one of {', '.join(ALLOCATION_RULES)}"
        )
    split: list[tuple[str, Fraction]] = []
    given = raw.get("fixed_split")
    if rule == "fixed":
        if not isinstance(given, Mapping) or not given:
            raise EconomicsConfigError(
                "showback.fixed_split", "allocation fixed needs a mapping customer_id: share"
            )
        for customer, share in given.items():
            where = f"showback.fixed_split.{customer}"
            split.append((str(customer), Fraction(_decimal(where, share))))
        total = sum((s for _, s in split), Fraction(0))
        if total != 1:
            raise EconomicsConfigError(
                "showback.fixed_split", f"shares must add up to 1, they add up to {float(total)}"
            )
    elif given is not None:
        raise EconomicsConfigError("showback.fixed_split", "is only used with allocation: fixed")
    markup = _decimal("showback.markup_pct", raw.get("markup_pct", 0))
    return ShowbackSettings(allocation=rule, fixed_split=tuple(split), markup_pct=markup)


def parse_economics(data: Mapping[str, Any]) -> EconomicsSettings:
    features = data.get("features")
    if features is not None and not isinstance(features, list):
        raise EconomicsConfigError("features", "must be a list of feature entries")
    return EconomicsSettings(
        features=parse_features(features), showback=parse_showback(data.get("showback"))
    )
