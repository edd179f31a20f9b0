"""The set-wise purchase import writes what the API writes: besides balances and journal
(test_import), the dashboard's counters, the members' figures and the awards' provenance."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.analytics.tables import counters, member_stats
from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.imports import service
from lealtad.kit.clock import FixedClock
from lealtad.ledger.tables import accounts, idempotency_keys
from lealtad.purchases.tables import purchases
from lealtad.rules.definition import (
    ProgramDefinition,
    Tier,
    TierPolicy,
)
from lealtad.rules.tables import awards
from lealtad.tiers.tables import tier_status
from tests.conftest import SECRET
from tests.reliability.state import card_numbers, purchases_csv
from tests.support import make_shop, stamp_card_program, threaded_program


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


def _standing(db: Database, business_id: int) -> list[Any]:
    """Each member's balances and tier, in member order."""
    with db.read() as conn:
        held = conn.execute(
            select(accounts.c.member_id, accounts.c.code, accounts.c.balance)
            .where(accounts.c.business_id == business_id, accounts.c.member_id.is_not(None))
            .order_by(accounts.c.member_id, accounts.c.code)
        ).all()
        tiers = conn.execute(
            select(tier_status.c.member_id, tier_status.c.tier_id, tier_status.c.held_until)
            .where(tier_status.c.business_id == business_id)
            .order_by(tier_status.c.member_id)
        ).all()
    first = min([m for m, *_ in held] + [m for m, *_ in tiers], default=0)
    return [(m - first, code, b) for m, code, b in held] + [(m - first, *t) for m, *t in tiers]


# What the batch's earn path threads from row to row: a daily cap, stamps that fill a card, a
# visit count, tiers by spend whose multipliers apply from the sale after a crossing (and, with
# the file's dates out of order, tiers replayed in date order, D75).
THREADED = threaded_program(
    day_cap=40,
    tiers=TierPolicy(
        metric="spend",
        levels=[
            Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
            Tier(id="silver", name="Silver", threshold=Decimal(6000), multiplier=Decimal(2)),
            Tier(id="gold", name="Gold", threshold=Decimal(20000), multiplier=Decimal(3)),
        ],
    ),
)


@pytest.mark.parametrize("program", [None, THREADED], ids=["points", "threaded"])
def test_a_batch_import_writes_the_same_counters_member_figures_and_awards_as_the_api(
    db: Database,
    client: TestClient,
    clock: FixedClock,
    tmp_path: Path,
    program: ProgramDefinition | None,
) -> None:
    by_file = make_shop(db, clock.now(), members_count=3, program=program)
    by_api = make_shop(db, clock.now(), members_count=3, program=program)
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
    assert _standing(db, by_file.id) == _standing(db, by_api.id)
    # Every row took the batch's earn path: the one-by-one path (the API's service) would have
    # stored an idempotency record for each.
    with db.read() as conn:
        kept = select(func.count()).where(idempotency_keys.c.business_id == by_file.id)
        assert conn.execute(kept).scalar_one() == 0


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
