"""`lealtad import`: rows through the purchase and member services, rejects with their line and
reason, batches committed with the run's progress, a second import adding nothing."""

from __future__ import annotations

import csv
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.imports import service
from lealtad.imports.tables import import_runs
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from tests.conftest import SECRET
from tests.reliability.state import card_numbers, purchases_csv, state_of
from tests.support import make_shop


class Crash(Exception):
    """Stands for the process dying right after a batch committed."""


def _import(
    db: Database, shop_id: int, path: Path, clock: FixedClock, **kw: object
) -> service.Outcome:
    return service.import_purchases(
        db,
        shop_id,
        path,
        secret_key=SECRET,
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


def test_a_purchase_file_earns_what_the_api_earns_and_rejects_bad_rows_with_line_and_reason(
    db: Database, client: TestClient, clock: FixedClock, tmp_path: Path
) -> None:
    by_file = make_shop(db, clock.now(), members_count=3)
    by_api = make_shop(db, clock.now(), members_count=3)
    path = purchases_csv(tmp_path / "sales.csv", card_numbers(db, by_file.id), 40, bad_every=7)

    done = _import(db, by_file.id, path, clock, batch_size=8)

    assert (done.rows, done.loaded, done.already, done.rejected) == (40, 35, 0, 5)
    with (tmp_path / "sales.csv.rejects.csv").open() as f:
        rejects = list(csv.DictReader(f))
    assert [int(r["line"]) for r in rejects] == [8, 15, 22, 29, 36]
    assert "whole number" in rejects[0]["reason"]
    assert "member_not_found" in rejects[1]["reason"] or "card" in rejects[1]["reason"]
    assert "occurred_at" in rejects[2]["reason"]
    assert rejects[0]["receipt_id"] == "R-000007", "the row is copied as it was"
    # The same good rows through the JSON API give the same balances and journal.
    api_cards = card_numbers(db, by_api.id)
    with path.open() as f:
        for n, row in enumerate(csv.DictReader(f), start=1):
            if n % 7 == 0:
                continue
            body = {
                "receipt_id": row["receipt_id"],
                "amount": int(row["amount"]),
                "currency": "EUR",
                "card_number": api_cards[n % 3],
                "occurred_at": row["occurred_at"],
            }
            answer = client.post("/api/v1/purchases", json=body, headers=by_api.auth("staff"))
            assert answer.status_code == 201, answer.text
    assert state_of(db, by_file.id) == state_of(db, by_api.id)


def test_importing_the_same_file_again_adds_nothing(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=2)
    path = purchases_csv(tmp_path / "sales.csv", card_numbers(db, shop.id), 12, bad_every=5)
    first = _import(db, shop.id, path, clock)
    before = state_of(db, shop.id)

    again = _import(db, shop.id, path, clock)

    assert again.run_id != first.run_id
    assert again.resumed_from == 0
    assert (again.loaded, again.already, again.rejected) == (0, 10, 2)
    assert state_of(db, shop.id) == before
    assert len(list(csv.reader((tmp_path / "sales.csv.rejects.csv").open()))) == 3


def test_a_run_killed_after_a_batch_resumes_after_it_and_ends_like_an_uninterrupted_one(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    crashed = make_shop(db, clock.now(), members_count=3)
    whole = make_shop(db, clock.now(), members_count=3)
    path = purchases_csv(tmp_path / "a.csv", card_numbers(db, crashed.id), 30, bad_every=4)

    def die_after_two_batches(line: int, total: int) -> None:
        if line > 13:
            raise Crash

    with pytest.raises(Crash):
        _import(db, crashed.id, path, clock, batch_size=7, progress=die_after_two_batches)
    with db.read() as conn:
        run = conn.execute(select(import_runs).where(import_runs.c.business_id == crashed.id)).one()
    assert (run.status, run.rows_done, run.rejected) == ("running", 14, 3)

    resumed = _import(db, crashed.id, path, clock, batch_size=7)

    assert (resumed.run_id, resumed.resumed_from) == (run.id, 14)
    assert (resumed.rows, resumed.loaded, resumed.rejected) == (30, 23, 7)
    rejects = list(csv.DictReader((tmp_path / "a.csv.rejects.csv").open()))
    assert [r["line"] for r in rejects] == ["5", "9", "13", "17", "21", "25", "29"]
    other = purchases_csv(tmp_path / "b.csv", card_numbers(db, whole.id), 30, bad_every=4)
    _import(db, whole.id, other, clock, batch_size=30)
    assert state_of(db, crashed.id) == state_of(db, whole.id)


def test_a_receipt_already_recorded_live_counts_as_there_and_one_with_other_content_is_rejected(
    db: Database, client: TestClient, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    card = card_numbers(db, shop.id)[0]
    sent = {"receipt_id": "T-1", "amount": 900, "currency": "EUR", "card_number": card}
    live = {**shop.auth("staff"), "Idempotency-Key": "pos-7-0001"}  # sent live by the POS
    assert client.post("/api/v1/purchases", json=sent, headers=live).status_code == 201
    before = state_of(db, shop.id)
    path = tmp_path / "late.jsonl"
    path.write_text(
        json.dumps({**sent, "amount": 901})
        + "\n\n"
        + json.dumps(sent)
        + "\n"
        + json.dumps({**sent, "receipt_id": "T-2", "member_id": shop.members[0] + 99})
        + "\n"
    )

    done = _import(db, shop.id, path, clock)

    assert (done.loaded, done.already, done.rejected) == (0, 1, 2)
    rejects = list(csv.DictReader((tmp_path / "late.jsonl.rejects.csv").open()))
    assert [r["line"] for r in rejects] == ["1", "4"]
    assert "receipt_differs" in rejects[0]["reason"]
    assert "member_mismatch" in rejects[1]["reason"]
    assert state_of(db, shop.id) == before
    with db.read() as conn:
        from lealtad.ledger import idempotency_store

        # The refused attempts left no half-claimed key for a later replay to stumble on.
        assert idempotency_store.find_idempotent(conn, shop.id, "purchase:T-1") is None


def test_imported_earnings_are_journalled_as_the_import_run(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"external_id": "X1", "amount": 500, "member_id": shop.members[0]}))

    done = _import(db, shop.id, path, clock, location_id=shop.locations[1])

    with db.read() as conn:
        assert ledger.balances(conn, shop.id, shop.members[0])["points"] == 5
        from lealtad.ledger.tables import entries
        from lealtad.purchases.tables import purchases

        actors = set(conn.scalars(select(entries.c.actor).where(entries.c.business_id == shop.id)))
        where = conn.scalar(
            select(purchases.c.location_id).where(purchases.c.business_id == shop.id)
        )
    assert f"import:{done.run_id}" in actors
    assert where == shop.locations[1]


def test_a_members_file_enrols_each_person_once_however_often_it_is_imported(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    path = tmp_path / "people.csv"
    path.write_text(
        "name,email,phone,tags,birthday\n"
        "Ana,ana@example.com,,vip;coffee,1990-05-01\n"
        "Bea,,+34600111222,,\n"
        "Nobody,,,,\n"
        f"Dup,M0@{shop.staff_emails['owner'].split('@')[1]},,,\n"
        "Eva,eva@example.com,,,31/12/1990\n"
    )
    first = service.import_members(db, shop.id, path, secret_key=SECRET, clock=clock)
    assert (first.loaded, first.already, first.rejected) == (2, 1, 2)
    clock.at += timedelta(days=1)
    again = service.import_members(db, shop.id, path, secret_key=SECRET, clock=clock)
    assert (again.loaded, again.already, again.rejected) == (0, 3, 2)
    with db.read() as conn:
        ana = members.find(conn, shop.id, SECRET, email="ana@example.com")
        assert ana.name == "Ana"
        assert ana.enrolment_channel == "import"
        assert sorted(ana.tags) == ["coffee", "vip"]
    assert state_of(db, shop.id)["members"] == 3


def test_the_import_command_refuses_a_bad_file_or_business_with_a_message_and_loads_nothing(
    tmp_path: Path,
) -> None:
    from tests.reliability.harness import Node, business_id, state

    node = Node(tmp_path / "node")
    node.setup_business()
    typo = tmp_path / "typo.csv"
    typo.write_text("receipt_id,amont\nR1,100\n")
    other = tmp_path / "sales.xlsx"
    other.write_text("x")
    good = tmp_path / "good.csv"
    good.write_text("receipt_id,amount\nR1,100\n")
    before = state(node)

    for args, says in (
        (("purchases", str(typo), "--business", "shop"), "amont"),
        (("purchases", str(other), "--business", "shop"), ".csv"),
        (("purchases", str(good), "--business", "nope"), "nope"),
        (("purchases", str(good), "--business", "shop", "--location", "999"), "location"),
        (("members", str(tmp_path / "missing.csv"), "--business", "shop"), "missing.csv"),
        (("purchases", str(good), "--business", "shop", "--batch-size", "0"), "batch-size"),
    ):
        run = node.run("import", *args)
        assert run.code in (1, 2), str(run)
        # The usage box wraps a long path at the terminal's width: read it unwrapped.
        unwrapped = re.sub(r"\s*│\s*", "", run.err.replace("\n", ""))
        assert says in unwrapped, str(run)
    assert state(node) == before
    loaded = node.run("import", "purchases", str(good), "--business", "shop")
    assert loaded.code == 0, str(loaded)
    assert "1 loaded" in loaded.out
    assert business_id(node) >= 1


def test_a_second_import_of_a_file_while_the_first_runs_is_refused(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    import fcntl

    from lealtad.imports.model import FileProblem

    shop = make_shop(db, clock.now(), members_count=1)
    path = purchases_csv(tmp_path / "sales.csv", card_numbers(db, shop.id), 3)
    with path.open("rb") as first:
        fcntl.flock(first.fileno(), fcntl.LOCK_EX)
        with pytest.raises(FileProblem, match="another import of this file is running"):
            _import(db, shop.id, path, clock)
    assert _import(db, shop.id, path, clock).loaded == 3
