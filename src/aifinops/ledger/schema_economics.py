"""Unit economics tables: outcomes, their daily rollup, and the per-unit rollup.

- ``outcomes``: one row per outcome event, idempotent on ``outcome_id``. ``team`` and
  ``prompt_version`` are not sent with an outcome: they are taken from the unit's calls
  when the outcome is recorded (or the feature's team in the config), so outcomes can be
  grouped like spend.
- ``outcome_daily``: outcomes per UTC day of the outcome's own ``ts`` and attribution,
  maintained at insert time; the economics reports read it, never the raw outcomes.
- ``feature_settings``: economics settings of features created through the API (those
  in the config file are read-only at run time and not stored here).
- ``unit_rollup``: per unit of work (``unit_id`` on calls), its calls and cost, maintained
  at insert time of the calls, and how many outcomes it has (so spend on units with no
  outcome yet is a sum, not a join). Attribution is fixed when the unit is first recorded:
  that of its calls in that write (a batch, or an import's span); should those calls
  disagree, each of feature, team, customer and prompt version is the smallest non-empty
  value among them. Later calls add their measures and leave it (outcomes already counted
  under it must not move).

Money is integer nano-USD; quality is stored in millionths (``quality_micros``) so sums
are exact.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    String,
    Table,
    text,
)

from aifinops.ledger.schema import metadata

#: Attribution of an outcome rollup row; a missing value is "" (composite key).
OUTCOME_DIMENSIONS: tuple[str, ...] = ("feature", "team", "customer_id", "prompt_version", "type")
#: Summed measures of ``outcome_daily``.
OUTCOME_MEASURES: tuple[str, ...] = (
    "outcomes",
    "successes",
    "valued",
    "value_nusd",
    "graded",
    "quality_micros",
)
#: Summed measures of ``unit_rollup``.
UNIT_MEASURES: tuple[str, ...] = (
    "calls",
    "errors",
    "list_cost_nusd",
    "effective_cost_nusd",
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("outcome_id", String(200), primary_key=True),
    Column("unit_id", String(200)),
    Column("feature", String(200), nullable=False),
    Column("team", String(200)),
    Column("customer_id", String(200)),
    Column("prompt_version", String(200)),
    Column("type", String(100)),
    Column("success", Boolean, nullable=False),
    Column("value_nusd", BigInteger),
    Column("quality_micros", BigInteger),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_outcomes_unit_id", "unit_id"),
    Index("ix_outcomes_ts", "ts"),
)

outcome_daily = Table(
    "outcome_daily",
    metadata,
    Column("day", Date, primary_key=True),
    *(Column(name, String(200), primary_key=True) for name in OUTCOME_DIMENSIONS),
    *(Column(name, BigInteger, nullable=False) for name in OUTCOME_MEASURES),
)

unit_rollup = Table(
    "unit_rollup",
    metadata,
    Column("unit_id", String(200), primary_key=True),
    Column("feature", String(200), nullable=False),
    Column("team", String(200), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("prompt_version", String(200), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("first_ts", DateTime(timezone=True), nullable=False),
    Column("last_ts", DateTime(timezone=True), nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in UNIT_MEASURES),
    Column("outcomes", BigInteger, nullable=False),
    Index("ix_unit_rollup_first_day", "first_day"),
    # the open units (no outcome yet) of a period, read from the index alone on PostgreSQL
    Index(
        "ix_unit_rollup_open",
        "first_day",
        sqlite_where=text("outcomes = 0"),
        postgresql_where=text("outcomes = 0"),
        postgresql_include=[
            "feature",
            "team",
            "customer_id",
            "prompt_version",
            "effective_cost_nusd",
        ],
    ),
)

feature_settings = Table(
    "feature_settings",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(200)),
)
