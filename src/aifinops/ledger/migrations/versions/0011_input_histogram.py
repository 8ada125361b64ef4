"""The waste rollup's input-size histogram (``context_bloat`` against a feature's norm).

Adds ``input_calls_0`` … ``input_calls_9`` and ``input_tokens_0`` … ``input_tokens_9``:
per bucket of all input tokens (edges doubling from 1,024 to 262,144), the calls and
their input. Rows written before this revision keep 0 there; the detector reads only
the calls the histogram holds, so nothing already recorded changes meaning.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INPUT_BUCKETS = 10
COLUMNS = (
    *(f"input_calls_{i}" for i in range(INPUT_BUCKETS)),
    *(f"input_tokens_{i}" for i in range(INPUT_BUCKETS)),
)


def upgrade() -> None:
    with op.batch_alter_table("waste_rollup") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("waste_rollup") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
