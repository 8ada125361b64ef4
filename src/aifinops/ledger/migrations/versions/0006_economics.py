"""Unit economics: outcomes, their daily rollup, and the per-unit rollup (backfilled).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OUTCOME_DIMENSIONS = ("feature", "team", "customer_id", "prompt_version", "type")
OUTCOME_MEASURES = ("outcomes", "successes", "valued", "value_nusd", "graded", "quality_micros")
UNIT_MEASURES = ("calls", "errors", "list_cost_nusd", "effective_cost_nusd")


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("outcome_id", sa.String(200), primary_key=True),
        sa.Column("unit_id", sa.String(200)),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("customer_id", sa.String(200)),
        sa.Column("prompt_version", sa.String(200)),
        sa.Column("type", sa.String(100)),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("value_nusd", sa.BigInteger),
        sa.Column("quality_micros", sa.BigInteger),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outcomes_unit_id", "outcomes", ["unit_id"])
    op.create_index("ix_outcomes_ts", "outcomes", ["ts"])
    op.create_table(
        "outcome_daily",
        sa.Column("day", sa.Date, primary_key=True),
        *(sa.Column(name, sa.String(200), primary_key=True) for name in OUTCOME_DIMENSIONS),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in OUTCOME_MEASURES),
    )
    op.create_table(
        "unit_rollup",
        sa.Column("unit_id", sa.String(200), primary_key=True),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("prompt_version", sa.String(200), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("first_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in UNIT_MEASURES),
        sa.Column("outcomes", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_unit_rollup_first_day", "unit_rollup", ["first_day"])
    op.create_table(
        "feature_settings",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200)),
    )
    day = (
        "CAST(min(ts) AS DATE)"
        if op.get_bind().dialect.name == "postgresql"
        else ("substr(min(ts), 1, 10)")
    )
    op.execute(
        "INSERT INTO unit_rollup (unit_id, feature, team, customer_id, prompt_version, "
        "first_day, first_ts, last_ts, calls, errors, list_cost_nusd, effective_cost_nusd, "
        "outcomes) "
        "SELECT unit_id, coalesce(min(feature), ''), coalesce(min(team), ''), "
        "coalesce(min(customer_id), ''), coalesce(min(prompt_version), ''), "
        f"{day}, min(ts), max(ts), count(*), "
        "sum(CASE WHEN error_type IS NOT NULL OR coalesce(status, 0) >= 400 THEN 1 ELSE 0 END), "
        "coalesce(sum(list_cost_nusd), 0), coalesce(sum(effective_cost_nusd), 0), 0 "
        "FROM usage_events WHERE unit_id IS NOT NULL GROUP BY unit_id"
    )


def downgrade() -> None:
    op.drop_table("feature_settings")
    op.drop_table("unit_rollup")
    op.drop_table("outcome_daily")
    op.drop_index("ix_outcomes_ts", "outcomes")
    op.drop_index("ix_outcomes_unit_id", "outcomes")
    op.drop_table("outcomes")
