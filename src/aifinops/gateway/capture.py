"""From one proxied call to a `UsageEvent`: usage as reported, or estimated and flagged."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime

from aifinops.gateway.guard import GuardDecision
from aifinops.gateway.routes import Route
from aifinops.gateway.shape import Shape, estimate_tokens
from aifinops.providers import ParsedUsage
from aifinops.usage import Attribution, Usage, UsageEvent


def new_event_id() -> str:
    """``ev_`` and a UUIDv7 (RFC 9562) in hex: the Unix time in milliseconds, then 74
    random bits. Time-ordered ids land at the end of the ledger's ``event_id`` index, so a
    batch's inserts touch a few of its pages instead of one page per event anywhere in
    it; with random ids (UUIDv4) the recorder's write cost grew with the ledger (18.7 →
    31.2 µs of CPU an event from a fresh to a 400,000-event ledger, against 16.1 → 16.8:
    bench/recorder_write.py, docs/benchmarks.md)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    return f"ev_{value:032x}"


@dataclass(slots=True)
class CallContext:
    """What the gateway knows about a call before the upstream answers."""

    event_id: str
    ts: datetime
    started: float  # monotonic seconds
    route: Route
    model: str
    attribution: Attribution
    request_id: str | None
    unattributed: bool
    shape: Shape
    request_bytes: int
    stream: bool
    decision: GuardDecision = field(default_factory=GuardDecision)
    requested_model: str | None = None  # the client's, before routing (None: ``model``)
    guardrails: tuple[str, ...] = ()  # what the feature's guardrails changed
    route_reason: str | None = None  # why routing changed (or kept) the model
    warning: str | None = None  # a guardrail's x-aifinops-guardrail-warning
    ttft_ms: int | None = None
    settled: bool = False  # the guard's reservation was settled or released


def build_event(
    ctx: CallContext,
    parsed: ParsedUsage | None,
    *,
    now: float,
    status: int,
    error_type: str | None = None,
    text_bytes: int = 0,
) -> UsageEvent:
    """The event of a finished call.

    ``parsed`` None means the provider answered with an HTTP error: such calls are not
    billed, so usage is zero and exact. A ``parsed`` whose usage was never reported (a
    stream cut short, a timeout, a client gone) is estimated and flagged: input from the
    request's size, output from the generated text seen (4 bytes a token).
    """
    if parsed is None:
        parsed = ParsedUsage(usage=Usage())
    usage = parsed.usage
    if parsed.usage_estimated and not usage.total_input_tokens:
        usage = Usage(
            input_tokens=estimate_tokens(ctx.request_bytes),
            output_tokens=estimate_tokens(text_bytes),
        )
    return UsageEvent(
        event_id=ctx.event_id,
        ts=ctx.ts,
        provider=ctx.route.provider,
        model=parsed.model or ctx.decision.model or ctx.model,
        usage=usage,
        attribution=ctx.attribution,
        request_id=ctx.request_id,
        duration_ms=int((now - ctx.started) * 1000),
        ttft_ms=ctx.ttft_ms,
        requested_model=ctx.requested_model or ctx.model,
        endpoint=ctx.route.endpoint,
        service_tier=parsed.service_tier,
        batch=parsed.batch,
        max_tokens=ctx.shape.max_tokens,
        stop_reason=parsed.stop_reason,
        system_tokens=ctx.shape.system_tokens,
        system_hash=ctx.shape.system_hash,
        prefix_hash=ctx.shape.prefix_hash,
        context_chunks=ctx.shape.context_chunks,
        status=status,
        error_type=error_type or parsed.error_type,
        usage_estimated=parsed.usage_estimated,
        unattributed=ctx.unattributed,
        guardrails=ctx.guardrails + ctx.decision.guardrails,
        route_reason=_reasons(ctx.route_reason, ctx.decision.route_reason),
    )


def _reasons(routing: str | None, budget: str | None) -> str | None:
    """Routing's reason, then a budget downgrade's, in the 200 characters of the column."""
    if routing is None or budget is None:
        return routing or budget
    return f"{routing[: 197 - min(len(budget), 100)]}; {budget}"[:200]
