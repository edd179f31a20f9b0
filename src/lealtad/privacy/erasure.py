"""Erasing a member on request (the right to erasure). The row is pseudonymised, not deleted:
the journal, purchases, vouchers and ratings point at it, and they must still add up (`lealtad
ledger verify`) and still count in the business's figures. What could name or reach the person
goes: name, contact details, birthday, time zone, tags, the referral code, consent, push
subscriptions, pending login codes, the lifetime figures brought from the previous system, the
card PIN, the wrong-PIN and wrong-code counters kept for the member, the personal figures kept
with each message, and what they wrote in surveys
(their scores and choices stay, counted in the results). The card stops working: it no longer
names them, earns or spends (members/service.py `find`, `require_active`).

The member asks in the wallet, or staff (a manager) act on a request received by phone, e-mail
or at the counter, through the API or the console: the same function, the same audit entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from lealtad.comms import export_store as comms_export
from lealtad.comms import push
from lealtad.connectors import store as connectors
from lealtad.kit.clock import naive_utc
from lealtad.members import login_store, model, previous_store, service, signup, store
from lealtad.security import erasure_store as security_store
from lealtad.security import limits
from lealtad.security.fields import keys_of
from lealtad.surveys import store as surveys
from lealtad.tenancy import audit_objects
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

ERASED = "erased"
CLEARED = ("name", "email", "phone", "birthday", "time_zone", "tags", "referral_code")


def _forget_credentials(
    conn: Connection, business_id: int, member_id: int, email: str | None
) -> int:
    """The card PIN goes, and the attempt counters keyed by the member: the card's (keyed by
    its ids), the wallet code's, keyed by a plain hash of the e-mail, which anyone holding
    the address could match, and the sign-up's (by the e-mail's blind index). Counters per
    client address name no member and stay."""
    pins = security_store.delete_card_pin(conn, business_id, member_id)
    keyed = [(limits.CARD_PIN, limits.account_key("card", business_id, member_id))]
    if email:
        keyed.append((limits.MEMBER_CODE, limits.account_key("member", email)))
        keys = keys_of(conn.dialect)
        keyed.append((signup.SIGNUP, signup.counter_key(keys, business_id, email)))
    for kind, key in keyed:
        security_store.delete_counter(conn, business_id, kind, key)
    return pins


def erase(
    conn: Connection,
    principal: Principal,
    member_id: int,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """Pseudonymises the member; True if this call did it, False if they were already erased.
    The balances stay where they are: nothing in the ledger is rewritten. Audited with the
    fields cleared, never their values; `reason` is staff's note of the request (how it came)."""
    bid = principal.business_id
    # Against a purchase or redemption of the same member landing halfway through.
    service.lock(conn, bid, member_id)
    row = service.get(conn, bid, member_id)
    if row.status == ERASED:
        return False
    card_pin_removed = _forget_credentials(conn, bid, member_id, row.email) > 0
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
    login_store.void_open_codes(conn, bid, member_id, naive_utc(now))
    comms_export.suppress_queued(conn, bid, member_id, "member erased")
    # The delivery log keeps what was sent and when; the figures and names rendered into it go.
    comms_export.clear_contexts(conn, bid, member_id)
    written = surveys.forget_free_text(conn, bid, member_id)
    previous_figures = previous_store.forget_member(conn, bid, member_id)
    connectors.forget_member(conn, bid, member_id)
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
        card_pin_removed=card_pin_removed,
        survey_comments_removed=written,
        previous_figures_removed=previous_figures,
        **({"reason": reason} if reason else {}),
    )
    return True
