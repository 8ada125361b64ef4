"""A batch of plain canonical records validated field by field instead of row by row.

`aifinops.usage.flat_from_record` checks one record at a time: a dict lookup, a type
test and a conversion per field, then a flat dict per record, which the importer turns
back into columns (`aifinops.ledger.writer.transpose_rows`). That was half of an import
worker's time. Most files are written by a program and every record has the same plain
shape: string fields strings (or null), counts non-negative ints, flags bools, the
timestamp ``YYYY-MM-DDTHH:MM:SSZ``. `canonical_values` checks a whole batch for that
shape one field at a time (each test a pass in C over the batch's values) and, when
every record has it, returns the column values `transpose_rows` would make of the
records' `flat_from_record` fields. Any record outside that shape — a timestamp with
an offset, a count given as a string, tags, a missing id, a bad value — sends the
whole batch the record-by-record way, which gives each bad row its error: the two
ways never disagree about a record (tests/ingest/test_canonical_columns.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from aifinops.usage import _BOOL as BOOL
from aifinops.usage import _KIND, _OPT_INT, _ZULU_LEN, FLAT_DEFAULTS
from aifinops.usage import _STR as STR
from aifinops.usage import _TOKEN as TOKEN

#: The event columns, in the ledger's order (`aifinops.ledger.writer.EVENT_COLUMNS`).
Columns = Sequence[str]
Record = dict[str, Any]

_REQUIRED = ("event_id", "ts", "provider", "model")
#: The typed fields of a plain record: strings, counts, optional ints and flags.
_KINDS = {k: kind for k, kind in _KIND.items() if kind in (STR, TOKEN, _OPT_INT, BOOL)}
#: Keys a plain record may have: the required ones and the typed fields (no tags,
#: guardrails or ``tag_*`` columns, no unknown keys).
PLAIN_KEYS = frozenset(_REQUIRED) | frozenset(_KINDS)
_STR_TYPES = frozenset({str, type(None)})
_OPT_INT_TYPES = frozenset({int, type(None)})


def _types(values: list[Any]) -> set[type]:
    return set(map(type, values))


def _strings(values: list[Any]) -> list[str | None] | None:
    """`flat_from_record`'s string field: stripped, blank as None."""
    if not _types(values) <= _STR_TYPES:
        return None
    return [v.strip() or None if v is not None else None for v in values]


def _required_text(values: list[Any]) -> list[str] | None:
    """A required string: every value a string that is not blank once stripped."""
    if _types(values) != {str}:
        return None
    stripped = [v.strip() for v in values]
    return None if "" in stripped else stripped


def _timestamps(values: list[Any]) -> list[datetime] | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` strings as aware UTC datetimes (as `flat_from_record`)."""
    if _types(values) != {str}:
        return None
    if any(len(v) != _ZULU_LEN or v[10] != "T" or v[-1] != "Z" for v in values):
        return None
    try:
        return list(map(datetime.fromisoformat, values))
    except ValueError:
        return None


def _field(kind: int, values: list[Any]) -> list[Any] | None:
    if kind == STR:
        return _strings(values)
    types = _types(values)
    if kind == TOKEN:
        if types != {int} or min(values) < 0:
            return None
        return values
    if kind == _OPT_INT:
        return values if types <= _OPT_INT_TYPES else None
    if kind == BOOL:
        return values if types == {bool} else None
    return None


def _first_of_each(ids: list[str]) -> list[int] | None:
    """The index of each id's first record, when some id repeats; None when none does."""
    if len(set(ids)) == len(ids):
        return None
    first: dict[str, int] = {}
    for i, event_id in enumerate(ids):
        first.setdefault(event_id, i)
    return list(first.values())


def canonical_values(records: list[Record], columns: Columns) -> list[tuple[Any, ...]] | None:
    """The values of ``columns`` (one tuple per column) of the first record of each
    event id, as `transpose_rows` makes them of `flat_from_record` fields; None when a
    record is not plain (see the module's docstring): validate those one by one."""
    if not records:
        return None
    keys: set[str] = set().union(*records)
    if not keys <= PLAIN_KEYS or not all(k in keys for k in _REQUIRED):
        return None
    out: dict[str, list[Any]] = {}
    for key in _REQUIRED:
        values = [r.get(key) for r in records]
        checked = _timestamps(values) if key == "ts" else _required_text(values)
        if checked is None:
            return None
        out[key] = checked
    out["provider"] = [p.lower() for p in out["provider"]]
    for key in keys.difference(_REQUIRED):
        get: Callable[[Record], Any] = operator.methodcaller("get", key, FLAT_DEFAULTS[key])
        values = list(map(get, records))
        checked = _field(_KINDS[key], values)
        if checked is None:
            return None
        out[key] = checked
    reasoning, output = out.get("reasoning_tokens"), out.get("output_tokens")
    if reasoning is not None and any(
        r > o for r, o in zip(reasoning, output or [0] * len(records), strict=True)
    ):
        return None
    pick = _first_of_each(out["event_id"])
    n = len(records) if pick is None else len(pick)
    result: list[tuple[Any, ...]] = []
    for name in columns:
        column = out.get(name)
        if column is None:
            result.append((FLAT_DEFAULTS.get(name),) * n)
        elif pick is None:
            result.append(tuple(column))
        else:
            result.append(tuple(column[i] for i in pick))
    return result
