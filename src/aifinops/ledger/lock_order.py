"""The order in which PostgreSQL writers take rollup rows.

PostgreSQL locks each row an upsert inserts or updates until the commit, in the order
its SELECT gives the rows; a hash aggregate gives them in an order that depends on the
batch, so two writers upserting the same keys (gateway workers' writer children, an
import, the API) could each hold a row the other waits for: a deadlock, one of them
failed. Every PostgreSQL upsert of a rollup therefore reads its rows in key order
(`key_order`), and every writer upserts the rollups in one order: hourly, daily, unit,
waste (`aifinops.ledger.writer` and `aifinops.ledger.postgres_span`). SQLite locks the
whole ledger for a write instead, so its statements go without.
"""

from __future__ import annotations

from aifinops.ledger.schema import ROLLUP_DIMENSIONS


def key_order(width: int) -> str:
    """`` ORDER BY 1, …, width``: an upsert's rows in the order of their key, its
    first ``width`` columns."""
    return " ORDER BY " + ", ".join(str(i) for i in range(1, width + 1))


#: The width of the hourly and daily rollups' keys (the hour or day, then the dimensions).
ROLLUP_KEY_WIDTH = 1 + len(ROLLUP_DIMENSIONS)
