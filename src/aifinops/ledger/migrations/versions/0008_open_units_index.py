"""A partial index of the units with no outcome yet (the economics' open units).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_unit_rollup_open",
        "unit_rollup",
        ["first_day"],
        sqlite_where=sa.text("outcomes = 0"),
        postgresql_where=sa.text("outcomes = 0"),
        postgresql_include=[
            "feature",
            "team",
            "customer_id",
            "prompt_version",
            "effective_cost_nusd",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_unit_rollup_open", "unit_rollup")
