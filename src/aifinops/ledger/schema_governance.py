"""Governance tables: budgets made through the CLI or API, and the alerts they raised.

- ``budgets``: one row per budget made at run time (``aifinops budget set``,
  ``/api/v1/budgets``); budgets in the config file are not stored here (read-only at run
  time; an id in both is an error). ``definition`` holds the validated definition as
  `aifinops.governance.budgets.Budget.as_dict` gives it.
- ``budget_alerts``: every alert raised, unique per (subject, period start, kind, level)
  so a threshold crossing fires once per period however often it is evaluated, across
  restarts and processes; with its delivery state (attempts, last error, delivered at).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from aifinops.ledger.schema import metadata

budgets = Table(
    "budgets",
    metadata,
    Column("budget_id", String(200), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(200)),
)

budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("subject", String(250), nullable=False),  # a budget id, or team:T / feature:F
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("kind", String(30), nullable=False),  # threshold | hard_limit | projected | anomaly
    Column("level", Integer, nullable=False),  # the threshold %, or 0
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("spend_nusd", BigInteger),
    Column("limit_nusd", BigInteger),
    Column("details", JSON),
    Column("channel", String(200)),
    Column("status", String(20), nullable=False),  # pending | delivered | failed | no_channel
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ux_budget_alerts_once", "subject", "period_start", "kind", "level", unique=True),
    Index("ix_budget_alerts_fired_at", "fired_at"),
)
