"""Recording a purchase: validate, find the member, apply the program, post the awards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.analytics import rollups
from lealtad.comms.outbox import emit
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit import commit_counts
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.dates import EARLIEST, LATEST
from lealtad.kit.money import is_known_currency, minor_exponent
from lealtad.ledger import idempotency
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from lealtad.purchases import payment, store
from lealtad.purchases.schemas import AwardOut, PurchaseIn, PurchaseOut
from lealtad.rules import apply, planner
from lealtad.rules import service as rule_service
from lealtad.rules import store as rule_store
from lealtad.rules.apply import Granted
from lealtad.rules.facts import Facts, Item
from lealtad.rules.planner import MemberState
from lealtad.tenancy import config
from lealtad.tenancy.model import Principal

# A POS clock a little ahead of ours is normal; a sale dated tomorrow is not.
CLOCK_SKEW = timedelta(minutes=5)
# The years a sale may be dated in are the edge's (kit/dates.py), checked again here for the
# paths that do not come through a request schema (imports). Year 1 in UTC is year 0 in Madrid's
# local mean time, which datetime cannot hold: the day rollups and rules work in local time.


def occurred(value: datetime | None, now: datetime) -> datetime:
    """When it happened, in UTC; a time without a zone is taken as UTC."""
    try:
        at = as_utc(value) if value is not None else as_utc(now)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 is before the first UTC instant
        raise Invalid("occurred_at is out of range", code="occurred_out_of_range") from exc
    if at > as_utc(now) + CLOCK_SKEW:
        raise Invalid("occurred_at is in the future", code="occurred_in_future")
    if not EARLIEST <= at <= LATEST:
        raise Invalid(
            "occurred_at is out of range (years 1900 to 2199)", code="occurred_out_of_range"
        )
    return at


def check_currency(currency: str, business: Any) -> None:
    if not is_known_currency(currency.upper()):
        raise Invalid(f"unknown currency {currency!r}", code="unknown_currency")
    if currency.upper() != business.currency:
        raise Invalid(
            f"this business trades in {business.currency}, not {currency.upper()}",
            code="currency_mismatch",
        )


def _member(conn: Connection, bid: int, data: PurchaseIn, secret_key: str, now: datetime) -> Any:
    if not (data.member_id or data.card_number or data.qr_token):
        return None
    return members.find(
        conn,
        bid,
        secret_key,
        member_id=data.member_id,
        card_number=data.card_number,
        qr_token=data.qr_token,
        now=now,
    )


def purchase_facts(
    business: Any, location: Any, data: PurchaseIn, at: datetime, points_discount: int = 0
) -> Facts:
    """The sale as the rules see it: earning counts only what was paid in money, not the part
    paid with cashback or points."""
    return Facts(
        trigger="purchase",
        occurred_at=at,
        tz=ZoneInfo(location.timezone if location is not None else business.timezone),
        amount=data.amount - data.cashback_redeem - points_discount,
        exponent=minor_exponent(business.currency),
        channel=data.channel,
        location_id=location.id if location is not None else None,
        items=tuple(
            Item(i.sku, Decimal(i.quantity), i.unit_price, i.category, frozenset(i.tags))
            for i in data.items
        ),
    )


@dataclass
class Earned:
    """What the program gave for one purchase, and the member's tier after it."""

    granted: list[Granted] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    badges: list[dict[str, Any]] = field(default_factory=list)
    tier_change: tuple[str | None, str | None] | None = None
    tier: str | None = None


def _earn(
    conn: Connection,
    principal: Principal,
    member: Any,
    facts: Facts,
    purchase_id: int | None,
    receipt_id: str,
    now: datetime,
    *,
    write: bool,
) -> Earned:
    """The purchase's own awards and, for a referred member, the referral's."""
    bid = principal.business_id
    # Read once for the context and every run (it was read three times per purchase).
    program = rule_service.in_force(conn, bid, facts.occurred_at)
    context = apply.context_for(
        conn,
        bid,
        member,
        purchase_id,
        at=facts.occurred_at,
        program=program,
        need_visits=bool(member.referred_by_member_id),
    )
    runs: list[tuple[Facts, int | None]] = [(facts, None)]
    referral = planner.referral_run(facts, MemberState.of(context, member.referred_by_member_id))
    if referral is not None:
        runs.append(referral)
    earned = Earned(tier=context.tier)
    for run_facts, referrer in runs:
        if not write:
            earned.granted += apply.plan(
                conn, bid, context, run_facts, referrer_id=referrer, program=program
            )[1]
            continue
        outcome = apply.apply(
            conn,
            bid,
            context,
            run_facts,
            now=now,
            actor=principal.actor,
            purchase_id=purchase_id,
            referrer_id=referrer,
            memo=f"purchase {receipt_id}",
            program=program,
        )
        earned.granted += outcome.granted
        earned.cards += outcome.cards_completed
        earned.badges += outcome.badges
        if outcome.tier_change is not None:
            earned.tier_change = earned.tier_change or outcome.tier_change
            earned.tier = outcome.tier_change[1]
    return earned


def award_out(g: Granted) -> AwardOut:
    return AwardOut(
        rule_id=g.rule_id,
        member_id=g.member_id,
        account=g.account,
        unit=g.unit,
        amount=g.amount,
        reason=g.reason,
        expires_at=g.expires_at,
        unlocks_at=g.unlocks_at,
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
    # A purchase changes no configuration: the business, its locations, program versions and
    # challenges come from the cache of the config version read here (tenancy/config.py).
    with config.pinned(conn, principal.business_id):
        return _record(
            conn,
            principal,
            data,
            secret_key=secret_key,
            now=now,
            idempotency_key=idempotency_key,
        )


def _record(
    conn: Connection,
    principal: Principal,
    data: PurchaseIn,
    *,
    secret_key: str,
    now: datetime,
    idempotency_key: str | None,
) -> tuple[int, dict[str, Any]]:
    bid = principal.business_id
    key = idempotency_key or f"purchase:{data.receipt_id}"
    replay = idempotency.begin(conn, bid, key, data.model_dump(mode="json"), now)
    if replay is not None:
        return replay.status_code, replay.body
    business = config.business(conn, bid)
    check_currency(data.currency, business)
    at = occurred(data.occurred_at, now)
    location_id = where_sold(conn, bid, data, principal)
    location = config.location(conn, bid, location_id) if location_id else None
    member = _member(conn, bid, data, secret_key, now)
    if member is not None:
        # One member's purchases are evaluated one at a time, so caps and visit counts hold;
        # the status read with the lock stops a sale for a member erased since `_member` read.
        members.lock_active(conn, bid, member, by_id=data.member_id is not None)
    payment.pay_with_cashback(conn, principal, business, member, data, now)
    discount = payment.pay_with_points(conn, principal, business, member, data, now, spend=True)
    purchase_id = store.insert_new_purchase(
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
    if purchase_id is None:  # whatever was paid above rolls back with the transaction
        raise Conflict(
            f"receipt {data.receipt_id!r} was already recorded with another idempotency key",
            code="duplicate_receipt",
        )
    rollups.on_purchase(
        conn,
        bid,
        purchase_id,
        member_id=member.id if member else None,
        location_id=location_id,
        staff_id=principal.staff_id,
        amount=data.amount,
        at=at,
    )
    earned = Earned()
    if member is not None:
        facts = purchase_facts(business, location, data, at, discount)
        earned = _earn(
            conn, principal, member, facts, purchase_id, data.receipt_id, now, write=True
        )
    held = _held(conn, bid, member)
    out = answer(
        purchase_id, data, member, location_id, at, earned.granted, earned.tier, held, discount
    )
    out.cards_completed, out.tier_changed = earned.cards, earned.tier_change is not None
    out.badges = earned.badges
    body = out.model_dump(mode="json")
    emit(conn, bid, "purchase.recorded", body, now)
    idempotency.finish(conn, bid, key, 201, body)
    commit_counts.purchase_recorded(conn, earned.granted)
    return 201, body


def preview(
    conn: Connection, principal: Principal, data: PurchaseIn, *, secret_key: str, now: datetime
) -> PurchaseOut:
    """What the purchase would earn now, without writing anything."""
    with config.pinned(conn, principal.business_id):
        return _preview(conn, principal, data, secret_key=secret_key, now=now)


def _preview(
    conn: Connection, principal: Principal, data: PurchaseIn, *, secret_key: str, now: datetime
) -> PurchaseOut:
    bid = principal.business_id
    business = config.business(conn, bid)
    check_currency(data.currency, business)
    at = occurred(data.occurred_at, now)
    location_id = where_sold(conn, bid, data, principal)
    location = config.location(conn, bid, location_id) if location_id else None
    member = _member(conn, bid, data, secret_key, now)
    earned = Earned()
    discount = payment.pay_with_points(conn, principal, business, member, data, now, spend=False)
    if member is not None:
        facts = purchase_facts(business, location, data, at, discount)
        earned = _earn(conn, principal, member, facts, None, data.receipt_id, now, write=False)
    held = _held(conn, bid, member)
    return answer(0, data, member, location_id, at, earned.granted, earned.tier, held, discount)


def _held(conn: Connection, bid: int, member: Any) -> dict[str, int] | None:
    return ledger.balances(conn, bid, member.id) if member else None


def answer(
    purchase_id: int,
    data: PurchaseIn,
    member: Any,
    location_id: int | None,
    at: datetime,
    granted: Sequence[Granted],
    tier: str | None,
    held: dict[str, int] | None,
    points_discount: int = 0,
) -> PurchaseOut:
    """The answer to a recorded purchase, given the member's balances after it."""
    return PurchaseOut(
        id=purchase_id,
        receipt_id=data.receipt_id,
        member_id=member.id if member else None,
        location_id=location_id,
        amount=data.amount,
        currency=data.currency.upper(),
        cashback_redeemed=data.cashback_redeem,
        points_redeemed=data.points_redeem,
        points_discount=points_discount,
        refunded_amount=0,
        occurred_at=at,
        awards=[award_out(g) for g in granted],
        cards_completed=[],
        tier=tier,
        tier_changed=False,
        balances=held,
    )


def get(conn: Connection, principal: Principal, purchase_id: int) -> PurchaseOut:
    row = store.purchase(conn, principal.business_id, purchase_id)
    if row is None:
        raise NotFound(f"no purchase {purchase_id} in this business", code="purchase_not_found")
    awarded = rule_store.purchase_award_rules(conn, principal.business_id, purchase_id)
    return PurchaseOut(
        id=row.id,
        receipt_id=row.receipt_id,
        member_id=row.member_id,
        location_id=row.location_id,
        amount=row.amount,
        currency=row.currency,
        cashback_redeemed=0,
        refunded_amount=row.refunded_amount,
        occurred_at=as_utc(row.occurred_at),
        awards=[
            AwardOut(
                rule_id=a.rule_id,
                member_id=a.member_id,
                account=a.unit,
                unit=a.unit,
                amount=a.amount,
                reason=a.reason,
            )
            for a in awarded
        ],
        cards_completed=[],
        tier=None,
        tier_changed=False,
        balances=None,
    )


def where_sold(conn: Connection, business_id: int, data: PurchaseIn, principal: Principal) -> Any:
    """The sale's location as sent, else the seller's, else the business's only shop: a sale in
    a one-shop business happened there, whoever recorded it (staff set to "any location")."""
    return data.location_id or principal.location_id or config.only_location_id(conn, business_id)
