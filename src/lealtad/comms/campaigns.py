"""Campaigns: a message the business writes in both languages for members of some tiers or
tags (or all), sent at a set time through the same rules as every marketing message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, func, insert, select, update

from lealtad.comms.tables import campaigns, messages
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.members.tables import members
from lealtad.tiers.tables import tier_status


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: str = Field(min_length=1, max_length=5000)
    en: str = Field(min_length=1, max_length=5000)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    subject: Texts
    body: Texts
    tiers: list[str] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)
    send_at: datetime | None = Field(default=None, description="now if omitted")


class CampaignOut(BaseModel):
    id: int
    name: str
    subject: dict[str, str]
    body: dict[str, str]
    tiers: list[str]
    tags: list[str]
    send_at: datetime
    status: str
    recipients: int
    delivery: dict[str, int]


def create(conn: Connection, business_id: int, data: CampaignIn, actor: str, now: datetime) -> int:
    try:
        send_at = as_utc(data.send_at) if data.send_at else as_utc(now)
    except OverflowError as exc:
        raise Invalid("send_at is out of range", code="send_at_out_of_range") from exc
    return int(
        conn.execute(
            insert(campaigns)
            .values(
                business_id=business_id,
                name=data.name.strip(),
                subject=data.subject.model_dump(),
                body=data.body.model_dump(),
                tiers=data.tiers,
                tags=[t.lower() for t in data.tags],
                send_at=naive_utc(send_at),
                status="scheduled",
                recipients=0,
                created_by=actor,
                created_at=naive_utc(now),
            )
            .returning(campaigns.c.id)
        ).scalar_one()
    )


def get(conn: Connection, business_id: int, campaign_id: int) -> CampaignOut:
    row = conn.execute(
        select(campaigns).where(
            campaigns.c.business_id == business_id, campaigns.c.id == campaign_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no campaign {campaign_id} in this business", code="campaign_not_found")
    delivery: dict[Any, Any] = dict(
        conn.execute(
            select(messages.c.status, func.count())
            .where(messages.c.business_id == business_id, messages.c.campaign_id == campaign_id)
            .group_by(messages.c.status)
        ).all()
    )
    return CampaignOut(
        id=row.id,
        name=row.name,
        subject=row.subject,
        body=row.body,
        tiers=row.tiers,
        tags=row.tags,
        send_at=as_utc(row.send_at),
        status=row.status,
        recipients=row.recipients,
        delivery={str(k): int(v) for k, v in delivery.items()},
    )


def listing(conn: Connection, business_id: int) -> list[CampaignOut]:
    ids = conn.execute(
        select(campaigns.c.id)
        .where(campaigns.c.business_id == business_id)
        .order_by(campaigns.c.id.desc())
    ).scalars()
    return [get(conn, business_id, i) for i in ids]


def cancel(conn: Connection, business_id: int, campaign_id: int) -> CampaignOut:
    found = get(conn, business_id, campaign_id)
    if found.status != "scheduled":
        raise Conflict(f"this campaign is {found.status}", code="campaign_not_scheduled")
    conn.execute(
        update(campaigns)
        .where(campaigns.c.business_id == business_id, campaigns.c.id == campaign_id)
        .values(status="cancelled")
    )
    return get(conn, business_id, campaign_id)


def _audience(conn: Connection, business_id: int, row: Any) -> list[Any]:
    query = (
        select(members.c.id, members.c.locale, members.c.tags, tier_status.c.tier_id)
        .outerjoin(
            tier_status,
            (tier_status.c.business_id == members.c.business_id)
            & (tier_status.c.member_id == members.c.id),
        )
        .where(members.c.business_id == business_id, members.c.status == "active")
    )
    chosen = []
    for member in conn.execute(query):
        if row.tiers and member.tier_id not in row.tiers:
            continue
        if row.tags and not set(row.tags) & set(member.tags):
            continue
        chosen.append(member)
    return chosen


def release_due(conn: Connection, business_id: int, now: datetime) -> int:
    """Queues the messages of every campaign whose time has come; returns how many."""
    due = conn.execute(
        select(campaigns)
        .where(
            campaigns.c.business_id == business_id,
            campaigns.c.status == "scheduled",
            campaigns.c.send_at <= naive_utc(now),
        )
        .with_for_update()
    ).all()
    queued = 0
    for row in due:
        audience = _audience(conn, business_id, row)
        for member in audience:
            conn.execute(
                insert(messages).values(
                    business_id=business_id,
                    member_id=member.id,
                    channel="email",
                    category="marketing",
                    template="campaign",
                    locale=member.locale,
                    context={"subject": row.subject, "body": row.body},
                    campaign_id=row.id,
                    outbox_id=None,
                    status="queued",
                    attempts=0,
                    send_after=naive_utc(now),
                    created_at=naive_utc(now),
                )
            )
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == row.id)
            .values(status="sent", recipients=len(audience))
        )
        queued += len(audience)
    return queued
