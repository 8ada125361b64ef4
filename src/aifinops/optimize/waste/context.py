"""What every detector is given: the pricer, the window and the thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from aifinops.optimize.waste.findings import Window
from aifinops.optimize.waste.pricer import Pricer
from aifinops.optimize.waste_settings import WasteSettings


@dataclass(frozen=True, slots=True)
class Context:
    pricer: Pricer
    window: Window
    settings: WasteSettings
