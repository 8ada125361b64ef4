"""The calls and outcomes of one side of a gate, from the ledger or an eval-run file.

A `Sample` holds one `Call` per model call and one `UnitResult` per unit of work with
an outcome. In the ledger a unit is the ``unit_id`` the gateway recorded; its calls'
costs are summed and its outcome(s) joined from ``outcomes`` (success if any outcome
succeeded, quality the mean of those that carry one); units with no outcome yet are
counted as open and kept out of the per-outcome figures, as in the unit economics. In an
eval-run file each case is one call and one unit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection, Engine

from aifinops.gate.selection import Selection
from aifinops.ledger.schema import usage_events
from aifinops.ledger.schema_economics import outcomes

#: The most calls one side may hold; a larger window must be narrowed.
MAX_CALLS = 2_000_000
_CHUNK = 500


class SampleError(ValueError):
    """A side that cannot be read; the message names the cause and the fix."""


@dataclass(frozen=True, slots=True)
class Call:
    cost_nusd: int | None  # effective cost; None when the call could not be priced
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    latency_ms: int | None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class UnitResult:
    cost_nusd: int
    success: bool
    quality: float | None


@dataclass(slots=True)
class Sample:
    label: str
    source: str  # "ledger" | "eval"
    calls: list[Call] = field(default_factory=list)
    units: list[UnitResult] = field(default_factory=list)
    open_units: int = 0
    models: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)
    start: date | None = None
    end: date | None = None


def _bounds(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day_from, time(), UTC),
        datetime.combine(day_to + timedelta(days=1), time(), UTC),
    )


def ledger_sample(
    engine: Engine, feature: str, selection: Selection, start: date, end: date
) -> Sample:
    """The feature's calls matching ``selection`` between ``start`` and ``end`` (inclusive)."""
    day_from = selection.start or start
    day_to = selection.end or end
    lo, hi = _bounds(day_from, day_to)
    t = usage_events.c
    conds = [t.feature == feature, t.ts >= lo, t.ts < hi]
    conds += [getattr(t, key) == value for key, value in selection.filters]
    query = (
        select(
            t.effective_cost_nusd,
            t.unpriced,
            t.input_tokens,
            t.output_tokens,
            t.cache_read_tokens,
            t.cache_write_5m_tokens,
            t.cache_write_1h_tokens,
            t.duration_ms,
            t.unit_id,
            t.model,
            t.team,
            t.tags,
        )
        .where(and_(*conds))
        .limit(MAX_CALLS + 1)
    )
    sample = Sample(label=selection.text, source="ledger", start=day_from, end=day_to)
    unit_costs: dict[str, int] = defaultdict(int)
    wanted_tags = dict(selection.tags)
    with engine.connect() as conn:
        for row in conn.execute(query):
            if wanted_tags and not _has_tags(row.tags, wanted_tags):
                continue
            cost = None if row.unpriced else row.effective_cost_nusd
            sample.calls.append(
                Call(
                    cost_nusd=cost,
                    input_tokens=row.input_tokens,
                    output_tokens=row.output_tokens,
                    cache_read_tokens=row.cache_read_tokens,
                    cache_write_tokens=row.cache_write_5m_tokens + row.cache_write_1h_tokens,
                    latency_ms=row.duration_ms,
                    unit=row.unit_id,
                )
            )
            sample.models.add(row.model)
            if row.team:
                sample.teams.add(row.team)
            if row.unit_id is not None:
                unit_costs[row.unit_id] += cost or 0
        if len(sample.calls) > MAX_CALLS:
            raise SampleError(
                f"{selection.text}: more than {MAX_CALLS:,} calls between {day_from} and "
                f"{day_to}; narrow the window with --from/--to or the selection"
            )
        _join_outcomes(conn, sample, unit_costs)
    return sample


def _has_tags(tags: object, wanted: dict[str, str]) -> bool:
    if not isinstance(tags, dict):
        return False
    return all(tags.get(key) == value for key, value in wanted.items())


def _join_outcomes(conn: Connection, sample: Sample, unit_costs: dict[str, int]) -> None:
    found: dict[str, list[tuple[bool, int | None]]] = defaultdict(list)
    ids = list(unit_costs)
    o = outcomes.c
    for index in range(0, len(ids), _CHUNK):
        chunk = ids[index : index + _CHUNK]
        query = select(o.unit_id, o.success, o.quality_micros).where(o.unit_id.in_(chunk))
        for row in conn.execute(query):
            found[row.unit_id].append((bool(row.success), row.quality_micros))
    for unit, cost in unit_costs.items():
        results = found.get(unit)
        if not results:
            sample.open_units += 1
            continue
        qualities = [q / 1_000_000 for _, q in results if q is not None]
        sample.units.append(
            UnitResult(
                cost_nusd=cost,
                success=any(ok for ok, _ in results),
                quality=sum(qualities) / len(qualities) if qualities else None,
            )
        )
