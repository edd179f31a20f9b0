"""The set-wise purchase import writes what the API writes: besides balances and journal
(test_import), the dashboard's counters, the members' figures and the awards' provenance."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.analytics.tables import counters, member_stats
from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.imports import service
from lealtad.kit.clock import FixedClock
from lealtad.purchases.tables import purchases
from lealtad.rules.tables import awards
from tests.conftest import SECRET
from tests.reliability.state import card_numbers, purchases_csv
from tests.support import make_shop, stamp_card_program


def _figures(db: Database, business_id: int) -> dict[str, Any]:
    with db.read() as conn:
        # Staff and shard differ between an API key and an import by design: summed over them.
        totals = conn.execute(
            select(counters.c.metric, counters.c.day, counters.c.dim, func.sum(counters.c.value))
            .where(counters.c.business_id == business_id)
            .group_by(counters.c.metric, counters.c.day, counters.c.dim)
        ).all()
        stats = conn.execute(
            select(member_stats.c.purchases, member_stats.c.spend, member_stats.c.visit_days)
            .where(member_stats.c.business_id == business_id)
            .order_by(member_stats.c.member_id)
        ).all()
        given = conn.execute(
            select(awards.c.rule_id, awards.c.unit, awards.c.amount, awards.c.reason).where(
                awards.c.business_id == business_id
            )
        ).all()
    return {
        "counters": sorted((m, d, x, int(v)) for m, d, x, v in totals if int(v)),
        "members": [tuple(r) for r in stats],
        "awards": sorted(tuple(r) for r in given),
    }


def test_a_batch_import_writes_the_same_counters_member_figures_and_awards_as_the_api(
    db: Database, client: TestClient, clock: FixedClock, tmp_path: Path
) -> None:
    by_file = make_shop(db, clock.now(), members_count=3)
    by_api = make_shop(db, clock.now(), members_count=3)
    path = purchases_csv(tmp_path / "sales.csv", card_numbers(db, by_file.id), 30)

    service.import_purchases(db, by_file.id, path, secret_key=SECRET, clock=clock, batch_size=9)

    api_cards = card_numbers(db, by_api.id)
    with path.open() as f:
        for n, row in enumerate(csv.DictReader(f), start=1):
            body = {
                "receipt_id": row["receipt_id"],
                "amount": int(row["amount"]),
                "currency": "EUR",
                "card_number": api_cards[n % 3],
                "occurred_at": row["occurred_at"],
            }
            answer = client.post("/api/v1/purchases", json=body, headers=by_api.auth("staff"))
            assert answer.status_code == 201, answer.text
    assert _figures(db, by_file.id) == _figures(db, by_api.id)


def test_a_historic_import_sends_no_events_on_either_path(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    # A stamp card sends the rows down the one-by-one path (the API's own service), which emits
    # events when a sale comes through the API; a points program takes the set-wise path.
    stamps = stamp_card_program(stamps_required=3)
    for program in (stamps, None):
        shop = make_shop(db, clock.now(), members_count=3, program=program)
        path = purchases_csv(tmp_path / f"sales-{shop.id}.csv", card_numbers(db, shop.id), 12)
        with db.read() as conn:
            before = conn.scalar(_events(shop.id))

        service.import_purchases(db, shop.id, path, secret_key=SECRET, clock=clock)

        with db.read() as conn:
            assert conn.scalar(select(func.count()).where(purchases.c.business_id == shop.id)) == 12
            assert conn.scalar(_events(shop.id)) == before, "the import wrote outbox events"


def _events(business_id: int) -> Any:
    return select(func.count()).where(outbox.c.business_id == business_id)
