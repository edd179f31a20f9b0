"""JSON routes of webhook endpoints: the owner configures them, managers read their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lealtad.comms import webhooks
from lealtad.comms.webhooks import (
    DeliveryOut,
    Status,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from lealtad.deps import AppSettings, Db, Manager, Now, Owner
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import Cursor, IdPath, Limit

router = APIRouter(prefix="/api/v1", tags=["webhooks"], responses=ERROR_RESPONSES)


class TestEventQueued(BaseModel):
    endpoint_id: int
    topic: str
    queued: bool


@router.post("/webhooks", response_model=WebhookCreated, status_code=201)
def create_webhook(
    body: WebhookIn, principal: Owner, db: Db, now: Now, settings: AppSettings
) -> WebhookCreated:
    """An endpoint that receives the business's events as signed POSTs (Standard Webhooks:
    webhook-id, webhook-timestamp and webhook-signature headers). Its signing secret is in this
    answer only: store it now."""
    with db.transaction() as conn:
        return webhooks.create_endpoint(
            conn, principal, body, now, allow_private=settings.private_addresses_allowed
        )


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(principal: Manager, db: Db) -> list[WebhookOut]:
    with db.read() as conn:
        return webhooks.list_endpoints(conn, principal.business_id)


@router.get("/webhooks/{webhook_endpoint_id}", response_model=WebhookOut)
def get_webhook(webhook_endpoint_id: IdPath, principal: Manager, db: Db) -> WebhookOut:
    with db.read() as conn:
        return webhooks.get_endpoint(conn, principal.business_id, webhook_endpoint_id)


@router.patch("/webhooks/{webhook_endpoint_id}", response_model=WebhookOut)
def update_webhook(
    webhook_endpoint_id: IdPath,
    body: WebhookPatch,
    principal: Owner,
    db: Db,
    now: Now,
    settings: AppSettings,
) -> WebhookOut:
    """Change the URL or topics, or pause (active: false) and resume the endpoint. While paused
    nothing new is queued for it and queued deliveries wait."""
    with db.transaction() as conn:
        return webhooks.update_endpoint(
            conn,
            principal,
            webhook_endpoint_id,
            body,
            now,
            allow_private=settings.private_addresses_allowed,
        )


@router.get("/webhooks/{webhook_endpoint_id}/deliveries", response_model=list[DeliveryOut])
def webhook_deliveries(
    webhook_endpoint_id: IdPath,
    principal: Manager,
    db: Db,
    limit: Limit = 50,
    before: Cursor = None,
    status: Annotated[Status | None, Query()] = None,
) -> list[DeliveryOut]:
    """The delivery log, newest first: attempts, the last status code or error, when it is
    retried next and when it was delivered."""
    with db.read() as conn:
        return webhooks.deliveries(
            conn,
            principal.business_id,
            webhook_endpoint_id,
            limit=limit,
            before=before,
            status=status,
        )


@router.post(
    "/webhooks/{webhook_endpoint_id}/test", response_model=TestEventQueued, status_code=202
)
def queue_test_event(
    webhook_endpoint_id: IdPath, principal: Owner, db: Db, now: Now
) -> TestEventQueued:
    """Queue a `webhook.test` event for this endpoint only; the worker's next run sends it."""
    with db.transaction() as conn:
        webhooks.send_test(conn, principal, webhook_endpoint_id, now)
    return TestEventQueued(endpoint_id=webhook_endpoint_id, topic=webhooks.TEST_TOPIC, queued=True)
