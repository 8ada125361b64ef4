"""Prometheus metrics of one gateway process (a registry of its own, no globals)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase

from aifinops.usage import UsageEvent

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_TOKEN_KINDS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
_M = TypeVar("_M", bound=MetricWrapperBase)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "aifinops_gateway_requests",
            "Model calls proxied, by provider, endpoint and HTTP status.",
            ["provider", "endpoint", "status"],
            registry=r,
        )
        self.tokens = Counter(
            "aifinops_gateway_tokens",
            "Tokens of recorded calls.",
            ["team", "feature", "model", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "aifinops_gateway_cost_usd",
            "Effective cost of recorded calls in USD.",
            ["team", "feature", "model"],
            registry=r,
        )
        self.duration = Histogram(
            "aifinops_gateway_request_duration_seconds",
            "Time from request to the last byte of the response.",
            ["provider", "endpoint", "stream"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "aifinops_gateway_time_to_first_byte_seconds",
            "Time from request to the first byte of a streamed response.",
            ["provider", "endpoint"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "aifinops_gateway_upstream_errors",
            "Calls the upstream failed (HTTP errors, timeouts, broken streams).",
            ["provider", "error_type"],
            registry=r,
        )
        self.rejections = Counter(
            "aifinops_gateway_rejections",
            "Requests the gateway refused itself (not model calls).",
            ["status", "reason"],
            registry=r,
        )
        self.events_recorded = Counter(
            "aifinops_recorder_events", "Events handed to the recorder.", registry=r
        )
        self.events_written = Counter(
            "aifinops_recorder_events_written", "Events inserted into the ledger.", registry=r
        )
        self.events_dropped = Counter(
            "aifinops_recorder_events_dropped",
            "Events lost before reaching the spool or the ledger (must stay 0).",
            registry=r,
        )
        self.write_errors = Counter(
            "aifinops_recorder_write_errors", "Failed ledger batch writes (retried).", registry=r
        )
        self.spool_errors = Counter(
            "aifinops_recorder_spool_errors",
            "Failed spool writes (event kept in memory).",
            registry=r,
        )
        self.writer_starts = Counter(
            "aifinops_recorder_writer_starts",
            "Ledger writer processes started (1 at start-up; more: one died and was replaced).",
            registry=r,
        )
        self.rejections_dropped = Counter(
            "aifinops_recorder_rejections_dropped",
            "Rejection records dropped because the ledger was away too long.",
            registry=r,
        )
        self.queue_depth = Gauge(
            "aifinops_recorder_queue_depth", "Events waiting for the ledger.", registry=r
        )
        self.queue_max = Gauge(
            "aifinops_recorder_queue_max",
            "Bound of the in-memory queue (AIFINOPS_RECORDER_QUEUE_MAX).",
            registry=r,
        )
        self.queue_depth_peak = Gauge(
            "aifinops_recorder_queue_depth_peak",
            "Highest queue depth since the process started.",
            registry=r,
        )
        self.spooled_only = Counter(
            "aifinops_recorder_events_spooled_only",
            "Events kept in the spool only because the queue was full (read back later).",
            registry=r,
        )
        self.spool_bytes = Gauge(
            "aifinops_recorder_spool_bytes", "Bytes in the spool not yet deleted.", registry=r
        )
        self.ledger_up = Gauge(
            "aifinops_recorder_ledger_up", "1 when the last ledger write succeeded.", registry=r
        )
        self.ledger_up.set(1)
        #: The labelled children `observe_event` updates, by metric and label values.
        self._children: dict[tuple[object, ...], MetricWrapperBase] = {}

    def bind_recorder(
        self,
        depth: Callable[[], int],
        spool_bytes: Callable[[], int],
        peak_depth: Callable[[], int],
    ) -> None:
        self.queue_depth.set_function(lambda: float(depth()))
        self.spool_bytes.set_function(lambda: float(spool_bytes()))
        self.queue_depth_peak.set_function(lambda: float(peak_depth()))

    def observe_event(
        self, event: UsageEvent, stream: bool, effective_cost_nusd: int | None
    ) -> None:
        """Count one recorded call (its cost is passed in: the event is not copied for it)."""
        endpoint = event.endpoint or ""
        child = self._child
        child(self.requests, event.provider, endpoint, str(event.status)).inc()
        if event.duration_ms is not None:
            child(self.duration, event.provider, endpoint, "true" if stream else "false").observe(
                event.duration_ms / 1000
            )
        if event.ttft_ms is not None:
            child(self.ttft, event.provider, endpoint).observe(event.ttft_ms / 1000)
        if event.error_type is not None or (event.status or 0) >= 400:
            child(self.upstream_errors, event.provider, event.error_type or str(event.status)).inc()
        team = event.attribution.team or ""
        feature = event.attribution.feature or ""
        u = event.usage
        for kind, count in zip(
            _TOKEN_KINDS,
            (
                u.input_tokens,
                u.cache_read_tokens,
                u.cache_write_5m_tokens,
                u.cache_write_1h_tokens,
                u.output_tokens,
            ),
            strict=True,
        ):
            if count:
                child(self.tokens, team, feature, event.model, kind).inc(count)
        if effective_cost_nusd:
            child(self.cost, team, feature, event.model).inc(effective_cost_nusd / 1e9)

    def _child(self, metric: _M, *labels: str) -> _M:
        """``metric.labels(*labels)``, kept: prometheus_client's own lookup takes a lock
        and checks every value each time (the same series either way; none is removed)."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return cast(_M, found)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def bind_ingest(self, read: Callable[[], Sequence[IngestState]]) -> IngestCollector:
        """Add the ``aifinops_ingest_*`` metrics of the provider-report pulls."""
        collector = IngestCollector(read)
        self.registry.register(collector)
        return collector


# --- provider-report pulls (read from the ledger, off the event loop) ----------------------

log = logging.getLogger("aifinops.gateway.metrics")


class IngestState(Protocol):
    """What the ingest metrics need of one report source (`aifinops.ingest.status`)."""

    @property
    def source(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def runs(self) -> Mapping[str, int]: ...


class IngestCollector:
    """``aifinops_ingest_*`` from the ``ingest_runs`` table, whichever process pulled.

    The scheduler may run in another process (the supervisor of ``--workers N``), so
    these come from the ledger, not from memory. A scrape never waits on the database:
    `collect` serves the last snapshot and, when it is older than ``max_age_s``, starts
    a short-lived thread that reads a new one (so the figures trail by a scrape at most,
    and an idle gateway holds no thread for them).
    """

    def __init__(self, read: Callable[[], Sequence[IngestState]], max_age_s: float = 10.0) -> None:
        self._read = read
        self.max_age_s = max_age_s
        self._snapshot: tuple[IngestState, ...] = ()
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._reading = False

    def refresh(self) -> None:
        """Read a new snapshot now (what the background thread does; tests call it too)."""
        try:
            self._snapshot = tuple(self._read())
        except Exception as exc:  # the ledger away: keep the last figures and say why
            log.warning("cannot read the ingest status for /metrics: %s", exc)
        finally:
            self._read_at = time.monotonic()
            self._reading = False

    def _ask(self) -> None:
        if time.monotonic() - self._read_at < self.max_age_s:
            return
        with self._lock:
            if self._reading:
                return
            self._reading = True
        threading.Thread(target=self.refresh, name="aifinops-ingest-metrics", daemon=True).start()

    def describe(self) -> Iterator[Metric]:
        yield from self._families(())

    def collect(self) -> Iterator[Metric]:
        self._ask()
        yield from self._families(self._snapshot)

    @staticmethod
    def _families(states: Sequence[IngestState]) -> Iterator[Metric]:
        labels = ["provider", "source"]
        success = GaugeMetricFamily(
            "aifinops_ingest_last_success_timestamp_seconds",
            "When the latest successful pull of a provider report finished (Unix time).",
            labels=labels,
        )
        ok = GaugeMetricFamily(
            "aifinops_ingest_last_run_ok",
            "1 when the latest pull of a provider report succeeded, 0 when it failed.",
            labels=labels,
        )
        runs = CounterMetricFamily(
            "aifinops_ingest_runs",
            "Finished pulls of a provider report by result (complete or failed).",
            labels=[*labels, "result"],
        )
        for state in states:
            names = [state.provider, state.source]
            if state.last_success_at is not None:
                success.add_metric(names, state.last_success_at.timestamp())
            if state.status in ("complete", "failed"):
                ok.add_metric(names, 1.0 if state.status == "complete" else 0.0)
            for result in ("complete", "failed"):
                runs.add_metric([*names, result], float(state.runs.get(result, 0)))
        yield success
        yield ok
        yield runs
