"""Recording a purchase: validate, find the member, evaluate the program, post the awards."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.money import is_known_currency
from lealtad.ledger import idempotency
from lealtad.ledger import service as ledger
from lealtad.ledger.model import (
    CASHBACK_ACCOUNT,
    PENDING_POINTS_ACCOUNT,
    POINTS_ACCOUNT,
    Entry,
    MemberLeg,
    SystemLeg,
)
from lealtad.members import service as members
from lealtad.purchases import store
from lealtad.purchases.schemas import AwardOut, PurchaseIn, PurchaseOut
from lealtad.rules import model as rules
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

# A POS clock a little ahead of ours is normal; a sale dated tomorrow is not.
CLOCK_SKEW = timedelta(minutes=5)


def occurred(value: datetime | None, now: datetime) -> datetime:
    """When it happened, in UTC; a time without a zone is taken as UTC."""
    try:
        at = as_utc(value) if value is not None else as_utc(now)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 is before the first UTC instant
        raise Invalid("occurred_at is out of range", code="occurred_out_of_range") from exc
    if at > as_utc(now) + CLOCK_SKEW:
        raise Invalid("occurred_at is in the future", code="occurred_in_future")
    return at


def check_currency(currency: str, business: Any) -> None:
    if not is_known_currency(currency.upper()):
        raise Invalid(f"unknown currency {currency!r}", code="unknown_currency")
    if currency.upper() != business.currency:
        raise Invalid(
            f"this business trades in {business.currency}, not {currency.upper()}",
            code="currency_mismatch",
        )


def record(
    conn: Connection,
    principal: Principal,
    data: PurchaseIn,
    *,
    secret_key: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, answer). The same receipt or key again returns the first answer unchanged."""
    bid = principal.business_id
    key = idempotency_key or f"purchase:{data.receipt_id}"
    replay = idempotency.begin(conn, bid, key, data.model_dump(mode="json"), now)
    if replay is not None:
        return replay.status_code, replay.body
    business = tenancy.get_business(conn, bid)
    check_currency(data.currency, business)
    at = occurred(data.occurred_at, now)
    location_id = data.location_id or principal.location_id
    if location_id is not None:
        tenancy.get_location(conn, bid, location_id)
    member = None
    if data.member_id or data.card_number or data.qr_token:
        member = members.find(
            conn,
            bid,
            secret_key,
            member_id=data.member_id,
            card_number=data.card_number,
            qr_token=data.qr_token,
        )
    if store.purchase_by_receipt(conn, bid, data.receipt_id) is not None:
        raise Conflict(
            f"receipt {data.receipt_id!r} was already recorded with another idempotency key",
            code="duplicate_receipt",
        )
    purchase_id = store.insert_purchase(
        conn,
        business_id=bid,
        receipt_id=data.receipt_id,
        member_id=member.id if member else None,
        location_id=location_id,
        staff_id=principal.staff_id,
        channel=data.channel,
        amount=data.amount,
        currency=data.currency.upper(),
        items=[item.model_dump(mode="json") for item in data.items],
        refunded_amount=0,
        occurred_at=naive_utc(at),
        recorded_at=naive_utc(now),
    )
    awards: list[AwardOut] = []
    if member is not None:
        fact = rules.Purchase(
            amount=data.amount,
            currency=data.currency.upper(),
            occurred_at=at,
            channel=data.channel,
            location_id=location_id,
            items=tuple(
                rules.Item(i.sku, Decimal(i.quantity), i.unit_price, i.category) for i in data.items
            ),
        )
        context = rules.MemberContext(member.id, frozenset(member.tags))
        found = rules.evaluate(fact, context, tenancy.program_of(business))
        awards = post_awards(
            conn, principal, member.id, purchase_id, data.receipt_id, found, at, now
        )
    body = PurchaseOut(
        id=purchase_id,
        receipt_id=data.receipt_id,
        member_id=member.id if member else None,
        location_id=location_id,
        amount=data.amount,
        currency=data.currency.upper(),
        refunded_amount=0,
        occurred_at=at,
        awards=awards,
        balances=ledger.balances(conn, bid, member.id) if member else None,
    ).model_dump(mode="json")
    idempotency.finish(conn, bid, key, 201, body)
    return 201, body


def post_awards(
    conn: Connection,
    principal: Principal,
    member_id: int,
    purchase_id: int,
    receipt_id: str,
    awards: list[rules.Award],
    at: datetime,
    now: datetime,
) -> list[AwardOut]:
    legs: list[MemberLeg | SystemLeg] = []
    out = []
    for award in awards:
        pending = award.unlocks_at is not None and as_utc(award.unlocks_at) > as_utc(now)
        code = PENDING_POINTS_ACCOUNT if pending else POINTS_ACCOUNT
        if award.unit == "cashback":
            code = CASHBACK_ACCOUNT
        legs.append(
            MemberLeg(
                member_id,
                code,
                award.unit,
                award.amount,
                expires_at=award.expires_at,
                unlocks_at=award.unlocks_at if code == PENDING_POINTS_ACCOUNT else None,
                origin_purchase_id=purchase_id,
            )
        )
        legs.append(SystemLeg("issued", award.unit, -award.amount))
        out.append(
            AwardOut(
                account=code,
                unit=award.unit,
                amount=award.amount,
                reason=award.reason,
                expires_at=award.expires_at,
                unlocks_at=award.unlocks_at,
            )
        )
    if legs:
        entry = Entry(
            kind="earn",
            memo=f"purchase {receipt_id}: " + "; ".join(a.reason for a in awards),
            legs=tuple(legs),
            occurred_at=at,
            member_id=member_id,
            purchase_id=purchase_id,
            actor=principal.actor,
        )
        ledger.post(conn, principal.business_id, entry, now)
    return out


def get(conn: Connection, principal: Principal, purchase_id: int) -> PurchaseOut:
    row = store.purchase(conn, principal.business_id, purchase_id)
    if row is None:
        raise NotFound(f"no purchase {purchase_id} in this business", code="purchase_not_found")
    return PurchaseOut(
        id=row.id,
        receipt_id=row.receipt_id,
        member_id=row.member_id,
        location_id=row.location_id,
        amount=row.amount,
        currency=row.currency,
        refunded_amount=row.refunded_amount,
        occurred_at=as_utc(row.occurred_at),
        awards=[],
        balances=None,
    )
