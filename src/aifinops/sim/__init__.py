"""The provider simulator and synthetic traffic (see docs/simulator.md).

``create_sim_app(SimConfig(...))`` returns an OpenAI- and Anthropic-compatible ASGI app;
``aifinops sim`` serves it. The names below load on first use, so importing a
subpackage of ``aifinops.sim`` does not import the web server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.sim.clock import Clock, SystemClock
    from aifinops.sim.config import RateLimits, SimConfig
    from aifinops.sim.faults import FaultConfigError, FaultPlan, FaultRule, load_fault_plan
    from aifinops.sim.server import create_sim_app

_HOMES = {
    "Clock": "clock",
    "SystemClock": "clock",
    "RateLimits": "config",
    "SimConfig": "config",
    "FaultConfigError": "faults",
    "FaultPlan": "faults",
    "FaultRule": "faults",
    "load_fault_plan": "faults",
    "create_sim_app": "server",
}

__all__ = [
    "Clock",
    "FaultConfigError",
    "FaultPlan",
    "FaultRule",
    "RateLimits",
    "SimConfig",
    "SystemClock",
    "create_sim_app",
    "load_fault_plan",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'aifinops.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(f"aifinops.sim.{home}"), name)
