"""The vendors' webhook route (public: the vendor's signature is its only credential) and the
JSON routes where owners and managers configure connectors and read their delivery log."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lealtad.config import Settings
from lealtad.connectors import service
from lealtad.connectors.model import Delivery
from lealtad.connectors.schemas import ConnectorIn, ConnectorOut, DeliveryOut
from lealtad.connectors.vendors import vendor
from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Manager, Now
from lealtad.errors import LealtadError
from lealtad.http import ERROR_RESPONSES, error_response
from lealtad.kit.ids import Limit

router = APIRouter(tags=["connectors"], responses=ERROR_RESPONSES)

VendorPath = Annotated[
    str,
    Path(pattern=r"^[a-z]{1,30}$", description="standard, square, shopify, woocommerce, loyverse"),
]
SlugPath = Annotated[str, Path(max_length=64)]


@router.put("/api/v1/connectors/{vendor_name}", response_model=ConnectorOut)
def configure_connector(
    vendor_name: VendorPath, body: ConnectorIn, principal: Manager, db: Db, now: Now
) -> ConnectorOut:
    """Connect a till or shop: the vendor's signing secret, its locations mapped to this
    business's, and what to do with a buyer the business does not know yet. The vendor posts
    to `hook_path` on this server's public address."""
    with db.transaction() as conn:
        return service.configure(conn, principal, vendor_name, body, now)


@router.get("/api/v1/connectors", response_model=list[ConnectorOut])
def list_connectors(principal: Manager, db: Db) -> list[ConnectorOut]:
    """The business's connectors, each with its last delivery (the secrets are never shown)."""
    with db.read() as conn:
        return service.connectors(conn, principal.business_id)


@router.get("/api/v1/connectors/{vendor_name}/deliveries", response_model=list[DeliveryOut])
def connector_deliveries(
    vendor_name: VendorPath, principal: Manager, db: Db, limit: Limit = 50
) -> list[DeliveryOut]:
    """What the vendor sent, newest first: recorded, duplicate, ignored, refused or failed."""
    with db.read() as conn:
        return service.deliveries(conn, principal.business_id, vendor_name, limit)


@router.post("/hooks/{vendor_name}/{slug}", include_in_schema=True)
async def receive(
    vendor_name: VendorPath,
    slug: SlugPath,
    request: Request,
    db: Db,
    now: Now,
    settings: AppSettings,
) -> JSONResponse:
    """A vendor's webhook. No API key: the request must carry the vendor's signature, made with
    the secret the business configured; unsigned, forged or stale requests are refused (401,
    400) and logged. Answers 200 for a sale or refund recorded, a duplicate or an ignored event."""
    body = await request.body()
    url = settings.public_base_url.rstrip("/") + request.url.path
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = dict(request.query_params)  # Loyverse's credential travels in the address
    delivery = Delivery(body=body, headers=headers, url=url, received_at=now, extra=query)
    result = await run_in_threadpool(_receive, db, settings, vendor_name, slug, delivery)
    if isinstance(result, LealtadError):
        return error_response(result.http_status, result.code, result.message, result.details)
    return JSONResponse(result.body, status_code=result.status_code)


def _receive(
    db: Database, settings: Settings, vendor_name: str, slug: str, delivery: Delivery
) -> service.Applied | LealtadError:
    now = delivery.received_at
    try:
        chosen = vendor(vendor_name)
        with db.read() as conn:
            config = service.config_for(conn, slug, vendor_name)
            currency = service.currency_of(conn, config)
    except LealtadError as exc:
        return exc
    delivery = replace(delivery, currency=currency)
    event_name = _event_name(delivery)
    try:
        chosen.verify(delivery, config.secret)
    except LealtadError as exc:
        _log(db, config, now, service.REFUSED, exc.http_status, event_name, None, exc.code)
        return exc
    external_id: str | None = None
    results: list[service.Applied] = []
    try:
        events = service.events_of(chosen.read(delivery))
        # One transaction for all a delivery carries: a failure leaves nothing half applied,
        # and the vendor's retry finds what was recorded as duplicates.
        with db.transaction() as conn:
            for event in events:
                external_id = event.external_id
                results.append(
                    service.apply(
                        conn, config, event, secret_key=settings.effective_secret_key, now=now
                    )
                )
    except LealtadError as exc:
        _log(db, config, now, service.FAILED, exc.http_status, event_name, external_id, exc.code)
        return exc
    for event, applied in zip(events, results, strict=True):
        _log(
            db,
            config,
            now,
            applied.outcome,
            applied.status_code,
            event_name,
            event.external_id,
            None,
            applied.member_id,
        )
    return service.combined(results)


def _event_name(delivery: Delivery) -> str | None:
    """The event's type for the log, read leniently: the log records refused deliveries too."""
    topic = delivery.header("x-shopify-topic") or delivery.header("x-wc-webhook-topic")
    if topic:
        return topic
    try:
        payload = json.loads(delivery.body)
    except (ValueError, UnicodeDecodeError):
        return None
    kind = payload.get("type") if isinstance(payload, dict) else None
    return kind if isinstance(kind, str) else None


def _log(
    db: Database,
    config: Any,
    now: Any,
    outcome: str,
    status: int,
    event: str | None,
    external_id: str | None,
    error_code: str | None,
    member_id: int | None = None,
) -> None:
    with db.transaction() as conn:
        service.log(
            conn,
            config.business_id,
            config.vendor,
            now,
            outcome=outcome,
            status_code=status,
            event=event,
            external_id=external_id,
            error_code=error_code,
            member_id=member_id,
        )
