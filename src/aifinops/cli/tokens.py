"""`aifinops tokens create|list|revoke`: API tokens, stored hashed, every change audited."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aifinops.cli.app import app
from aifinops.cli.common import EXIT_FAILURE, fail, ledger_or_exit, settings_or_exit

#: aifinops.api.roles.ROLE_HELP, for the help text without importing the ledger
#: (tests/cli/test_startup.py holds the two equal)
ROLE_HELP = "admin, finance, team:T, customer:C, ingest or metrics"

tokens_app = typer.Typer(
    help="API tokens for /api/v1 (not gateway keys): each has one role; only hashes are stored.",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: AIFINOPS_CONFIG).")
]


class Format(StrEnum):
    table = "table"
    json = "json"


@tokens_app.command("create")
def create_command(
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLE_HELP}.")],
    name: Annotated[str | None, typer.Option("--name", help="A label for people.")] = None,
    config: ConfigOption = None,
) -> None:
    """Create an API token; the secret is printed once, alone on the last line."""
    from aifinops.api.audit import cli_actor, record_audit
    from aifinops.api.roles import Role, RoleError
    from aifinops.api.tokens import create_token

    try:
        parsed = Role.parse(role)
    except RoleError as exc:
        fail(f"--role: {exc}")
    engine = ledger_or_exit(settings_or_exit(config))
    actor = cli_actor()
    with engine.begin() as conn:
        record, secret = create_token(conn, parsed, name, created_by=actor)
        record_audit(
            conn,
            actor=actor,
            via="cli",
            action="tokens.create",
            target=record.token_id,
            before=None,
            after=record.summary(),
        )
    typer.echo(f"created API token {record.token_id} with role {parsed}")
    typer.echo("store it now: the secret is not shown again")
    typer.echo(secret)


@tokens_app.command("list")
def list_command(
    all_tokens: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    output: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    config: ConfigOption = None,
) -> None:
    """List API tokens (never their secrets)."""
    from aifinops.api.tokens import list_tokens

    engine = ledger_or_exit(settings_or_exit(config))
    with engine.connect() as conn:
        records = list_tokens(conn, include_revoked=all_tokens)
    if output == Format.json:
        typer.echo(json.dumps({"rows": [r.summary() for r in records]}))
        return
    if not records:
        typer.echo("no API tokens (create one with `aifinops tokens create --role admin`)")
        return
    for r in records:
        state = "revoked" if r.revoked_at else "active"
        typer.echo(f"{r.token_id}  {state:7}  role={r.role}  name={r.name or '-'}")


@tokens_app.command("revoke")
def revoke_command(
    token_id: Annotated[str, typer.Argument(help="The token id (see `aifinops tokens list`).")],
    config: ConfigOption = None,
) -> None:
    """Revoke a token: refused from its next request on."""
    from aifinops.api.audit import cli_actor, record_audit
    from aifinops.api.tokens import get_token, revoke_token

    engine = ledger_or_exit(settings_or_exit(config))
    with engine.begin() as conn:
        before = get_token(conn, token_id)
        after = revoke_token(conn, token_id) if before is not None else None
        if before is None or after is None:
            fail(f"no active API token {token_id!r} (see `aifinops tokens list`)", EXIT_FAILURE)
        record_audit(
            conn,
            actor=cli_actor(),
            via="cli",
            action="tokens.revoke",
            target=token_id,
            before=before.summary(),
            after=after.summary(),
        )
    typer.echo(f"revoked API token {token_id}")
