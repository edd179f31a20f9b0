"""Webhook endpoints: the URLs a business configures, the topics they take, their delivery log.
Fan-out and delivery are in lealtad.comms.webhook_delivery."""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Connection

from lealtad.comms import addresses, webhooks_store
from lealtad.comms.outbox import emit
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import as_utc
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

if TYPE_CHECKING:
    pass

log = logging.getLogger("lealtad.webhooks")

# The integration events an endpoint can subscribe to: every topic the domains emit today.
TOPICS = (
    "member.enrolled",
    "purchase.recorded",
    "refund.recorded",
    "tier.changed",
    "reward.redeemed",
    "stamp_card.completed",
    "program.changed",
    "badge.earned",
    "survey.answered",
)
ALL = "*"
# Sent by POST /webhooks/{id}/test to that endpoint only, whatever its topics.
TEST_TOPIC = "webhook.test"


Status = Literal["pending", "succeeded", "failed"]
_URL = TypeAdapter(AnyHttpUrl)


# I/O shapes


def _check_url(value: str) -> str:
    try:
        url = _URL.validate_python(value)
    except PydanticValidationError as exc:
        raise ValueError("must be an absolute http:// or https:// URL") from exc
    if not url.host:
        raise ValueError("must name a host")
    text = str(url)
    if len(text) > 500:
        raise ValueError("must be at most 500 characters")
    return text


def _check_topics(value: list[str]) -> list[str]:
    if ALL in value:
        if len(value) > 1:
            raise ValueError('"*" subscribes to every topic and stands alone')
        return [ALL]
    unknown = sorted(set(value) - set(TOPICS))
    if unknown:
        raise ValueError(f"unknown topics {unknown}; known: {list(TOPICS)} or ['*']")
    return sorted(set(value), key=TOPICS.index)


# No spaces or control characters: a URL parser would quietly drop them and store another URL.
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00-\x20\x7f]+$",
        examples=["https://example.com/hooks"],
    ),
]
Topics = Annotated[
    list[str],
    Field(min_length=1, max_length=len(TOPICS), description=f'any of {list(TOPICS)}, or ["*"]'),
]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    topics: Topics = [ALL]
    active: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return _check_topics(value)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    topics: Topics | None = None
    active: bool | None = Field(default=None, description="false pauses deliveries")

    @field_validator("url", "topics", "active", mode="before")
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave it out to keep it")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return _check_topics(value)


class WebhookOut(BaseModel):
    id: int
    url: str
    topics: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="shown only now: verify signatures with it")


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    outbox_id: int
    message_id: str = Field(description="the webhook-id header; the same on every retry")
    topic: str
    payload: dict[str, Any]
    status: Status
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


# Endpoints


def _endpoint_out(row: Any) -> WebhookOut:
    return WebhookOut(
        id=row.id,
        url=row.url,
        topics=list(row.topics),
        active=row.active,
        created_at=as_utc(row.created_at),
    )


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _guard(url: str | None, allow_private: bool) -> None:
    problem = None if allow_private or url is None else addresses.refusal(url, resolve=False)
    if problem:
        raise Invalid(
            f"webhooks go to public addresses only: {problem}",
            code="webhook_url_not_public",
            details={"url": url},
        )


def create_endpoint(
    conn: Connection,
    principal: Principal,
    data: WebhookIn,
    now: datetime,
    *,
    allow_private: bool = True,
) -> WebhookCreated:
    _guard(data.url, allow_private)
    secret = new_secret()
    endpoint_id = webhooks_store.add_endpoint(
        conn, principal.business_id, data.url, secret, data.topics, data.active, now
    )
    tenancy.audit(
        conn,
        principal,
        "webhook.create",
        f"webhook:{endpoint_id}",
        now,
        url=data.url,
        topics=data.topics,
        active=data.active,
    )
    out = get_endpoint(conn, principal.business_id, endpoint_id)
    return WebhookCreated(**out.model_dump(), secret=secret)


def list_endpoints(conn: Connection, business_id: int) -> list[WebhookOut]:
    return [_endpoint_out(row) for row in webhooks_store.endpoints(conn, business_id)]


def get_endpoint(conn: Connection, business_id: int, endpoint_id: int) -> WebhookOut:
    row = webhooks_store.endpoint(conn, business_id, endpoint_id)
    if row is None:
        raise NotFound("no such webhook endpoint in this business", code="webhook_not_found")
    return _endpoint_out(row)


def update_endpoint(
    conn: Connection,
    principal: Principal,
    endpoint_id: int,
    data: WebhookPatch,
    now: datetime,
    *,
    allow_private: bool = True,
) -> WebhookOut:
    before = get_endpoint(conn, principal.business_id, endpoint_id)
    _guard(data.url, allow_private)
    changes = data.model_dump(include=data.model_fields_set)
    if changes:
        webhooks_store.change_endpoint(conn, principal.business_id, endpoint_id, changes)
    after = get_endpoint(conn, principal.business_id, endpoint_id)
    tenancy.audit_change(
        conn, principal, "webhook.update", f"webhook:{endpoint_id}", now, before, after
    )
    return after


def send_test(conn: Connection, principal: Principal, endpoint_id: int, now: datetime) -> None:
    """Queue a `webhook.test` event for this endpoint; the worker's next run delivers it."""
    if not get_endpoint(conn, principal.business_id, endpoint_id).active:
        raise Conflict("the endpoint is paused; activate it first", code="webhook_inactive")
    payload = {"endpoint_id": endpoint_id, "message": "a test event from Lealtad"}
    emit(conn, principal.business_id, TEST_TOPIC, payload, now)
    tenancy.audit(conn, principal, "webhook.test", f"webhook:{endpoint_id}", now)


def deliveries(
    conn: Connection,
    business_id: int,
    endpoint_id: int,
    *,
    limit: int = 50,
    before: int | None = None,
    status: Status | None = None,
) -> list[DeliveryOut]:
    """The endpoint's delivery log, newest first; `before` is the last id of the previous page."""
    get_endpoint(conn, business_id, endpoint_id)
    rows = webhooks_store.endpoint_deliveries(
        conn, business_id, endpoint_id, limit, before=before, status=status
    )
    return [
        DeliveryOut.model_validate(
            {
                **row._mapping,
                "next_attempt_at": row.next_attempt_at and as_utc(row.next_attempt_at),
                "created_at": as_utc(row.created_at),
                "delivered_at": row.delivered_at and as_utc(row.delivered_at),
            }
        )
        for row in rows
    ]
