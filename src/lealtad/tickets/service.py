"""Claiming a purchase with a scanned ticket: check it, hold the limits, claim it once, and record
the purchase through the one purchase path (or leave it waiting for staff). Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.errors import Conflict, Invalid, LealtadError
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.money import minor_exponent
from lealtad.members import service as members
from lealtad.purchases import service as purchases
from lealtad.purchases import store as purchase_store
from lealtad.purchases.schemas import PurchaseIn
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal
from lealtad.tickets import model, store
from lealtad.tickets.keys import secret_bytes
from lealtad.tickets.model import Refusal
from lealtad.tickets.schemas import ClaimOut

# The refusals a member or an integrator can get, with their HTTP status.
STATUS = {
    "ticket_unreadable": 422,
    "ticket_bad_signature": 422,
    "ticket_not_this_business": 422,
    "ticket_too_old": 422,
    "ticket_in_future": 422,
    "ticket_already_claimed": 409,
    "ticket_limit_reached": 429,
}
DAY = timedelta(days=1)
# The purchase path's answers when the receipt id is taken (by a till's report in between).
RECEIPT_TAKEN = ("duplicate_receipt", "idempotency_key_reused")


@dataclass(frozen=True)
class TicketSettings:
    tax_id: str | None = None
    max_age_days: int = 7
    member_daily_claims: int = 3
    device_daily_claims: int = 5
    approval_above: int | None = None


def refused(refusal: Refusal) -> LealtadError:
    return LealtadError(
        refusal.message, code=refusal.code, http_status=STATUS.get(refusal.code, 422)
    )


def settings_of(conn: Connection, business_id: int) -> TicketSettings:
    row = store.settings(conn, business_id)
    if row is None:
        return TicketSettings()
    return TicketSettings(
        tax_id=row.tax_id,
        max_age_days=row.max_age_days,
        member_daily_claims=row.member_daily_claims,
        device_daily_claims=row.device_daily_claims,
        approval_above=row.approval_above,
    )


def takes_tickets(conn: Connection, business: Any) -> bool:
    """Whether a member's scanned ticket can earn here at all: an invoice QR needs the business's
    tax id (and euros), a signed receipt a live key. Otherwise the wallet offers no scanner."""
    rules = settings_of(conn, business.id)
    if rules.tax_id is not None and business.currency == "EUR":
        return True
    return store.has_live_key(conn, business.id)


def save_settings(
    conn: Connection, business_id: int, new: TicketSettings, now: datetime
) -> TicketSettings:
    tax_id = model.normal_tax_id(new.tax_id) if new.tax_id else None
    if tax_id is not None and not model.NIF.match(tax_id):
        raise Invalid("a Spanish tax id has 9 letters and digits", code="tax_id_invalid")
    values = {**new.__dict__, "tax_id": tax_id}
    store.save_settings(conn, business_id, updated_at=naive_utc(now), **values)
    return settings_of(conn, business_id)


@dataclass(frozen=True)
class Ticket:
    """A checked ticket, the same for both sources: what the claim and the purchase record."""

    source: str
    ref: str
    receipt_id: str
    location_id: int | None
    amount: int
    currency: str
    issued_at: datetime
    needs_approval: bool


def check_signed(
    conn: Connection, business: Any, text: str, rules: TicketSettings, now: datetime
) -> Ticket:
    ticket = model.read_signed(text)
    key = store.key(conn, business.id, ticket.key_id)
    if key is None or (key.retired_at is not None and as_utc(key.retired_at) <= as_utc(now)):
        # A key of another business, or one the owner retired: not a receipt of this business.
        raise Refusal("ticket_not_this_business", "the receipt was not signed by this business")
    if key.location_id != ticket.location_id:
        raise Refusal("ticket_bad_signature", "the receipt names another location than its key")
    model.check_mac(ticket, secret_bytes(key.secret))
    if ticket.currency != business.currency:
        raise Refusal("ticket_not_this_business", "the receipt is in another currency")
    model.check_age(ticket.issued_at, as_utc(now), rules.max_age_days)
    return Ticket(
        source="signed",
        ref=f"r:{ticket.receipt_id}",
        receipt_id=ticket.receipt_id,
        location_id=ticket.location_id,
        amount=ticket.amount,
        currency=ticket.currency,
        issued_at=ticket.issued_at,
        needs_approval=False,
    )


def check_invoice(
    conn: Connection, business: Any, text: str, rules: TicketSettings, now: datetime
) -> Ticket:
    invoice = model.read_verifactu(text)
    if rules.tax_id is None or invoice.nif != rules.tax_id or business.currency != "EUR":
        raise Refusal("ticket_not_this_business", "the invoice was issued by another business")
    zone = ZoneInfo(business.timezone)
    today = as_utc(now).astimezone(zone).date()
    if invoice.issued_on > today:
        raise Refusal("ticket_in_future", "the invoice is dated in the future")
    if (today - invoice.issued_on).days > rules.max_age_days:
        raise Refusal("ticket_too_old", f"the invoice is older than {rules.max_age_days} days")
    # The QR gives the day only: today's invoice happened by now, an older one at midday.
    noon = datetime.combine(invoice.issued_on, time(12), zone)
    issued_at = as_utc(now) if invoice.issued_on == today else as_utc(noon)
    amount = model.minor_units(invoice.amount, minor_exponent("EUR"))
    above = rules.approval_above
    return Ticket(
        source="verifactu",
        ref=f"vf:{invoice.nif}:{invoice.numserie}",
        receipt_id=invoice.numserie,
        location_id=None,
        amount=amount,
        currency="EUR",
        issued_at=issued_at,
        needs_approval=above is not None and amount > above,
    )


def read_ticket(
    conn: Connection, business: Any, text: str, rules: TicketSettings, now: datetime
) -> Ticket:
    if model.is_verifactu(text):
        return check_invoice(conn, business, text, rules, now)
    return check_signed(conn, business, text, rules, now)


def _hold_limits(
    conn: Connection,
    business_id: int,
    member_id: int,
    device_id: str | None,
    rules: TicketSettings,
    now: datetime,
) -> None:
    since = naive_utc(now - DAY)
    mine = store.claims_since(conn, business_id, since, member_id=member_id)
    if mine >= rules.member_daily_claims:
        raise Refusal("ticket_limit_reached", "the member's ticket claims for today are used up")
    if device_id is not None:
        used = store.claims_since(conn, business_id, since, device_id=device_id)
        if used >= rules.device_daily_claims:
            raise Refusal(
                "ticket_limit_reached", "this device's ticket claims for today are used up"
            )


def claim(
    conn: Connection,
    principal: Principal,
    member_id: int,
    text: str,
    *,
    device_id: str | None,
    secret_key: str,
    now: datetime,
) -> ClaimOut:
    """A claim accepted (the purchase recorded) or pending; a refusal raises a LealtadError."""
    bid = principal.business_id
    business = tenancy_store.business(conn, bid)
    member = members.get(conn, bid, member_id)
    members.require_active(member)
    # One member's claims are counted one at a time, so that the daily limit holds.
    members.lock(conn, bid, member.id)
    rules = settings_of(conn, bid)
    try:
        ticket = read_ticket(conn, business, text, rules, now)
        _hold_limits(conn, bid, member.id, device_id, rules, now)
        if purchase_store.purchase_by_receipt(conn, bid, ticket.receipt_id) is not None:
            # The till reported this sale already (or another claim recorded it).
            raise Refusal("ticket_already_claimed", "this purchase was recorded already")
    except Refusal as refusal:
        raise refused(refusal) from None
    claim_id = store.add_claim(
        conn,
        business_id=bid,
        member_id=member.id,
        source=ticket.source,
        ticket_ref=ticket.ref,
        receipt_id=ticket.receipt_id,
        location_id=ticket.location_id,
        amount=ticket.amount,
        currency=ticket.currency,
        issued_at=naive_utc(ticket.issued_at),
        status="pending",
        device_id=device_id,
        purchase_id=None,
        points=0,
        created_at=naive_utc(now),
    )
    if claim_id is None:
        raise refused(Refusal("ticket_already_claimed", "this ticket was claimed before"))
    if not ticket.needs_approval:
        _accept(conn, principal, claim_id, secret_key=secret_key, now=now, by=principal.actor)
    return one(conn, bid, claim_id)


def _accept(
    conn: Connection,
    principal: Principal,
    claim_id: int,
    *,
    secret_key: str,
    now: datetime,
    by: str,
) -> None:
    row = store.claim(conn, principal.business_id, claim_id)
    data = PurchaseIn(
        receipt_id=row.receipt_id,
        amount=row.amount,
        currency=row.currency,
        member_id=row.member_id,
        location_id=row.location_id,
        channel="counter",
        occurred_at=as_utc(row.issued_at),
    )
    try:
        _, body = purchases.record(conn, principal, data, secret_key=secret_key, now=now)
    except Conflict as exc:
        if exc.code not in RECEIPT_TAKEN:
            raise
        raise refused(
            Refusal("ticket_already_claimed", "this purchase was recorded already")
        ) from exc
    if body.get("member_id") != row.member_id:  # a till's answer replayed for its receipt
        raise refused(Refusal("ticket_already_claimed", "this purchase was recorded already"))
    points = sum(a["amount"] for a in body.get("awards", []) if a.get("unit") == "points")
    store.decide(
        conn,
        principal.business_id,
        claim_id,
        status="accepted",
        purchase_id=body["id"],
        points=points,
        decided_by=by,
        decided_at=naive_utc(now),
    )


def decide(
    conn: Connection,
    principal: Principal,
    claim_id: int,
    approve: bool,
    *,
    secret_key: str,
    now: datetime,
) -> ClaimOut:
    """Staff approve (the purchase is recorded now, dated as the ticket) or refuse a waiting claim."""
    bid = principal.business_id
    row = store.lock_claim(conn, bid, claim_id)
    if row is None:
        raise LealtadError(
            f"no ticket claim {claim_id}", code="ticket_claim_not_found", http_status=404
        )
    if row.status != "pending":
        raise Conflict(f"the claim is {row.status} already", code="ticket_claim_decided")
    if approve:
        _accept(conn, principal, claim_id, secret_key=secret_key, now=now, by=principal.actor)
    else:
        store.decide(
            conn,
            bid,
            claim_id,
            status="refused",
            decided_by=principal.actor,
            decided_at=naive_utc(now),
        )
    return one(conn, bid, claim_id)


def out(row: Any) -> ClaimOut:
    return ClaimOut(
        id=row.id,
        member_id=row.member_id,
        status=row.status,
        source=row.source,
        receipt_id=row.receipt_id,
        location_id=row.location_id,
        amount=row.amount,
        currency=row.currency,
        issued_at=as_utc(row.issued_at),
        points=row.points,
        purchase_id=row.purchase_id,
        created_at=as_utc(row.created_at),
    )


def one(conn: Connection, business_id: int, claim_id: int) -> ClaimOut:
    return out(store.claim(conn, business_id, claim_id))


def listing(
    conn: Connection, business_id: int, status: str | None, limit: int = 200
) -> list[ClaimOut]:
    return [out(row) for row in store.claims(conn, business_id, status, limit)]
