"""The CRM's end customers: ids and a long-tail (Zipf) share of the traffic."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ZIPF_EXPONENT = 1.1


def customer_ids(n: int) -> list[str]:
    """``cust-001`` … in order of size (the first is the largest customer)."""
    width = max(3, len(str(n)))
    return [f"cust-{i:0{width}d}" for i in range(1, n + 1)]


def customer_weights(n: int) -> npt.NDArray[np.float64]:
    """Each customer's share of the traffic: rank ``k`` gets ``k ** -1.1``, normalised."""
    ranks = np.arange(1, n + 1, dtype=np.float64)
    weights: npt.NDArray[np.float64] = ranks**-ZIPF_EXPONENT
    shares: npt.NDArray[np.float64] = weights / weights.sum()
    return shares
