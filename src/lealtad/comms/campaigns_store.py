"""SQL of the campaigns: the campaign rows, the messages they queue and what became of them,
and the members an audience is chosen from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from lealtad.analytics import audience_store
from lealtad.comms import message_store
from lealtad.comms.tables import campaigns, messages, unsubscribes
from lealtad.kit.clock import naive_utc
from lealtad.members import store as member_store
from lealtad.tiers import store as tier_store


def insert_campaign(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(campaigns).values(**values).returning(campaigns.c.id)).scalar_one()
    )


def campaign(conn: Connection, business_id: int, campaign_id: int) -> Any:
    return conn.execute(
        select(campaigns).where(
            campaigns.c.business_id == business_id, campaigns.c.id == campaign_id
        )
    ).first()


def campaign_ids(conn: Connection, business_id: int) -> list[int]:
    """The business's campaigns, newest first."""
    return list(
        conn.execute(
            select(campaigns.c.id)
            .where(campaigns.c.business_id == business_id)
            .order_by(campaigns.c.id.desc())
        ).scalars()
    )


def delivery_counts(conn: Connection, business_id: int, campaign_id: int) -> dict[Any, Any]:
    """Status -> how many of the campaign's messages are in it."""
    return dict(
        conn.execute(
            select(messages.c.status, func.count())
            .where(messages.c.business_id == business_id, messages.c.campaign_id == campaign_id)
            .group_by(messages.c.status)
        ).all()
    )


def unsubscribed_after(conn: Connection, business_id: int, campaign_id: int) -> int:
    """Members who unsubscribed with the link in one of the campaign's messages."""
    sent = select(messages.c.id).where(
        messages.c.business_id == business_id, messages.c.campaign_id == campaign_id
    )
    return int(
        conn.execute(
            select(func.count(func.distinct(unsubscribes.c.member_id))).where(
                unsubscribes.c.business_id == business_id, unsubscribes.c.message_id.in_(sent)
            )
        ).scalar_one()
    )


def set_cancelled(conn: Connection, business_id: int, campaign_id: int) -> None:
    conn.execute(
        update(campaigns)
        .where(campaigns.c.business_id == business_id, campaigns.c.id == campaign_id)
        .values(status="cancelled")
    )


def lock_due(conn: Connection, business_id: int, now: datetime) -> list[Any]:
    """The scheduled campaigns whose time has come, held until commit."""
    return list(
        conn.execute(
            select(campaigns)
            .where(
                campaigns.c.business_id == business_id,
                campaigns.c.status == "scheduled",
                campaigns.c.send_at <= naive_utc(now),
            )
            .with_for_update()
        ).all()
    )


def set_sent(conn: Connection, campaign_id: int, recipients: int) -> None:
    conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(status="sent", recipients=recipients)
    )


def queue_campaign_message(
    conn: Connection,
    business_id: int,
    member_id: int,
    channel: str,
    locale: str,
    context: dict[str, Any],
    campaign_id: int,
    now: datetime,
) -> None:
    values = message_store.queued(
        business_id, member_id, channel, "marketing", "campaign", locale, context, now
    )
    conn.execute(insert(messages).values(campaign_id=campaign_id, outbox_id=None, **values))


def active_members_with_segment(conn: Connection, business_id: int) -> list[Any]:
    """Every active member of the business (id, language, tags, consent) with their tier and
    their segment of the last refresh, in one statement: whom a campaign's audience is chosen
    from."""
    query = member_store.active_members_query(business_id)
    member_id = query.selected_columns.id
    tier_table, on, tier_id = tier_store.member_tier_join(business_id, member_id)
    query = query.add_columns(tier_id).outerjoin(tier_table, on)
    return list(conn.execute(audience_store.with_segment(query, member_id)))
