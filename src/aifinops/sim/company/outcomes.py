"""Outcome lines: one per unit of work, after the unit's last call.

Fields: ``outcome_id``, ``unit_id``, ``feature``, ``customer_id``, ``type``, ``success``,
``value_usd`` (a decimal string where the feature has a value per outcome: the value of
a successful unit, ``"0.00"`` for a failed one; null elsewhere), ``quality`` (0–1, null
where the feature grades none) and ``ts``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache

import numpy as np

from aifinops.sim.company.customers import customer_ids
from aifinops.sim.company.kinds import I64
from aifinops.sim.company.options import Window
from aifinops.sim.company.spec import FEATURES
from aifinops.sim.company.traffic import Outcomes

_TEMPLATE = (
    '{"outcome_id":"oc_%s_%s-%08d","unit_id":"%s-%08d","feature":%s,"customer_id":"%s",'
    '"type":%s,"success":%s,"value_usd":%s,"quality":%s,"ts":"%sZ"}\n'
)
RENDER_ROWS = 20_000


@cache
def _feature_json() -> tuple[list[str], list[str], list[str], list[tuple[str, str]]]:
    """Per feature: unit prefix, JSON name, JSON outcome type, value_usd on (failure, success)."""
    values = [
        ("null", "null")
        if f.value_per_outcome_usd is None
        else ('"0.00"', json.dumps(f.value_per_outcome_usd))
        for f in FEATURES
    ]
    return (
        [f.unit_prefix for f in FEATURES],
        [json.dumps(f.name) for f in FEATURES],
        [json.dumps(f.outcome_type) for f in FEATURES],
        values,
    )


def _pick(table: list[str], codes: I64) -> list[str]:
    picked: list[str] = np.array(table, dtype=object)[codes].tolist()
    return picked


def outcome_lines(outcomes: Outcomes, window: Window) -> Iterator[str]:
    """The outcomes as JSONL text, ``RENDER_ROWS`` lines at a time."""
    prefixes, names, types, values = _feature_json()
    customers = customer_ids(window.options.customers)
    key = window.key
    for lo in range(0, len(outcomes), RENDER_ROWS):
        hi = min(lo + RENDER_ROWS, len(outcomes))
        feature = outcomes.feature[lo:hi]
        success = outcomes.success[lo:hi]
        prefix = _pick(prefixes, feature)
        unit = outcomes.unit[lo:hi].tolist()
        value = [values[f][s] for f, s in zip(feature.tolist(), success.tolist(), strict=True)]
        graded = outcomes.quality[lo:hi]
        quality = [
            f"{q:.2f}" if ok else "null"
            for q, ok in zip(graded.tolist(), (~np.isnan(graded)).tolist(), strict=True)
        ]
        ts = np.datetime_as_string(outcomes.ts_ms[lo:hi].astype("datetime64[ms]"), unit="ms")
        columns = (
            [key] * (hi - lo),
            prefix,
            unit,
            prefix,
            unit,
            _pick(names, feature),
            _pick(customers, outcomes.customer[lo:hi]),
            _pick(types, feature),
            ["true" if s else "false" for s in success.tolist()],
            value,
            quality,
            ts.tolist(),
        )
        yield "".join([_TEMPLATE % row for row in zip(*columns, strict=True)])
