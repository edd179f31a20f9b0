"""Settling one member before a spend (one read of their due lots) must move exactly what the
business-wide settle moves for that member: unlocks first, then expiries, including points that
unlock already past their expiry."""

from __future__ import annotations

from datetime import timedelta

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.ledger.maturity import settle
from lealtad.ledger.model import PENDING_POINTS_ACCOUNT, POINTS_ACCOUNT, Entry, MemberLeg, SystemLeg
from lealtad.ledger.verify import verify
from tests.support import Shop, make_shop


def _earn(member: int, amount: int, clock: FixedClock, **dates: object) -> Entry:
    pending = "unlocks_at" in dates
    return Entry(
        kind="earn",
        memo="test",
        occurred_at=clock.now(),
        member_id=member,
        legs=(
            MemberLeg(
                member,
                PENDING_POINTS_ACCOUNT if pending else POINTS_ACCOUNT,
                "points",
                amount,
                **dates,  # type: ignore[arg-type]
            ),
            SystemLeg("issued", "points", -amount),
        ),
    )


def _history(db: Database, shop: Shop, clock: FixedClock) -> None:
    start = clock.now()
    day = timedelta(days=1)
    with db.transaction() as conn:
        for member in shop.members[:2]:
            for entry in (
                _earn(member, 5, clock, expires_at=start + 2 * day),  # expires
                _earn(member, 7, clock, expires_at=start + 30 * day),  # stays
                _earn(member, 11, clock, unlocks_at=start + day),  # unlocks
                # Unlocks and is already past its expiry by the time it is settled.
                _earn(member, 13, clock, unlocks_at=start + 2 * day, expires_at=start + 3 * day),
                _earn(member, 17, clock, unlocks_at=start + 40 * day),  # still pending
            ):
                ledger.post(conn, shop.id, entry, start)


def test_settling_one_member_moves_what_the_business_wide_settle_moves_for_them(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), with_staff=False)
    first, second = shop.members[:2]
    _history(db, shop, clock)
    clock.at = clock.at + timedelta(days=5)
    with db.transaction() as conn:
        one = settle(conn, shop.id, clock.now(), member_id=first)
    assert (one.unlocked_lots, one.unlocked_units) == (2, 24)
    assert (one.expired_lots, one.expired_units) == (2, 18)
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, first)["points"] == 7 + 11
        assert ledger.balances(conn, shop.id, first)[PENDING_POINTS_ACCOUNT] == 17
        # The other member's lots wait for their own spend or for the nightly settle.
        assert ledger.balances(conn, shop.id, second)[PENDING_POINTS_ACCOUNT] == 11 + 13 + 17
    with db.transaction() as conn:
        everyone = settle(conn, shop.id, clock.now())
    assert (everyone.unlocked_lots, everyone.expired_lots) == (2, 2)
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, second) == ledger.balances(conn, shop.id, first)
        assert verify(conn, shop.id) == []
    with db.transaction() as conn:
        again = settle(conn, shop.id, clock.now(), member_id=first)
    assert (again.unlocked_lots, again.expired_lots) == (0, 0)
