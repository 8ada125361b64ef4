"""Governance: budgets made at run time and the alerts they raised.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("budget_id", sa.String(200), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200)),
    )
    op.create_table(
        "budget_alerts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spend_nusd", sa.BigInteger),
        sa.Column("limit_nusd", sa.BigInteger),
        sa.Column("details", sa.JSON),
        sa.Column("channel", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ux_budget_alerts_once",
        "budget_alerts",
        ["subject", "period_start", "kind", "level"],
        unique=True,
    )
    op.create_index("ix_budget_alerts_fired_at", "budget_alerts", ["fired_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_fired_at", "budget_alerts")
    op.drop_index("ux_budget_alerts_once", "budget_alerts")
    op.drop_table("budget_alerts")
    op.drop_table("budgets")
