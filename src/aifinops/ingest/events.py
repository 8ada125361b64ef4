"""Importing event files into the ledger: parse, validate, price, write in batches.

Memory stays flat: rows stream from the file in batches of `BATCH_ROWS`. Each batch is
*prepared* — parsed, validated into flat canonical rows, priced in one `price_many`
call and turned into insert parameters — then *written* (idempotent on ``event_id``,
so a replayed file adds nothing). The batches of up to `SPAN_ROWS` events share one
transaction whose rollups are updated once, before its commit
(`aifinops.ledger.writer.SpanWriter`).

Preparing is pure and CPU-bound, so for JSONL files it runs in worker processes while
the main process writes the previous batch (`workers` > 0); batches are written in file
order, and at most `IN_FLIGHT` are in flight, so memory stays bounded.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any

from sqlalchemy.engine import Connection, Engine

from aifinops.gc_policy import bulk_gc, start_bulk_worker
from aifinops.ingest.canonical_columns import canonical_values
from aifinops.ingest.files import Rejection, Row, block_lines, parse_block, parse_json_line
from aifinops.ingest.raw import converter_for
from aifinops.ledger.column_batch import narrowed_with_inputs
from aifinops.ledger.staged import StagedRows, can_stage, stage_rows
from aifinops.ledger.writer import (
    EVENT_COLUMNS,
    SpanWriter,
    prepare_params,
    set_cost,
    transpose_rows,
)
from aifinops.pricing import PricingEngine, RateBook
from aifinops.pricing.bulk import PricedColumns, price_many
from aifinops.pricing.columns import flat_to_columns, values_to_columns
from aifinops.usage import RecordError, flat_from_record

BATCH_ROWS = 5_000
#: Events per transaction: batches are inserted as they come and rolled up
#: together before the commit (`SpanWriter`); a crash loses at most this many, which a
#: re-import restores (it is idempotent). Larger spans coalesce more events into each
#: rollup row before its upsert and commit (checkpoint) less often: 50,000 → 250,000
#: took the writer's CPU from 34.6 to 27.5 µs an event at 1,000,000 events, in a file
#: whose events are spread over the whole month (docs/benchmarks.md, "Import in larger
#: spans"); on PostgreSQL, a span instead of a transaction per batch took an import of
#: the same file from 9.9 to 13.9 k events/s ("PostgreSQL imports in spans"). The WAL
#: holds a span's pages until its commit.
SPAN_ROWS = 250_000
#: Batches handed to the workers ahead of the writer, so they keep preparing while the
#: writer rolls up and commits a span (with too few they sit idle then and the writer
#: waits for them after). A worker hands its batch back pickled (`prepare_block_packed`)
#: and the writer unpickles it only when its turn comes: a waiting batch is ≈ 0.8 MiB
#: of bytes instead of several MiB of tuples, so 40 wait in about the memory 20 took
#: (1,000,000 events, alternated pairs: 30.8 / 31.7 k → 33.5 / 33.6 k events/s, peak RSS
#: 332 → 342 MiB; docs/benchmarks.md). The bound keeps memory flat.
IN_FLIGHT = 40
#: Events of an open span the writer rolls up before its commit when its next batch is
#: not ready yet (`SpanWriter.roll_up`): at the start of an import the worker has no
#: lead and the writer, which only inserts until a span's end, would wait for each
#: batch; it spends that time on the span's rollups instead of at the span's end.
IDLE_ROLLUP_ROWS = 50_000

#: Turns one input row into validated flat canonical fields (raises `RecordError`).
Converter = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(slots=True)
class ImportSummary:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    unpriced: int = 0


@dataclass(slots=True)
class PreparedBatch:
    """A batch ready to write: insert parameters plus what was rejected.

    On SQLite ``params`` hold only the batch's ``columns`` (`narrow_params`), so the
    writer binds them as they are; on PostgreSQL they are whole rows (``columns`` None).
    """

    rows: int
    valid: int
    unpriced: int
    params: list[tuple[Any, ...]] | StagedRows = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    columns: tuple[int, ...] | None = None
    #: SQLite: the events' rollup inputs (`aifinops.ledger.rollup_inputs`).
    inputs: Any = None


def convert_rows(rows: Iterable[Row], convert: Converter) -> Iterator[dict[str, Any] | Rejection]:
    for row in rows:
        if row.data is None:
            yield Rejection(row.line, None, row.error or "unreadable row")
            continue
        try:
            yield convert(row.data)
        except RecordError as exc:
            yield Rejection(row.line, exc.field, exc.reason)


def price_rows(pricing: PricingEngine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Set list and effective cost, price version and the unpriced flag on each row;
    returns the rows' pricing columns (`flat_to_columns`)."""
    columns = flat_to_columns(rows)
    priced = price_many(pricing, columns)
    lists = priced.list_cost_nusd.tolist()
    effective = priced.effective_cost_nusd.tolist()
    unpriced = priced.unpriced.tolist()
    codes = priced.price_version.codes.tolist()
    versions = priced.price_version.categories
    for i, row in enumerate(rows):
        if unpriced[i]:
            set_cost(row, (None, None, None))
        else:
            set_cost(row, (lists[i], effective[i], versions[codes[i]]))
    return columns


def prepare(
    rows: list[Row], convert: Converter, pricing: PricingEngine, dialect: str
) -> PreparedBatch:
    """Validate, price and turn one batch into insert parameters (pure, no I/O)."""
    if dialect != "postgresql" and convert is flat_from_record:
        plain = _plain_values(rows)
        if plain is not None:  # every record plain: validated field by field
            return _prepared_values(len(rows), len(rows), plain, [], pricing)
    return _prepare_records(rows, convert, pricing, dialect)


def _prepare_records(
    rows: list[Row], convert: Converter, pricing: PricingEngine, dialect: str
) -> PreparedBatch:
    """`prepare` record by record: each bad row becomes a rejection naming its line."""
    good: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    for result in convert_rows(rows, convert):
        if isinstance(result, Rejection):
            rejections.append(result)
        else:
            good.append(result)
    distinct = _first_of_each_event(good)
    if not distinct:
        return PreparedBatch(rows=len(rows), valid=0, unpriced=0, rejections=rejections)
    if dialect == "postgresql":
        price_rows(pricing, distinct)
        return PreparedBatch(
            rows=len(rows),
            valid=len(good),
            unpriced=sum(1 for r in distinct if r["unpriced"]),
            params=prepare_params(distinct, dialect),
            rejections=rejections,
        )
    return _prepared_values(len(rows), len(good), transpose_rows(distinct), rejections, pricing)


def _plain_values(rows: list[Row]) -> list[tuple[Any, ...]] | None:
    """`canonical_values` of the rows' records, when every row is a plain record."""
    records = [row.data for row in rows if row.data is not None]
    if len(records) != len(rows):
        return None
    return canonical_values(records, EVENT_COLUMNS)


def _prepared_values(
    rows: int,
    valid: int,
    values: list[tuple[Any, ...]],
    rejections: list[Rejection],
    pricing: PricingEngine,
) -> PreparedBatch:
    """The SQLite batch of the distinct events' values, field by field (`transpose_rows`)."""
    fields = dict(zip(EVENT_COLUMNS, values, strict=True))
    columns = values_to_columns(fields)
    unpriced = _set_costs(values, price_many(pricing, columns))
    used, params, inputs = narrowed_with_inputs(values, columns)
    return PreparedBatch(
        rows=rows,
        valid=valid,
        unpriced=unpriced,
        params=params,
        rejections=rejections,
        columns=used,
        inputs=inputs,
    )


_COST = tuple(
    EVENT_COLUMNS.index(c)
    for c in ("list_cost_nusd", "effective_cost_nusd", "price_version", "unpriced")
)


def _set_costs(values: list[tuple[Any, ...]], priced: PricedColumns) -> int:
    """Put the prices into the events' values (`transpose_rows`), as `set_cost` does
    row by row; returns how many events are unpriced."""
    unpriced = priced.unpriced.tolist()
    lists = priced.list_cost_nusd.tolist()
    effective = priced.effective_cost_nusd.tolist()
    versions = [*priced.price_version.categories, None]  # code -1: None
    version = [versions[c] for c in priced.price_version.codes.tolist()]
    count = int(sum(unpriced))
    if count:
        lists = [None if u else v for v, u in zip(lists, unpriced, strict=True)]
        effective = [None if u else v for v, u in zip(effective, unpriced, strict=True)]
        version = [None if u else v for v, u in zip(version, unpriced, strict=True)]
    for j, column in zip(_COST, (lists, effective, version, unpriced), strict=True):
        values[j] = tuple(column)
    return count


def _first_of_each_event(good: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a batch's distinct event ids, the first row of each, as
    `prepare_params` keeps."""
    first: dict[str, dict[str, Any]] = {}
    for row in good:
        first.setdefault(row["event_id"], row)
    return good if len(first) == len(good) else list(first.values())


@lru_cache(maxsize=4)
def _worker_pricing(rates: RateBook) -> PricingEngine:
    """One pricing engine per worker process and rate book (its plans are cached)."""
    return PricingEngine(rates=rates)


def prepare_lines(
    lines: list[tuple[int, bytes]], file_format: str, rates: RateBook, dialect: str
) -> PreparedBatch:
    """`prepare` for raw JSONL lines; runs in a worker process."""
    rows = [parse_json_line(number, text) for number, text in lines]
    return prepare(rows, converter_for(file_format), _worker_pricing(rates), dialect)


def _prepare_block(
    first: int, data: bytes, file_format: str, rates: RateBook, dialect: str
) -> PreparedBatch:
    """`prepare_lines` for a block of lines. A block of one JSON object a line is parsed
    in one call (`parse_block`; it has no blank line, so its records' line numbers
    follow from ``first``); plain canonical records bound for SQLite are then validated
    field by field, without a `Row` per line, and any others record by record."""
    records = parse_block(data)
    if records is None:
        return prepare_lines(block_lines(first, data), file_format, rates, dialect)
    convert, pricing = converter_for(file_format), _worker_pricing(rates)
    if dialect != "postgresql" and convert is flat_from_record:
        plain = canonical_values(records, EVENT_COLUMNS)
        if plain is not None:
            return _prepared_values(len(records), len(records), plain, [], pricing)
    rows = [Row(first + i, record) for i, record in enumerate(records)]
    return _prepare_records(rows, convert, pricing, dialect)


def prepare_block_packed(
    first: int, data: bytes, file_format: str, rates: RateBook, dialect: str
) -> bytes:
    """`prepare_lines` for a block of lines (`aifinops.ingest.files.line_blocks`),
    pickled in the worker: the batch waits for the writer as bytes. On SQLite its rows
    travel as a database image (`aifinops.ledger.staged`), which the writer inserts
    without making a Python object per value."""
    batch = _prepare_block(first, data, file_format, rates, dialect)
    rows = batch.params
    if batch.columns is not None and isinstance(rows, list) and rows and can_stage():
        batch.params = stage_rows(batch.columns, rows)
    return pickle.dumps(batch, protocol=5)


def _unpack(packed: bytes) -> PreparedBatch:
    batch = pickle.loads(packed)  # made by this import's own worker processes
    assert isinstance(batch, PreparedBatch)
    return batch


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def validate(
    rows: Iterable[Row], convert: Converter, on_reject: Callable[[Rejection], None]
) -> int:
    """Check every row without writing; returns the number rejected."""
    bad = 0
    for result in convert_rows(rows, convert):
        if isinstance(result, Rejection):
            bad += 1
            on_reject(result)
    return bad


class _Writer:
    """Writes prepared batches in order and keeps the running summary.

    Batches go into one transaction until `SPAN_ROWS` events, whose rollups are then
    updated together and committed.
    Use as a context manager: leaving it commits the open span, or rolls it back when
    an exception is raised.
    """

    def __init__(
        self,
        db: Engine,
        on_reject: Callable[[Rejection], None],
        on_batch: Callable[[ImportSummary], None] | None,
        span_rows: int = SPAN_ROWS,
    ) -> None:
        self.db = db
        self.on_reject = on_reject
        self.on_batch = on_batch
        self.span_rows = span_rows
        self.summary = ImportSummary()
        self._conn: Connection | None = None
        self._span: SpanWriter | None = None
        self._span_size = 0
        self._unrolled = 0

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.commit()
        elif self._conn is not None and self._span is not None:
            conn, span = self._conn, self._span
            self._conn = self._span = None
            try:
                conn.rollback()
                span.close()
            finally:
                conn.close()

    def write(self, batch: PreparedBatch) -> None:
        summary = self.summary
        for rejection in batch.rejections:
            self.on_reject(rejection)
        summary.rows += batch.rows
        summary.rejected += len(batch.rejections)
        if batch.params:
            span = self._open()
            inserted = span.write(batch.params, batch.columns, batch.inputs)
            self._span_size += len(batch.params)
            self._unrolled += len(batch.params)
            summary.imported += inserted
            summary.duplicates += batch.valid - inserted
            summary.unpriced += batch.unpriced
            if self._span_size >= self.span_rows:
                self.commit()
        if self.on_batch is not None:
            self.on_batch(summary)

    def _open(self) -> SpanWriter:
        if self._span is None:
            self._conn = self.db.connect()
            self._conn.begin()
            self._span = SpanWriter(self._conn)
        return self._span

    def use_idle_time(self) -> None:
        """Roll up the open span's events so far, when there are `IDLE_ROLLUP_ROWS`:
        called while the next batch is not ready."""
        if self._span is not None and self._unrolled >= IDLE_ROLLUP_ROWS:
            self._span.roll_up()
            self._unrolled = 0

    def commit(self) -> None:
        """Roll up and commit the open span, if any."""
        if self._conn is None or self._span is None:
            return
        conn, span = self._conn, self._span
        self._conn = self._span = None
        self._span_size = self._unrolled = 0
        try:
            span.finish()
            conn.commit()
            span.close()
        finally:
            conn.close()


def import_events(
    db: Engine,
    pricing: PricingEngine,
    rows: Iterable[Row],
    convert: Converter,
    *,
    on_reject: Callable[[Rejection], None],
    on_batch: Callable[[ImportSummary], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    span_rows: int = SPAN_ROWS,
) -> ImportSummary:
    """Import ``rows`` in this process; bad rows go to ``on_reject``, the others are imported."""
    with bulk_gc(), _Writer(db, on_reject, on_batch, span_rows) as writer:
        for batch in _batches(rows, batch_rows):
            writer.write(prepare(batch, convert, pricing, db.dialect.name))
    return writer.summary


def import_json_blocks(
    db: Engine | Callable[[], Engine],
    blocks: Iterable[tuple[int, bytes]],
    file_format: str,
    rates: RateBook,
    *,
    workers: int,
    on_reject: Callable[[Rejection], None],
    on_batch: Callable[[ImportSummary], None] | None = None,
    span_rows: int = SPAN_ROWS,
    dialect: str | None = None,
) -> ImportSummary:
    """Import JSONL in blocks of whole lines (`aifinops.ingest.files.line_blocks`, each
    a batch), preparing them in ``workers`` processes.

    The blocks go to the workers as they are read, and the workers split them into
    lines: this process never makes a Python object per line (reading line by line
    here cost it ≈ 1.3-1.9 µs an event, of the ≈ 46 it spends, at 1,000,000 events).

    ``db`` may be a function that opens the ledger (creating or migrating it), with the
    ledger's ``dialect`` given: it is called once the first blocks are with
    the workers, so a fresh ledger's migration overlaps their start (loading the price
    data, preparing the first batches) instead of coming before it.
    """
    if callable(db) and dialect is None:
        raise ValueError("dialect: give the ledger's dialect when db is a function")
    dialect = dialect or db.dialect.name  # type: ignore[union-attr]
    pending: deque[Future[bytes]] = deque()
    source = iter(blocks)
    with bulk_gc(), ProcessPoolExecutor(workers, initializer=start_bulk_worker) as pool:
        try:
            for first, data in islice(source, IN_FLIGHT - 1):
                pending.append(_submit(pool, first, data, file_format, rates, dialect))
            engine = db() if callable(db) else db
            with _Writer(engine, on_reject, on_batch, span_rows) as writer:
                for first, data in source:
                    pending.append(_submit(pool, first, data, file_format, rates, dialect))
                    writer.write(_next_batch(pending.popleft(), writer))
                while pending:
                    writer.write(_next_batch(pending.popleft(), writer))
        except BaseException:
            pool.shutdown(cancel_futures=True)  # not the batches nobody will write
            raise
    return writer.summary


def _submit(
    pool: ProcessPoolExecutor,
    first: int,
    data: bytes,
    file_format: str,
    rates: RateBook,
    dialect: str,
) -> Future[bytes]:
    return pool.submit(prepare_block_packed, first, data, file_format, rates, dialect)


def _next_batch(future: Future[bytes], writer: _Writer) -> PreparedBatch:
    """The batch ``future`` brings; while it is not ready the writer rolls up."""
    if not future.done():
        writer.use_idle_time()
    return _unpack(future.result())
