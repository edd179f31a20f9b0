"""PostgreSQL reads committed data and the purchase's (or donation's) first read of the member holds nothing:
an erasure can commit between that read and the member's row lock. The status read with the
lock refuses the sale, as the member's look-up would refuse it now. (On SQLite the purchase's
write transaction begins with BEGIN IMMEDIATE, so no erasure can come in between.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from lealtad.db.engine import Database
from lealtad.errors import LealtadError
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.privacy import erasure
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.purchases.tables import purchases as purchase_rows
from lealtad.rewards import donations
from lealtad.rewards.donations import CauseDescription, CauseIn, CauseName, DonationIn
from lealtad.rewards.tables import donations as donation_rows
from lealtad.tenancy.model import Role
from tests.conftest import SECRET
from tests.reliability.state import card_numbers
from tests.support import make_shop


@pytest.mark.parametrize(
    ("named_by", "refused_with"),
    [("member_id", "member_erased"), ("card_number", "member_not_found")],
)
def test_a_member_erased_between_the_purchases_read_and_its_lock_earns_nothing(
    postgres_db: Database,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    named_by: str,
    refused_with: str,
) -> None:
    db = postgres_db
    shop = make_shop(db, clock.now(), members_count=1)
    (member,) = shop.members
    (card,) = card_numbers(db, shop.id)
    read_member = purchases._member

    def read_then_erased_elsewhere(*args: Any) -> Any:
        row = read_member(*args)
        assert row.status == "active"
        # Another session erases the member and commits before this purchase locks the row.
        with db.transaction() as other:
            assert erasure.erase(other, shop.principal(Role.owner), member, clock.now())
        return row

    monkeypatch.setattr(purchases, "_member", read_then_erased_elsewhere)
    named = {"member_id": member} if named_by == "member_id" else {"card_number": card}
    sale = PurchaseIn(receipt_id="RACE-1", amount=2500, currency="EUR", **named)  # type: ignore[arg-type]

    with pytest.raises(LealtadError) as refused, db.transaction() as conn:
        purchases.record(conn, shop.principal(), sale, secret_key=SECRET, now=clock.now())

    assert refused.value.code == refused_with
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member).get("points", 0) == 0
        landed = select(func.count()).where(purchase_rows.c.business_id == shop.id)
        assert conn.scalar(landed) == 0


def test_a_member_erased_between_the_donations_read_and_its_lock_gives_nothing(
    postgres_db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = postgres_db
    shop = make_shop(db, clock.now(), members_count=1)
    (member,) = shop.members
    cause_in = CauseIn(
        name=CauseName(es="Banco de alimentos", en="Food bank"),
        description=CauseDescription(es="Comidas", en="Meals"),
    )
    with db.transaction() as conn:
        cause_id = donations.create_cause(conn, shop.id, cause_in, clock.now())
        adjustments.adjust(
            conn, shop.id, member, unit="points", amount=100, reason="grant", actor="t",
            now=clock.now(),
        )  # fmt: skip
    open_cause = donations._open_cause

    def cause_then_erased_elsewhere(*args: Any) -> Any:
        row = open_cause(*args)
        with db.transaction() as other:
            assert erasure.erase(other, shop.principal(Role.owner), member, clock.now())
        return row

    monkeypatch.setattr(donations, "_open_cause", cause_then_erased_elsewhere)
    gift = DonationIn(cause_id=cause_id, points=40)

    with pytest.raises(LealtadError) as refused, db.transaction() as conn:
        donations.donate(conn, shop.principal(), member, gift, clock.now())

    assert refused.value.code == "member_erased"
    with db.read() as conn:
        given = select(func.count()).where(donation_rows.c.business_id == shop.id)
        assert conn.scalar(given) == 0
