"""Whether a queued message may go now: consent for marketing, the business's weekly cap per
channel, quiet hours in the member's zone (deferred, never dropped), and two greetings a year.
Transactional messages (a voucher, a program change) skip the cap and the quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.comms import message_store, policy_store
from lealtad.comms.catalog import KINDS
from lealtad.comms.render import kind_of
from lealtad.kit.clock import as_utc, naive_utc

CELEBRATIONS_PER_YEAR = 2
DEFAULT_POLICY = {
    "marketing_per_week": 2,
    "quiet_start": "21:00",
    "quiet_end": "09:00",
    "points_earned_messages": False,
}
# A bounced message did reach the mail system and counts against the cap like a sent one; an
# SMS or WhatsApp message the provider reported delivered or read was sent too.
DELIVERED = ("sent", "bounced", "delivered", "read")
CONSENT_MISSING = {"email": "no e-mail consent", "push": "no push consent"}


def policy(conn: Connection, business_id: int) -> dict[str, Any]:
    row = policy_store.sending_policy(conn, business_id)
    return dict(row._mapping) if row else dict(DEFAULT_POLICY)


def save(conn: Connection, business_id: int, rules: dict[str, Any], now: datetime) -> None:
    """The business's policy replaced by `rules` (the keys of DEFAULT_POLICY)."""
    policy_store.save_sending_policy(conn, business_id, rules | {"updated_at": naive_utc(now)})


def zone(member: Any, business: Any) -> ZoneInfo:
    """Quiet hours are the member's night: their own zone when known, else the business's."""
    if member.time_zone:
        try:
            return ZoneInfo(member.time_zone)
        except (KeyError, ValueError, OSError):
            pass  # validated on the way in; a zone dropped by a tzdata update falls back
    return ZoneInfo(business.timezone)


def quiet_until(local: datetime, start: str, end: str) -> datetime | None:
    """When quiet hours end, if `local` falls inside them; None otherwise."""
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    now = local.time()
    inside = (begin <= now or now < finish) if begin > finish else (begin <= now < finish)
    if not inside:
        return None
    day = local.date() if now < finish else local.date() + timedelta(days=1)
    return datetime.combine(day, finish, tzinfo=local.tzinfo)


def sent_since(
    conn: Connection,
    row: Any,
    since: datetime,
    templates: list[str] | None = None,
    category: str | None = None,
) -> int:
    """Messages of the row's member on the row's channel delivered since `since`."""
    return message_store.delivered_since(
        conn,
        row.business_id,
        row.member_id,
        row.channel,
        DELIVERED,
        since,
        templates,
        category,
    )


def decide(
    conn: Connection,
    row: Any,
    member: Any,
    now: datetime,
    tz: ZoneInfo,
    unreachable: str | None = None,
) -> tuple[str, Any]:
    """("send", None), ("defer", until), or a final status with its reason. `unreachable` is
    why the channel cannot reach the member at all (no address, a bounce, no subscription)."""
    if unreachable:
        return "suppressed", unreachable
    if row.category == "transactional":
        return "send", None
    consent = member.consent.get(row.channel, {})
    if not consent.get("granted"):
        if consent.get("source") == "unsubscribe":
            return "unsubscribed", "unsubscribed"
        return "suppressed", CONSENT_MISSING.get(row.channel, f"no {row.channel} consent")
    rules = policy(conn, row.business_id)
    until = quiet_until(as_utc(now).astimezone(tz), rules["quiet_start"], rules["quiet_end"])
    if until is not None:
        return "defer", until
    if kind_of(row.template).celebration:
        celebrations = [k.template for k in KINDS.values() if k.celebration]
        if sent_since(conn, row, now - timedelta(days=365), celebrations) >= CELEBRATIONS_PER_YEAR:
            return "suppressed", "two celebration messages a year at most"
    if (
        sent_since(conn, row, now - timedelta(days=7), category="marketing")
        >= rules["marketing_per_week"]
    ):
        return "suppressed", "weekly marketing cap"
    return "send", None
