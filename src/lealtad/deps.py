"""FastAPI dependencies: the app's services and who is calling.

Every dependency on the request path is `async def` and does no blocking work on the event loop:
a sync dependency costs a hop to the thread pool and back on every request, four of them more
than the route itself once the rest is cheap. What must read the database (a key not yet
remembered, a staff token) goes to a thread explicitly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.errors import Forbidden, Unauthorized
from lealtad.kit.clock import Clock
from lealtad.tenancy import key_cache, sign_in
from lealtad.tenancy.model import Principal, Role, parse_api_key


# Plain functions too: code that is not a dependency (analytics' caller, pages) calls them.
def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _db_dep(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


Db = Annotated[Database, Depends(_db_dep)]
AppSettings = Annotated[Settings, Depends(_settings_dep)]
Now = Annotated[datetime, Depends(_now)]

_bearer = HTTPBearer(auto_error=False, description="an API key or a staff token")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)

_MISSING = "send an API key (Authorization: Bearer lk_... or X-API-Key) or a staff token"


def _presented(bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> str:
    presented = api_key or (bearer.credentials if bearer else None)
    if not presented:
        raise Unauthorized(_MISSING, code="missing_credentials")
    return presented


def _is_key(presented: str) -> bool:
    return parse_api_key(presented) is not None or presented.startswith("lk_")


def _checked_in_full(db: Database, settings: Settings, presented: str) -> Principal:
    """Blocking: the key's row or the staff member's, read now."""
    with db.read() as conn:
        if _is_key(presented):
            principal = sign_in.principal_from_api_key(conn, presented)
            key_cache.remember(db, presented, principal)
            return principal
        return sign_in.principal_from_staff_token(
            conn,
            settings.effective_secret_key,
            presented,
            settings.staff_token_hours * 3600,
        )


def _principal(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Principal:
    """Who is calling, for code running in a thread (not a dependency)."""
    presented = _presented(bearer, api_key)
    db = _db(request)
    if _is_key(presented) and (known := key_cache.remembered(db, presented)) is not None:
        if key_cache.confirmed(db, known):
            return known
        key_cache.forget(db, presented)
    return _checked_in_full(db, _settings(request), presented)


async def _current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    presented = _presented(bearer, api_key)
    db: Database = request.app.state.db
    if _is_key(presented) and (known := key_cache.remembered(db, presented)) is not None:
        in_force = key_cache.confirmed_here(db, known)
        if in_force is None:
            in_force = await key_cache.confirmed_on_the_loop(db, known)
        if in_force is None:
            in_force = await run_in_threadpool(key_cache.confirmed, db, known)
        if in_force:
            return known
        key_cache.forget(db, presented)
    return await run_in_threadpool(_checked_in_full, db, request.app.state.settings, presented)


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


def role_at_least(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
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
