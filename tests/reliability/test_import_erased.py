"""An import never earns for an erased member: a row naming them by id is rejected with the
API's `member_erased`, by card with `member_not_found` (an erased card names nobody), and the
rest of the file loads. The set-wise path and the one-by-one path give the same answers."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lealtad.db.engine import Database
from lealtad.imports import batch, service
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.privacy import erasure
from lealtad.purchases import planned
from lealtad.purchases.tables import purchases
from lealtad.tenancy.model import Role
from tests.conftest import SECRET
from tests.reliability.state import card_numbers
from tests.support import Shop, make_shop

ERASED = "member_erased: this member's data was erased: they can no longer earn or spend"
NOBODY = "member_not_found: no member of this business matches"


@pytest.fixture(params=["bulk", "one_by_one"])
def path_taken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "one_by_one":
        # Every member's row through the API's service, as for a program the batch's earn path
        # declines (purchases/planned.py).
        monkeypatch.setattr(planned, "plannable", lambda program, member: False)
    return str(request.param)


def _erase(db: Database, shop: Shop, member_id: int, clock: FixedClock) -> None:
    with db.transaction() as conn:
        assert erasure.erase(conn, shop.principal(Role.owner), member_id, clock.now())


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _rejects(path: Path) -> dict[str, str]:
    with path.with_name(path.name + ".rejects.csv").open() as f:
        return {r["line"]: r["reason"] for r in csv.DictReader(f)}


def _member_purchases(db: Database, shop: Shop, member_id: int) -> int:
    with db.read() as conn:
        return int(
            conn.scalar(
                select(func.count()).where(
                    purchases.c.business_id == shop.id, purchases.c.member_id == member_id
                )
            )
        )


def test_rows_for_an_erased_member_are_rejected_with_the_apis_codes_and_the_rest_loads(
    db: Database, clock: FixedClock, tmp_path: Path, path_taken: str
) -> None:
    shop = make_shop(db, clock.now(), members_count=2)
    gone, kept = shop.members
    gone_card, kept_card = card_numbers(db, shop.id)
    _erase(db, shop, gone, clock)
    path = _write(
        tmp_path / f"{path_taken}.jsonl",
        [
            {"receipt_id": "A1", "amount": 700, "member_id": kept},
            {"receipt_id": "E1", "amount": 800, "member_id": gone},
            {"receipt_id": "E2", "amount": 900, "card_number": gone_card},
            {"receipt_id": "A2", "amount": 300, "card_number": kept_card},
            {"receipt_id": "E3", "amount": 500, "card_number": gone_card, "member_id": gone},
            {"receipt_id": "A3", "amount": 200},
        ],
    )

    done = service.import_purchases(db, shop.id, path, secret_key=SECRET, clock=clock)

    assert (done.loaded, done.already, done.rejected) == (3, 0, 3)
    assert _rejects(path) == {"2": ERASED, "3": NOBODY, "5": NOBODY}
    assert _member_purchases(db, shop, gone) == 0
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, gone).get("points", 0) == 0
        assert ledger.balances(conn, shop.id, kept)["points"] == 10


def test_a_file_imported_again_after_an_erasure_adds_nothing_for_the_erased_member(
    db: Database, clock: FixedClock, tmp_path: Path, path_taken: str
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    (gone,) = shop.members
    (card,) = card_numbers(db, shop.id)
    path = _write(
        tmp_path / f"{path_taken}.jsonl",
        [
            {"receipt_id": "B1", "amount": 700, "member_id": gone},
            {"receipt_id": "B2", "amount": 800, "card_number": card},
        ],
    )
    first = service.import_purchases(db, shop.id, path, secret_key=SECRET, clock=clock)
    assert first.loaded == 2
    _erase(db, shop, gone, clock)
    with db.read() as conn:
        before = ledger.balances(conn, shop.id, gone)

    again = service.import_purchases(db, shop.id, path, secret_key=SECRET, clock=clock)

    # By id the receipt is the same sale replayed, as the API answers a replay; by card the
    # erased card names nobody any more. Either way nothing new is written.
    assert (again.loaded, again.already, again.rejected) == (0, 1, 1)
    assert _rejects(path) == {"2": NOBODY}
    assert _member_purchases(db, shop, gone) == 2
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, gone) == before


@pytest.mark.parametrize(("named_by", "reason"), [("member_id", ERASED), ("card_number", NOBODY)])
def test_a_member_erased_while_a_batch_runs_on_postgresql_earns_nothing_from_it(
    postgres_db: Database,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    named_by: str,
    reason: str,
) -> None:
    # The batch's first read of its members holds nothing: an erasure can commit after it.
    db = postgres_db
    shop = make_shop(db, clock.now(), members_count=2)
    gone, kept = shop.members
    gone_card, _ = card_numbers(db, shop.id)
    read = batch.PurchaseBatches._members

    def read_then_erased_elsewhere(self: batch.PurchaseBatches, *args: Any) -> Any:
        found = read(self, *args)
        _erase(db, shop, gone, clock)
        return found

    monkeypatch.setattr(batch.PurchaseBatches, "_members", read_then_erased_elsewhere)
    named = {"member_id": gone} if named_by == "member_id" else {"card_number": gone_card}
    path = _write(
        tmp_path / "race.jsonl",
        [
            {"receipt_id": "K1", "amount": 700, "member_id": kept},
            {"receipt_id": "G1", "amount": 800, **named},
        ],
    )

    done = service.import_purchases(db, shop.id, path, secret_key=SECRET, clock=clock)

    assert (done.loaded, done.rejected) == (1, 1)
    assert _rejects(path) == {"2": reason}
    assert _member_purchases(db, shop, gone) == 0
    assert _member_purchases(db, shop, kept) == 1
