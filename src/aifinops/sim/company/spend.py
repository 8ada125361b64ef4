"""What the generated calls cost (list prices, exact nano-USD), tallied as they stream by.

The company's budgets are sized from this: month-to-date spend per team (see
`config.py`). Pricing is the same bulk engine the importer uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aifinops.pricing import PricingEngine
from aifinops.pricing.bulk import Categorical, price_many
from aifinops.sim.company.kinds import (
    I64,
    MODEL_NAMES,
    PROVIDERS,
    SERVICE_TIERS,
    kind_table,
)
from aifinops.sim.company.spec import FEATURES, TEAMS
from aifinops.sim.company.traffic import Block


def _zeros() -> I64:
    return np.zeros(len(FEATURES), dtype=np.int64)


@dataclass
class SpendTally:
    """List cost per feature (nano-USD), over the whole run and since ``month_start_ms``."""

    month_start_ms: int
    engine: PricingEngine = field(default_factory=PricingEngine)
    total_nusd: I64 = field(default_factory=_zeros)
    month_nusd: I64 = field(default_factory=_zeros)
    unpriced_calls: int = 0

    def add(self, block: Block) -> None:
        table = kind_table()
        calls, tokens = block.calls, block.tokens
        kind = calls.kind
        priced = price_many(
            self.engine,
            {
                "provider": Categorical(table.provider_code[kind], PROVIDERS),
                "model": Categorical(table.model_code[kind], MODEL_NAMES),
                "service_tier": Categorical(table.tier_code[kind], SERVICE_TIERS),
                "ts": calls.ts_ms.astype("datetime64[ms]"),
                "input_tokens": tokens.input_tokens,
                "cache_read_tokens": tokens.cache_read_tokens,
                "cache_write_5m_tokens": tokens.cache_write_5m_tokens,
                "cache_write_1h_tokens": tokens.cache_write_1h_tokens,
                "output_tokens": calls.output,
            },
        )
        self.unpriced_calls += int(priced.unpriced.sum())
        cost = priced.list_cost_nusd
        np.add.at(self.total_nusd, calls.feature, cost)
        month = calls.ts_ms >= self.month_start_ms
        np.add.at(self.month_nusd, calls.feature[month], cost[month])

    def by_team(self, *, month: bool) -> dict[str, int]:
        values = self.month_nusd if month else self.total_nusd
        out = {t.name: 0 for t in TEAMS}
        for i, feature in enumerate(FEATURES):
            out[feature.team] += int(values[i])
        return out

    def by_feature(self, *, month: bool) -> dict[str, int]:
        values = self.month_nusd if month else self.total_nusd
        return {f.name: int(values[i]) for i, f in enumerate(FEATURES)}
