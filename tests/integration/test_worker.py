"""The worker runs the daily jobs for every business, and running them again changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.ledger.verify import verify
from lealtad.members import store
from lealtad.rules.definition import PointsPolicy, points_per_currency_unit
from lealtad.rules.earn_rule import EarnRule, FixedPoints
from lealtad.worker import run_once
from tests.support import make_shop


def test_the_worker_gives_birthday_points_once_a_year_and_expires_what_is_due(
    db: Database, clock: FixedClock, settings: Settings
) -> None:
    program = points_per_currency_unit().model_copy(
        update={
            "points": PointsPolicy(expiry="days", expiry_days=30),
            "rules": [
                EarnRule(
                    id="bday", name="Birthday", trigger="birthday", action=FixedPoints(points=50)
                )
            ],
        }
    )
    shop = make_shop(db, clock.now(), program=program, with_staff=False)
    member = shop.members[0]
    today = clock.now().date()
    with db.transaction() as conn:
        # Through the store, which keeps the birthday's blind index with it (D28).
        store.update_member(conn, shop.id, member, birthday=date(1990, today.month, today.day))
    first = run_once(db, settings, clock)[shop.id]
    again = run_once(db, settings, clock)[shop.id]
    assert (first.birthdays, again.birthdays) == (1, 1)
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 50, "the second run gave again"
    clock.at += timedelta(days=31)
    expired = run_once(db, settings, clock)[shop.id]
    assert expired.expired == 50
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 0
        assert verify(conn, shop.id) == []
