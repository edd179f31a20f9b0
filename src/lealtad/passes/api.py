"""The pass web service Apple's devices call (Apple's "Wallet Passes" web service reference,
protocol version v1), under `<webServiceURL>` = <public base>/passes/apple:

- POST   /v1/devices/{device}/registrations/{passType}/{serial}   201 new, 200 known, 401
- DELETE /v1/devices/{device}/registrations/{passType}/{serial}   200, 401
- GET    /v1/devices/{device}/registrations/{passType}?passesUpdatedSince=tag   200 / 204
- GET    /v1/passes/{passType}/{serial}   200 with the pass, 304 with If-Modified-Since, 401
- POST   /v1/log   200

Wrong tokens count against the pass and the caller's address (security/limits.py); a pass held
on too many devices refuses the next (429)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from lealtad.deps import AppSettings, Db, Now
from lealtad.passes import model, service
from lealtad.passes import store as pass_store
from lealtad.security import limits

router = APIRouter(prefix="/passes/apple/v1", include_in_schema=False)
log = logging.getLogger("lealtad.passes")

PASS_TOKEN = "pass_token"
T = TypeVar("T")

Device = Annotated[str, Path(max_length=100)]
PassType = Annotated[str, Path(max_length=200)]
Serial = Annotated[str, Path(max_length=100)]
Authorization = Annotated[str | None, Header(max_length=200)]
PKPASS = "application/vnd.apple.pkpass"


class Registration(BaseModel):
    model_config = ConfigDict(extra="ignore")
    pushToken: str = Field(min_length=1, max_length=200)


class LogLines(BaseModel):
    model_config = ConfigDict(extra="ignore")
    logs: list[Annotated[str, Field(max_length=2000)]] = Field(default=[], max_length=100)


def _held(
    request: Request,
    db: Db,
    settings: AppSettings,
    now: datetime,
    pass_type: str,
    serial: str,
    authorization: str | None,
    then: Callable[[Connection, service.HeldPass], T],
) -> T:
    """Checks the device's token and runs `then` in one transaction. An unknown serial is a 401
    with nothing counted (serials are random 128 bits: nothing to walk); a wrong token on a
    known one counts against the pass and the address."""
    token = model.token_from_header(authorization)
    secret = settings.effective_secret_key
    with db.read() as conn:
        row = pass_store.pass_by_serial(conn, serial) if len(serial) <= 40 else None
    if row is None:
        raise service.refused()
    guard = limits.attempt(
        db,
        request,
        settings,
        row.business_id,
        PASS_TOKEN,
        limits.account_key("pass", serial),
        now,
    )

    def work() -> T:
        with db.transaction() as conn:
            return then(conn, service.authenticate(conn, secret, pass_type, serial, token))

    return limits.guarded(guard, lambda exc: exc.http_status == 401, work)


@router.post("/devices/{device}/registrations/{pass_type}/{serial}", status_code=201)
def register(
    request: Request,
    device: Device,
    pass_type: PassType,
    serial: Serial,
    body: Registration,
    db: Db,
    settings: AppSettings,
    now: Now,
    authorization: Authorization = None,
) -> Response:
    created = _held(
        request,
        db,
        settings,
        now,
        pass_type,
        serial,
        authorization,
        lambda conn, held: service.register_device(conn, held, device, body.pushToken, now),
    )
    return Response(status_code=201 if created else 200)


@router.delete("/devices/{device}/registrations/{pass_type}/{serial}")
def unregister(
    request: Request,
    device: Device,
    pass_type: PassType,
    serial: Serial,
    db: Db,
    settings: AppSettings,
    now: Now,
    authorization: Authorization = None,
) -> Response:
    _held(
        request,
        db,
        settings,
        now,
        pass_type,
        serial,
        authorization,
        lambda conn, held: service.unregister_device(conn, held, device),
    )
    return Response(status_code=200)


@router.get("/devices/{device}/registrations/{pass_type}")
def updated_passes(
    device: Device,
    pass_type: PassType,
    db: Db,
    since: Annotated[str | None, Query(alias="passesUpdatedSince", max_length=40)] = None,
) -> Response:
    """No token on this call (Apple sends none): it only names serials, never a pass's content."""
    with db.read() as conn:
        found = service.updated_serials(conn, device, pass_type, since)
    if found is None:
        return Response(status_code=204)
    serials, tag = found
    return JSONResponse({"serialNumbers": serials, "lastUpdated": tag})


@router.get("/passes/{pass_type}/{serial}")
def latest_pass(
    request: Request,
    pass_type: PassType,
    serial: Serial,
    db: Db,
    settings: AppSettings,
    now: Now,
    authorization: Authorization = None,
    if_modified_since: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    def built(conn: Connection, held: service.HeldPass) -> tuple[bytes, datetime]:
        business = service.business_of(conn, held.row.business_id)
        return service.build(
            conn,
            settings.effective_secret_key,
            settings.public_base_url,
            business,
            held.member,
            held.apple,
            now,
        )

    data, updated_at = _held(request, db, settings, now, pass_type, serial, authorization, built)
    headers = {"Last-Modified": model.http_date(updated_at), "Cache-Control": "no-cache"}
    if model.not_modified_since(updated_at, if_modified_since):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=PKPASS, headers=headers)


@router.post("/log")
def device_log(body: LogLines) -> Response:
    """Wallet reports problems it met with our passes here; they go to the operator's log."""
    for line in body.logs:
        log.warning("wallet device log: %s", line[:500])
    return Response(status_code=200)
