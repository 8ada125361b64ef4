"""The recorder's bounded queue: a full queue leaves events in the spool only, and they
are read back into the ledger when it returns (also after a restart), none lost or doubled."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from aifinops.gateway.metrics import GatewayMetrics
from aifinops.gateway.recorder import Recorder
from aifinops.gateway.spool import Spool
from aifinops.ledger.db import create_ledger_engine, open_ledger
from aifinops.ledger.schema import usage_events
from aifinops.pricing import PricingEngine
from aifinops.usage import Usage, UsageEvent

PRICING = PricingEngine()


def _event(event_id: str) -> UsageEvent:
    return UsageEvent(
        event_id=event_id,
        ts=datetime.now(UTC),
        provider="openai",
        model="gpt-4o-mini",
        usage=Usage(10, output_tokens=5),
    )


def _recorder(engine: Engine, spool: Path, queue_max: int) -> Recorder:
    # small segments, so the spool-only events span several of them
    return Recorder(
        engine,
        PRICING,
        Spool(spool, rotate_bytes=4000),
        GatewayMetrics(),
        batch_size=20,
        queue_max=queue_max,
    )


def _ledger_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(usage_events.c.event_id))]


async def _until(condition: object, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_a_full_queue_spills_to_the_spool_and_catches_up(tmp_path: Path) -> None:
    good = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    down = create_ledger_engine(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")

    async def run() -> tuple[Recorder, list[str]]:
        recorder = _recorder(down, tmp_path / "spool", queue_max=50)
        await recorder.start()
        ids = []
        for _ in range(300):  # the ledger is down: 50 in memory, the rest in the spool only
            ids.append(uuid.uuid4().hex)
            recorder.record(_event(ids[-1]))
        await asyncio.sleep(0.3)
        assert recorder.queue_depth == 50 and recorder.backlog
        assert recorder.metrics.spooled_only._value.get() == 250
        recorder.engine = good  # the ledger is back; calls keep coming while it catches up
        for _ in range(200):
            ids.append(uuid.uuid4().hex)
            recorder.record(_event(ids[-1]))
            await asyncio.sleep(0.001)
        await _until(lambda: recorder.written >= len(ids) and not recorder.backlog)
        await recorder.stop()
        return recorder, ids

    recorder, ids = asyncio.run(run())
    assert recorder.peak_depth <= 50
    assert recorder.metrics.events_dropped._value.get() == 0
    found = _ledger_ids(good)
    assert sorted(found) == sorted(ids)  # each exactly once
    assert not list((tmp_path / "spool").glob("*.jsonl"))  # all deleted once written
    good.dispose()
    down.dispose()


def test_a_restart_replays_a_large_spool_within_the_bound(tmp_path: Path) -> None:
    good = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    down = create_ledger_engine(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")

    async def first() -> list[str]:
        recorder = _recorder(down, tmp_path / "spool", queue_max=40)
        await recorder.start()
        ids = [uuid.uuid4().hex for _ in range(400)]
        for event_id in ids:
            recorder.record(_event(event_id))
        await recorder.stop(timeout=0.5)  # the ledger never came back: all stay spooled
        return ids

    async def second() -> Recorder:
        recorder = _recorder(good, tmp_path / "spool", queue_max=40)
        await recorder.start()
        await _until(lambda: recorder.written >= 400 and not recorder.backlog)
        await recorder.stop()
        return recorder

    ids = asyncio.run(first())
    assert len(list((tmp_path / "spool").glob("*.jsonl"))) > 2
    recorder = asyncio.run(second())
    assert recorder.peak_depth <= 40 and recorder.queue_depth == 0
    with good.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 400
    assert sorted(_ledger_ids(good)) == sorted(ids)
    assert not list((tmp_path / "spool").glob("*.jsonl"))
    good.dispose()
    down.dispose()


def test_catching_up_does_not_wait_for_batches_to_fill(tmp_path: Path) -> None:
    """A backlog in the spool, or a queue at its bound, is written at once: the linger
    that lets a batch form at light load would cap catching up at one batch a linger."""
    good = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    down = create_ledger_engine(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")

    async def run() -> tuple[Recorder, float]:
        recorder = _recorder(down, tmp_path / "spool", queue_max=10)
        recorder.linger = 30.0  # far longer than the test may take
        await recorder.start()
        for _ in range(200):  # 10 in memory, 190 in the spool only: 20 batches of 10
            recorder.record(_event(uuid.uuid4().hex))
        await asyncio.sleep(0.3)
        assert recorder.queue_depth == 10 and recorder.backlog
        loop = asyncio.get_running_loop()
        began = loop.time()
        recorder.engine = good
        await _until(lambda: recorder.written >= 200 and not recorder.backlog, timeout=10)
        took = loop.time() - began
        await recorder.stop()
        return recorder, took

    recorder, took = asyncio.run(run())
    assert took < 10  # with a linger per batch: 20 × 30 s
    assert len(_ledger_ids(good)) == 200
    assert recorder.metrics.events_dropped._value.get() == 0
    good.dispose()
    down.dispose()
