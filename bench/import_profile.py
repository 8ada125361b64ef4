"""Where an import's writer spends its time, statement by statement, on SQLite.

    .venv/bin/python bench/import_profile.py [--events 200000] [--span 50000] [--span 5000]

Prepares every batch of a generated file first (parse, validate, price and stage as a
database image: the workers' part, timed in this one process), then writes them the
importer's way, one `SpanWriter` transaction per --span events (5000, the batch size, is
one transaction per batch as before spans), into a fresh ledger, timing the insert,
each rollup upsert and the commit. Wall and CPU time of the whole write are printed; a
busy machine moves the wall time (the load average is printed beside it).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _ledger_fill import ROOT, import_source
from aifinops.ingest.events import BATCH_ROWS, PreparedBatch, _batches, prepare_lines
from aifinops.ingest.files import numbered_lines
from aifinops.ledger import writer
from aifinops.ledger.db import open_ledger
from aifinops.pricing import RateBook

try:
    from aifinops.ledger.staged import can_stage, stage_rows
except ImportError:  # a tree from before database images
    stage_rows = None  # type: ignore[assignment]

#: The writer's statements by the table they write (`writer._sqlite_rollups`).
ROLLUPS = {
    "INSERT INTO usage_events": "insert (from image)",
    "INSERT INTO temp.": "hour deltas",
    "INSERT INTO rollup_hourly": "hourly",
    "INSERT INTO rollup_daily": "daily",
    "INSERT INTO unit_rollup": "unit",
    "INSERT INTO waste_rollup": "waste",
}


#: Statements run with ``executemany``: the inserts, and the rollups computed in columns
#: (`aifinops.ledger.rollup_inputs`; their rows are made as the statement consumes them).
MANY = {
    "INSERT INTO usage_events": "insert (executemany)",
    "INSERT INTO rollup_hourly": "hourly (columns)",
    "INSERT INTO rollup_daily": "daily (columns)",
    "INSERT INTO waste_rollup": "waste (columns)",
}


class _TimedCursor:
    """A DB-API cursor that adds each statement's time to ``times``."""

    def __init__(self, cursor: Any, times: dict[str, float]) -> None:
        self.cursor = cursor
        self.connection = cursor.connection
        self.times = times

    def execute(self, sql: str, *args: Any) -> Any:
        t = time.perf_counter()
        result = self.cursor.execute(sql, *args)
        name = next((v for k, v in ROLLUPS.items() if sql.startswith(k)), "other statements")
        self.times[name] += time.perf_counter() - t
        return result

    def executemany(self, sql: str, params: Any) -> Any:
        t = time.perf_counter()
        result = self.cursor.executemany(sql, params)
        name = next((v for k, v in MANY.items() if sql.startswith(k)), "other statements")
        self.times[name] += time.perf_counter() - t
        return result

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    @property
    def rowcount(self) -> int:
        return int(self.cursor.rowcount)

    def close(self) -> None:
        self.cursor.close()


def profile(batches: list[PreparedBatch], db: Path, span: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = open_ledger(f"sqlite:///{db}")
    times: dict[str, float] = defaultdict(float)
    plain = writer._cursor
    writer._cursor = lambda conn: _TimedCursor(plain(conn), times)  # type: ignore[assignment]
    load = Path("/proc/loadavg").read_text().split()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    per_span = max(span // BATCH_ROWS, 1)
    try:
        for first in range(0, len(batches), per_span):
            with engine.connect() as conn:
                conn.begin()
                spans = writer.SpanWriter(conn)
                for batch in batches[first : first + per_span]:
                    t = time.perf_counter()
                    inputs = getattr(batch, "inputs", None)  # None: a tree before columns
                    spans.write(batch.params, batch.columns, *([inputs] if inputs else []))
                    times["write() in Python"] += time.perf_counter() - t
                t = time.perf_counter()
                inside = sum(times.values())
                spans.finish()
                times["finish() grouping"] += (
                    time.perf_counter() - t - (sum(times.values()) - inside)
                )
                t = time.perf_counter()
                conn.commit()
                times["commit"] += time.perf_counter() - t
                spans.close()
    finally:
        writer._cursor = plain  # type: ignore[method-assign]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    inserts = times["insert (executemany)"] + times["insert (from image)"]
    times["write() in Python"] -= inserts + times["other statements"]
    parts = ", ".join(f"{k} {v:.2f}" for k, v in times.items())
    print(f"span {span:,}: write {wall:.2f} s wall, {cpu:.2f} s CPU (load {load}); {parts}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--span", type=int, action="append")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "import_ab")
    args = parser.parse_args()
    source = import_source(args.workdir, args.events)
    t = time.perf_counter()
    with source.open("rb") as binary:
        batches = [
            prepare_lines(lines, "canonical", RateBook(), "sqlite")
            for lines in _batches(numbered_lines(binary), BATCH_ROWS)
        ]
    print(f"prepare (parse, validate, price) in one process: {time.perf_counter() - t:.2f} s")
    if stage_rows is not None and can_stage():  # as the workers hand batches over
        t = time.perf_counter()
        for batch in batches:
            if batch.columns is not None and isinstance(batch.params, list) and batch.params:
                batch.params = stage_rows(batch.columns, batch.params)
        print(f"staging as database images: {time.perf_counter() - t:.2f} s")
    for span in args.span or [50_000, BATCH_ROWS]:
        profile(batches, args.workdir / "profile.db", span)


if __name__ == "__main__":
    main()
