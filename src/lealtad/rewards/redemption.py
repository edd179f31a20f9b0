"""Redeeming a reward for a voucher, validating it once at a counter, cancelling it, and what
happens when it expires. Every cost moves through the ledger; stock and limits hold under any
concurrency because each check is also the write (stock) or runs under the member's row lock."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.analytics import rollups, segments
from lealtad.comms.outbox import emit
from lealtad.errors import Conflict, NotFound
from lealtad.kit import commit_counts
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import service as ledger
from lealtad.ledger.maturity import settle
from lealtad.ledger.model import CASHBACK_ACCOUNT, Entry, Leg, MemberLeg, SystemLeg
from lealtad.members import service as members
from lealtad.purchases.service import occurred
from lealtad.rewards import donations_store, model, service, store
from lealtad.rewards.schemas import VoucherOut
from lealtad.rules.periods import expiry_for, period_start
from lealtad.rules.service import in_force
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal
from lealtad.tiers import service as tiers


def voucher_out(conn: Connection, row: Any, slug: str, balances: bool = False) -> VoucherOut:
    return VoucherOut(
        id=row.id,
        code=row.code,
        reward_id=row.reward_id,
        reward_slug=slug,
        member_id=row.member_id,
        status=row.status,
        cost_unit=row.cost_unit,
        cost=row.cost,
        issued_at=as_utc(row.issued_at),
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        used_at=as_utc(row.used_at) if row.used_at else None,
        used_location_id=row.used_location_id,
        fulfilment=row.fulfilment,
        balances=ledger.balances(conn, row.business_id, row.member_id) if balances else None,
    )


def _check_limit(
    conn: Connection, principal: Principal, member_id: int, reward: Any, now: datetime
) -> None:
    if reward.limit_per_member is None:
        return
    tz = ZoneInfo(tenancy.get_business(conn, principal.business_id).timezone)
    since = period_start(now, reward.limit_period, tz)
    used = store.redeemed_since(
        conn, principal.business_id, member_id, reward.id, naive_utc(since) if since else None
    )
    if used >= reward.limit_per_member:
        raise Conflict(
            f"this reward can be redeemed {reward.limit_per_member} time(s) per {reward.limit_period}",
            code="redemption_limit_reached",
            details={"limit": reward.limit_per_member, "period": reward.limit_period},
        )


def out_of_stock() -> Conflict:
    return Conflict("this reward is out of stock", code="out_of_stock")


def redeem(
    conn: Connection,
    principal: Principal,
    member_id: int,
    reward_id: int,
    now: datetime,
    occurred_at: datetime | None = None,
) -> VoucherOut:
    """`occurred_at`: when the member redeemed, if not now (a redemption brought in from another
    system, or keyed in late), within the limits of a purchase's date. The checks are those of
    now (the reward offered, in stock, the member's limit); the entry and the voucher are dated
    then, and the points are taken from the lots as they stood then (expired up to then)."""
    bid = principal.business_id
    at = occurred(occurred_at, now) if occurred_at is not None else now
    # One redemption per member at a time: limits and balances are then checked against the truth.
    held = store.lock_member(conn, bid, member_id)
    if held is None:
        raise NotFound(f"no member {member_id} in this business", code="member_not_found")
    members.require_active(held)
    reward = store.reward_for_redemption(conn, bid, reward_id)
    if reward is None:
        raise NotFound(f"no reward {reward_id} in this business", code="reward_not_found")
    if not reward.active or not model.in_window(
        reward.valid_from, reward.valid_until, naive_utc(now)
    ):
        raise Conflict("this reward is not available now", code="reward_not_available")
    # The member's tier and segments are read only for a reward limited to them (each is a
    # query on this hot path).
    if (reward.visible_tiers or reward.visible_segments) and not model.visible_to(
        reward.visible_tiers,
        reward.visible_segments,
        tiers.current(conn, bid, member_id) if reward.visible_tiers else None,
        segments.of_member(conn, bid, member_id, now) if reward.visible_segments else (),
    ):
        raise Conflict(
            "this reward is not offered to this member's tier", code="reward_not_for_member"
        )
    _check_limit(conn, principal, member_id, reward, now)
    # An unlimited reward (stock null) takes no stock and writes nothing to its row, so members
    # redeeming it do not queue on one row lock. If an admin limits it while this runs, this
    # redemption orders before that change: it read no stock, and the change read no voucher.
    if reward.stock is not None and not store.take_limited_stock(conn, bid, reward.id):
        raise out_of_stock()
    settle(conn, bid, at, member_id=member_id)
    legs: list[Leg] = [
        MemberLeg(member_id, model.account_of(reward.cost_unit), reward.cost_unit, -reward.cost),
        SystemLeg(
            "donated" if reward.kind == "donation" else "redeemed", reward.cost_unit, reward.cost
        ),
    ]
    if reward.kind == "cashback_credit":
        legs += [
            MemberLeg(member_id, CASHBACK_ACCOUNT, "cashback", reward.value),
            SystemLeg("issued", "cashback", -reward.value),
        ]
    entry_id = ledger.post(
        conn,
        bid,
        Entry(
            kind="donate" if reward.kind == "donation" else "redeem",
            memo=f"reward {reward.slug}: {reward.title.get('en', reward.slug)}",
            legs=tuple(legs),
            occurred_at=at,
            member_id=member_id,
            actor=principal.actor,
        ),
        now,
    )
    settled = reward.kind in model.SETTLED_AT_ONCE
    values: dict[str, Any] = dict.fromkeys(store.VOUCHER_COLUMNS) | {
        "business_id": bid,
        "reward_id": reward.id,
        "member_id": member_id,
        "status": "used" if settled else "issued",
        "cost_unit": reward.cost_unit,
        "cost": reward.cost,
        "issued_at": naive_utc(at),
        "expires_at": naive_utc(at + timedelta(days=reward.voucher_days))
        if reward.voucher_days and not settled
        else None,
        "used_at": naive_utc(at) if settled else None,
        "fulfilment": "ordered" if reward.kind == "physical_gift" else None,
    }
    voucher_id = None
    while voucher_id is None:  # a taken code (about never) draws another
        values["code"] = model.new_voucher_code()
        voucher_id = store.try_insert_voucher(conn, values)
    code = values["code"]
    rollups.on_redemptions(conn, bid, [(voucher_id, reward.id, at)])
    commit_counts.redemption_made(conn)
    if reward.kind == "donation":
        donations_store.record_donation(
            conn,
            business_id=bid,
            cause_id=reward.cause_id,
            member_id=member_id,
            points=reward.cost,
            entry_id=entry_id,
            created_at=naive_utc(at),
        )
    emit(
        conn,
        bid,
        "reward.redeemed",
        {"member_id": member_id, "reward": reward.slug, "voucher_id": voucher_id, "code": code},
        now,
    )
    # The voucher as inserted: reading it back would only return these values.
    row = SimpleNamespace(id=voucher_id, **values)
    return voucher_out(conn, row, reward.slug, balances=True)


def _voucher(conn: Connection, business_id: int, code: str, *, lock: bool = False) -> Any:
    row = store.voucher(conn, business_id, model.normalise_code(code)[:20], lock=lock)
    if row is None:
        raise NotFound("no voucher with this code in this business", code="voucher_not_found")
    return row


def get_voucher(conn: Connection, business_id: int, code: str) -> VoucherOut:
    row = _voucher(conn, business_id, code)
    return voucher_out(conn, row, service.get(conn, business_id, row.reward_id).slug)


def validate(
    conn: Connection, principal: Principal, code: str, location_id: int | None, now: datetime
) -> VoucherOut:
    """Marks the voucher used, once. A second try says when and where it was used."""
    bid = principal.business_id
    row = _voucher(conn, bid, code, lock=True)
    location_id = location_id or principal.location_id
    if location_id is not None:
        tenancy.get_location(conn, bid, location_id)
    if row.status == "used":
        raise Conflict(
            "this voucher was already used",
            code="voucher_used",
            details={
                "used_at": as_utc(row.used_at).isoformat() if row.used_at else None,
                "used_location_id": row.used_location_id,
                "used_by": row.used_by,
            },
        )
    if row.status != "issued":
        raise Conflict(f"this voucher is {row.status}", code=f"voucher_{row.status}")
    if row.expires_at is not None and as_utc(row.expires_at) <= as_utc(now):
        # Refusing rolls this transaction back; the expiry job records it (and any refund).
        raise Conflict("this voucher has expired", code="voucher_expired")
    store.update_voucher(
        conn,
        bid,
        row.id,
        status="used",
        used_at=naive_utc(now),
        used_location_id=location_id,
        used_by=principal.actor,
    )
    return get_voucher(conn, bid, row.code)


def _give_back(
    conn: Connection, business_id: int, row: Any, kind: str, memo: str, actor: str, now: datetime
) -> None:
    """Returns a voucher's cost to the member (points as a new lot under the program's expiry)."""
    expires = None
    if row.cost_unit == "points":
        business = tenancy.get_business(conn, business_id)
        policy = in_force(conn, business_id, now).definition.points
        expires = expiry_for(
            now,
            policy.expiry,
            policy.expiry_days,
            ZoneInfo(business.timezone),
            policy.expiry_months,
        )
    ledger.post(
        conn,
        business_id,
        Entry(
            kind=kind,
            memo=memo,
            legs=(
                MemberLeg(
                    row.member_id,
                    model.account_of(row.cost_unit),
                    row.cost_unit,
                    row.cost,
                    expires_at=expires,
                ),
                SystemLeg("redeemed", row.cost_unit, -row.cost),
            ),
            occurred_at=now,
            member_id=row.member_id,
            actor=actor,
        ),
        now,
    )
    store.give_back_stock(conn, business_id, row.reward_id)


def cancel(conn: Connection, principal: Principal, code: str, now: datetime) -> VoucherOut:
    """An unused voucher can be cancelled; its cost comes back and its stock is free again."""
    bid = principal.business_id
    row = _voucher(conn, bid, code, lock=True)
    if row.status != "issued" or (row.fulfilment not in (None, "ordered")):
        raise Conflict(
            f"only an unused voucher can be cancelled; this one is {row.status}",
            code="voucher_not_cancellable",
        )
    _give_back(conn, bid, row, "cancel", f"voucher {row.code} cancelled", principal.actor, now)
    store.update_voucher(
        conn,
        bid,
        row.id,
        status="cancelled",
        closed_at=naive_utc(now),
        fulfilment="cancelled" if row.fulfilment else None,
    )
    tenancy.audit(
        conn,
        principal,
        "voucher.cancel",
        f"voucher:{row.code}",
        now,
        status={"before": row.status, "after": "cancelled"},
        member_id=row.member_id,
    )
    return get_voucher(conn, bid, row.code)


def expire_one(conn: Connection, business_id: int, row: Any, now: datetime) -> None:
    reward = service.get(conn, business_id, row.reward_id)
    if reward.on_expiry == "refund":
        _give_back(
            conn,
            business_id,
            row,
            "cancel",
            f"voucher {row.code} expired unused: refunded",
            "system",
            now,
        )
    store.update_voucher(conn, business_id, row.id, status="expired", closed_at=naive_utc(now))


def expire_due(conn: Connection, business_id: int, now: datetime) -> int:
    """Expires unused vouchers past their date, refunding those whose reward says so."""
    done = 0
    for code in store.expired_vouchers(conn, business_id, naive_utc(now), limit=10_000):
        row = store.voucher(conn, business_id, code, lock=True)
        if row is not None and row.status == "issued":
            expire_one(conn, business_id, row, now)
            done += 1
    return done


def fulfil(
    conn: Connection, principal: Principal, code: str, state: str, now: datetime
) -> VoucherOut:
    """A physical gift moves ordered → shipped → delivered, or is cancelled before it ships."""
    bid = principal.business_id
    row = _voucher(conn, bid, code, lock=True)
    if row.fulfilment is None:
        raise Conflict("this voucher is not a physical gift", code="not_a_gift")
    if state not in model.NEXT_FULFILMENT.get(row.fulfilment, set()):
        raise Conflict(
            f"a gift that is {row.fulfilment} cannot become {state}", code="fulfilment_order"
        )
    if state == "cancelled":
        return cancel(conn, principal, code, now)
    values: dict[str, Any] = {"fulfilment": state}
    if state == "delivered":
        values |= {"status": "used", "used_at": naive_utc(now), "used_by": principal.actor}
    store.update_voucher(conn, bid, row.id, **values)
    tenancy.audit(
        conn,
        principal,
        "voucher.fulfilment",
        f"voucher:{row.code}",
        now,
        **{key: {"before": getattr(row, key), "after": value} for key, value in values.items()},
    )
    return get_voucher(conn, bid, row.code)
