"""The recorder's ledger writer in a child process: rows land as with the thread, a
killed child is replaced without losing or doubling a row, a failing ledger is retried,
and the child never outlives the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from aifinops.gateway.ledger_process import Pacer, WriterProcess, WriterProcessError, pace_sqlite
from aifinops.gateway.metrics import GatewayMetrics
from aifinops.gateway.recorder import Recorder
from aifinops.gateway.spool import Spool
from aifinops.ledger.db import create_ledger_engine, open_ledger
from aifinops.ledger.schema import gateway_rejections, rollup_hourly, usage_events
from aifinops.pricing import PricingEngine
from aifinops.usage import Attribution, Usage, UsageEvent

PRICING = PricingEngine()


def _event(event_id: str, team: str = "support") -> UsageEvent:
    return UsageEvent(
        event_id=event_id,
        ts=datetime(2026, 11, 2, 10, 30, tzinfo=UTC),
        provider="openai",
        model="gpt-4o-mini",
        usage=Usage(1000, output_tokens=200),
        attribution=Attribution(team=team, feature="triage", tags={"env": "prod"}),
    )


async def _until(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _rows(engine: Engine) -> list[tuple[str, str, int, int, dict[str, str]]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    usage_events.c.event_id,
                    usage_events.c.team,
                    usage_events.c.input_tokens,
                    usage_events.c.effective_cost_nusd,
                    usage_events.c.tags,
                ).order_by(usage_events.c.event_id)
            )
        ]


def _recorder(engine: Engine, url: str, schema: str | None, spool: Path) -> Recorder:
    return Recorder(
        engine,
        PRICING,
        Spool(spool, rotate_bytes=4000),
        GatewayMetrics(),
        batch_size=25,
        process=WriterProcess(url, schema),
    )


def test_the_child_writes_rows_rollups_and_rejections_on_each_backend(
    ledger: Engine, ledger_url: tuple[str, str | None], tmp_path: Path
) -> None:
    url, schema = ledger_url
    ids = sorted(uuid.uuid4().hex for _ in range(120))

    async def run() -> Recorder:
        recorder = _recorder(ledger, url, schema, tmp_path / "spool")
        await recorder.start()
        pid = recorder.process.pid if recorder.process else None
        assert pid is not None and pid != os.getpid()
        for event_id in ids:
            recorder.record(_event(event_id))
        recorder.reject(
            400,
            "bad_header",
            "x-aifinops-team is too long",
            field="x-aifinops-team",
            provider="openai",
            path="/openai/v1/chat/completions",
        )
        await _until(lambda: recorder.written == len(ids))
        await recorder.stop()
        return recorder

    recorder = asyncio.run(run())
    rows = _rows(ledger)
    price = PRICING.price("openai", "gpt-4o-mini", _event("x").ts, Usage(1000, output_tokens=200))
    assert rows == [(i, "support", 1000, price.effective_cost_nusd, {"env": "prod"}) for i in ids]
    with ledger.connect() as conn:
        calls = conn.execute(select(func.sum(rollup_hourly.c.calls))).scalar_one()
        rejected = conn.execute(select(gateway_rejections.c.field)).scalars().all()
    assert calls == len(ids)
    assert rejected == ["x-aifinops-team"]
    assert recorder.process is not None and recorder.process.started == 1
    assert recorder.metrics.writer_starts._value.get() == 1
    assert not list((tmp_path / "spool").glob("spool-*.jsonl"))  # all committed, deleted


def test_a_killed_child_is_replaced_and_nothing_is_lost_or_doubled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = open_ledger(url)
    ids: list[str] = []

    async def run() -> Recorder:
        recorder = _recorder(engine, url, None, tmp_path / "spool")
        await recorder.start()
        assert recorder.process is not None
        killed: list[int | None] = [None]
        for round_ in range(4):
            for _ in range(60):
                ids.append(uuid.uuid4().hex)
                recorder.record(_event(ids[-1]))
                await asyncio.sleep(0.001)
            if round_ < 3:
                process = recorder.process
                # the last one killed is replaced once the recorder tries its next batch
                await _until(lambda p=process: p.pid not in killed)
                pid = process.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)  # mid-stream: some batch may be cut
                killed.append(pid)
        await _until(lambda: recorder.written >= len(ids) and not recorder.queue_depth)
        await recorder.stop()
        return recorder

    recorder = asyncio.run(run())
    rows = _rows(engine)
    assert sorted(r[0] for r in rows) == sorted(ids)  # each exactly once
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(rollup_hourly.c.calls))).scalar_one() == len(ids)
    assert recorder.process is not None and recorder.process.started >= 2
    assert recorder.metrics.writer_starts._value.get() == recorder.process.started
    engine.dispose()


def test_a_failing_ledger_is_retried_and_named(tmp_path: Path) -> None:
    """The child answers the database's error; the recorder keeps the events, reports it
    in /healthz's ``last_error``, and writes them once the ledger exists."""
    path = tmp_path / "later" / "ledger.db"
    url = f"sqlite:///{path}"
    ids = [uuid.uuid4().hex for _ in range(30)]

    async def run() -> Recorder:
        recorder = _recorder(create_ledger_engine(url), url, None, tmp_path / "spool")
        await recorder.start()
        for event_id in ids:
            recorder.record(_event(event_id))
        await _until(lambda: recorder.last_error is not None)
        assert recorder.written == 0 and recorder.queue_depth == len(ids)
        assert "unable to open database file" in (recorder.last_error or "")
        path.parent.mkdir()
        open_ledger(url).dispose()  # the ledger comes back
        await _until(lambda: recorder.written == len(ids))
        assert recorder.last_error is None
        await recorder.stop()
        return recorder

    recorder = asyncio.run(run())
    assert recorder.metrics.write_errors._value.get() >= 1
    engine = create_ledger_engine(url)
    assert sorted(r[0] for r in _rows(engine)) == sorted(ids)
    engine.dispose()


def test_the_child_exits_when_the_gateway_closes_it_or_is_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).dispose()

    async def run() -> None:
        process = WriterProcess(url)
        await process.start()
        pid = process.pid
        assert pid is not None
        await process.close()
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
        # a closed writer starts a new child on the next batch
        await process.write([], [], [])
        assert process.started == 2
        # the gateway's end of the pipe gone (as when it is killed): the child exits
        assert process._proc is not None and process._proc.stdin is not None
        process._proc.stdin.close()
        assert await asyncio.wait_for(process._proc.wait(), 10) == 0

    asyncio.run(run())


def test_garbage_from_the_child_is_an_error_and_a_restart(tmp_path: Path) -> None:
    async def run() -> None:
        process = WriterProcess("sqlite:////nonexistent-dir/x.db")
        await process.start()
        assert process._proc is not None
        os.kill(process._proc.pid, signal.SIGKILL)
        try:
            await process.write([], [], [])
        except WriterProcessError as exc:
            assert "ledger writer process" in str(exc)
        else:
            raise AssertionError("a dead child must fail the batch")
        await process.write([], [], [])  # a new child, which answers the empty batch
        assert process.started == 2
        await process.close()

    asyncio.run(run())


def test_the_child_gets_no_secrets_from_the_gateway_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).dispose()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("AIFINOPS_DATABASE_URL", url)
    monkeypatch.setenv("OPENAI_KEY_PROD", "sk-named-by-the-config")  # openai_api_key_env
    monkeypatch.setenv("AIFINOPS_SLACK_WEBHOOK_URL", "https://hooks.example/secret-hook")
    monkeypatch.setenv("AIFINOPS_SOMETHING_PLAIN", "not needed")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "7")  # the driver's own settings are kept

    async def run() -> bytes:
        process = WriterProcess(url)
        await process.start()
        assert process.pid is not None
        environ = Path(f"/proc/{process.pid}/environ").read_bytes()
        await process.write([], [], [])  # it works without them
        await process.close()
        return environ

    environ = asyncio.run(run()).split(b"\0")
    assert b"PGCONNECT_TIMEOUT=7" in environ
    assert any(v.startswith(b"PATH=") for v in environ)
    secrets = (b"sk-secret-openai", b"sk-ant-secret", b"sk-named-by-the-config", b"secret-hook")
    leaked = [v for v in environ if any(secret in v for secret in secrets)]
    assert not leaked and not [v for v in environ if v.startswith(b"AIFINOPS_")]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_batch_frame_splices_the_rows_json() -> None:
    """The rows go to the child as the JSON the recorder made for the spool; the frame
    reads back as the batch itself."""
    from datetime import UTC, datetime

    import orjson

    from aifinops.gateway.ledger_process import batch_frame

    rows = [
        {"event_id": "e1", "ts": datetime(2026, 11, 29, 12, 0, 1, 5, tzinfo=UTC), "team": "ü"},
        {"event_id": "e2", "tags": {"a": "b"}, "input_tokens": 2**40},
    ]
    rejections = [{"rejection_id": "r1", "status": 401}]
    frame = batch_frame(["/spool/a"], [orjson.dumps(r) for r in rows], rejections)
    assert orjson.loads(frame) == orjson.loads(
        orjson.dumps({"sync": ["/spool/a"], "rows": rows, "rejections": rejections})
    )
    assert orjson.loads(batch_frame([], [], [])) == {"sync": [], "rows": [], "rejections": []}


def _spin(cpu_seconds: float, pacer: Pacer) -> None:
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pacer()


def test_the_pacer_gives_the_cpu_back_after_each_slice() -> None:
    pacer = Pacer(slice_seconds=0.002, pause_seconds=0.01)
    started = time.monotonic()
    _spin(0.02, pacer)
    # 20 ms of CPU in 2 ms slices: at least 9 pauses of 10 ms between them
    assert time.monotonic() - started >= 0.02 + 9 * 0.01
    unpaced = Pacer(slice_seconds=1.0, pause_seconds=0.5)
    started = time.monotonic()
    _spin(0.02, unpaced)
    assert time.monotonic() - started < 0.5  # no slice used up: never paused


class _Counting(Pacer):
    def __init__(self) -> None:
        super().__init__(slice_seconds=3600.0)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return super().__call__()


_COUNT_TO = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)"
    " SELECT count(*), sum(i) FROM n"
)


def test_sqlite_statements_call_the_pacer_and_run_to_the_end(tmp_path: Path) -> None:
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'paced.db'}")
    pacer = _Counting()
    pace_sqlite(engine, pacer)
    with engine.connect() as conn:
        assert tuple(conn.exec_driver_sql(_COUNT_TO).one()) == (50_000, 50_000 * 50_001 // 2)
    engine.dispose()
    assert pacer.calls > 50  # ≈ one call per PACE_EVERY instructions


def test_only_sqlite_connections_are_paced(ledger_url: tuple[str, str | None]) -> None:
    url, schema = ledger_url
    pacer = _Counting()
    engine = create_ledger_engine(url, search_path=schema)
    pace_sqlite(engine, pacer)
    with engine.connect() as conn:
        assert tuple(conn.exec_driver_sql(_COUNT_TO).one()) == (50_000, 50_000 * 50_001 // 2)
    engine.dispose()
    if url.startswith("sqlite"):
        assert pacer.calls > 50
    else:
        assert pacer.calls == 0  # PostgreSQL's work is the server's


def test_a_stop_writes_a_lingering_batch_at_once(tmp_path: Path) -> None:
    """The child's batches linger up to 2 s for more events; a stopping gateway (Ctrl-C)
    writes what it holds at once, so it exits well before a second Ctrl-C (which makes
    uvicorn skip the flush) and before `aifinops demo` reads the ledger."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = open_ledger(url)
    ids = [uuid.uuid4().hex for _ in range(7)]

    async def run() -> float:
        recorder = Recorder(
            engine,
            PRICING,
            Spool(tmp_path / "spool"),
            GatewayMetrics(),
            process=WriterProcess(url),
        )
        assert recorder.linger >= 2.0
        await recorder.start()
        for event_id in ids:
            recorder.record(_event(event_id))
        await asyncio.sleep(0.2)  # the writer is lingering for more events now
        assert recorder.written == 0
        started = time.monotonic()
        await recorder.stop()
        return time.monotonic() - started

    took = asyncio.run(run())
    assert sorted(r[0] for r in _rows(engine)) == sorted(ids)
    assert took < 1.5, f"stop took {took:.2f} s: it waited out the linger"
    assert not list((tmp_path / "spool").glob("spool-*.jsonl"))  # all committed, deleted
    engine.dispose()
