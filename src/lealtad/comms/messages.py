"""Member messages: planned from outbox events, then sent by the worker. Marketing needs the
member's consent, respects a weekly cap and quiet hours (deferred, never dropped), and carries a
one-click unsubscribe link; transactional messages (a voucher) skip the cap and quiet hours."""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, update

from lealtad.comms import unsubscribe
from lealtad.comms.catalog import BROADCAST, KINDS, POINTS_EARNED
from lealtad.comms.render import kind_of, render
from lealtad.comms.tables import comms_policies, messages
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import service as ledger
from lealtad.members.tables import members
from lealtad.tenancy import store as tenancy_store
from lealtad.tiers import service as tiers

MAX_ATTEMPTS = 5
CELEBRATIONS_PER_YEAR = 2
DEFAULT_POLICY = {
    "marketing_per_week": 2,
    "quiet_start": "21:00",
    "quiet_end": "09:00",
    "points_earned_messages": False,
}


def policy(conn: Connection, business_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(comms_policies).where(comms_policies.c.business_id == business_id)
    ).first()
    return dict(row._mapping) if row else dict(DEFAULT_POLICY)


def plan(conn: Connection, outbox_row: Any, now: datetime) -> int:
    """Queues the e-mail an outbox event calls for, one per member concerned; returns how many."""
    kind = KINDS.get(outbox_row.topic)
    payload = outbox_row.payload
    earned = outbox_row.topic == "purchase.recorded" and _earned(payload) > 0
    if earned and policy(conn, outbox_row.business_id).get("points_earned_messages"):
        kind = POINTS_EARNED
    if kind is None:
        return 0
    if outbox_row.topic in BROADCAST:
        targets = list(
            conn.execute(
                select(members.c.id).where(
                    members.c.business_id == outbox_row.business_id, members.c.email.is_not(None)
                )
            ).scalars()
        )
    else:
        targets = [payload.get("member_id")] if payload.get("member_id") else []
    made = 0
    for member_id in targets:
        row = conn.execute(
            select(members.c.locale).where(
                members.c.business_id == outbox_row.business_id, members.c.id == member_id
            )
        ).first()
        if row is None:
            continue
        result = insert_if_new(
            conn,
            messages,
            business_id=outbox_row.business_id,
            member_id=member_id,
            channel="email",
            category=kind.category,
            template=kind.template,
            locale=row.locale,
            context=payload,
            outbox_id=outbox_row.id,
            status="queued",
            attempts=0,
            send_after=naive_utc(now),
            created_at=naive_utc(now),
        )
        made += result
    return made


def _earned(payload: dict[str, Any]) -> int:
    member = payload.get("member_id")
    return sum(
        int(a.get("amount", 0))
        for a in payload.get("awards", [])
        if a.get("unit") == "points" and a.get("member_id") == member
    )


def _in_quiet_hours(local: datetime, start: str, end: str) -> datetime | None:
    """When quiet hours end, if `local` falls inside them; None otherwise."""
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    now = local.time()
    inside = (begin <= now or now < finish) if begin > finish else (begin <= now < finish)
    if not inside:
        return None
    day = local.date() if now < finish else local.date() + timedelta(days=1)
    return datetime.combine(day, finish, tzinfo=local.tzinfo)


def _sent_since(
    conn: Connection,
    business_id: int,
    member_id: int,
    since: datetime,
    templates: list[str] | None = None,
    category: str | None = None,
) -> int:
    query = select(func.count()).where(
        messages.c.business_id == business_id,
        messages.c.member_id == member_id,
        messages.c.status == "sent",
        messages.c.sent_at >= naive_utc(since),
    )
    if templates:
        query = query.where(messages.c.template.in_(templates))
    if category:
        query = query.where(messages.c.category == category)
    return int(conn.execute(query).scalar_one())


def _set(conn: Connection, message_id: int, **values: Any) -> None:
    conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


def decide(conn: Connection, row: Any, member: Any, now: datetime, tz: ZoneInfo) -> tuple[str, Any]:
    """("send", None), ("defer", until), or a final status with its reason."""
    if not member.email:
        return "suppressed", "no e-mail address"
    if row.category == "transactional":
        return "send", None
    consent = member.consent.get("email", {})
    if not consent.get("granted"):
        reason = "unsubscribed" if consent.get("source") == "unsubscribe" else "no e-mail consent"
        return ("unsubscribed" if reason == "unsubscribed" else "suppressed"), reason
    rules = policy(conn, row.business_id)
    until = _in_quiet_hours(as_utc(now).astimezone(tz), rules["quiet_start"], rules["quiet_end"])
    if until is not None:
        return "defer", until
    if kind_of(row.template).celebration:
        celebrations = [k.template for k in KINDS.values() if k.celebration]
        if (
            _sent_since(
                conn, row.business_id, row.member_id, now - timedelta(days=365), celebrations
            )
            >= CELEBRATIONS_PER_YEAR
        ):
            return "suppressed", "two celebration messages a year at most"
    if (
        _sent_since(
            conn, row.business_id, row.member_id, now - timedelta(days=7), category="marketing"
        )
        >= rules["marketing_per_week"]
    ):
        return "suppressed", "weekly marketing cap"
    return "send", None


def _context(conn: Connection, row: Any, member: Any, business: Any) -> dict[str, Any]:
    held = ledger.balances(conn, row.business_id, member.id)
    payload = dict(row.context)
    return {
        **payload,
        "business": business.name,
        "name": member.name,
        "card_number": member.card_number,
        "points": held.get("points", 0),
        "tier": payload.get("to")
        if row.template == "tier_changed"
        else tiers.current(conn, row.business_id, member.id),
        "reward": payload.get("reward", ""),
        "code": payload.get("code", ""),
        "effective_from": payload.get("effective_from", ""),
        "reason": payload.get("reason", ""),
        "expiring_points": payload.get("points", 0),
        "expires_at": payload.get("expires_at", ""),
        "days": payload.get("days", 0),
        "earned": _earned(payload),
    }


def _send_email(
    settings: Settings, to: str, subject: str, text: str, html: str, unsubscribe_url: str | None
) -> None:
    # Long header values (the signed unsubscribe URL) must stay one plain line: folding would
    # turn them into encoded words that mail clients do not read as a URL.
    mail = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    mail["From"] = settings.mail_from
    mail["To"] = to
    mail["Subject"] = subject
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=10, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        client.send_message(mail)


def send_due(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    limit: int = 100,
    business_id: int | None = None,
) -> dict[str, int]:
    """Sends queued e-mail that is due. Each message is handled in its own transaction under a
    row lock (SKIP LOCKED on PostgreSQL), so several workers never send one twice."""
    counts: dict[str, int] = {}
    if not settings.smtp_host:
        return counts
    for _ in range(limit):
        with db.transaction() as conn:
            query = (
                select(messages)
                .where(messages.c.status == "queued", messages.c.send_after <= naive_utc(now))
                .order_by(messages.c.id)
                .limit(1)
            )
            if business_id is not None:
                query = query.where(messages.c.business_id == business_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).first()
            if row is None:
                break
            outcome = _handle(conn, settings, row, now)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _handle(conn: Connection, settings: Settings, row: Any, now: datetime) -> str:
    member = conn.execute(
        select(members).where(
            members.c.business_id == row.business_id, members.c.id == row.member_id
        )
    ).one()
    business = tenancy_store.business(conn, row.business_id)
    verdict, detail = decide(conn, row, member, now, ZoneInfo(business.timezone))
    if verdict == "defer":
        _set(conn, row.id, send_after=naive_utc(detail), reason="quiet hours")
        return "deferred"
    if verdict != "send":
        _set(conn, row.id, status=verdict, reason=detail)
        return verdict
    link = None
    if row.category == "marketing":
        value = unsubscribe.token(
            settings.effective_secret_key, row.business_id, member.id, "email", row.id
        )
        link = f"{settings.public_base_url}/u/{value}"
    mail = render(row.template, row.locale, _context(conn, row, member, business), link)
    try:
        _send_email(settings, member.email, mail.subject, mail.text, mail.html, link)
    except (OSError, smtplib.SMTPException) as exc:
        attempts = row.attempts + 1
        retry = naive_utc(now + timedelta(minutes=2**attempts))
        status = "failed" if attempts >= MAX_ATTEMPTS else "queued"
        _set(
            conn, row.id, attempts=attempts, send_after=retry, status=status, reason=str(exc)[:200]
        )
        return "failed" if status == "failed" else "retry"
    _set(
        conn, row.id, status="sent", sent_at=naive_utc(now), attempts=row.attempts + 1, reason=None
    )
    return "sent"
