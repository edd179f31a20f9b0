"""The group-commit writer's own behaviour (db/group_commit.py): one job's unexpected error, a
request given up before its turn, the thread's life, two processes' batches on PostgreSQL."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Connection, select

from lealtad.db import group_commit
from lealtad.db.engine import Database
from lealtad.ledger.verify import verify
from lealtad.purchases import service
from lealtad.purchases.schemas import PurchaseIn
from lealtad.purchases.tables import purchases
from tests.conftest import KEYS
from tests.support import Shop, make_shop

SECRET = "s"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def _sale(shop: Shop, receipt: str) -> Callable[[Connection], Any]:
    body = PurchaseIn(receipt_id=receipt, amount=1200, currency="EUR", member_id=shop.members[0])
    return lambda conn: service.record(conn, shop.principal(), body, secret_key=SECRET, now=NOW)


def test_an_unexpected_error_fails_its_own_job_and_the_others_commit(
    db: Database, shop: Shop
) -> None:
    def broken(conn: Connection) -> Any:
        _sale(shop, "R-broken")(conn)  # writes, then fails: its writes must go with it
        raise RuntimeError("a bug in one job")

    jobs = [
        group_commit.Job(shop.id, work, contextvars.copy_context())
        for work in (_sale(shop, "R-a"), broken, _sale(shop, "R-b"))
    ]
    group_commit.GroupWriter(db).run_batch(jobs)

    assert jobs[0].future.result()[0] == 201
    with pytest.raises(RuntimeError):
        jobs[1].future.result()
    assert jobs[2].future.result()[0] == 201
    with db.read() as conn:
        receipts = conn.scalars(
            select(purchases.c.receipt_id).where(purchases.c.business_id == shop.id)
        ).all()
        assert sorted(receipts) == ["R-a", "R-b"]
        assert verify(conn, shop.id) == []


def test_the_writer_thread_serves_on_after_a_failure_and_ends_with_the_database(
    sqlite_db: Database, clock: Any
) -> None:
    shop = make_shop(sqlite_db, clock.now())
    writer = group_commit.writer_for(sqlite_db)

    def boom(conn: Connection) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        writer.submit(shop.id, boom).result(timeout=30)
    assert writer.submit(shop.id, _sale(shop, "R-after")).result(timeout=30)[0] == 201
    thread = writer._thread
    assert thread is not None
    assert thread.is_alive()

    sqlite_db.dispose()

    assert not thread.is_alive(), "dispose ends the writer thread"
    assert group_commit.writer_for(sqlite_db) is not writer, "a later use starts a new one"
    sqlite_db.dispose()


def test_two_processes_batches_on_postgresql_take_turns_instead_of_deadlocking(
    postgres_db: Database, clock: Any
) -> None:
    """Two writers (as two app processes would have, each its own engine) commit batches of the
    same members in opposite orders at once: every purchase lands, no batch falls back."""
    shop = make_shop(postgres_db, clock.now(), members_count=6)
    other = Database(postgres_db.url, keys=KEYS)
    fallbacks = group_commit.FALLBACKS._value.get()
    try:
        writers = [group_commit.GroupWriter(postgres_db), group_commit.GroupWriter(other)]

        def batch(side: int, round_: int) -> list[Any]:
            members = shop.members if side == 0 else shop.members[::-1]
            jobs = []
            for n, member in enumerate(members):
                body = PurchaseIn(
                    receipt_id=f"P{side}-{round_}-{n}", amount=700, currency="EUR", member_id=member
                )
                work = partial(_record, shop, body)
                jobs.append(group_commit.Job(shop.id, work, contextvars.copy_context()))
            writers[side].run_batch(jobs)
            return [job.future.result()[0] for job in jobs]

        with ThreadPoolExecutor(2) as pool:
            for round_ in range(8):
                answers = list(pool.map(batch, (0, 1), (round_, round_)))
                assert answers == [[201] * 6, [201] * 6]
        assert group_commit.FALLBACKS._value.get() == fallbacks
        with postgres_db.read() as conn:
            assert verify(conn, shop.id) == []
    finally:
        other.dispose()


def _record(shop: Shop, body: PurchaseIn, conn: Connection) -> Any:
    return service.record(conn, shop.principal(), body, secret_key=SECRET, now=NOW)


def test_a_request_given_up_before_its_turn_is_dropped_and_the_rest_are_answered(
    sqlite_db: Database, clock: Any
) -> None:
    shop = make_shop(sqlite_db, clock.now())
    writer = group_commit.writer_for(sqlite_db)
    started, gate = threading.Event(), threading.Event()

    def held(conn: Connection) -> Any:
        started.set()
        gate.wait(30)  # keeps the writer busy while the next two queue
        return _sale(shop, "R-first")(conn)

    first = writer.submit(shop.id, held)
    assert started.wait(30)
    given_up = writer.submit(shop.id, _sale(shop, "R-given-up"))
    kept = writer.submit(shop.id, _sale(shop, "R-kept"))
    assert given_up.cancel()
    gate.set()

    assert first.result(timeout=30)[0] == 201
    assert kept.result(timeout=30)[0] == 201
    with sqlite_db.read() as conn:
        receipts = conn.scalars(
            select(purchases.c.receipt_id).where(purchases.c.business_id == shop.id)
        ).all()
    assert sorted(receipts) == ["R-first", "R-kept"]
    assert not first.cancel(), "a job that ran cannot be cancelled"


def test_a_batch_reads_its_business_configuration_once_and_a_failing_job_keeps_it(
    db: Database, shop: Shop
) -> None:
    """Entered once per business for the whole batch, the configuration pin spares each purchase
    its read of the business's config version; a job that fails does not undo it for the rest."""
    from sqlalchemy import event

    from lealtad.tenancy import config

    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    def broken(conn: Connection) -> Any:
        raise RuntimeError("a bug in one job")

    with db.transaction() as conn:  # the cache warmed: a cold one reads the business row too
        _sale(shop, "R-pin-warm")(conn)
    works = [_sale(shop, f"R-pin-{i}") for i in range(5)]
    works.insert(2, broken)
    jobs = [
        group_commit.Job(shop.id, work, contextvars.copy_context(), around=config.pinned)
        for work in works
    ]
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        group_commit.GroupWriter(db).run_batch(jobs)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    reads = [s for s in seen if s.lstrip().startswith("SELECT businesses.config_version")]
    assert len(reads) == 1, f"the config version was read {len(reads)} times for one batch"
    assert [job.future.exception() is None for job in jobs] == [True, True, False, True, True, True]
    with db.read() as conn:
        assert verify(conn, shop.id) == []
