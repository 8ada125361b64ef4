"""The per-request cost of routing and guardrails at the gateway, in-process.

Times `Proxy._optimize` (the routing table lookup and the feature's guardrails on the
parsed body) on a typical request, against the same call with no policy at all, and
prints median and p99 in microseconds side by side. The routing table is the one the
gateway keeps (decisions precomputed per feature and provider), so no database is read.

    .venv/bin/python bench/routing.py [--n 200000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any, cast

import orjson

from aifinops.gateway.guardrails import Guardrails
from aifinops.gateway.proxy import Proxy
from aifinops.gateway.routes import ROUTES
from aifinops.gateway.routing import Entry, Router
from aifinops.gateway.shape import request_shape
from aifinops.optimize.guardrails import parse_guardrails
from aifinops.settings import GatewaySettings

ROUTE = ROUTES["/anthropic/v1/messages"]
BODY: dict[str, Any] = {
    "model": "auto",
    "max_tokens": 400,
    "system": "You triage support tickets. " * 40,
    "messages": [{"role": "user", "content": "My invoice is wrong, please help. " * 20}],
}


def _proxy(guardrails: Guardrails | None, router: Router | None) -> Proxy:
    none = cast(Any, None)
    return Proxy(GatewaySettings(), none, none, none, none, guardrails=guardrails, router=router)


def _router() -> Router:
    router = Router(cast(Any, None), (), cast(Any, None))
    entry = Entry("auto", "claude-haiku-4-5", None, "routing: cheapest …", "kept", "refused")
    router.table = {(f"feature-{i}", p): entry for i in range(50) for p in ("anthropic", "openai")}
    router.table[("triage", "anthropic")] = entry
    router.policies = cast(Any, (1,))  # non-empty: the proxy keeps it
    return router


def _time(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def _summary(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    n = parser.parse_args().n
    raw = orjson.dumps(BODY)
    body = orjson.loads(raw)
    shape = request_shape(ROUTE.kind, body)
    concrete = {**body, "model": "claude-sonnet-4-5"}
    rails = Guardrails(parse_guardrails([{"feature": "triage", "max_context_chunks": 20}]))
    capped = Guardrails(parse_guardrails([{"feature": "triage", "max_tokens": 512}]))
    nocap = {k: v for k, v in concrete.items() if k != "max_tokens"}
    p_base = _proxy(None, None)
    p_route = _proxy(None, _router())
    p_both = _proxy(rails, _router())
    p_cap = _proxy(capped, None)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("no policy (baseline)", lambda: p_base._optimize(ROUTE, "triage", concrete, shape)),
        ("routing: model auto -> table", lambda: p_route._optimize(ROUTE, "triage", body, shape)),
        ("routing + chunk-limit guardrail", lambda: p_both._optimize(ROUTE, "triage", body, shape)),
        ("guardrail injects max_tokens", lambda: p_cap._optimize(ROUTE, "triage", nocap, shape)),
    ]
    results: list[tuple[str, tuple[float, float]]] = []
    for _ in range(2):  # warm up, then measure
        results = [(name, _summary(_time(fn, n))) for name, fn in cases]
    print(f"per-request routing/guardrail step, {n:,} calls each (µs)")
    print(f"{'case':34} {'median':>8} {'p99':>8}")
    for name, (median, p99) in results:
        print(f"{name:34} {median:8.2f} {p99:8.2f}")


if __name__ == "__main__":
    main()
