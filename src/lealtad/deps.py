"""FastAPI dependencies: the app's services and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.errors import Forbidden, Unauthorized
from lealtad.kit.clock import Clock
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role, parse_api_key


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


Db = Annotated[Database, Depends(_db)]
AppSettings = Annotated[Settings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]

_bearer = HTTPBearer(auto_error=False, description="an API key or a staff token")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def _principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    presented = api_key or (bearer.credentials if bearer else None)
    if not presented:
        raise Unauthorized(
            "send an API key (Authorization: Bearer lk_... or X-API-Key) or a staff token",
            code="missing_credentials",
        )
    db = _db(request)
    settings = _settings(request)
    is_key = parse_api_key(presented) is not None or presented.startswith("lk_")
    if is_key and (cached := tenancy.cached_api_key_principal(db.url, presented)) is not None:
        return cached
    with db.read() as conn:
        if is_key:
            principal = tenancy.principal_from_api_key(conn, presented)
            tenancy.remember_api_key_principal(db.url, presented, principal)
            return principal
        return tenancy.principal_from_staff_token(
            conn,
            settings.effective_secret_key,
            presented,
            settings.staff_token_hours * 3600,
        )


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def role_at_least(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.role.allows(role):
            raise Forbidden(f"this needs the {role.value} role or higher", code="role_required")
        return principal

    return check


Manager = Annotated[Principal, Depends(role_at_least(Role.manager))]
Owner = Annotated[Principal, Depends(role_at_least(Role.owner))]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="makes a retry safe; defaults to the receipt or refund id",
    ),
]
