"""Where a PostgreSQL import's time goes, statement by statement, in spans.

    .venv/bin/python bench/import_pg_profile.py [--events 500000] [--span 250000]

Reads bench/_ledger_fill.py's seeded 1,000,000-event file, and for each span of --span
events prepares its batches (the workers' part, not timed), then writes them the
importer's way (`aifinops.ledger.postgres_span`: each batch copied and inserted, the
span's rollups at its end, one transaction per span) into a schema of its own in
AIFINOPS_BENCH_DATABASE_URL's PostgreSQL (dropped after), timing every statement.
Prints each statement's wall time per event (the importing process's part and the
server's together: the importing process waits for each statement).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter
from typing import Any

from _ledger_fill import ROOT, backend_url, drop, import_source
from aifinops.ingest.events import BATCH_ROWS, prepare_lines
from aifinops.ingest.files import numbered_lines
from aifinops.ledger import postgres_span, writer
from aifinops.ledger.db import open_ledger
from aifinops.pricing import RateBook


class _TimedCursor:
    """A psycopg cursor whose ``execute`` adds its wall time to ``spent``, by statement."""

    def __init__(self, cursor: Any, spent: Counter[str]) -> None:
        self._cursor = cursor
        self._spent = spent

    def execute(self, sql: str, *args: Any) -> Any:
        t = time.perf_counter()
        result = self._cursor.execute(sql, *args)
        self._spent[" ".join(sql.split()[:4])[:48]] += time.perf_counter() - t
        return result

    def copy(self, *args: Any) -> Any:
        return self._cursor.copy(*args)

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--span", type=int, default=250_000)
    args = parser.parse_args()
    workdir = ROOT / "bench" / "out" / "import_ab"
    source = import_source(workdir, 1_000_000)
    url, schema = backend_url("postgres", workdir, "pg_profile")
    engine = open_ledger(url)
    spent: Counter[str] = Counter()
    done = 0
    with source.open("rb") as binary:
        lines = numbered_lines(binary)
        while done < args.events:
            span = list(itertools.islice(lines, min(args.span, args.events - done)))
            if not span:
                break
            batches = [
                prepare_lines(span[i : i + BATCH_ROWS], "canonical", RateBook(), "postgresql")
                for i in range(0, len(span), BATCH_ROWS)
            ]
            with engine.connect() as conn:
                conn.begin()
                cursor = _TimedCursor(writer._cursor(conn), spent)
                postgres_span.begin_span(cursor)
                t = time.perf_counter()
                for batch in batches:
                    postgres_span.insert_batch(cursor, batch.params)
                spent["(span: batches, COPY included)"] += time.perf_counter() - t
                t = time.perf_counter()
                postgres_span.roll_up_span(cursor)
                spent["(span: rollups)"] += time.perf_counter() - t
                t = time.perf_counter()
                conn.commit()
                spent["(commit)"] += time.perf_counter() - t
            done += len(span)
    engine.dispose()
    drop("postgres", schema)
    print(f"{done:,} events, spans of {args.span:,}, batches of {BATCH_ROWS:,}; wall µs/event:")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{seconds / done * 1e6:8.1f}  {name}")


if __name__ == "__main__":
    main()
