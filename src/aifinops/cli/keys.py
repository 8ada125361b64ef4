"""`aifinops keys create|list|revoke|rotate`: gateway keys, stored hashed."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aifinops.cli.app import app
from aifinops.cli.common import EXIT_FAILURE, fail, ledger_or_exit, settings_or_exit

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from aifinops.gateway.keys import KeyRecord

keys_app = typer.Typer(help="Gateway keys: each fixes its team; only hashes are stored.")
app.add_typer(keys_app, name="keys")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: AIFINOPS_CONFIG).")
]


class Format(StrEnum):
    table = "table"
    json = "json"


def _check(option: str, value: str | None) -> None:
    from aifinops.gateway.attribution import valid_value

    if value is not None and not valid_value(value):
        fail(
            f"{option}: {value!r} must be 1-200 characters of letters, digits and . _ : @ / + = # -"
        )


def _summary(record: KeyRecord) -> dict[str, str | None]:
    return {
        "key_id": record.key_id,
        "team": record.team,
        "feature": record.feature,
        "name": record.name,
        "created_at": record.created_at.isoformat(),
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "rotated_from": record.rotated_from,
    }


def _maybe(record: KeyRecord | None) -> dict[str, str | None] | None:
    return None if record is None else _summary(record)


def _audit(
    conn: Connection,
    action: str,
    target: str,
    before: dict[str, str | None] | None,
    after: dict[str, str | None] | None,
) -> None:
    """Every key change from the CLI goes to the audit log, as the API's do (no secrets)."""
    from aifinops.api.audit import cli_actor, record_audit

    record_audit(
        conn, actor=cli_actor(), via="cli", action=action, target=target, before=before, after=after
    )


@keys_app.command("create")
def create_command(
    team: Annotated[
        str, typer.Option("--team", help="Team every call with this key is billed to.")
    ],
    feature: Annotated[str | None, typer.Option("--feature", help="Fix the feature too.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label for people.")] = None,
    config: ConfigOption = None,
) -> None:
    """Create a gateway key; the secret is printed once, alone on the last line."""
    from aifinops.gateway.keys import create_key

    _check("--team", team)
    _check("--feature", feature)
    engine = ledger_or_exit(settings_or_exit(config))
    with engine.begin() as conn:
        record, secret = create_key(conn, team, feature, name)
        _audit(conn, "keys.create", record.key_id, None, _summary(record))
    typer.echo(
        f"created key {record.key_id} for team {team}" + (f", feature {feature}" if feature else "")
    )
    typer.echo("store it now: the secret is not shown again")
    typer.echo(secret)


@keys_app.command("list")
def list_command(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    output: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    config: ConfigOption = None,
) -> None:
    """List gateway keys (never their secrets)."""
    from aifinops.gateway.keys import list_keys

    engine = ledger_or_exit(settings_or_exit(config))
    with engine.connect() as conn:
        records = list_keys(conn, include_revoked=all_keys)
    if output == Format.json:
        typer.echo(json.dumps({"rows": [_summary(r) for r in records]}))
        return
    if not records:
        typer.echo("no keys (create one with `aifinops keys create --team T`)")
        return
    for r in records:
        state = "revoked" if r.revoked_at else "active"
        feature, name = r.feature or "-", r.name or "-"
        typer.echo(f"{r.key_id}  {state:7}  team={r.team}  feature={feature}  name={name}")


@keys_app.command("revoke")
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key id (see `aifinops keys list`).")],
    config: ConfigOption = None,
) -> None:
    """Revoke a key: the gateway refuses it within seconds."""
    from aifinops.gateway.keys import get_key, revoke_key

    engine = ledger_or_exit(settings_or_exit(config))
    with engine.begin() as conn:
        before = get_key(conn, key_id)
        if not revoke_key(conn, key_id):
            fail(f"no active key {key_id!r} (see `aifinops keys list`)", EXIT_FAILURE)
        after = get_key(conn, key_id)
        _audit(conn, "keys.revoke", key_id, _maybe(before), _maybe(after))
    typer.echo(f"revoked key {key_id}")


@keys_app.command("rotate")
def rotate_command(
    key_id: Annotated[str, typer.Argument(help="The key id to replace.")],
    config: ConfigOption = None,
) -> None:
    """Replace a key with a new one (same team, feature, name); prints the new secret last."""
    from aifinops.gateway.keys import get_key, rotate_key

    engine = ledger_or_exit(settings_or_exit(config))
    with engine.begin() as conn:
        before = get_key(conn, key_id)
        result = rotate_key(conn, key_id)
        if result is not None:
            _audit(conn, "keys.rotate", key_id, _maybe(before), _summary(result[0]))
    if result is None:
        fail(f"no active key {key_id!r} (see `aifinops keys list`)", EXIT_FAILURE)
    record, secret = result
    typer.echo(f"revoked key {key_id}; created key {record.key_id} for team {record.team}")
    typer.echo("store it now: the secret is not shown again")
    typer.echo(secret)
