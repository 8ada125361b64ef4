"""A waste finding, its monthly saving, and the ``{"findings": [...]}`` document."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from aifinops.money import nusd_to_decimal

KINDS: tuple[str, ...] = (
    "no_prompt_caching",
    "overpowered_model",
    "system_prompt_growth",
    "context_bloat",
    "no_max_tokens",
)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Window:
    """The range the findings cover, and how a saving over it becomes a monthly one."""

    days: int

    def monthly_nusd(self, saving_nusd: int) -> int:
        """The window's saving scaled to 30 days, rounded half up to a nano-USD."""
        return int((Fraction(saving_nusd * 30, self.days) + Fraction(1, 2)).__floor__())

    def monthly_usd(self, saving_nusd: int) -> Decimal:
        return nusd_to_decimal(self.monthly_nusd(saving_nusd)).quantize(_CENT, ROUND_HALF_UP)

    def scaling(self, saving_nusd: int) -> str:
        """The sentence ``method`` ends with."""
        return (
            f"Saving over the {self.days}-day window ${usd(saving_nusd)}, "
            f"× 30 / {self.days} = ${self.monthly_usd(saving_nusd)} a month."
        )


def usd(nusd: int) -> str:
    """Nano-USD as dollars with 2 to 6 decimals (evidence and method text)."""
    value = nusd_to_decimal(nusd)
    cents = value.quantize(_CENT, ROUND_HALF_UP)
    if cents == value or abs(value) >= 100:
        return f"{cents}"
    return f"{value.quantize(Decimal('0.000001'), ROUND_HALF_UP).normalize():f}"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    team: str
    feature: str
    prompt_version: str | None
    evidence: dict[str, Any]
    saving_nusd: int  # over the window
    monthly_saving_usd: Decimal
    method: str
    fix: str
    justified: bool = True  # False: flagged without a priced saving

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "team": self.team,
            "feature": self.feature,
            "prompt_version": self.prompt_version,
            "evidence": self.evidence,
            "monthly_saving_usd": f"{self.monthly_saving_usd:f}",
            "method": self.method,
            "fix": self.fix,
        }


def findings_document(findings: list[Finding], meta: dict[str, Any]) -> dict[str, Any]:
    ordered = sorted(findings, key=lambda f: (-f.monthly_saving_usd, f.kind, f.team, f.feature))
    total = sum((f.monthly_saving_usd for f in ordered), Decimal("0.00"))
    return {
        "findings": [f.as_dict() for f in ordered],
        "totals": {"findings": len(ordered), "monthly_saving_usd": f"{total:f}"},
        "meta": meta,
    }
