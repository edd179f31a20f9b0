"""Erasing a member on request (the right to erasure). The row is pseudonymised, not deleted:
the journal, purchases, vouchers and ratings point at it, and they must still add up (`lealtad
ledger verify`) and still count in the business's figures. What could name or reach the person
goes: name, contact details, birthday, time zone, tags, the referral code, consent, push
subscriptions, pending login codes and the personal figures kept with each message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from lealtad.comms import push
from lealtad.comms.tables import messages
from lealtad.kit.clock import naive_utc
from lealtad.members import model, service, store
from lealtad.members.tables import member_login_codes
from lealtad.tenancy import audit_objects
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

ERASED = "erased"
CLEARED = ("name", "email", "phone", "birthday", "time_zone", "tags", "referral_code")


def erase(conn: Connection, principal: Principal, member_id: int, now: datetime) -> bool:
    """Pseudonymises the member; True if this call did it, False if they were already erased.
    The balances stay where they are: nothing in the ledger is rewritten. Audited with the
    fields cleared, never their values."""
    bid = principal.business_id
    # Against a purchase or redemption of the same member landing halfway through.
    service.lock(conn, bid, member_id)
    row = service.get(conn, bid, member_id)
    if row.status == ERASED:
        return False
    withdrawn = {
        channel: {"granted": False, "at": now.isoformat(), "source": "erasure"}
        for channel in model.CHANNELS
    }
    store.update_member(
        conn,
        bid,
        member_id,
        name=None,
        email=None,
        phone=None,
        birthday=None,
        time_zone=None,
        tags=[],
        referral_code=None,
        email_bounced_at=None,
        consent=withdrawn,
        status=ERASED,
    )
    ended = 0
    for subscription in push.active_subscriptions(conn, bid, member_id):
        ended += push.unsubscribe(conn, bid, member_id, subscription.endpoint)
    conn.execute(
        update(member_login_codes)
        .where(
            member_login_codes.c.business_id == bid,
            member_login_codes.c.member_id == member_id,
            member_login_codes.c.used_at.is_(None),
        )
        .values(used_at=naive_utc(now))
    )
    of_member = (messages.c.business_id == bid, messages.c.member_id == member_id)
    conn.execute(
        update(messages)
        .where(*of_member, messages.c.status == "queued")
        .values(status="suppressed", reason="member erased")
    )
    # The delivery log keeps what was sent and when; the figures and names rendered into it go.
    conn.execute(update(messages).where(*of_member).values(context={}))
    audit_objects.forget_member(conn, bid, member_id)
    tenancy.audit(
        conn,
        principal,
        "member.erase",
        f"member:{member_id}",
        now,
        cleared=list(CLEARED),
        consent_withdrawn=list(model.CHANNELS),
        push_subscriptions_ended=ended,
    )
    return True
