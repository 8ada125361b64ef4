"""Bulk pricing on columnar input: `price_many` prices millions of calls in one pass.

Input is columns, not objects: numpy arrays of token counts, a ``ts`` column
(``datetime64`` or ISO strings) and dictionary-encoded string columns (`Categorical`:
integer codes plus their categories, as Arrow dictionary arrays and pandas
categoricals hold them; plain sequences of strings are encoded on the way in).

The work per distinct (provider, model, service tier, batch) is done once — a `Plan`
from the engine — and every event is then priced with vectorised integer arithmetic
on the same pico-USD rate cards the single-event engine uses, so both give identical
results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from aifinops.pricing.catalog import N_BUCKETS, RateCard
from aifinops.pricing.engine import PICO_PER_NANO, Plan, PricingEngine
from aifinops.usage import TOKEN_FIELDS, RecordError, parse_ts

I64 = npt.NDArray[np.int64]
#: The billed counts, in `BUCKETS` order (reasoning is inside output, never billed again).
COUNT_COLUMNS: tuple[str, ...] = tuple(f for f in TOKEN_FIELDS if f != "reasoning_tokens")
_EPOCH = date(1970, 1, 1).toordinal()
_DAY_BIAS = 1 << 21  # days are offset by this so every date is a non-negative key part
_DAY_SPAN = 1 << 22
_NO_THRESHOLD = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Categorical:
    """A dictionary-encoded string column: ``categories[codes[i]]`` (code -1 is null)."""

    codes: npt.NDArray[np.integer[Any]]
    categories: Sequence[str | None]

    @classmethod
    def encode(cls, values: Sequence[str | None] | npt.NDArray[Any]) -> Categorical:
        categories = list(dict.fromkeys(values))  # in order of first appearance
        index = {v: i for i, v in enumerate(categories)}
        codes = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
        return cls(codes=codes, categories=categories)


@dataclass(frozen=True)
class PricedColumns:
    """Results aligned with the input rows.

    ``list_cost_nusd`` / ``effective_cost_nusd`` hold integer nano-USD; where ``unpriced``
    is True the cost is unknown (null), never $0, and the arrays hold 0 only as filler.
    ``price_version`` is dictionary-encoded (code -1 where unpriced).
    """

    list_cost_nusd: I64
    effective_cost_nusd: I64
    unpriced: npt.NDArray[np.bool_]
    price_version: Categorical = field(repr=False)

    def __len__(self) -> int:
        return int(self.list_cost_nusd.shape[0])

    def row(self, i: int) -> tuple[int | None, int | None, str | None]:
        if self.unpriced[i]:
            return None, None, None
        code = int(self.price_version.codes[i])
        return (
            int(self.list_cost_nusd[i]),
            int(self.effective_cost_nusd[i]),
            (self.price_version.categories[code]),
        )


class ColumnError(ValueError):
    """A column is missing, misshapen or holds a bad value; names the column."""

    def __init__(self, column: str, message: str) -> None:
        self.column = column
        super().__init__(f"{column}: {message}")


def _as_categorical(name: str, value: object, n: int, *, required: bool) -> Categorical:
    if value is None:
        if required:
            raise ColumnError(name, "is required")
        return Categorical(np.full(n, -1, dtype=np.int64), [])
    cat = value if isinstance(value, Categorical) else Categorical.encode(value)  # type: ignore[arg-type]
    if len(cat.codes) != n:
        raise ColumnError(name, f"has {len(cat.codes)} rows, expected {n}")
    return cat


def _days(value: object, n: int) -> I64:
    """Days since 1970-01-01 (UTC) of the ``ts`` column."""
    if value is None:
        raise ColumnError("ts", "is required")
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ColumnError("ts", f"has shape {arr.shape}, expected ({n},)")
    if not np.issubdtype(arr.dtype, np.datetime64):
        arr = _parse_iso(arr)
    return arr.astype("datetime64[D]").astype(np.int64)


def _parse_iso(arr: npt.NDArray[Any]) -> npt.NDArray[np.datetime64]:
    """ISO strings to datetime64: vectorised when every value is UTC with a Z suffix."""
    text = arr.astype(str)
    if text.size and bool(np.char.endswith(text, "Z").all()):
        try:
            return np.char.rstrip(text, "Z").astype("datetime64[us]")
        except ValueError:
            pass
    parsed = []
    for i, value in enumerate(text.tolist()):
        try:
            parsed.append(parse_ts(value).replace(tzinfo=None))
        except RecordError as exc:
            raise ColumnError("ts", f"row {i}: {exc.reason}") from None
    return np.array(parsed, dtype="datetime64[us]")


def _counts(columns: Mapping[str, Any], n: int) -> I64:
    out = np.zeros((n, N_BUCKETS), dtype=np.int64)
    for j, name in enumerate(COUNT_COLUMNS):
        value = columns.get(name)
        if value is None:
            continue
        arr = np.asarray(value)
        if arr.shape != (n,):
            raise ColumnError(name, f"has shape {arr.shape}, expected ({n},)")
        if not np.issubdtype(arr.dtype, np.integer):
            raise ColumnError(name, f"must hold integers, got dtype {arr.dtype}")
        if n and arr.min() < 0:
            raise ColumnError(name, "holds a negative count")
        out[:, j] = arr
    return out


class _Tables:
    """Rate cards flattened into arrays: thresholds [card, k] and rates [card*segments, bucket]."""

    def __init__(self) -> None:
        self.cards: list[RateCard] = []
        self._ids: dict[int, int] = {}

    def add(self, card: RateCard) -> int:
        key = id(card)
        if key not in self._ids:
            self._ids[key] = len(self.cards)
            self.cards.append(card)
        return self._ids[key]

    def arrays(self) -> tuple[I64, I64, int]:
        k = max((len(c.thresholds) for c in self.cards), default=0)
        segments = k + 1
        thresholds = np.full((max(len(self.cards), 1), max(k, 1)), _NO_THRESHOLD, dtype=np.int64)
        rates = np.zeros((max(len(self.cards), 1) * segments, N_BUCKETS), dtype=np.int64)
        for i, card in enumerate(self.cards):
            thresholds[i, : len(card.thresholds)] = card.thresholds
            for s in range(segments):
                rates[i * segments + s] = card.rates[min(s, len(card.rates) - 1)]
        return thresholds, rates, segments


def _cost_pico(card: I64, tables: _Tables, counts: I64, total_input: I64) -> I64:
    thresholds, rates, segments = tables.arrays()
    seg = np.zeros(card.shape[0], dtype=np.int64)
    for k in range(thresholds.shape[1]):
        seg += total_input > thresholds[card, k]
    per_unit = rates[card * segments + seg]
    cost: I64 = (counts * per_unit).sum(axis=1)
    return cost


def _round(pico: I64) -> I64:
    return (pico + PICO_PER_NANO // 2) // PICO_PER_NANO


def _group_codes(cats: list[Categorical], batch: npt.NDArray[np.bool_]) -> tuple[I64, I64]:
    """A dense group id per row and, per group, one representative row index."""
    key = np.zeros(batch.shape[0], dtype=np.int64)
    for cat in cats:
        key = key * (len(cat.categories) + 1) + (cat.codes.astype(np.int64) + 1)
    key = key * 2 + batch
    size = 2
    for cat in cats:
        size *= len(cat.categories) + 1
    if size <= 1 << 22:  # small key space: a lookup table beats sorting
        present = np.flatnonzero(np.bincount(key, minlength=size))
        lookup = np.full(size, -1, dtype=np.int64)
        lookup[present] = np.arange(present.shape[0])
        groups = lookup[key]
        first = np.full(present.shape[0], -1, dtype=np.int64)
        first[groups[::-1]] = np.arange(key.shape[0] - 1, -1, -1)
        return groups, first
    _, first, groups = np.unique(key, return_index=True, return_inverse=True)
    return groups.astype(np.int64), first.astype(np.int64)


def _day_key(d: date) -> int:
    return max(d.toordinal() - _EPOCH + _DAY_BIAS, 0)


def price_many(engine: PricingEngine, columns: Mapping[str, Any]) -> PricedColumns:
    """Price every row of ``columns`` (see module docstring) with ``engine``.

    Required columns: ``provider``, ``model``, ``ts``. Optional: the token counts of
    `COUNT_COLUMNS` (default 0), ``service_tier``, ``batch``.
    """
    if "model" not in columns:
        raise ColumnError("model", "is required")
    n = len(
        columns["model"].codes if isinstance(columns["model"], Categorical) else columns["model"]
    )
    provider = _as_categorical("provider", columns.get("provider"), n, required=True)
    model = _as_categorical("model", columns.get("model"), n, required=True)
    tier = _as_categorical("service_tier", columns.get("service_tier"), n, required=False)
    batch_col = columns.get("batch")
    batch = (
        np.zeros(n, dtype=np.bool_) if batch_col is None else np.asarray(batch_col, dtype=np.bool_)
    )
    days = _days(columns.get("ts"), n)
    counts = _counts(columns, n)

    groups, first = _group_codes([provider, model, tier], batch)
    list_tables, eff_tables = _Tables(), _Tables()
    versions: dict[str, int] = {}
    bp_keys: list[int] = []
    rows: list[tuple[int, int, int, int]] = []  # list card, effective card, discount bp, version
    for g, row in enumerate(first.tolist()):
        plan = _plan_for(engine, provider, model, tier, batch, row)
        base = g * _DAY_SPAN
        if plan is None:
            bp_keys.append(base)
            rows.append((-1, -1, 0, -1))
            continue
        for period in plan.periods:
            bp_keys.append(base + _day_key(period.start))
            version = versions.setdefault(engine.version_of(period), len(versions))
            rows.append(
                (
                    list_tables.add(period.list_card),
                    eff_tables.add(period.effective_card),
                    period.discount_bp,
                    version,
                )
            )
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    event_keys = groups * _DAY_SPAN + np.clip(days + _DAY_BIAS, 0, _DAY_SPAN - 1)
    period_idx = np.searchsorted(np.array(bp_keys, dtype=np.int64), event_keys, side="right") - 1
    chosen = table[period_idx]
    unpriced = chosen[:, 0] < 0
    list_card = np.where(unpriced, 0, chosen[:, 0])
    eff_card = np.where(unpriced, 0, chosen[:, 1])
    total_input = counts[:, :4].sum(axis=1)
    list_nusd = _round(_cost_pico(list_card, list_tables, counts, total_input))
    eff_nusd = _round(_cost_pico(eff_card, eff_tables, counts, total_input))
    discount = chosen[:, 2]
    eff_nusd = np.where(discount > 0, (eff_nusd * (10_000 - discount) + 5_000) // 10_000, eff_nusd)
    list_nusd[unpriced] = 0
    eff_nusd[unpriced] = 0
    return PricedColumns(
        list_cost_nusd=list_nusd,
        effective_cost_nusd=eff_nusd,
        unpriced=unpriced,
        price_version=Categorical(codes=chosen[:, 3], categories=list(versions)),
    )


def _plan_for(
    engine: PricingEngine,
    provider: Categorical,
    model: Categorical,
    tier: Categorical,
    batch: npt.NDArray[np.bool_],
    row: int,
) -> Plan | None:
    p_code, m_code, t_code = (int(c.codes[row]) for c in (provider, model, tier))
    provider_name = provider.categories[p_code] if p_code >= 0 else None
    model_name = model.categories[m_code] if m_code >= 0 else None
    if not provider_name or not model_name:
        return None
    tier_name = tier.categories[t_code] if t_code >= 0 else None
    return engine.plan(provider_name, model_name, tier_name or None, bool(batch[row]))
