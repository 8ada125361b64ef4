"""Deployment-gate decisions: ``gate_runs``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("baseline", sa.String(1000), nullable=False),
        sa.Column("candidate", sa.String(1000), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("ran_by", sa.String(200)),
        sa.Column("document", sa.JSON, nullable=False),
    )
    op.create_index("ix_gate_runs_feature_ts", "gate_runs", ["feature", "ts"])


def downgrade() -> None:
    op.drop_index("ix_gate_runs_feature_ts", "gate_runs")
    op.drop_table("gate_runs")
