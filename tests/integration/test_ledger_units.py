"""Units other than points: each stamp card and the cashback wallet are their own accounts."""

from __future__ import annotations

import pytest

from lealtad.db.engine import Database
from lealtad.errors import InsufficientBalance
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.ledger.model import Entry, MemberLeg, SystemLeg, UnbalancedEntry
from lealtad.ledger.verify import verify
from tests.support import Shop


def _stamp(member: int, card: str, amount: int, clock: FixedClock) -> Entry:
    unit = f"stamps.{card}"
    return Entry(
        kind="earn" if amount > 0 else "redeem",
        memo="stamp",
        occurred_at=clock.now(),
        member_id=member,
        legs=(
            MemberLeg(member, unit, unit, amount),
            SystemLeg("issued" if amount > 0 else "redeemed", unit, -amount),
        ),
    )


def test_each_stamp_card_is_its_own_account_and_unit(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    with db.transaction() as conn:
        for _ in range(3):
            ledger.post(conn, shop.id, _stamp(member, "coffee", 1, clock), clock.now())
        ledger.post(conn, shop.id, _stamp(member, "lunch", 2, clock), clock.now())
    with db.read() as conn:
        held = ledger.balances(conn, shop.id, member)
        assert (held["stamps.coffee"], held["stamps.lunch"], held["points"]) == (3, 2, 0)
        assert verify(conn, shop.id) == []
    with pytest.raises(InsufficientBalance), db.transaction() as conn:
        ledger.post(conn, shop.id, _stamp(member, "lunch", -3, clock), clock.now())


def test_units_cannot_be_mixed_in_one_entry(db: Database, shop: Shop, clock: FixedClock) -> None:
    member = shop.members[0]
    mixed = Entry(
        kind="earn",
        memo="x",
        occurred_at=clock.now(),
        legs=(MemberLeg(member, "cashback", "cashback", 5), SystemLeg("issued", "points", -5)),
    )
    with pytest.raises(UnbalancedEntry), db.transaction() as conn:
        ledger.post(conn, shop.id, mixed, clock.now())
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["cashback"] == 0


def test_verify_names_an_account_whose_stored_balance_was_altered(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    from sqlalchemy import update

    from lealtad.ledger.tables import accounts, entries

    member = shop.members[0]
    with db.transaction() as conn:
        ledger.post(conn, shop.id, _stamp(member, "coffee", 2, clock), clock.now())
        conn.execute(
            update(accounts)
            .where(accounts.c.business_id == shop.id, accounts.c.key == f"m:{member}:stamps.coffee")
            .values(balance=5)
        )
        conn.execute(
            entries.insert().values(
                business_id=shop.id,
                kind="earn",
                memo="orphan",
                actor="t",
                occurred_at=clock.now().replace(tzinfo=None),
                recorded_at=clock.now().replace(tzinfo=None),
            )
        )
    with db.read() as conn:
        problems = [str(p) for p in verify(conn, shop.id)]
    assert any(f"m:{member}:stamps.coffee" in p and "stored balance 5" in p for p in problems), (
        problems
    )
    assert any("has no postings" in p for p in problems), problems
