"""Turn a batch of `UsageEvent`s into the columns `price_many` takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aifinops.pricing.bulk import COUNT_COLUMNS, Categorical
from aifinops.usage import UsageEvent

_USAGE_ATTR = {
    "input_tokens": "input_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_write_5m_tokens": "cache_write_5m_tokens",
    "cache_write_1h_tokens": "cache_write_1h_tokens",
    "output_tokens": "output_tokens",
    "web_search_requests": "web_search_requests",
}


def events_to_columns(events: Sequence[UsageEvent]) -> dict[str, Any]:
    n = len(events)
    columns: dict[str, Any] = {
        "provider": Categorical.encode([e.provider for e in events]),
        "model": Categorical.encode([e.model for e in events]),
        "service_tier": Categorical.encode([e.service_tier for e in events]),
        "batch": np.fromiter((e.batch for e in events), dtype=np.bool_, count=n),
        "ts": np.array([e.ts.replace(tzinfo=None) for e in events], dtype="datetime64[us]"),
    }
    for name in COUNT_COLUMNS:
        attr = _USAGE_ATTR[name]
        columns[name] = np.fromiter(
            (getattr(e.usage, attr) for e in events), dtype=np.int64, count=n
        )
    return columns
