"""The daily rollup, backfilled from the hourly one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DIMENSIONS = ("provider", "model", "team", "feature", "customer_id", "prompt_version")
MEASURES = (
    "calls",
    "errors",
    "unpriced_calls",
    "unpriced_tokens",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "list_cost_nusd",
    "effective_cost_nusd",
)


def upgrade() -> None:
    op.create_table(
        "rollup_daily",
        sa.Column("day", sa.Date, primary_key=True),
        *(sa.Column(name, sa.String(200), primary_key=True) for name in DIMENSIONS),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in MEASURES),
    )
    keys = ", ".join(("day", *DIMENSIONS))
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    op.execute(
        f"INSERT INTO rollup_daily ({keys}, {', '.join(MEASURES)}) "
        f"SELECT {keys}, {sums} FROM rollup_hourly GROUP BY {keys}"
    )


def downgrade() -> None:
    op.drop_table("rollup_daily")
