"""Rate limits: requests and tokens per minute per gateway key, team or feature.

From the config file's ``rate_limits:`` list::

    rate_limits:
      - {scope: team, name: sales, rpm: 600, tpm: 2000000}
      - {scope: key, name: key_ab12cd34, rpm: 60}

Enforced in the gateway with the provider's 429 shape and a Retry-After header (the
seconds to the next UTC minute). Tokens are counted at admission at the request's
estimate (input from its size, output at its max_tokens) and corrected to the actual
usage when the call ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aifinops.governance.budgets import BudgetError, _int, _text

LIMIT_SCOPES = {"key": "api_key_id", "team": "team", "feature": "feature"}
_KEYS = frozenset({"scope", "name", "rpm", "tpm"})


@dataclass(frozen=True, slots=True)
class RateLimit:
    scope: str
    name: str
    rpm: int | None = None
    tpm: int | None = None

    @property
    def id(self) -> str:
        return f"{self.scope}:{self.name}"

    def covers(self, attribution: Mapping[str, str | None]) -> bool:
        return attribution.get(LIMIT_SCOPES[self.scope]) == self.name


def parse_rate_limits(raw: object) -> tuple[RateLimit, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BudgetError("rate_limits", "must be a list of {scope, name, rpm, tpm} entries")
    out: list[RateLimit] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        where = f"rate_limits[{i}]"
        if not isinstance(entry, Mapping):
            raise BudgetError(where, "must be a mapping with scope, name and rpm and/or tpm")
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise BudgetError(f"{where}.{unknown[0]}", "unknown key; known: name, rpm, scope, tpm")
        scope = _text(f"{where}.scope", entry.get("scope"), required=True)
        if scope not in LIMIT_SCOPES:
            raise BudgetError(f"{where}.scope", f"{scope!r} is not key, team or feature")
        name = _text(f"{where}.name", entry.get("name"), required=True)
        assert name is not None
        rpm = entry.get("rpm")
        tpm = entry.get("tpm")
        if rpm is None and tpm is None:
            raise BudgetError(where, "give rpm (requests per minute), tpm (tokens) or both")
        limit = RateLimit(
            scope,
            name,
            None if rpm is None else _int(f"{where}.rpm", rpm, 1, 10_000_000),
            None if tpm is None else _int(f"{where}.tpm", tpm, 1, 10**12),
        )
        if limit.id in seen:
            raise BudgetError(f"{where}.name", f"{limit.id!r} is limited twice")
        seen.add(limit.id)
        out.append(limit)
    return tuple(out)
