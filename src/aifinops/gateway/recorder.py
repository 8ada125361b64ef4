"""The recorder: price each call, spool it durably, insert it into the ledger in batches.

``record`` runs on the request path and does no database I/O: it prices the event
(pure, cached plans), appends it to the spool (one ``write`` to the kernel) and queues
its row. One writer task takes batches off the queue, fsyncs the spool, and inserts the
batch with `aifinops.ledger.writer.write_rows` in a worker thread. When the database is
slow or down the writer retries with backoff and the queue grows: requests never wait
for it, nothing is dropped, and the spool covers a crash. Rows are deleted from the
spool only once they are in the ledger; writes are idempotent on ``event_id``, so a
replay after a crash can never count a call twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from aifinops.gateway.metrics import GatewayMetrics
from aifinops.gateway.spool import Segment, Spool
from aifinops.ledger.schema import gateway_rejections
from aifinops.ledger.writer import event_row, write_rows
from aifinops.pricing import PriceResult, PricingEngine
from aifinops.usage import UsageEvent

log = logging.getLogger("aifinops.gateway")

BATCH_SIZE = 1000
#: How long the writer waits for a batch to fill before writing what it has.
LINGER_SECONDS = 0.02
MAX_REJECTIONS_QUEUED = 10_000
_BACKOFF_START = 0.2
_BACKOFF_MAX = 5.0


class Recorder:
    def __init__(
        self,
        engine: Engine,
        pricing: PricingEngine,
        spool: Spool,
        metrics: GatewayMetrics,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.engine = engine
        self.pricing = pricing
        self.spool = spool
        self.metrics = metrics
        self.batch_size = batch_size
        self._pending: deque[tuple[dict[str, Any], Segment | None]] = deque()
        self._rejections: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.written = 0
        self.last_error: str | None = None
        self.last_write_at: datetime | None = None
        metrics.bind_recorder(lambda: len(self._pending), lambda: self.spool.size_bytes)

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    # --- request path ------------------------------------------------------------------

    def record(self, event: UsageEvent, *, stream: bool = False) -> PriceResult:
        """Price, spool and queue one finished call. Never raises, never waits."""
        price = self.pricing.price(
            event.provider,
            event.model,
            event.ts,
            event.usage,
            service_tier=event.service_tier,
            batch=event.batch,
        )
        row = event_row(
            event, (price.list_cost_nusd, price.effective_cost_nusd, price.price_version)
        )
        segment = self.spool.append(orjson.dumps(row) + b"\n")
        if segment is None:
            self.metrics.spool_errors.inc()
        self._pending.append((row, segment))
        self.metrics.events_recorded.inc()
        self.metrics.observe_event(event, stream, price.effective_cost_nusd)
        self._wake.set()
        return price

    def reject(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        field: str | None,
        provider: str | None,
        path: str,
        api_key_id: str | None = None,
        team: str | None = None,
    ) -> None:
        """Keep a refused request (bounded queue: a long outage drops the oldest)."""
        self.metrics.rejections.labels(str(status), reason).inc()
        if len(self._rejections) >= MAX_REJECTIONS_QUEUED:
            self._rejections.popleft()
            self.metrics.rejections_dropped.inc()
        self._rejections.append(
            {
                "rejection_id": uuid.uuid4().hex,
                "ts": datetime.now(UTC),
                "status": status,
                "reason": reason,
                "field": field,
                "provider": provider,
                "path": path[:200],
                "api_key_id": api_key_id,
                "team": team,
                "message": message[:1000],
            }
        )
        self._wake.set()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Open the spool, queue the orphaned segments' events first, start the writer."""
        self.spool.open()
        for segment, rows in self.spool.adopt_orphans():
            if rows:
                log.info("replaying %d spooled events from %s", len(rows), segment.path.name)
            self._pending.extend((row, segment) for row in rows)
        self._task = asyncio.create_task(self._run(), name="aifinops-recorder")
        if self._pending:
            self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Flush what the ledger takes within ``timeout``; the rest stays spooled."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                log.warning(
                    "ledger unavailable at shutdown: %d events stay in the spool",
                    len(self._pending),
                )
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.to_thread(self.spool.sync)
        self.spool.close()

    async def _run(self) -> None:
        backoff = _BACKOFF_START
        while True:
            if not self._pending and not self._rejections:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._pending) < self.batch_size and not self._stopping:
                # Let a batch form: one transaction (and one fsync) per LINGER, not per
                # event, keeps the writer thread off the event loop's GIL at light load.
                await asyncio.sleep(LINGER_SECONDS)
            ok = await self._write_once()
            if ok:
                backoff = _BACKOFF_START
                continue
            if self._stopping and backoff >= _BACKOFF_MAX:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _write_once(self) -> bool:
        batch = [self._pending[i] for i in range(min(self.batch_size, len(self._pending)))]
        rejections = list(self._rejections)
        rows = [row for row, _ in batch]
        started = time.monotonic()
        try:
            await asyncio.to_thread(self._sync_and_insert, rows, rejections)
        except Exception as exc:  # the ledger is slow or down: keep everything, retry
            self.metrics.write_errors.inc()
            self.metrics.ledger_up.set(0)
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if message != self.last_error:
                log.error(
                    "ledger write failed (%d events queued, retrying): %s",
                    len(self._pending),
                    message,
                )
            self.last_error = message
            return False
        if self.last_error is not None:
            log.info("ledger writes resumed after an outage; %d events queued", len(self._pending))
        self.last_error = None
        self.metrics.ledger_up.set(1)
        for _ in batch:
            self._pending.popleft()
        for _ in rejections:
            self._rejections.popleft()
        counts: dict[Segment, int] = {}
        for _, segment in batch:
            if segment is not None:
                counts[segment] = counts.get(segment, 0) + 1
        for segment, count in counts.items():
            self.spool.committed(segment, count)
        self.written += len(batch)
        self.last_write_at = datetime.now(UTC)
        self.metrics.events_written.inc(len(batch))
        log.debug("wrote %d events in %.1f ms", len(batch), (time.monotonic() - started) * 1000)
        return True

    def _sync_and_insert(
        self, rows: list[dict[str, Any]], rejections: list[dict[str, Any]]
    ) -> None:
        """fsync the spool, then write the batch: one hop to the worker thread."""
        self.spool.sync()
        with self.engine.begin() as conn:
            if rows:
                write_rows(conn, rows)
            if rejections:
                conn.execute(insert(gateway_rejections), rejections)
