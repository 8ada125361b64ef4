"""Optimize: ``eval_scores`` and the insert-time ``waste_rollup``.

The waste rollup starts empty: events recorded before this revision are not backfilled
(``aifinops waste`` reports on calls recorded from then on).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WASTE_DIMENSIONS = (
    "provider",
    "model",
    "service_tier",
    "team",
    "feature",
    "prompt_version",
    "system_hash",
    "prefix_hash",
)
OUTPUT_BUCKETS = 8
WASTE_MEASURES = (
    "calls",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "system_calls",
    "system_tokens",
    "system_tokens_max",
    "chunk_calls",
    "context_chunks",
    "context_chunks_max",
    "chunk_input_tokens",
    "chunk_system_tokens",
    "uncapped_calls",
    "uncapped_output_tokens",
    "uncapped_length_stops",
    *(f"uncapped_out_calls_{i}" for i in range(OUTPUT_BUCKETS)),
    *(f"uncapped_out_tokens_{i}" for i in range(OUTPUT_BUCKETS)),
)


def upgrade() -> None:
    op.create_table(
        "eval_scores",
        sa.Column("score_id", sa.String(64), primary_key=True),
        sa.Column("feature", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_version", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("score", sa.String(20), nullable=False),
        sa.Column("sample_size", sa.Integer, nullable=False),
        sa.Column("run_date", sa.Date),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_eval_scores_feature_model", "eval_scores", ["feature", "model"])
    op.create_table(
        "waste_rollup",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        *(sa.Column(name, sa.String(200), primary_key=True) for name in WASTE_DIMENSIONS),
        sa.Column("batch", sa.Boolean, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in WASTE_MEASURES),
        sa.Column("cache_slots", sa.BigInteger, nullable=False),
        sa.Column("example_event_id", sa.String(200), nullable=False),
    )
    op.create_index("ix_waste_rollup_day", "waste_rollup", ["day"])


def downgrade() -> None:
    op.drop_index("ix_waste_rollup_day", "waste_rollup")
    op.drop_table("waste_rollup")
    op.drop_index("ix_eval_scores_feature_model", "eval_scores")
    op.drop_table("eval_scores")
