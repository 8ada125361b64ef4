"""Gateway keys, API tokens and the audit log. Every write is audited in its transaction."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from aifinops.api.audit import record_audit
from aifinops.api.context import ApiContext, Principal, iso
from aifinops.api.errors import ApiError
from aifinops.api.models import (
    AuditPage,
    ErrorBody,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyRevoked,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenRevoked,
)
from aifinops.api.params import (
    PRINTABLE,
    CursorParam,
    FromParam,
    ToParam,
    date_range,
    decode_cursor,
    encode_cursor,
    requires,
)
from aifinops.api.roles import Permission, Role, RoleError
from aifinops.api.tokens import create_token, get_token, list_tokens, revoke_token
from aifinops.gateway.attribution import valid_value
from aifinops.gateway.keys import create_key, get_key, revoke_key
from aifinops.ledger.queries import MAX_PAGE, PageQuery

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
IdParam = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")]
IncludeRevoked = Annotated[bool, Query(description="Include revoked ones.")]


def _check_value(field: str, value: str | None) -> None:
    if value is not None and not valid_value(value):
        raise ApiError(
            422,
            f"{field}: {value!r} must be 1-200 letters, digits and . _ : @ / + = # -",
            field=field,
        )


def keys_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["keys"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.keys_read))]
    Writer = Annotated[Principal, Depends(requires(ctx, Permission.keys_write))]

    @router.get("/keys", summary="Gateway keys (never their secrets)")
    def get_keys(principal: Reader, include_revoked: IncludeRevoked = False) -> KeyList:
        """A team token sees its team's keys only."""
        rows = ctx.ledger_for(principal).keys(include_revoked=include_revoked)
        return KeyList.model_validate({"rows": rows})

    @router.post("/keys", status_code=201, summary="Create a gateway key")
    def post_key(principal: Writer, body: KeyCreate) -> KeyCreated:
        """The secret is in this answer only; store it now."""
        _check_value("team", body.team)
        _check_value("feature", body.feature)
        with ctx.engine.begin() as conn:
            record, secret = create_key(conn, body.team, body.feature, body.name)
            after = _summary_of(conn, record.key_id)
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="keys.create",
                target=record.key_id,
                before=None,
                after=after,
            )
        return KeyCreated.model_validate({"key": after, "secret": secret})

    @router.delete("/keys/{key_id}", summary="Revoke a gateway key", responses=NOT_FOUND)
    def delete_key(principal: Writer, key_id: IdParam) -> KeyRevoked:
        """The gateway refuses the key within seconds."""
        with ctx.engine.begin() as conn:
            before = _summary_of(conn, key_id)
            if before is None or not revoke_key(conn, key_id):
                raise ApiError(404, f"no active key {key_id!r}", field="key_id")
            after = _summary_of(conn, key_id)
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="keys.revoke",
                target=key_id,
                before=before,
                after=after,
            )
        return KeyRevoked.model_validate({"key": after})

    return router


def _summary_of(conn: Any, key_id: str) -> dict[str, Any] | None:
    record = get_key(conn, key_id)
    if record is None:
        return None
    return {
        "key_id": record.key_id,
        "team": record.team,
        "feature": record.feature,
        "name": record.name,
        "created_at": iso(record.created_at),
        "revoked_at": iso(record.revoked_at),
        "rotated_from": record.rotated_from,
    }


def tokens_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["tokens"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.tokens_read))]
    Writer = Annotated[Principal, Depends(requires(ctx, Permission.tokens_write))]

    @router.get("/tokens", summary="API tokens (never their secrets)")
    def get_tokens(principal: Reader, include_revoked: IncludeRevoked = False) -> TokenList:
        with ctx.engine.connect() as conn:
            records = list_tokens(conn, include_revoked=include_revoked)
        return TokenList.model_validate({"rows": [r.summary() for r in records]})

    @router.post("/tokens", status_code=201, summary="Create an API token")
    def post_token(principal: Writer, body: TokenCreate) -> TokenCreated:
        """The secret is in this answer only; store it now."""
        try:
            role = Role.parse(body.role)
        except RoleError as exc:
            raise ApiError(422, f"role: {exc}", field="role") from None
        with ctx.engine.begin() as conn:
            record, secret = create_token(conn, role, body.name, created_by=principal.actor)
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="tokens.create",
                target=record.token_id,
                before=None,
                after=record.summary(),
            )
        return TokenCreated.model_validate({"token": record.summary(), "secret": secret})

    @router.delete("/tokens/{token_id}", summary="Revoke an API token", responses=NOT_FOUND)
    def delete_token(principal: Writer, token_id: IdParam) -> TokenRevoked:
        """Takes effect on the token's next request."""
        with ctx.engine.begin() as conn:
            before = get_token(conn, token_id)
            after = revoke_token(conn, token_id) if before is not None else None
            if before is None or after is None:
                raise ApiError(404, f"no active token {token_id!r}", field="token_id")
            record_audit(
                conn,
                actor=principal.actor,
                via="api",
                action="tokens.revoke",
                target=token_id,
                before=before.summary(),
                after=after.summary(),
            )
        return TokenRevoked.model_validate({"token": after.summary()})

    return router


def audit_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["audit"])
    Reader = Annotated[Principal, Depends(requires(ctx, Permission.audit_read))]

    @router.get("/audit", summary="Every write through the API or the CLI")
    def get_audit(
        principal: Reader,
        start: FromParam = None,
        end: ToParam = None,
        action: Annotated[
            str | None, Query(min_length=1, max_length=100, pattern=PRINTABLE)
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        cursor: CursorParam = None,
    ) -> AuditPage:
        """Newest first: who (token or CLI user), what, when, the record before and after."""
        lo, hi = date_range(start, end)
        filters = (("action", action),) if action else ()
        query = PageQuery(lo, hi, filters, limit, decode_cursor(cursor))
        found = ctx.ledger_for(principal).audit(query)
        rows = [
            {
                "audit_id": r["audit_id"],
                "ts": iso(r["ts"]),
                "actor": r["actor"],
                "via": r["via"],
                "action": r["action"],
                "target": r["target"],
                "before": r["before_state"],
                "after": r["after_state"],
            }
            for r in found.rows
        ]
        meta = {"limit": limit, "next_cursor": encode_cursor(found.next_after), "scope": None}
        return AuditPage.model_validate({"rows": rows, "meta": meta})

    return router
