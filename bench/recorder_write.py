"""The gateway recorder's ledger write, CPU per event, as the ledger grows: random event
ids (UUIDv4, as before) against the gateway's time-ordered ones (UUIDv7), in one run.

    .venv/bin/python bench/recorder_write.py [--ledger-events 400000] [--batch 314]

For each id scheme: a fresh SQLite ledger is filled to --ledger-events with batches of
--batch gateway-shaped events (one OpenAI chat call each, the same team, feature and
customer, as bench/gateway.py sends), written the writer child's way
(`aifinops.gateway.ledger_process`: one frame's rows, ``ts`` as ISO text, one
transaction a batch); then 30 more batches are timed. Printed: CPU (user + system of
this process) per event of the timed batches, at the start (first 30 batches of the
fill) and at the end, for both schemes.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from aifinops.gateway import ledger_process
from aifinops.gateway.capture import new_event_id
from aifinops.ledger.db import create_ledger_engine, open_ledger
from aifinops.ledger.writer import event_row
from aifinops.usage import Attribution, Usage, UsageEvent

TIMED = 30


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _frame(make_id: Callable[[], str], size: int) -> dict[str, Any]:
    """One batch as the gateway sends it to its writer child (JSON round trip)."""
    rows = []
    for _ in range(size):
        event = UsageEvent(
            event_id=make_id(),
            ts=datetime.now(UTC),
            provider="openai",
            model="gpt-4o-mini",
            usage=Usage(20, output_tokens=16),
            attribution=Attribution(team="bench", feature="gateway-bench", customer_id="c1"),
            max_tokens=16,
            stop_reason="length",
            status=200,
        )
        rows.append(event_row(event, (12_600, 12_600, "bench")))
    return dict(orjson.loads(orjson.dumps({"sync": [], "rows": rows, "rejections": []})))


def _timed(engine: Any, make_id: Callable[[], str], size: int) -> float:
    """CPU per event of TIMED batches (frames made beforehand, outside the timing)."""
    frames = [_frame(make_id, size) for _ in range(TIMED)]
    started = _cpu()
    for frame in frames:
        answer = ledger_process._answer(engine, frame)
        assert answer == b"ok\n", answer
    return (_cpu() - started) / (TIMED * size) * 1e6


def run(name: str, make_id: Callable[[], str], events: int, size: int, tmp: Path) -> None:
    url = f"sqlite:///{tmp / (name + '.db')}"
    open_ledger(url).dispose()
    engine = create_ledger_engine(url)
    first = _timed(engine, make_id, size)
    for _ in range(max(events // size - TIMED, 0)):
        ledger_process._answer(engine, _frame(make_id, size))
    last = _timed(engine, make_id, size)
    engine.dispose()
    print(
        f"{name}: {first:.1f} µs CPU an event on a fresh ledger, {last:.1f} µs "
        f"at {events:,} events ({size} events a batch)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ledger-events", type=int, default=400_000)
    parser.add_argument("--batch", type=int, default=314)
    args = parser.parse_args()
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        run("uuid4", lambda: "ev_" + uuid.uuid4().hex, args.ledger_events, args.batch, Path(tmp))
        run("uuid7", new_event_id, args.ledger_events, args.batch, Path(tmp))
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]}")


if __name__ == "__main__":
    main()
