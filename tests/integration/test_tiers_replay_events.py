"""D75 beyond sales: a custom-event tier whose events arrive out of date order ends as in date
order, and a live sale out of date order announces the replayed tier once (`replayed`), while
the changes date order would have made earlier are not announced now."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.events import service as events
from lealtad.events.schemas import EventIn
from lealtad.kit.clock import FixedClock
from lealtad.purchases import service
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rules.definition import ProgramDefinition
from tests.conftest import SECRET
from tests.integration.test_tiers_history_order import program, statuses
from tests.support import make_shop

TRAINING = ProgramDefinition.model_validate(
    {
        "name": "Formación",
        "rules": [],
        "tiers": {
            "metric": "custom",
            "custom_event": "training_hours",
            "window": {"kind": "rolling", "days": 30},
            "grace_days": 5,
            "levels": [
                {"id": "novice", "name": "Novice", "threshold": "0"},
                {"id": "expert", "name": "Expert", "threshold": "10"},
            ],
        },
    }
)
# (day, hours): expert on day 12 (4 + 7), lowered on day 60 once the hold ran out, expert again
# on day 75.
HOURS = [(0, 4), (12, 7), (60, 1), (70, 6), (75, 5)]


def test_training_hours_out_of_date_order_end_at_the_tier_of_date_order(
    db: Database, clock: FixedClock
) -> None:
    start = clock.now()
    now = start + timedelta(days=120)
    shops = [make_shop(db, start, members_count=1, with_staff=False, program=TRAINING)]
    shops.append(make_shop(db, start, members_count=1, with_staff=False, program=TRAINING))
    for shop, order in zip(
        shops, (HOURS, random.Random(74).sample(HOURS, len(HOURS))), strict=True
    ):
        for day, hours in order:
            body = EventIn(
                event_id=f"E{day}",
                name="training_hours",
                member_id=shop.members[0],
                value=Decimal(hours),
                occurred_at=start + timedelta(days=day),
            )
            with db.transaction() as conn:
                events.record(conn, shop.principal(), body, secret_key=SECRET, now=now)
    expected = statuses(db, shops[0])
    assert expected[0][0] == "expert"
    assert expected[0][1] == (start + timedelta(days=75)).replace(tzinfo=None)
    assert statuses(db, shops[1]) == expected


def _changes(db: Database, business_id: int) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [
            dict(row)
            for row in conn.scalars(
                select(outbox.c.payload)
                .where(outbox.c.business_id == business_id, outbox.c.topic == "tier.changed")
                .order_by(outbox.c.id)
            )
        ]


def test_a_live_sale_out_of_date_order_announces_the_replayed_tier_once(
    db: Database, clock: FixedClock
) -> None:
    start = clock.now()
    now = start + timedelta(days=100)
    shop = make_shop(
        db, start, members_count=1, with_staff=False, program=program("spend", "rolling")
    )
    member = shop.members[0]

    def buy(receipt: str, day: int, amount: int) -> None:
        body = PurchaseIn(
            receipt_id=receipt,
            amount=amount,
            currency="EUR",
            member_id=member,
            occurred_at=start + timedelta(days=day),
        )
        with db.transaction() as conn:
            service.record(conn, shop.principal(), body, secret_key=SECRET, now=now)

    buy("late", 30, 9_000)  # 9,000 in 45 days: silver
    assert [c["to"] for c in _changes(db, shop.id)] == ["bronze", "silver"]
    # Dated before it: in date order the member reached silver on day 20 and gold on day 30
    # (16,500); the day-20 silver is not announced now, gold is, once.
    buy("early", 20, 7_500)
    found = _changes(db, shop.id)
    assert found[-1] == {
        "member_id": member,
        "from": "silver",
        "to": "gold",
        "metric": "16500",
        "replayed": True,
    }
    assert len(found) == 3
    tier, since, _until = statuses(db, shop)[0]
    assert (tier, since) == ("gold", (start + timedelta(days=30)).replace(tzinfo=None))
    # The sale that follows in date order is checked as usual: nothing replayed.
    buy("next", 40, 100)
    assert len(_changes(db, shop.id)) == 3
