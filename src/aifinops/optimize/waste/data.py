"""Reading the waste rollup: one grouped query over a date range (no raw events).

`load_groups` sums ``waste_rollup`` over the range per full key (provider, model,
service tier, batch, team, feature, prompt version, system hash, prefix hash): a month
is a few hundred rows per feature however many calls it had. Besides the sums it returns
the first hour and the smallest event id of each group, and ``cache_windows``: the
number of 5-minute slots that had calls (the bits set in each hour's ``cache_slots``,
summed) — one cache write per slot is what a repeated prefix needs at least when its
cache lives 5 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from aifinops.ledger.schema_optimize import OUTPUT_BUCKETS, WASTE_DIMENSIONS, WASTE_MEASURES
from aifinops.optimize.waste.pricer import Target, Tokens

_MAX = ("system_tokens_max", "context_chunks_max")
SLOTS_PER_HOUR = 12
#: Bits set in ``cache_slots`` (a 12-bit mask), in SQL both dialects run.
POPCOUNT_SQL = " + ".join(f"((cache_slots >> {i}) & 1)" for i in range(SLOTS_PER_HOUR))


@dataclass(frozen=True, slots=True)
class Group:
    """The waste-rollup sums of one key over the range."""

    provider: str
    model: str
    service_tier: str
    team: str
    feature: str
    prompt_version: str
    system_hash: str
    prefix_hash: str
    batch: bool
    first_hour: str
    example_event_id: str
    hours: int
    cache_windows: int
    m: dict[str, int]  # every measure of WASTE_MEASURES

    @property
    def calls(self) -> int:
        return self.m["calls"]

    @property
    def target(self) -> Target:
        return Target(self.provider, self.model, self.service_tier or None, self.batch)

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            self.m["input_tokens"],
            self.m["cache_read_tokens"],
            self.m["cache_write_5m_tokens"],
            self.m["cache_write_1h_tokens"],
            self.m["output_tokens"],
        )

    @property
    def per_call_input(self) -> int:
        return self.tokens.total_input // self.calls if self.calls else 0

    def out_calls(self, i: int) -> int:
        return self.m[f"uncapped_out_calls_{i}"]

    def out_tokens(self, i: int) -> int:
        return self.m[f"uncapped_out_tokens_{i}"]

    def in_calls(self, i: int) -> int:
        return self.m[f"input_calls_{i}"]

    def in_tokens(self, i: int) -> int:
        return self.m[f"input_tokens_{i}"]


def _hour_text(value: object) -> str:
    """An hour as ``YYYY-MM-DDTHH:00:00Z`` whichever backend returned it."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.strftime("%Y-%m-%dT%H:00:00Z")


def _bound(conn: Connection, start: date, end: date) -> dict[str, Any]:
    if conn.dialect.name == "postgresql":
        return {"start": start, "end": end}
    return {"start": start.isoformat(), "end": end.isoformat()}


def load_groups(
    conn: Connection,
    start: date,
    end: date,
    *,
    team: str | None = None,
    feature: str | None = None,
) -> list[Group]:
    """Every key with calls between ``start`` and ``end`` (inclusive UTC days)."""
    where = ["day >= :start", "day <= :end"]
    params = _bound(conn, start, end)
    if team is not None:
        where.append("team = :team")
        params["team"] = team
    if feature is not None:
        where.append("feature = :feature")
        params["feature"] = feature
    key = ", ".join((*WASTE_DIMENSIONS, "batch"))
    sums = ", ".join(
        f"max({m}) AS {m}" if m in _MAX else f"sum({m}) AS {m}" for m in WASTE_MEASURES
    )
    sql = (
        f"SELECT {key}, min(hour) AS first_hour, min(example_event_id) AS example, "
        f"count(*) AS hours, sum({POPCOUNT_SQL}) AS windows, "
        f"{sums} FROM waste_rollup WHERE {' AND '.join(where)} GROUP BY {key} ORDER BY {key}"
    )
    groups = []
    n_dims = len(WASTE_DIMENSIONS)
    for row in conn.execute(text(sql), params):
        values = tuple(row)
        dims = [str(v) for v in values[:n_dims]]
        batch, first, example, hours, windows = values[n_dims : n_dims + 5]
        measures = values[n_dims + 5 :]
        groups.append(
            Group(
                provider=dims[0],
                model=dims[1],
                service_tier=dims[2],
                team=dims[3],
                feature=dims[4],
                prompt_version=dims[5],
                system_hash=dims[6],
                prefix_hash=dims[7],
                batch=bool(batch),
                first_hour=_hour_text(first),
                example_event_id=example,
                hours=int(hours),
                cache_windows=int(windows),
                m={k: int(v) for k, v in zip(WASTE_MEASURES, measures, strict=True)},
            )
        )
    return groups


def load_system_windows(
    conn: Connection,
    start: date,
    end: date,
    *,
    team: str | None = None,
    feature: str | None = None,
) -> dict[tuple[object, ...], int]:
    """Per (provider, model, service tier, batch, team, feature, prompt version): the
    5-minute slots with calls, whatever their prefix and system hashes (the hour's masks
    OR-ed across them, then counted)."""
    key = "provider, model, service_tier, batch, team, feature, prompt_version"
    where = ["day >= :start", "day <= :end", "prefix_hash <> ''"]
    params = _bound(conn, start, end)
    if team is not None:
        where.append("team = :team")
        params["team"] = team
    if feature is not None:
        where.append("feature = :feature")
        params["feature"] = feature
    sql = f"SELECT {key}, hour, cache_slots FROM waste_rollup WHERE {' AND '.join(where)}"
    masks: dict[tuple[object, ...], int] = {}
    for row in conn.execute(text(sql), params):
        p, m, tier, batch, *rest, hour, slots = tuple(row)
        k = (p, m, tier, bool(batch), *rest, hour)
        masks[k] = masks.get(k, 0) | int(slots)
    out: dict[tuple[object, ...], int] = {}
    for k, mask in masks.items():
        out[k[:-1]] = out.get(k[:-1], 0) + mask.bit_count()
    return out


_DAILY_MEASURES = (
    "calls",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "system_calls",
    "system_tokens",
)


def load_daily_system(
    conn: Connection,
    start: date,
    end: date,
    *,
    team: str | None = None,
    feature: str | None = None,
) -> list[Group]:
    """The system-prompt sums per UTC day, model and attribution (calls that reported a
    system prompt size only); ``first_hour`` holds the day, hashes are "" and the other
    measures 0."""
    key = "day, provider, model, service_tier, batch, team, feature, prompt_version"
    where = ["day >= :start", "day <= :end", "system_calls > 0"]
    params = _bound(conn, start, end)
    if team is not None:
        where.append("team = :team")
        params["team"] = team
    if feature is not None:
        where.append("feature = :feature")
        params["feature"] = feature
    sums = ", ".join(f"sum({m})" for m in _DAILY_MEASURES)
    sql = (
        f"SELECT {key}, min(example_event_id), {sums} FROM waste_rollup "
        f"WHERE {' AND '.join(where)} GROUP BY {key}"
    )
    out = []
    for row in conn.execute(text(sql), params):
        day, provider, model, tier, batch, team_, feature_, version, example, *values = row
        measures = dict.fromkeys(WASTE_MEASURES, 0)
        measures.update({m: int(v) for m, v in zip(_DAILY_MEASURES, values, strict=True)})
        out.append(
            Group(
                provider=str(provider),
                model=str(model),
                service_tier=str(tier),
                team=str(team_),
                feature=str(feature_),
                prompt_version=str(version),
                system_hash="",
                prefix_hash="",
                batch=bool(batch),
                first_hour=str(day)[:10],
                example_event_id=str(example),
                hours=0,
                cache_windows=0,
                m=measures,
            )
        )
    return out


__all__ = ["OUTPUT_BUCKETS", "Group", "load_daily_system", "load_groups", "load_system_windows"]
