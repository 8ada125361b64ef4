"""Idempotent batch writes: events in, hourly rollups updated in the same transaction.

A batch is written with the driver's fast bulk path (``executemany`` on prepared
tuples for SQLite, ``COPY`` into a temporary staging table for PostgreSQL), then set-based
SQL does the rest in the database:

1. insert the events whose ``event_id`` is not recorded yet (``ON CONFLICT DO NOTHING``);
2. add exactly those events, grouped by hour (and by day) and dimension, to
   ``rollup_hourly`` and ``rollup_daily`` (``INSERT … SELECT … GROUP BY … ON CONFLICT
   DO UPDATE``), those with a ``unit_id`` to ``unit_rollup`` (per unit of work), and
   their shape signals to ``waste_rollup`` (`aifinops.ledger.waste_rollup`). On SQLite
   the events are grouped by hour once, into a temporary table, and the daily rollup
   adds those rows summed by day.

So replaying a file adds nothing anywhere, the aggregation runs in SQL rather than in
Python, and the events and their rollup deltas land together or not at all. On
PostgreSQL step 1 is ``INSERT … ON CONFLICT DO NOTHING RETURNING`` feeding step 2 in one
statement, exact even when writers race on the same ids; on SQLite the new rows are
those above the largest rowid, read once the batch holds the write lock (``BEGIN
IMMEDIATE``), so a gateway writing into the same file cannot slip rows in between.

Bulk imports go through `SpanWriter`: several batches share one transaction,
each inserted as it comes (step 1), and step 2 runs once over all of them before the
commit. The rollups are the four grouped upserts either way, just over more rows at
once: fewer, larger upserts and commits, which is where an import's time went (see
docs/benchmarks.md, "Import in spans"). Aggregating batches in Python instead (in the
import's worker processes) was measured and not taken: its upserts of the aggregated
rows cost as much as the SQL ones, and the aggregation's Python CPU is more than the SQL
grouping it would save.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from aifinops.ledger.lock_order import ROLLUP_KEY_WIDTH, key_order
from aifinops.ledger.schema import ROLLUP_DIMENSIONS, ROLLUP_MEASURES, usage_events
from aifinops.ledger.staged import StagedRows, attach_stage, detach_stage, insert_staged
from aifinops.ledger.waste_rollup import waste_upsert
from aifinops.usage import UsageEvent, flat_from_event

Cost = tuple[int | None, int | None, str | None]

EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in usage_events.columns)
_IDX = {name: i for i, name in enumerate(EVENT_COLUMNS)}
_JSON_COLUMNS = frozenset({"tags", "guardrails", "details"})
_GET_ALL = operator.itemgetter(*(c for c in EVENT_COLUMNS if c != "details"))
_TS = _IDX["ts"]
_JSON_IDX = tuple(_IDX[name] for name in sorted(_JSON_COLUMNS))
_STAGING = "aifinops_staging"

_TOKENS_SUM = (
    "input_tokens + cache_read_tokens + cache_write_5m_tokens"
    " + cache_write_1h_tokens + output_tokens"
)
#: How each rollup measure is computed from a set of events, in `ROLLUP_MEASURES` order.
MEASURE_SQL: dict[str, str] = {
    "calls": "count(*)",
    "errors": (
        "sum(CASE WHEN error_type IS NOT NULL OR coalesce(status, 0) >= 400 THEN 1 ELSE 0 END)"
    ),
    "unpriced_calls": "sum(CASE WHEN list_cost_nusd IS NULL THEN 1 ELSE 0 END)",
    "unpriced_tokens": f"sum(CASE WHEN list_cost_nusd IS NULL THEN {_TOKENS_SUM} ELSE 0 END)",
    "input_tokens": "sum(input_tokens)",
    "cache_read_tokens": "sum(cache_read_tokens)",
    "cache_write_5m_tokens": "sum(cache_write_5m_tokens)",
    "cache_write_1h_tokens": "sum(cache_write_1h_tokens)",
    "output_tokens": "sum(output_tokens)",
    "reasoning_tokens": "sum(reasoning_tokens)",
    "web_search_requests": "sum(web_search_requests)",
    "list_cost_nusd": "coalesce(sum(list_cost_nusd), 0)",
    "effective_cost_nusd": "coalesce(sum(effective_cost_nusd), 0)",
}
assert tuple(MEASURE_SQL) == ROLLUP_MEASURES


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int
    duplicates: int


def event_row(event: UsageEvent, cost: Cost | None = None) -> dict[str, Any]:
    """The ``usage_events`` row of an event (``cost`` overrides the event's own cost)."""
    row = flat_from_event(event)
    if cost is not None:
        set_cost(row, cost)
    row["unpriced"] = row["list_cost_nusd"] is None
    return row


def set_cost(row: dict[str, Any], cost: Cost) -> None:
    row["list_cost_nusd"], row["effective_cost_nusd"], row["price_version"] = cost
    row["unpriced"] = cost[0] is None


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime in SQLite (sortable)."""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _event_params(row: Mapping[str, Any], sqlite_dialect: bool) -> tuple[Any, ...]:
    values = [*_GET_ALL(row), None]  # details: not recorded by imports
    for j in _JSON_IDX:
        if values[j] is not None:
            values[j] = json.dumps(values[j])
    if sqlite_dialect:
        values[_TS] = sqlite_datetime(values[_TS])
    return tuple(values)


def rollup_select(
    source: str, hour_sql: str, day_sql: str, where: str = "true", *, ordered: bool = False
) -> str:
    """``SELECT hour, dims…, day, measures… FROM source GROUP BY hour, dims`` (SQL text);
    ``ordered``: in key order (`key_order`)."""
    dims = ", ".join(f"coalesce({d}, '')" for d in ROLLUP_DIMENSIONS)
    measures = ", ".join(MEASURE_SQL[m] for m in ROLLUP_MEASURES)
    return (
        f"SELECT {hour_sql}, {dims}, {day_sql}, {measures} FROM {source} WHERE {where} "
        f"GROUP BY {hour_sql}, {dims}, {day_sql}"
    ) + (key_order(ROLLUP_KEY_WIDTH) if ordered else "")


def daily_select(source: str, day_sql: str, where: str = "true", *, ordered: bool = False) -> str:
    """``SELECT day, dims…, measures… FROM source GROUP BY day, dims`` (SQL text);
    ``ordered``: in key order (`key_order`)."""
    dims = ", ".join(f"coalesce({d}, '')" for d in ROLLUP_DIMENSIONS)
    measures = ", ".join(MEASURE_SQL[m] for m in ROLLUP_MEASURES)
    return (
        f"SELECT {day_sql}, {dims}, {measures} FROM {source} WHERE {where} "
        f"GROUP BY {day_sql}, {dims}"
    ) + (key_order(ROLLUP_KEY_WIDTH) if ordered else "")


def rollup_upsert(select_sql: str, table: str = "rollup_hourly") -> str:
    """Add the rows of ``select_sql`` to the hourly (or daily) rollup."""
    key = "hour" if table == "rollup_hourly" else "day"
    columns = (
        (key, *ROLLUP_DIMENSIONS, "day", *ROLLUP_MEASURES)
        if key == "hour"
        else (
            key,
            *ROLLUP_DIMENSIONS,
            *ROLLUP_MEASURES,
        )
    )
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in ROLLUP_MEASURES)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) {select_sql} "
        f"ON CONFLICT ({key}, {', '.join(ROLLUP_DIMENSIONS)}) DO UPDATE SET {updates}"
    )


_UNIT_DIMS = ("feature", "team", "customer_id", "prompt_version")


def unit_upsert(source: str, day_sql: str, dialect: str) -> str:
    """Add the calls of ``source`` that carry a ``unit_id`` to ``unit_rollup``.

    A new unit counts the outcomes already recorded for it (an outcome may arrive before
    its calls); an existing unit keeps its attribution and count and adds the measures.
    """
    dims = ", ".join(f"coalesce(min({d}), '')" for d in _UNIT_DIMS)
    day = day_sql.replace("ts", "min(ts)", 1)
    return (
        "INSERT INTO unit_rollup (unit_id, feature, team, customer_id, prompt_version, "
        "first_day, first_ts, last_ts, calls, errors, list_cost_nusd, effective_cost_nusd, "
        f"outcomes) SELECT src.unit_id, {dims}, {day}, min(ts), max(ts), count(*), "
        f"{MEASURE_SQL['errors']}, {MEASURE_SQL['list_cost_nusd']}, "
        f"{MEASURE_SQL['effective_cost_nusd']}, "
        "(SELECT count(*) FROM outcomes o WHERE o.unit_id = src.unit_id) "
        f"FROM {source} src WHERE src.unit_id IS NOT NULL GROUP BY src.unit_id"
        f"{key_order(1) if dialect == 'postgresql' else ''} {unit_conflict_update(dialect)}"
    )


def unit_conflict_update(dialect: str) -> str:
    """The ``ON CONFLICT … DO UPDATE`` of a unit upsert: an existing unit keeps its
    attribution and outcome count and adds the measures."""
    least, greatest = ("LEAST", "GREATEST") if dialect == "postgresql" else ("min", "max")
    return (
        "ON CONFLICT (unit_id) DO UPDATE SET "
        f"first_day = {least}(unit_rollup.first_day, excluded.first_day), "
        f"first_ts = {least}(unit_rollup.first_ts, excluded.first_ts), "
        f"last_ts = {greatest}(unit_rollup.last_ts, excluded.last_ts), "
        "calls = unit_rollup.calls + excluded.calls, "
        "errors = unit_rollup.errors + excluded.errors, "
        "list_cost_nusd = unit_rollup.list_cost_nusd + excluded.list_cost_nusd, "
        "effective_cost_nusd = unit_rollup.effective_cost_nusd + excluded.effective_cost_nusd"
    )


def hour_sql(conn: Connection, column: str = "ts") -> tuple[str, str]:
    """SQL for the UTC hour and day of a timestamp column, per dialect."""
    if conn.dialect.name == "postgresql":
        return f"date_trunc('hour', {column})", f"CAST({column} AS DATE)"
    return (
        f"substr({column}, 1, 13) || ':00:00.000000'",
        f"substr({column}, 1, 10)",
    )


def _columns_sql() -> str:
    return ", ".join(EVENT_COLUMNS)


def narrow_params(params: list[tuple[Any, ...]]) -> tuple[tuple[int, ...], list[tuple[Any, ...]]]:
    """The columns that hold a value in at least one row of a batch, and the batch's
    rows cut to those columns: what the SQLite insert binds (binding is its cost).

    Pure: an import's worker process runs it, so the writer only binds the rows it gets
    (`SpanWriter.write` with ``columns``).
    """
    used = tuple(j for j in range(len(EVENT_COLUMNS)) if any(p[j] is not None for p in params))
    if not used:
        return used, []
    pick = operator.itemgetter(*used)
    if len(used) == 1:
        return used, [(pick(p),) for p in params]
    return used, [pick(p) for p in params]


def transpose_rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Flat rows field by field: one tuple of values per `EVENT_COLUMNS` column, the JSON
    columns serialised and ``details`` empty (imports do not record it), as
    `prepare_params` makes each row's parameters (``ts`` still a datetime)."""
    n = len(rows)
    values = list(zip(*map(_GET_ALL, rows), strict=True))
    values.append((None,) * n)  # details: not recorded by imports
    for j in _JSON_IDX:
        if values[j].count(None) != n:
            values[j] = tuple(None if v is None else json.dumps(v) for v in values[j])
    return values


def narrow_values(
    values: list[tuple[Any, ...]],
) -> tuple[tuple[int, ...], list[tuple[Any, ...]]]:
    """`narrow_params` of rows given field by field (`transpose_rows`, ``ts`` already as
    `sqlite_datetime` text): the columns used and the rows cut to them, by one
    transposition in C instead of a scan and a tuple per row in Python."""
    n = len(values[0])
    used = tuple(j for j, column in enumerate(values) if column.count(None) != n)
    return used, list(zip(*(values[j] for j in used), strict=True))


def _max_rowid(cursor: Any) -> int:
    """The largest rowid of the events, read inside a write transaction (begun here with
    ``BEGIN IMMEDIATE`` when none is open): no other writer (a gateway recording into
    the same file) can add rows between this read and the inserts after it."""
    if not cursor.connection.in_transaction:
        cursor.execute("BEGIN IMMEDIATE")
    cursor.execute("SELECT coalesce(max(rowid), 0) FROM usage_events")
    return int(cursor.fetchone()[0])


def _insert_sqlite(
    cursor: Any, params: list[tuple[Any, ...]], columns: Sequence[int] | None = None
) -> int:
    """Insert the events not recorded yet; returns how many were new.

    ``params`` are whole rows (`prepare_params`), or rows of only ``columns`` (see
    `narrow_params`). Run inside the write transaction (`_max_rowid` begins it). A row
    skipped by ``ON CONFLICT DO NOTHING`` changes nothing, so the cursor's row count
    (summed over the rows by ``executemany``) is the number of new events.
    """
    if columns is None:
        columns, params = narrow_params(params)
    names = ", ".join(EVENT_COLUMNS[j] for j in columns)
    cursor.executemany(
        f"INSERT INTO usage_events ({names}) VALUES ({', '.join('?' for _ in columns)}) "
        "ON CONFLICT (event_id) DO NOTHING",
        params,
    )
    return int(cursor.rowcount)


_HOUR_DELTA = "aifinops_hour_delta"
_HOUR_DELTA_COLUMNS = ("hour", *ROLLUP_DIMENSIONS, "day", *ROLLUP_MEASURES)


@functools.cache
def _sqlite_rollups(hour: str, day: str, in_columns: bool = False) -> tuple[str, ...]:
    """The rollup statements of the events above rowid ``:before`` (only the unit
    rollup's when ``in_columns``: an import computes the others in columns, see
    `aifinops.ledger.rollup_inputs`; the unit rollup in columns was measured and not
    taken: 0.3 µs an event less for 60 MiB more memory).

    The events are grouped by hour once, into a temporary table; the hourly rollup adds
    its rows, the daily one their sums by day (every measure is a sum, so summing the
    hourly deltas is exact), the unit and waste rollups read the events. Grouping once
    instead of twice cut the write of a 1,000,000-event import from 23.8 to 21.2 s of CPU
    and a gateway batch's from ≈ 15.0 to 14.2 µs an event (docs/benchmarks.md, "The daily
    rollup from the hourly deltas").

    The same strings every batch, so sqlite3's statement cache compiles them once per
    connection (with the rowid in the text, each batch compiled them anew: that was
    most of a small batch's time, e.g. a 20-event batch took 1.8 ms of CPU, now 0.8).
    """
    new_rows = "(SELECT * FROM usage_events WHERE rowid > :before)"
    delta = f"temp.{_HOUR_DELTA}"
    columns = ", ".join(_HOUR_DELTA_COLUMNS)
    dims = ", ".join(ROLLUP_DIMENSIONS)
    sums = ", ".join(f"sum({m})" for m in ROLLUP_MEASURES)
    if in_columns:
        return (unit_upsert(new_rows, day, "sqlite"),)
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {_HOUR_DELTA} ({columns})",
        f"DELETE FROM {delta}",
        f"INSERT INTO {delta} ({columns}) {rollup_select(new_rows, hour, day)}",
        rollup_upsert(f"SELECT {columns} FROM {delta} WHERE true"),
        rollup_upsert(
            f"SELECT day, {dims}, {sums} FROM {delta} WHERE true GROUP BY day, {dims}",
            "rollup_daily",
        ),
        unit_upsert(new_rows, day, "sqlite"),
        waste_upsert(new_rows, hour, day, "sqlite"),
        f"DELETE FROM {delta}",
    )


def _roll_up_sqlite(conn: Connection, cursor: Any, before: int, in_columns: bool = False) -> None:
    """Add the events above rowid ``before`` to the rollups (to the unit rollup only
    when ``in_columns``)."""
    hour, day = hour_sql(conn)
    params = {"before": int(before)}
    for statement in _sqlite_rollups(hour, day, in_columns):
        cursor.execute(statement, params if ":before" in statement else ())


def _write_sqlite(conn: Connection, params: list[tuple[Any, ...]]) -> int:
    """Insert straight into the ledger, then roll up the rows this batch added."""
    cursor = _cursor(conn)
    before = _max_rowid(cursor)
    inserted = _insert_sqlite(cursor, params)
    if inserted:
        _roll_up_sqlite(conn, cursor, before)
    cursor.close()
    return inserted


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def staging_table(cursor: Any) -> str:
    """Create the PostgreSQL staging table of a batch (once per connection; emptied at
    commit); returns its name."""
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} "
        "(LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    return _STAGING


def copy_rows(cursor: Any, params: list[tuple[Any, ...]]) -> str:
    """``COPY`` whole rows (`prepare_params`) into the staging table (see
    `staging_table`, created first); returns its name."""
    with cursor.copy(f"COPY {_STAGING} ({_columns_sql()}) FROM STDIN") as copy:
        for values in params:
            copy.write_row(values)
    return _STAGING


def _after(step: str) -> str:
    """The batch's new events, read only once the CTE ``step`` has run to its end.

    PostgreSQL runs a statement's data-modifying CTEs in an order of its own (the last
    one written first, as it happens), while an import's span upserts the rollups one
    statement after the other: hourly, daily, unit, waste. Two writers taking the same
    rollup rows in opposite orders deadlock, so each upsert here waits for the one
    before it, and every writer locks the rollup tables in that one order."""
    return f"(SELECT * FROM new WHERE (SELECT count(*) FROM {step}) >= 0)"


def _write_postgres(conn: Connection, params: list[tuple[Any, ...]]) -> int:
    cursor = _cursor(conn)
    staging_table(cursor)
    copy_rows(cursor, params)
    hour, day = hour_sql(conn)
    hourly = rollup_upsert(rollup_select("new", hour, day, ordered=True))
    daily = rollup_upsert(
        daily_select(f"{_after('rolled')} AS d", day, ordered=True), "rollup_daily"
    )
    waste = waste_upsert(f"{_after('units')} AS w", hour, day, "postgresql")
    cursor.execute(
        f"WITH new AS (INSERT INTO usage_events ({_columns_sql()}) "
        f"SELECT {_columns_sql()} FROM {_STAGING} "
        "ON CONFLICT (event_id) DO NOTHING RETURNING *), "
        f"rolled AS ({hourly} RETURNING 1), "
        f"daily AS ({daily} RETURNING 1), "
        f"units AS ({unit_upsert(_after('daily'), day, 'postgresql')} RETURNING 1), "
        f"waste AS ({waste} RETURNING 1) "
        "SELECT (SELECT count(*) FROM new)"
    )
    row = cursor.fetchone()
    cursor.close()
    return int(row[0]) if row else 0


def prepare_params(rows: Sequence[Mapping[str, Any]], dialect: str) -> list[tuple[Any, ...]]:
    """The insert parameters of flat event rows (first row of each event_id) for a dialect.

    Pure: it can run in another process than the one that writes.
    """
    by_id: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        by_id.setdefault(row["event_id"], row)
    sqlite_dialect = dialect != "postgresql"
    return [_event_params(row, sqlite_dialect) for row in by_id.values()]


def write_params(conn: Connection, params: list[tuple[Any, ...]]) -> int:
    """Write prepared parameters (see `prepare_params`); returns how many were new."""
    if not params:
        return 0
    if conn.dialect.name == "postgresql":
        return _write_postgres(conn, params)
    return _write_sqlite(conn, params)


class SpanWriter:
    """Writes several batches in the caller's one transaction (bulk imports).

    On SQLite each batch's events are inserted as it comes and the rollups of all of
    them run once, in `finish`, over the rows the span added: one grouped upsert per
    rollup for the whole span instead of one per batch, and one commit. On PostgreSQL
    the span's new events are also kept in a temporary table, which `finish` rolls up
    (`aifinops.ledger.postgres_span`). Until `finish` the span's events are in the
    transaction but not in the rollups, so the caller commits only after it; `roll_up`
    rolls up what the span has written so far without ending it.

    A batch may come with its rollup inputs (`aifinops.ledger.rollup_inputs`): when
    every batch of the span has them, `finish` computes the hourly, daily and waste
    rollups from them in columns instead of in SQL (the same rows, several times
    cheaper), counting only the events each batch really inserted.

    While a span is open its connection keeps temporary data (the statement journals of
    upserts that touch many pages of a big rollup, the sorters of the grouping) in
    temporary files rather than memory (``PRAGMA temp_store``, restored by `close`,
    which the caller calls after its commit or rollback): in memory they grew with the
    ledger (+100 MiB peak at 1,000,000 events); on disk memory stays flat and the import
    is no slower. The database file and its durability are untouched. SQLite can only
    switch this outside a transaction, so a span begun after other writes of the same
    transaction keeps the connection's setting.

    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        self._cursor: Any = None
        self._before = 0
        self._top = 0
        self._pending = 0
        self._temp_store: int | None = None
        self._inputs: list[Any] | None = []
        self._staging = False

    def write(
        self,
        params: list[tuple[Any, ...]] | StagedRows,
        columns: Sequence[int] | None = None,
        inputs: Any = None,
    ) -> int:
        """Insert one batch (see `prepare_params`; on SQLite, rows of only ``columns``
        as `narrow_params` makes them, or those rows as a database image
        (`aifinops.ledger.staged`), and optionally the batch's rollup inputs, a
        `aifinops.ledger.rollup_inputs.INPUT_SCHEMA` record batch aligned with the
        rows); returns how many were new."""
        if not params:
            return 0
        if self._postgres:
            if columns is not None or inputs is not None or isinstance(params, StagedRows):
                raise ValueError("narrowed rows are for SQLite; PostgreSQL takes whole rows")
            return self._write_postgres(params)
        if self._cursor is None:
            self._cursor = cursor = _cursor(self.conn)
            self._temp_store = _use_temp_files(cursor)
            self._before = self._top = _max_rowid(cursor)
        if isinstance(params, StagedRows):
            if not self._staging:
                attach_stage(self._cursor)
                self._staging = True
            inserted = insert_staged(self._cursor, params)
        else:
            inserted = _insert_sqlite(self._cursor, params, columns)
        self._pending += inserted
        if self._inputs is not None:
            self._keep_inputs(inputs, inserted, len(params))
        return inserted

    def _write_postgres(self, params: list[tuple[Any, ...]]) -> int:
        from aifinops.ledger import postgres_span  # noqa: PLC0415 (imports this module)

        if self._cursor is None:
            self._cursor = _cursor(self.conn)
            postgres_span.begin_span(self._cursor)
        inserted = postgres_span.insert_batch(self._cursor, params)
        self._pending += inserted
        return inserted

    def _keep_inputs(self, inputs: Any, inserted: int, rows: int) -> None:
        if inputs is None:
            self._inputs = None  # a batch without inputs: the SQL rollups do the span
            return
        if inserted == rows:
            self._inputs.append(inputs)  # type: ignore[union-attr]
        elif inserted:
            from aifinops.ledger.rollup_inputs import only_events  # noqa: PLC0415 (pyarrow: imports only)

            self._cursor.execute("SELECT event_id FROM usage_events WHERE rowid > ?", (self._top,))
            new = [r[0] for r in self._cursor.fetchall()]
            self._inputs.append(only_events(inputs, new))  # type: ignore[union-attr]
        if inserted:
            self._top = _max_rowid(self._cursor)

    def roll_up(self) -> None:
        """Add the events written since the last roll-up to the rollups, in the open
        transaction; the span stays open. An importer calls it while it would otherwise
        wait for its next batch: the rollups are additive, so rolling a span up in parts
        gives the same rows as rolling it up at once (one statement per part instead of
        one per span, each row counted once)."""
        if self._cursor is None or not self._pending:
            return
        if self._postgres:
            from aifinops.ledger.postgres_span import roll_up_span  # noqa: PLC0415

            roll_up_span(self._cursor)
        else:
            inputs = self._inputs
            _roll_up_sqlite(self.conn, self._cursor, self._before, in_columns=bool(inputs))
            if inputs:
                _roll_up_columns(self._cursor, inputs)
            self._before = self._top = _max_rowid(self._cursor)
        self._pending = 0
        self._inputs = []

    def finish(self) -> None:
        """Roll up what the span wrote since the last roll-up; call before the commit."""
        if self._cursor is None:
            return
        self.roll_up()
        self._cursor.close()
        self._cursor = None

    def close(self) -> None:
        """Restore the connection's ``temp_store`` and detach the schema database images
        were loaded into; call after the commit or rollback."""
        if self._temp_store is not None or self._staging:
            cursor = _cursor(self.conn)
            if self._temp_store is not None:
                cursor.execute(f"PRAGMA temp_store = {self._temp_store}")
            if self._staging:
                detach_stage(cursor)
            cursor.close()
            self._temp_store = None
            self._staging = False


def _roll_up_columns(cursor: Any, inputs: list[Any]) -> None:
    """Add a span's events, as rollup inputs, to the hourly, daily and waste rollups."""
    from aifinops.ledger import hourly_columns as hourly  # noqa: PLC0415 (pyarrow: imports only)
    from aifinops.ledger import rollup_inputs, waste_columns  # noqa: PLC0415

    table = rollup_inputs.span_table(inputs)
    hourly_rows, daily_rows = hourly.hourly_rows(table)
    cursor.executemany(hourly.HOURLY_VALUES_UPSERT, hourly_rows)
    cursor.executemany(hourly.DAILY_VALUES_UPSERT, daily_rows)
    cursor.executemany(waste_columns.WASTE_VALUES_UPSERT, waste_columns.waste_rows(table))


def _use_temp_files(cursor: Any) -> int | None:
    """Keep temporary data in files, unless a transaction is open (SQLite cannot switch
    then); returns the setting to restore, or None when unchanged."""
    if cursor.connection.in_transaction:
        return None
    cursor.execute("PRAGMA temp_store")
    previous = int(cursor.fetchone()[0])
    cursor.execute("PRAGMA temp_store = FILE")
    return previous


def write_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> WriteResult:
    """Insert flat event rows (`aifinops.usage.FLAT_DEFAULTS` keys, priced); skip those
    already recorded; roll up only the new ones. Run inside a transaction.
    """
    inserted = write_params(conn, prepare_params(rows, conn.dialect.name))
    return WriteResult(inserted=inserted, duplicates=len(rows) - inserted)


def write_events(
    conn: Connection, events: Sequence[UsageEvent], costs: Sequence[Cost] | None = None
) -> WriteResult:
    """Insert events (priced by ``costs`` when given); see `write_rows`."""
    return write_rows(
        conn, [event_row(e, costs[i] if costs is not None else None) for i, e in enumerate(events)]
    )
