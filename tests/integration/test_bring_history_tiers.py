"""A business brings a tiers program's history (issue 19, "order-independent history", D75), on
both databases: members with the tier they held in the previous system, two years of sales
imported shuffled in two runs of small batches, end each member at the tier, since and until
that the same files imported in date order give, and that are worked out by hand below.
`lealtad analytics rebuild` replays tiers in date order too: it repairs a status left wrong."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.imports import service as imports
from lealtad.kit.clock import FixedClock
from lealtad.members.tables import members
from lealtad.rules import service as programs
from lealtad.rules.definition import ProgramDefinition
from lealtad.tenancy import service as tenancy
from lealtad.tiers import store as tier_store
from lealtad.tiers.tables import tier_status
from tests.conftest import SECRET
from tests.integration import test_as_of

cli = test_as_of.cli  # the fixture running `lealtad ...` on the test's database

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/Santiago")
# Spend in pesos (CLP has no minor unit) over a rolling 180 days, tiers held 30 days more.
TIERED = ProgramDefinition.model_validate(
    {
        "name": "Club",
        "rules": [
            {
                "id": "base",
                "name": "Puntos",
                "action": {"type": "points_per_unit", "rate": "0.001", "per": "whole_unit"},
            }
        ],
        "tiers": {
            "metric": "spend",
            "window": {"kind": "rolling", "days": 180},
            "grace_days": 30,
            "levels": [
                {"id": "socio", "name": "Socio", "threshold": "0"},
                {"id": "plata", "name": "Plata", "threshold": "100000"},
                {"id": "oro", "name": "Oro", "threshold": "300000"},
            ],
        },
    }
)
MEMBERS = [
    # email, name, enrolled, tier in the previous system, since, until
    ("ana@example.cl", "Ana", "2024-01-05", "oro", "2023-07-01", "2024-06-30"),
    ("ben@example.cl", "Ben", "2024-02-10", "", "", ""),
    ("cata@example.cl", "Cata", "2024-03-15", "", "", ""),
]
SALES = [
    # receipt, member, pesos, when (UTC); the tier each check gives in date order
    ("A1", 0, 50_000, "2024-02-01T15:00:00"),  # 50k: oro from the old system, held to 06-30
    ("A2", 0, 120_000, "2024-08-10T15:00:00"),  # 120k in 180 days, oro's hold over: plata
    ("A3", 0, 90_000, "2024-09-05T15:00:00"),  # 210k: plata, held on
    ("A4", 0, 200_000, "2025-01-20T15:00:00"),  # 410k: oro
    ("A5", 0, 30_000, "2025-12-01T15:00:00"),  # 30k, oro's hold ran out 2025-08-18: socio
    ("B1", 1, 80_000, "2024-03-10T15:00:00"),  # socio (from enrolment)
    ("B2", 1, 40_000, "2024-04-20T15:00:00"),  # 120k: plata
    ("B3", 1, 150_000, "2025-07-01T15:00:00"),  # 150k: plata again, held on since 2024-04-20
    ("C1", 2, 3_000, "2025-11-30T15:00:00"),  # socio
    ("C2", 2, 400_000, "2026-01-10T15:00:00"),  # 403k: oro
]
# Worked out by hand from the rows above: (tier, since) per member.
EXPECTED = [
    ("socio", datetime(2025, 12, 1, 15, 0)),
    ("plata", datetime(2024, 4, 20, 15, 0)),
    ("oro", datetime(2026, 1, 10, 15, 0)),
]


def bring(db: Database, tmp: Path, *, shuffled: bool) -> int:
    clock = FixedClock(NOW)
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn, name="Club Histórico", currency="CLP", timezone="America/Santiago",
            locale="es", now=NOW, program=ProgramDefinition(name="Club Histórico"),
        )  # fmt: skip
        programs.change(
            conn, bid, TIERED, author="test", reason="el club desde 2024", now=NOW,
            effective_from=datetime(2024, 1, 1, tzinfo=ZONE),
        )  # fmt: skip
    header = ["email", "name", "enrolled_at", "tier", "tier_since", "tier_until"]
    people = _csv(tmp / "members.csv", header, MEMBERS)
    assert imports.import_members(db, bid, people, secret_key=SECRET, clock=clock).rejected == 0
    cards = _cards(db, bid)
    rows = [(receipt, cards[who], amount, at) for receipt, who, amount, at in SALES]
    if shuffled:
        random.Random(74).shuffle(rows)
        runs = [rows[:5], rows[5:]]
    else:
        runs = [sorted(rows, key=lambda row: row[3])]
    for number, run in enumerate(runs):
        header = ["receipt_id", "card_number", "amount", "occurred_at"]
        sales = _csv(tmp / f"sales-{number}.csv", header, run)
        done = imports.import_purchases(
            db, bid, sales, secret_key=SECRET, clock=clock, batch_size=3
        )
        assert (done.loaded, done.rejected) == (len(run), 0)
    return bid


def statuses(db: Database, bid: int) -> list[tuple[Any, ...]]:
    t = tier_status.c
    with db.read() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    t.tier_id,
                    t.since,
                    t.held_until,
                    t.opening_tier_id,
                    t.opening_since,
                    t.opening_held_until,
                )
                .join(members, members.c.id == t.member_id)
                .where(t.business_id == bid)
                .order_by(members.c.enrolled_at)
            )
        ]


def test_a_tiers_history_imported_shuffled_ends_at_the_tiers_of_date_order(
    db: Database, tmp_path: Path, cli: Any
) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "o").mkdir()
    shuffled = bring(db, tmp_path / "s", shuffled=True)
    in_order = bring(db, tmp_path / "o", shuffled=False)

    found = statuses(db, shuffled)
    assert found == statuses(db, in_order)
    assert [(tier, since) for tier, since, *_ in found] == EXPECTED
    # The previous system's tier is kept as where Ana started; Ben and Cata started in the
    # entry tier at enrolment.
    assert found[0][3:5] == ("oro", datetime(2023, 7, 1, 4, 0))  # midnight in Santiago (UTC-4)
    assert [row[3] for row in found[1:]] == ["socio", "socio"]

    # A status left wrong (as an import out of date order left it before D75): the rebuild
    # replays every member in date order from where they started.
    with db.transaction() as conn:
        cata = conn.scalars(
            select(members.c.id)
            .where(members.c.business_id == shuffled)
            .order_by(members.c.enrolled_at.desc())
        ).first()
        assert cata is not None
        tier_store.save(conn, shuffled, cata, tier_id="socio", since=datetime(2025, 11, 30))
    rebuilt = cli("analytics", "rebuild", "--business", _slug(db, shuffled))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "1 tiers changed" in rebuilt.output
    assert statuses(db, shuffled) == found


def _slug(db: Database, bid: int) -> str:
    with db.read() as conn:
        return str(tenancy.get_business(conn, bid).slug)


def _csv(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def _cards(db: Database, bid: int) -> list[str]:
    with db.read() as conn:
        return list(
            conn.scalars(
                select(members.c.card_number)
                .where(members.c.business_id == bid)
                .order_by(members.c.enrolled_at)
            )
        )
