"""Feature economics settings: those of the config file plus those made through the API.

A feature in the config file is read-only at run time; the API creates, changes and
deletes only the others (stored in ``feature_settings``). A name in both is an error
that names the feature, as DESIGN.md's contract says.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from aifinops.economics.settings import EconomicsSettings, FeatureEconomics, parse_feature
from aifinops.ledger.schema_economics import feature_settings


class FeatureConflictError(ValueError):
    """A feature is both in the config file and stored through the API."""


def stored_features(conn: Connection) -> list[FeatureEconomics]:
    rows = conn.execute(select(feature_settings).order_by(feature_settings.c.name))
    return [
        parse_feature({**r.settings, "name": r.name}, f"feature_settings[{r.name}]", "api")
        for r in rows
    ]


def merge(config: EconomicsSettings, stored: list[FeatureEconomics]) -> EconomicsSettings:
    names = {f.name for f in config.features}
    both = sorted(f.name for f in stored if f.name in names)
    if both:
        raise FeatureConflictError(
            f"features: {both[0]!r} is in the config file and was also set through the API; "
            "delete one of them (aifinops features delete, or edit the file)"
        )
    return replace(config, features=(*config.features, *stored))


def effective_economics(db: Engine | Connection, config: EconomicsSettings) -> EconomicsSettings:
    if isinstance(db, Engine):
        with db.connect() as conn:
            return merge(config, stored_features(conn))
    return merge(config, stored_features(db))


def feature_teams(db: Engine | Connection, config: EconomicsSettings) -> dict[str, str]:
    """feature → team, for outcomes whose unit has no recorded call yet."""
    economics = effective_economics(db, config)
    return {f.name: f.team for f in economics.features if f.team}


def put_feature(conn: Connection, raw: dict[str, Any], actor: str) -> FeatureEconomics:
    """Create or replace an API-managed feature (validated; errors name the field)."""
    feature = parse_feature(raw, "body", "api")
    settings = {k: v for k, v in raw.items() if k != "name" and v is not None}
    conn.execute(delete(feature_settings).where(feature_settings.c.name == feature.name))
    conn.execute(
        feature_settings.insert().values(
            name=feature.name, settings=settings, updated_at=datetime.now(UTC), updated_by=actor
        )
    )
    return feature


def delete_feature(conn: Connection, name: str) -> bool:
    result = conn.execute(delete(feature_settings).where(feature_settings.c.name == name))
    return bool(result.rowcount)
