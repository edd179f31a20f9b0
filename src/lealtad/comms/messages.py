"""Member messages: planned from outbox events, one per channel that can reach the member
(e-mail always; web push where the member subscribed and consented), then sent by the worker
under the rules in `policy`. E-mail goes out over SMTP (`email`), push to browsers (`push`)."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from lealtad.branding import service as branding
from lealtad.comms import (
    email,
    message_store,
    personal,
    phone_channels,
    policy,
    push,
    push_store,
    unsubscribe,
    wallet_links,
)
from lealtad.comms.catalog import BROADCAST, CODE_TEMPLATES, CONTACT_CHANGED, KINDS, POINTS_EARNED
from lealtad.comms.render import notification, render
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import naive_utc
from lealtad.members import store as member_store
from lealtad.tenancy import store as tenancy_store

MAX_ATTEMPTS = 5


def channels_for(
    conn: Connection, business_id: int, member_id: int, consent: dict[str, Any]
) -> list[str]:
    """E-mail always (the sender decides on consent and address, and logs why not); a push row
    only where it can go: a subscribed browser and the member's push consent."""
    found = ["email"]
    if consent.get("push", {}).get("granted") and push_store.has_active_subscription(
        conn, business_id, member_id
    ):
        found.append("push")
    if any(consent.get(c, {}).get("granted") for c in phone_channels.PHONE_CHANNELS):
        found += phone_channels.channels_for(conn, business_id, consent)
    return found


def _targets(conn: Connection, outbox_row: Any) -> list[Any]:
    business_id = outbox_row.business_id
    if outbox_row.topic in BROADCAST:
        # Everyone some channel reaches: an e-mail address, or a subscribed browser.
        return member_store.message_recipients(
            conn, business_id, or_reachable=push_store.subscribed
        )
    member_id = outbox_row.payload.get("member_id")
    if not member_id:
        return []
    return member_store.message_recipients(conn, business_id, member_id=member_id)


def plan(conn: Connection, outbox_row: Any, now: datetime) -> int:
    """Queues the messages an outbox event calls for, per member concerned and channel;
    returns how many."""
    kind = KINDS.get(outbox_row.topic)
    payload = outbox_row.payload
    earned = outbox_row.topic == "purchase.recorded" and _earned(payload) > 0
    if earned and policy.policy(conn, outbox_row.business_id).get("points_earned_messages"):
        kind = POINTS_EARNED
    if kind is None:
        return 0
    made = 0
    for member in _targets(conn, outbox_row):
        for channel in channels_for(conn, outbox_row.business_id, member.id, member.consent):
            message = message_store.queued(
                outbox_row.business_id,
                member.id,
                channel,
                kind.category,
                kind.template,
                member.locale,
                payload,
                now,
            )
            made += message_store.queue_message(conn, message, outbox_row.id)
    return made


def _earned(payload: dict[str, Any]) -> int:
    member = payload.get("member_id")
    return sum(
        int(a.get("amount", 0))
        for a in payload.get("awards", [])
        if a.get("unit") == "points" and a.get("member_id") == member
    )


_set = message_store.set_message


def _context(
    conn: Connection, row: Any, member: Any, business: Any, now: datetime
) -> dict[str, Any]:
    """The event's own fields, then what every message may say about the member (balances,
    tier, the next reward) from `personal`, the same figures the wallet and the preview show."""
    payload = dict(row.context)
    about = personal.member_context(conn, business, member, row.locale, now)
    names = personal.names_now(conn, business, row.locale, now)
    if row.template == "campaign":
        # The business's own texts may name the member's fields: {{ offer }}, {{ name }}...
        for part in ("subject", "body"):
            texts = payload.get(part) or {}
            payload[part] = {k: personal.fill(str(v), about) for k, v in texts.items()}
    return {
        **payload,
        **about,
        "tier": names.tier(payload.get("to")) if row.template == "tier_changed" else about["tier"],
        # The event names the reward by its slug; the member reads its title.
        "reward": names.reward(payload["reward"]) if payload.get("reward") else "",
        "code": payload.get("code", ""),
        "effective_from": payload.get("effective_from", ""),
        "reason": payload.get("reason", ""),
        "expiring_points": payload.get("points", 0),
        "expires_at": payload.get("expires_at", ""),
        "days": payload.get("days", 0),
        "earned": _earned(payload),
        "earned_text": names.amount("points", _earned(payload)),
    }


def channels(settings: Settings) -> list[str]:
    """The channels the worker can send on: e-mail needs an SMTP host, push a VAPID key, SMS
    and WhatsApp a business's provider settings (checked per message).
    Messages of the others wait in the queue."""
    found = ["email"] if settings.smtp_host else []
    # SMS and WhatsApp are set up per business (phone_channels), not per server.
    return (
        found + (["push"] if push.enabled(settings) else []) + list(phone_channels.PHONE_CHANNELS)
    )


def send_due(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    limit: int = 100,
    business_id: int | None = None,
) -> dict[str, int]:
    """Sends queued messages that are due. Each message is handled in its own transaction under
    a row lock (SKIP LOCKED on PostgreSQL), so several workers never send one twice. Counts by
    outcome, e-mail as "sent", "deferred"..., push as "push_sent", "push_deferred"..."""
    counts: dict[str, int] = {}
    open_channels = channels(settings)
    if not open_channels:
        return counts
    for _ in range(limit):
        with db.transaction() as conn:
            row = message_store.claim_next_due(conn, now, open_channels, business_id)
            if row is None:
                break
            outcome = _handle(conn, settings, row, now)
            name = outcome if row.channel == "email" else f"{row.channel}_{outcome}"
            counts[name] = counts.get(name, 0) + 1
    return counts


def send_one(
    db: Database, settings: Settings, business_id: int, message_id: int, now: datetime
) -> str | None:
    """Sends one queued message at once (a login code the member is waiting for), under the
    same claim and rules as `send_due`; None when it is not queued or its channel is closed."""
    with db.transaction() as conn:
        row = message_store.claim_queued(conn, business_id, message_id, channels(settings))
        return None if row is None else _handle(conn, settings, row, now)


def _address(row: Any, member: Any) -> str | None:
    """Where an e-mail goes: the member's address, except the notice that their contact details
    changed, which goes to the address they had before (members/contact.py)."""
    if row.template == CONTACT_CHANGED.template:
        return (row.context or {}).get("notify_address") or None
    return member.email  # type: ignore[no-any-return]


def _unreachable(conn: Connection, row: Any, member: Any) -> str | None:
    if row.channel == "push":
        if not push_store.has_active_subscription(conn, row.business_id, member.id):
            return "no push subscription"
        return None
    if not _address(row, member):
        return "no e-mail address"
    if row.template == CONTACT_CHANGED.template:
        # A bounce mark concerns the member's current address, not the one told here.
        return None
    # A member asking for a login code at the wallet is some sign the address works again;
    # refusing it would lock them out. If it bounces again, it is marked again.
    if member.email_bounced_at is not None and row.template not in CODE_TEMPLATES:
        return "address bounced"
    return None


def _handle(conn: Connection, settings: Settings, row: Any, now: datetime) -> str:
    member = member_store.member(conn, row.business_id, row.member_id)
    business = tenancy_store.business(conn, row.business_id)
    if row.channel in phone_channels.PHONE_CHANNELS:
        context = (
            {}
            if row.template == phone_channels.OPTED_OUT
            else _context(conn, row, member, business, now)
        )
        return phone_channels.handle(conn, settings, row, member, business, context, now)
    tz = policy.zone(member, business)
    unreachable = _unreachable(conn, row, member)
    verdict, detail = policy.decide(conn, row, member, now, tz, unreachable)
    if verdict == "defer":
        _set(conn, row.id, send_after=naive_utc(detail), reason="quiet hours")
        return "deferred"
    if verdict != "send":
        _set(conn, row.id, status=verdict, reason=detail)
        return str(verdict)
    context = _context(conn, row, member, business, now)
    context["wallet_url"] = f"{settings.public_base_url}/w/{business.slug}"
    context["brand"] = branding.mail_header(conn, business, settings.public_base_url)
    if row.template == "welcome" and row.channel == "email":
        # The card for the phone's wallet, where the business offers one (D76).
        context |= wallet_links.links(
            conn, settings.effective_secret_key, settings.public_base_url, business, member, now
        )
    if row.channel == "push":
        return _send_push(conn, settings, row, business, context, now)
    return _send_email(conn, settings, row, member, context, now)


def _send_email(
    conn: Connection,
    settings: Settings,
    row: Any,
    member: Any,
    context: dict[str, Any],
    now: datetime,
) -> str:
    link = None
    if row.category == "marketing":
        value = unsubscribe.token(
            settings.effective_secret_key, row.business_id, member.id, "email", row.id
        )
        link = f"{settings.public_base_url}/u/{value}"
    mail = render(row.template, row.locale, context, link)
    address = _address(row, member) or ""  # _unreachable let no message without one through
    try:
        email.send(settings, address, mail.subject, mail.text, mail.html, link)
    except email.Bounced as bounce:
        if address != member.email:
            # The old address refused the notice: the member's own address is not at fault.
            _set(conn, row.id, status="bounced", reason=str(bounce)[:200])
        else:
            email.mark_bounced(conn, row.business_id, member.id, row.id, str(bounce), now)
        _set(conn, row.id, attempts=row.attempts + 1, sent_at=naive_utc(now))
        return "bounced"
    except (OSError, smtplib.SMTPException) as exc:
        return _retry(conn, row, str(exc), now)
    _sent(conn, row, now)
    return "sent"


def _send_push(
    conn: Connection,
    settings: Settings,
    row: Any,
    business: Any,
    context: dict[str, Any],
    now: datetime,
) -> str:
    text = notification(row.template, row.locale, context)
    body = push.payload(text.title, text.body, context["wallet_url"], row.template)
    delivery = push.deliver(conn, settings, row.business_id, row.member_id, body, row.category, now)
    if delivery.outcome == "sent":
        _sent(conn, row, now)
        return "sent"
    if delivery.outcome == "gone":
        _set(conn, row.id, status="suppressed", reason="no push subscription")
        return "suppressed"
    return _retry(conn, row, delivery.error or "push failed", now)


def _sent(conn: Connection, row: Any, now: datetime) -> None:
    _set(
        conn, row.id, status="sent", sent_at=naive_utc(now), attempts=row.attempts + 1, reason=None
    )


def _retry(conn: Connection, row: Any, error: str, now: datetime) -> str:
    attempts = row.attempts + 1
    retry = naive_utc(now + timedelta(minutes=2**attempts))
    status = "failed" if attempts >= MAX_ATTEMPTS else "queued"
    _set(conn, row.id, attempts=attempts, send_after=retry, status=status, reason=error[:200])
    return "failed" if status == "failed" else "retry"
