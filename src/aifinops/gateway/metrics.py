"""Prometheus metrics of one gateway process (a registry of its own, no globals)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from aifinops.usage import UsageEvent

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_TOKEN_KINDS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")


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
        self.rejections_dropped = Counter(
            "aifinops_recorder_rejections_dropped",
            "Rejection records dropped because the ledger was away too long.",
            registry=r,
        )
        self.queue_depth = Gauge(
            "aifinops_recorder_queue_depth", "Events waiting for the ledger.", registry=r
        )
        self.spool_bytes = Gauge(
            "aifinops_recorder_spool_bytes", "Bytes in the spool not yet deleted.", registry=r
        )
        self.ledger_up = Gauge(
            "aifinops_recorder_ledger_up", "1 when the last ledger write succeeded.", registry=r
        )
        self.ledger_up.set(1)

    def bind_recorder(self, depth: Callable[[], int], spool_bytes: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))
        self.spool_bytes.set_function(lambda: float(spool_bytes()))

    def observe_event(
        self, event: UsageEvent, stream: bool, effective_cost_nusd: int | None
    ) -> None:
        """Count one recorded call (its cost is passed in: the event is not copied for it)."""
        self.requests.labels(event.provider, event.endpoint or "", str(event.status)).inc()
        if event.duration_ms is not None:
            self.duration.labels(event.provider, event.endpoint or "", str(stream).lower()).observe(
                event.duration_ms / 1000
            )
        if event.ttft_ms is not None:
            self.ttft.labels(event.provider, event.endpoint or "").observe(event.ttft_ms / 1000)
        if event.error_type is not None or (event.status or 0) >= 400:
            self.upstream_errors.labels(event.provider, event.error_type or str(event.status)).inc()
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
                self.tokens.labels(team, feature, event.model, kind).inc(count)
        if effective_cost_nusd:
            self.cost.labels(team, feature, event.model).inc(effective_cost_nusd / 1e9)

    def render(self) -> bytes:
        return generate_latest(self.registry)
