"""Routing at the gateway: a per-process table of decisions, refreshed in the background.

The table holds one precomputed decision per (feature, provider) of every routing policy
(`aifinops.optimize.profiles.decisions`: eval scores, the 30-day token profile from the
rollups, current prices), rebuilt every ``refresh_s`` seconds off the request path, so a
request costs one dictionary lookup. What a request gets:

- no policy for its feature: untouched; ``model: "auto"`` is refused (400, naming the
  feature) since nothing could choose for it;
- ``mode: auto`` and a concrete model: untouched;
- ``model: "auto"`` (or ``mode: enforce``): the decided model, ``requested_model`` the
  client's and ``route_reason`` ``routing: …``; the same model as requested records no
  reason;
- no candidate meets the bar: ``enforce`` keeps the requested model and records why;
  ``auto`` takes the policy's ``fallback``, or without one is refused with a 400 that
  names the policy (``routing[i]``) and why nothing qualified.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from aifinops.gateway.errors import Rejection
from aifinops.optimize.profiles import PROFILE_DAYS, decisions
from aifinops.optimize.routing import AUTO_MODEL, Decision, RoutingPolicy
from aifinops.pricing import PricingEngine

log = logging.getLogger("aifinops.gateway")

REASON_LIMIT = 200  # the ledger's route_reason column
PROVIDERS = ("anthropic", "openai")


@dataclass(frozen=True, slots=True)
class Entry:
    """A (feature, provider) decision, with its recorded reasons ready-made."""

    mode: str
    model: str | None
    fallback: str | None
    reason: str  # when the model changes
    kept: str  # no candidate meets the bar: why the requested model (or fallback) is used
    refusal: str  # auto, no candidate, no fallback: the 400's message


def entry_of(policy: RoutingPolicy, decision: Decision) -> Entry:
    kept = f"routing: {decision.reason}"
    if policy.fallback:
        kept = f"routing: fallback {policy.fallback}: {decision.reason}"
    return Entry(
        mode=policy.mode,
        model=decision.model,
        fallback=policy.fallback,
        reason=f"routing: {decision.reason}"[:REASON_LIMIT],
        kept=kept[:REASON_LIMIT],
        refusal=(
            f'model "auto": routing policy {policy.where} (feature {policy.feature!r}) has no '
            f"{decision.provider} candidate that meets its quality bar: {decision.reason}. "
            f"Set {policy.where}.fallback, or send a model name"
        ),
    )


class Router:
    """Route calls by the table; ``start`` builds it once, then it refreshes itself."""

    def __init__(
        self,
        engine: Engine,
        policies: Iterable[RoutingPolicy],
        pricing: PricingEngine,
        refresh_s: float = 60.0,
    ) -> None:
        self.engine = engine
        self.policies = tuple(policies)
        self.pricing = pricing
        self.refresh_s = refresh_s
        self.table: dict[tuple[str, str], Entry] = {}
        self.loaded = False
        self._task: asyncio.Task[None] | None = None

    def __bool__(self) -> bool:
        return bool(self.policies)

    def build(self, now: datetime | None = None) -> dict[tuple[str, str], Entry]:
        today = (now or datetime.now(UTC)).date()
        start = today - timedelta(days=PROFILE_DAYS - 1)
        by_feature = {p.feature: p for p in self.policies}
        with self.engine.connect() as conn:
            found = decisions(conn, self.policies, self.pricing, start, today, PROVIDERS)
        return {key: entry_of(by_feature[key[0]], d) for key, (d, _) in found.items()}

    async def refresh(self) -> None:
        try:
            self.table = await asyncio.to_thread(self.build)
            self.loaded = True
        except SQLAlchemyError as exc:
            log.warning("routing table not rebuilt (ledger unreachable: %s)", type(exc).__name__)

    async def start(self) -> None:
        if not self.policies:
            return
        await self.refresh()
        self._task = asyncio.create_task(self._every())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:  # a failed rebuild keeps the last table
                log.exception("routing table rebuild failed")

    def route(self, provider: str, feature: str | None, requested: str) -> tuple[str, str] | None:
        """(model to call, route_reason) when routing acts; None leaves the call alone."""
        entry = self.table.get((feature, provider)) if feature is not None else None
        if entry is None:
            if requested == AUTO_MODEL:
                raise Rejection(400, "no_routing_policy", _no_policy(feature, self.loaded), "model")
            return None
        if entry.mode == "auto" and requested != AUTO_MODEL:
            return None
        if entry.model is not None:
            return None if entry.model == requested else (entry.model, entry.reason)
        if requested != AUTO_MODEL:
            return requested, entry.kept
        if entry.fallback is not None:
            return entry.fallback, entry.kept
        raise Rejection(400, "routing_no_candidate", entry.refusal, "model")


def _no_policy(feature: str | None, loaded: bool) -> str:
    if feature is None:
        return (
            'model "auto" needs a feature to route: send x-aifinops-feature (with a routing '
            "policy for it in the config's routing: section), or send a model name"
        )
    if not loaded:
        return 'model "auto": the routing table is not loaded yet (ledger unreachable); retry'
    return (
        f'model "auto": no routing policy for feature {feature!r} (add one to the config\'s '
        "routing: section), or send a model name"
    )
