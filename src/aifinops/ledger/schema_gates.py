"""Deployment-gate decisions (``aifinops gate --record``).

- ``gate_runs``: one row per recorded gate run: the feature, both selections as given,
  the policy applied, the figures of each side and their differences, the verdict
  (``pass`` | ``fail`` | ``insufficient``) with its exit code, and who ran it. Read by
  ``aifinops gate history`` and ``/api/v1/gates``, so a cost jump can be traced to the
  change that caused it.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table

from aifinops.ledger.schema import metadata

gate_runs = Table(
    "gate_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("feature", String(200), nullable=False),
    Column("team", String(200)),
    Column("baseline", String(1000), nullable=False),
    Column("candidate", String(1000), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("ran_by", String(200)),
    Column("document", JSON, nullable=False),
    Index("ix_gate_runs_feature_ts", "feature", "ts"),
)
