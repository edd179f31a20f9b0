"""`lealtad import balances`: opening balances from a previous system, as entries of the ledger
against the "migrated" account, lots with their expiry, all or nothing per file, and undone as
a whole run with compensating entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lealtad.db.engine import Database
from lealtad.imports import opening as importer
from lealtad.imports.tables import import_runs
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.ledger.maturity import settle
from lealtad.ledger.opening import OpeningUsed
from lealtad.ledger.tables import accounts, entries, lots, postings
from lealtad.ledger.verify import verify
from lealtad.members import service as members
from lealtad.rules.definition import ProgramDefinition, StampCard, points_per_currency_unit
from lealtad.tenancy.tables import audit_log
from tests.conftest import SECRET
from tests.support import Shop, make_shop


def program() -> ProgramDefinition:
    """Points on every purchase and a coffee card of ten stamps."""
    return points_per_currency_unit(Decimal(1)).model_copy(
        update={
            "stamp_cards": [
                StampCard(id="coffee", name="Coffee card", stamps_required=10, reward="cup")
            ]
        }
    )


def shop_with_members(db: Database, clock: FixedClock, count: int = 3) -> Shop:
    return make_shop(db, clock.now(), members_count=count, program=program(), with_staff=False)


def card_of(db: Database, shop: Shop, member_id: int) -> str:
    with db.read() as conn:
        return str(members.find(conn, shop.id, SECRET, member_id=member_id).card_number)


def email_of(db: Database, shop: Shop, member_id: int) -> str:
    with db.read() as conn:
        return str(members.find(conn, shop.id, SECRET, member_id=member_id).email)


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def bring(db: Database, shop: Shop, path: Path, clock: FixedClock) -> importer.Outcome:
    return importer.import_balances(db, shop.id, path, secret_key=SECRET, clock=clock)


def undo(db: Database, shop: Shop, run_id: int, clock: FixedClock) -> int:
    return importer.undo_run(db, shop.id, run_id, by="cli:test", clock=clock)


def balances(db: Database, shop: Shop, member_id: int) -> dict[str, int]:
    with db.read() as conn:
        return ledger.balances(conn, shop.id, member_id)


def migrated(db: Database, shop: Shop) -> dict[str, int]:
    """What the "migrated" system account holds, per unit (minus what was brought in)."""
    query = (
        select(accounts.c.unit, func.sum(postings.c.amount))
        .join(postings, postings.c.account_id == accounts.c.id)
        .where(accounts.c.business_id == shop.id, accounts.c.code == "migrated")
        .group_by(accounts.c.unit)
    )
    with db.read() as conn:
        return {str(u): int(t) for u, t in conn.execute(query)}


def journal_size(db: Database, shop: Shop) -> int:
    with db.read() as conn:
        return int(conn.scalar(select(func.count()).where(entries.c.business_id == shop.id)) or 0)


def assert_verified(db: Database, shop: Shop) -> None:
    with db.read() as conn:
        problems = verify(conn, shop.id)
    assert problems == [], "\n".join(map(str, problems))


def test_points_stamps_and_cashback_come_in_as_lots_with_their_dates_against_migrated(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock)
    ana, ben, eva = shop.members
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,email,card_number,points,earned_at,expires_at,stamps,stamp_card,cashback
{ana},,,120,2025-01-10,2027-01-10,,,
,{email_of(db, shop, ana)},,30,2025-11-02T12:00:00Z,2026-05-01,,,
,,{card_of(db, shop, ben)},,,,7,coffee,250
{eva},{email_of(db, shop, eva)},,5,,,,,
""",
    )

    done = bring(db, shop, path, clock)

    assert (done.rows, done.loaded, done.rejected) == (4, 4, 0)
    assert balances(db, shop, ana)["points"] == 150
    assert balances(db, shop, ben)["cashback"] == 250
    assert balances(db, shop, ben)["stamps.coffee"] == 7
    assert balances(db, shop, eva)["points"] == 5
    assert migrated(db, shop) == {"points": -155, "cashback": -250, "stamps.coffee": -7}
    with db.read() as conn:
        found = conn.execute(
            select(entries.c.occurred_at, entries.c.actor, entries.c.kind, lots.c.expires_at)
            .join(lots, lots.c.entry_id == entries.c.id)
            .where(entries.c.business_id == shop.id, entries.c.member_id == ana)
            .order_by(lots.c.id)
        ).all()
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.target).where(
                audit_log.c.business_id == shop.id, audit_log.c.action == "import.balances"
            )
        ).all()
    # A day is its first moment in the business's zone (Madrid: UTC+1 in winter).
    assert [tuple(r) for r in found] == [
        (
            datetime(2025, 1, 9, 23),
            f"import:{done.run_id}",
            "opening",
            datetime(2027, 1, 9, 23),
        ),
        (datetime(2025, 11, 2, 12), f"import:{done.run_id}", "opening", datetime(2026, 4, 30, 22)),
    ]
    assert [tuple(a) for a in audited] == [("import.balances", f"import_run:{done.run_id}")]
    assert_verified(db, shop)


def test_the_expiry_job_expires_each_opening_lot_on_its_own_date(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=1)
    (ana,) = shop.members
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,points,earned_at,expires_at
{ana},100,2025-06-01,2026-04-01
{ana},40,2025-07-01,2026-07-01
{ana},7,2025-07-01,
""",
    )
    bring(db, shop, path, clock)

    def settle_at(at: datetime) -> None:
        with db.transaction() as conn:
            settle(conn, shop.id, at)

    settle_at(datetime(2026, 3, 31, 21, 59, tzinfo=UTC))
    assert balances(db, shop, ana)["points"] == 147
    settle_at(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # midnight of 1 April in Madrid
    assert balances(db, shop, ana)["points"] == 47
    settle_at(datetime(2026, 7, 1, tzinfo=UTC))
    assert balances(db, shop, ana)["points"] == 7
    with db.read() as conn:
        expired = conn.execute(
            select(entries.c.occurred_at)
            .where(entries.c.business_id == shop.id, entries.c.kind == "expire")
            .order_by(entries.c.id)
        ).scalars()
        assert list(expired) == [datetime(2026, 3, 31, 22), datetime(2026, 6, 30, 22)]
    assert_verified(db, shop)


def test_a_file_with_bad_rows_loads_nothing_and_names_each_line_and_reason(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=1)
    (ana,) = shop.members
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,card_number,points,earned_at,expires_at,stamps,stamp_card,cashback
{ana},,100,2025-01-10,2026-12-31,,,
{ana},,10,2025-13-40,,,,
999999,,10,,,,,
{ana},,-5,,,,,
{ana},,,,,3,tea,
{ana},,10,2025-06-01,2025-05-01,,,
,NOPE-1,10,,,,,
{ana},,,,,10,coffee,
{ana},,10,2027-01-01,,,,
{ana},,0,,,,,0
""",
    )
    before = journal_size(db, shop)

    with pytest.raises(importer.FileErrors) as refused:
        bring(db, shop, path, clock)

    problems = {p.line: p.reason for p in refused.value.problems}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "earned_at must be a date" in problems[3]
    assert "unknown member" in problems[4]
    assert "999999" in problems[4]
    assert "points is negative" in problems[5]
    assert "unknown stamp card 'tea'" in problems[6]
    assert "coffee" in problems[6]
    assert "not after the earning date" in problems[7]
    assert "unknown member" in problems[8]
    assert "NOPE-1" in problems[8]
    assert "fill card 'coffee'" in problems[9]
    assert "in the future" in problems[10]
    assert "nothing to bring" in problems[11]
    rejects = refused.value.rejects.read_text().splitlines()
    assert rejects[0].startswith("line,reason,member_id")
    assert len(rejects) == 10
    assert journal_size(db, shop) == before
    assert balances(db, shop, ana)["points"] == 0
    with db.read() as conn:
        assert conn.scalar(select(func.count()).where(import_runs.c.business_id == shop.id)) == 0


def test_undoing_a_run_reverses_every_entry_and_the_same_file_can_come_in_again(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=2)
    ana, ben = shop.members
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,points,earned_at,expires_at,stamps,stamp_card,cashback
{ana},100,2025-01-10,2027-01-10,3,coffee,
{ben},20,2025-02-10,,,,99
""",
    )
    done = bring(db, shop, path, clock)
    with pytest.raises(Exception, match="imported already as run"):
        bring(db, shop, path, clock)

    assert undo(db, shop, done.run_id, clock) == 2

    for member in (ana, ben):
        assert set(balances(db, shop, member).values()) == {0}
    assert set(migrated(db, shop).values()) == {0}
    assert_verified(db, shop)
    with db.read() as conn:
        status = conn.scalar(select(import_runs.c.status).where(import_runs.c.id == done.run_id))
        undone = conn.scalar(
            select(func.count()).where(
                entries.c.business_id == shop.id, entries.c.kind == "opening_undo"
            )
        )
    assert (status, undone) == ("undone", 2)
    with pytest.raises(Exception, match="undone already"):
        undo(db, shop, done.run_id, clock)
    again = bring(db, shop, path, clock)
    assert again.loaded == 2
    assert balances(db, shop, ana)["points"] == 100


def test_undo_is_refused_with_nothing_written_once_migrated_points_were_spent(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=2)
    ana, ben = shop.members
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,points,earned_at
{ana},100,2025-01-10
{ben},50,2025-01-10
""",
    )
    done = bring(db, shop, path, clock)
    with db.transaction() as conn:
        adjustments.spend(
            conn,
            shop.id,
            ana,
            unit="points",
            amount=30,
            memo="a coffee",
            actor="t",
            now=clock.now(),
        )
    before = journal_size(db, shop)

    with pytest.raises(OpeningUsed) as refused:
        undo(db, shop, done.run_id, clock)

    assert f"member {ana}: 30 of 100 points (spend 30)" in refused.value.message
    assert "cannot be undone" in refused.value.message
    assert journal_size(db, shop) == before
    assert balances(db, shop, ben)["points"] == 50
    with db.read() as conn:
        assert conn.scalar(select(import_runs.c.status).where(import_runs.c.id == done.run_id)) == (
            "done"
        )


def test_undo_takes_expired_opening_units_back_from_the_expired_account(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=1)
    (ana,) = shop.members
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,points,earned_at,expires_at
{ana},100,2025-01-10,2026-01-10
{ana},40,2025-01-10,2027-01-10
""",
    )
    done = bring(db, shop, path, clock)
    with db.transaction() as conn:
        settle(conn, shop.id, clock.now())
    assert balances(db, shop, ana)["points"] == 40

    undo(db, shop, done.run_id, FixedClock(clock.now() + timedelta(hours=1)))

    assert balances(db, shop, ana)["points"] == 0
    assert migrated(db, shop) == {"points": 0}
    with db.read() as conn:
        expired = conn.scalar(
            select(func.sum(postings.c.amount))
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(accounts.c.business_id == shop.id, accounts.c.code == "expired")
        )
    assert expired == 0
    assert_verified(db, shop)


def test_undo_names_an_unknown_run_or_one_that_is_no_balances_import(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=1)
    people = write(tmp_path / "people.csv", "email\nnew@example.com")
    from lealtad.imports import service

    run = service.import_members(db, shop.id, people, secret_key=SECRET, clock=clock).run_id
    with pytest.raises(Exception, match="only a balances import can be undone"):
        undo(db, shop, run, clock)
    with pytest.raises(Exception, match="no import run 99999"):
        undo(db, shop, 99999, clock)


def test_a_json_lines_file_loads_and_two_references_must_name_one_member(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = shop_with_members(db, clock, count=2)
    ana, ben = shop.members
    mixed = write(
        tmp_path / "mixed.jsonl",
        f'{{"member_id": {ana}, "email": "{email_of(db, shop, ben)}", "points": 5}}',
    )
    with pytest.raises(importer.FileErrors) as refused:
        bring(db, shop, mixed, clock)
    assert "member_id and email name different members" in refused.value.problems[0].reason

    good = write(
        tmp_path / "good.jsonl",
        f'{{"member_id": {ana}, "email": "{email_of(db, shop, ana)}", "points": 5, '
        '"earned_at": "2025-01-10T08:00:00+01:00", "stamps": 2, "stamp_card": "coffee"}',
    )
    assert bring(db, shop, good, clock).loaded == 1
    assert balances(db, shop, ana)["points"] == 5
    assert balances(db, shop, ana)["stamps.coffee"] == 2
