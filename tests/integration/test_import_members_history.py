"""`lealtad import members` with the history of the previous system: enrolment date, tier with its
window, tags, consent per channel with its date, and the old card number, which keeps naming the
member in the API, the counter and the purchases import."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.analytics.tables import member_stats
from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.imports import service
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from lealtad.privacy.export import member_data
from lealtad.rules.definition import (
    ProgramDefinition,
    Tier,
    TierPolicy,
    TierWindow,
    points_per_currency_unit,
)
from lealtad.tiers.tables import tier_status
from lealtad.web.counter.forms import readings
from tests.conftest import SECRET
from tests.support import Shop, make_shop


def tiered() -> ProgramDefinition:
    policy = TierPolicy(
        metric="spend",
        window=TierWindow(kind="rolling", days=365),
        grace_days=30,
        levels=[
            Tier(id="silver", name="Silver", threshold=Decimal(0)),
            Tier(id="gold", name="Gold", threshold=Decimal(100_000)),
        ],
    )
    return points_per_currency_unit(Decimal(1)).model_copy(update={"tiers": policy})


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def load(db: Database, shop: Shop, path: Path, clock: FixedClock) -> service.Outcome:
    return service.import_members(db, shop.id, path, secret_key=SECRET, clock=clock)


HEADER = (
    "name,email,tags,enrolled_at,tier,tier_since,tier_until,consent_email,consent_email_at,"
    "consent_sms,previous_card_number"
)


def test_members_come_with_their_enrolment_date_tier_tags_consent_and_old_card(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=0, program=tiered(), with_staff=False)
    path = write(
        tmp_path / "people.csv",
        f"""
{HEADER}
Ana,ana@example.com,vip;coffee,2024-05-10,gold,2025-09-01,,yes,2024-05-10,no,OLD-0001
Ben,ben@example.com,,2023-01-15T09:00:00Z,silver,,2026-12-31,no,2025-02-01,,0002 0002
Eva,eva@example.com,,,,,,,,,
""",
    )

    done = load(db, shop, path, clock)

    assert (done.loaded, done.rejected) == (3, 0)
    with db.read() as conn:
        ana = members.find(conn, shop.id, SECRET, email="ana@example.com")
        ben = members.find(conn, shop.id, SECRET, email="ben@example.com")
        eva = members.find(conn, shop.id, SECRET, email="eva@example.com")
        by_old_card = members.find(conn, shop.id, SECRET, card_number="old 0001")
        spaced = members.find(conn, shop.id, SECRET, card_number="00020002")
        enrolled_on = dict(
            conn.execute(
                select(member_stats.c.member_id, member_stats.c.enrolled_on).where(
                    member_stats.c.business_id == shop.id
                )
            ).all()
        )
        tiers = {
            r.member_id: (r.tier_id, r.since, r.held_until)
            for r in conn.execute(select(tier_status).where(tier_status.c.business_id == shop.id))
        }
        messages = conn.scalar(
            select(func.count()).where(
                outbox.c.business_id == shop.id, outbox.c.topic == "member.enrolled"
            )
        )
    # Madrid is UTC+2 in May: the day starts at 22:00 UTC the evening before.
    assert ana.enrolled_at == datetime(2024, 5, 9, 22)
    assert ben.enrolled_at == datetime(2023, 1, 15, 9)
    assert eva.enrolled_at == clock.now().replace(tzinfo=None)
    assert enrolled_on == {
        ana.id: date(2024, 5, 10),
        ben.id: date(2023, 1, 15),
        eva.id: clock.now().date(),
    }
    assert sorted(ana.tags) == ["coffee", "vip"]
    assert ana.consent["email"] == {
        "granted": True,
        "at": "2024-05-09T22:00:00+00:00",
        "source": "import",
    }
    assert ana.consent["sms"]["granted"] is False
    assert ana.consent["sms"]["at"] == "2024-05-09T22:00:00+00:00", "the enrolment date"
    assert ben.consent["email"]["at"] == "2025-01-31T23:00:00+00:00"
    # Gold from 1 September 2025: held a year (the window) plus 30 days of grace.
    assert tiers[ana.id] == ("gold", datetime(2025, 8, 31, 22), datetime(2026, 9, 30, 22))
    # Silver since enrolment, until the date the previous system gave.
    assert tiers[ben.id] == ("silver", datetime(2023, 1, 15, 9), datetime(2026, 12, 30, 23))
    assert tiers[eva.id][:2] == ("silver", datetime(2026, 3, 2, 10, 30)), "as any new member"
    assert (by_old_card.id, spaced.id) == (ana.id, ben.id)
    with db.read() as conn:
        exported = member_data(conn, shop.id, ana.id, SECRET, clock.now())
    assert exported["previous_card_numbers"] == ["OLD0001"], "kept in capitals, no dashes"
    assert messages == 1, "only the member enrolled today is welcomed"


def test_an_old_card_pays_through_the_api_the_counter_and_the_purchases_import(
    db: Database, client: TestClient, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=0, program=tiered())
    load(
        db,
        shop,
        write(tmp_path / "people.csv", "email,previous_card_number\nana@example.com,OLD-77"),
        clock,
    )
    with db.read() as conn:
        ana = members.find(conn, shop.id, SECRET, email="ana@example.com").id

    answer = client.post(
        "/api/v1/purchases",
        json={"receipt_id": "R1", "amount": 1500, "currency": "EUR", "card_number": "OLD-77"},
        headers=shop.auth("staff"),
    )
    assert answer.status_code == 201, answer.text
    sales = write(
        tmp_path / "sales.csv",
        "receipt_id,amount,card_number,occurred_at\nR2,2500,old 77,2026-02-01T10:00:00Z",
    )
    imported = service.import_purchases(db, shop.id, sales, secret_key=SECRET, clock=clock)
    assert (imported.loaded, imported.rejected) == (1, 0)
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, ana)["points"] == 40
    assert ("card_number", "OLD77") in [(r.kind, r.value) for r in readings("OLD77")]


def test_bad_history_rejects_its_row_with_line_and_reason(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=1, program=tiered(), with_staff=False)
    with db.read() as conn:
        taken = members.find(conn, shop.id, SECRET, member_id=shop.members[0]).card_number
    path = write(
        tmp_path / "people.csv",
        f"""
email,enrolled_at,tier,consent_email,consent_email_at,previous_card_number
a@example.com,2030-01-01,,,,
b@example.com,,platinum,,,
c@example.com,,,maybe,,
d@example.com,,,,,{taken}
e@example.com,,,,,OLD-1
f@example.com,,,,,OLD-1
g@example.com,yesterday,,,,
h@example.com,,,,2024-01-01,
""",
    )

    done = load(db, shop, path, clock)

    assert (done.loaded, done.rejected) == (1, 7)
    with (tmp_path / "people.csv.rejects.csv").open() as f:
        reasons = {int(r["line"]): r["reason"] for r in csv.DictReader(f)}
    assert sorted(reasons) == [2, 3, 4, 5, 7, 8, 9]
    assert "enrolled_at" in reasons[2]
    assert "in the future" in reasons[2]
    assert "unknown tier 'platinum'" in reasons[3]
    assert "consent_email must be yes or no" in reasons[4]
    assert "already names member" in reasons[5]
    assert "already names member" in reasons[7]
    assert "enrolled_at must be a date" in reasons[8]
    assert "consent_email_at needs consent_email" in reasons[9]


def test_the_counter_finds_a_member_by_the_card_of_the_previous_system(
    db: Database, client: TestClient, clock: FixedClock, tmp_path: Path
) -> None:
    from tests.support import counter_login

    shop = make_shop(db, clock.now(), members_count=0, program=tiered())
    people = "name,email,previous_card_number\nAna Old,ana@example.com,PAPEL-0042"
    load(db, shop, write(tmp_path / "people.csv", people), clock)
    csrf = counter_login(client, shop)

    found = client.post("/counter/find", data={"q": "papel 0042", "csrf": csrf, "lang": "en"})
    missed = client.post("/counter/find", data={"q": "PAPEL-0043", "csrf": csrf, "lang": "en"})

    assert found.status_code == 200
    assert "Ana Old" in found.text
    assert "Ana Old" not in missed.text
