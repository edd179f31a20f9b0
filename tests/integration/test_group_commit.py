"""Group commit (db/group_commit.py) gives exactly what recording one by one gives: the same answer
to every request (status and body) and the same rows in every table, on two copies of one database.

Random mixes of purchases (one member many times, so caps, visit counts and stamp carry-over are
planned in order), replays, changed replays under a used key, unknown members, duplicate receipts
under another key, refunds, and redemptions (a plentiful reward and one with little stock, so
balances, stock and unknown members are checked against what earlier jobs of the batch wrote); recorded (a) each in its own transaction and (b) through the
writer, in batches whose split hypothesis chooses, and through the writer thread from concurrent
threads (then compared with one by one in the order the writer ran them)."""

from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select

import lealtad.api  # noqa: F401  (every table on the metadata)
from lealtad.db import group_commit
from lealtad.db.engine import Database
from lealtad.db.metadata import metadata
from lealtad.db.migrate import upgrade
from lealtad.errors import LealtadError
from lealtad.ledger.verify import verify
from lealtad.purchases import refunds, service, setwise
from lealtad.purchases.batch_steps import once_per_batch
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards import setwise as reward_setwise
from lealtad.rewards.schemas import RewardIn, VoucherOut
from lealtad.rewards.tables import vouchers
from lealtad.tenancy.model import Principal, Role
from tests.conftest import KEYS
from tests.reliability.harness import fresh_postgres
from tests.support import make_shop, threaded_program

SECRET = "s"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
UNKNOWN_MEMBER = 10**9
_copies = itertools.count()
# Shrinking a failure through fresh database copies takes minutes; the failing example is shown.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)

PROGRAM = threaded_program(day_cap=60)


@dataclass(frozen=True)
class Seeded:
    """A migrated database holding one shop, and how to make fresh copies of it."""

    copy: Callable[[], Database]
    discard: Callable[[Database], None]
    business_id: int
    location_id: int
    members: list[int]
    rewards: list[int]


def _reward(slug: str, cost: int, stock: int | None) -> RewardIn:
    title = {"es": slug, "en": slug}
    data = {"slug": slug, "kind": "free_product", "sku": slug.upper(), "title": title}
    data |= {"cost": cost, "stock": stock}
    return RewardIn.model_validate(data)


def _seed(db: Database) -> tuple[int, int, list[int], list[int]]:
    upgrade(db)
    shop = make_shop(db, NOW, members_count=3, program=PROGRAM)
    with db.transaction() as conn:
        plenty = rewards.create(conn, shop.id, _reward("cup", 10, None), NOW)
        scarce = rewards.create(conn, shop.id, _reward("mug", 5, 2), NOW)
    return shop.id, shop.locations[0], shop.members, [plenty, scarce]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_with(request, tmp_path_factory, _seed, "group_commit")


Seed = Callable[[Database], tuple[int, int, list[int], list[int]]]


def seeded_with(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seed: Seed,
    name: str,
) -> Seeded:
    """A template database of the fixture's kind seeded by `seed`, and how to copy it."""
    if request.param == "sqlite":
        directory = tmp_path_factory.mktemp(name)
        template = directory / "template.db"
        db = Database(f"sqlite:///{template}", keys=KEYS)
        bid, location, members, prizes = seed(db)
        db.dispose()

        def copy_sqlite() -> Database:
            path = directory / f"copy{next(_copies)}.db"
            shutil.copy(template, path)
            return Database(f"sqlite:///{path}", keys=KEYS)

        return Seeded(copy_sqlite, Database.dispose, bid, location, members, prizes)
    server = request.getfixturevalue("postgres_url")
    template_name = f"{name}_tpl_{os.getpid()}"
    url = fresh_postgres(server, template_name)
    db = Database(url, keys=KEYS)
    bid, location, members, prizes = seed(db)
    db.dispose()

    def copy_postgres() -> Database:
        import psycopg
        from sqlalchemy.engine import make_url

        target = f"{name}_{os.getpid()}_{next(_copies)}"
        admin = make_url(url).set(drivername="postgresql", database="postgres")
        dsn = admin.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}"')
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template_name}"')
        copy_url = make_url(url).set(database=target).render_as_string(hide_password=False)
        return Database(copy_url, keys=KEYS)

    def drop_postgres(db: Database) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        db.dispose()
        admin = make_url(url).set(drivername="postgresql", database="postgres")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{make_url(db.url).database}"')

    return Seeded(copy_postgres, drop_postgres, bid, location, members, prizes)


# --- the requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str  # "purchase", "refund" or "redeem"
    key: str | None
    body: dict[str, Any]


def calls_for(
    steps: list[tuple[Any, ...]], members: list[int], prizes: list[int] | None = None
) -> list[Call]:
    """Concrete requests from abstract steps; steps naming an earlier call wrap round it."""
    calls: list[Call] = []
    sales: list[Call] = []
    for n, step in enumerate(steps):
        kind = step[0]
        if kind == "redeem":
            who = members[step[1]] if step[1] >= 0 else UNKNOWN_MEMBER
            reward = (prizes or [0])[step[2]]
            calls.append(Call("redeem", None, {"member_id": who, "reward_id": reward}))
            continue
        if kind == "buy" or not sales:
            _, who, amount, keyed = step if kind == "buy" else ("buy", 0, 1500, False)
            body: dict[str, Any] = {"receipt_id": f"R-{n}", "amount": amount, "currency": "EUR"}
            if who >= 0:
                body["member_id"] = members[who]
            call = Call("purchase", f"pos-{n}" if keyed else None, body)
            sales.append(call)
        elif kind == "replay":
            call = (calls + sales)[step[1] % len(calls + sales)]
        elif kind == "changed":
            earlier = sales[step[1] % len(sales)]
            call = Call(
                "purchase", earlier.key, {**earlier.body, "amount": earlier.body["amount"] + 1}
            )
        elif kind == "unknown":
            body = {"receipt_id": f"R-{n}", "amount": 900, "currency": "EUR"}
            call = Call("purchase", None, {**body, "member_id": UNKNOWN_MEMBER})
        elif kind == "duplicate":
            earlier = sales[step[1] % len(sales)]
            call = Call("purchase", f"other-{n}", earlier.body)
        else:  # refund: part of an earlier sale, or the rest of it
            earlier = sales[step[1] % len(sales)]
            share = earlier.body["amount"] * step[2] // 4
            body = {"refund_id": f"F-{n}", "receipt_id": earlier.body["receipt_id"]}
            call = Call("refund", None, {**body, "amount": share} if share else body)
        calls.append(call)
    return calls


step = st.one_of(
    st.tuples(
        st.just("buy"),
        st.sampled_from([0, 0, 0, 1, 2, -1]),  # member 0 often: caps and stamp carry-over
        st.integers(100, 4000),
        st.booleans(),
    ),
    st.tuples(st.just("replay"), st.integers(0, 50)),
    st.tuples(st.just("changed"), st.integers(0, 50)),
    st.tuples(st.just("unknown")),
    st.tuples(st.just("duplicate"), st.integers(0, 50)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(0, 3)),
    st.tuples(st.just("redeem"), st.sampled_from([0, 0, 1, 2, -1]), st.integers(0, 1)),
)


def work_for(seeded: Seeded, call: Call) -> Callable[[Connection], Any]:
    principal = Principal(seeded.business_id, Role.manager, seeded.location_id)
    # Each call a little later than the one before, as at a real till.
    now = NOW + timedelta(seconds=int(call.body.get("amount", 0)) % 7)

    def write(conn: Connection) -> Any:
        if call.kind == "redeem":
            body = call.body
            # The voucher, as the route's work returns it (and a set-wise batch answers).
            return redemption.redeem(conn, principal, body["member_id"], body["reward_id"], now)
        if call.kind == "refund":
            data = RefundIn(**call.body)
            return refunds.refund(conn, principal, data, now=now, idempotency_key=call.key)
        sale = PurchaseIn(**call.body)
        return service.record(
            conn, principal, sale, secret_key=SECRET, now=now, idempotency_key=call.key
        )

    return write


def together_for(seeded: Seeded, call: Call) -> group_commit.Together | None:
    """A purchase or a redemption as the API hands it to the writer: its neighbours of the same
    kind are written with it set-wise (purchases/setwise.py, rewards/setwise.py); `work_for`
    stays its answer alone."""
    principal = Principal(seeded.business_id, Role.manager, seeded.location_id)
    now = NOW + timedelta(seconds=int(call.body.get("amount", 0)) % 7)
    if call.kind == "redeem":
        body = call.body
        wanted = reward_setwise.Asked(principal, body["member_id"], body["reward_id"], now)
        return group_commit.Together(reward_setwise.redeem_all, wanted)
    if call.kind != "purchase":
        return None
    asked = setwise.Asked(principal, PurchaseIn(**call.body), SECRET, now, call.key)
    return group_commit.Together(setwise.record_all, asked)


def outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """What the caller is told: (status, body), or the error's status and code."""
    try:
        answer = run()
    except LealtadError as exc:
        return ("error", exc.http_status, exc.code)
    if isinstance(answer, VoucherOut):
        return ("ok", 201, answer.model_dump(mode="json"))
    status, body = answer
    return ("ok", status, body)


def one_by_one(db: Database, seeded: Seeded, calls: list[Call]) -> list[tuple[Any, ...]]:
    def alone(call: Call) -> Any:
        with db.transaction() as conn:
            return work_for(seeded, call)(conn)

    return [outcome(lambda call=call: alone(call)) for call in calls]


def every_table(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.read() as conn:
        # The app's own tables, so that encrypted columns are read as the values they hold
        # (each encryption has its own nonce).
        return {
            name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


def voucher_codes(db: Database) -> dict[str, str]:
    """Each voucher's code (drawn at random, so never the same on two copies) and the name it is
    compared by: its voucher id, the same on both copies when the same redemptions succeeded."""
    with db.read() as conn:
        rows = conn.execute(select(vouchers.c.id, vouchers.c.code))
        return {code: f"<voucher {voucher_id}>" for voucher_id, code in rows}


def named(value: Any, codes: dict[str, str]) -> Any:
    """`value` (an answer or a table) with every voucher code replaced by its voucher's name."""
    if isinstance(value, str):
        for code, name in codes.items():
            value = value.replace(code, name)
        return value
    if isinstance(value, dict):
        return {key: named(item, codes) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(named(item, codes) for item in value)
    return value


def assert_same(got: Any, want: Any, batched: Database, alone: Database, business_id: int) -> None:
    """Every answer and every row equal, voucher codes compared by voucher; the ledger verifies."""
    mine, theirs = voucher_codes(batched), voucher_codes(alone)
    assert named(got, mine) == named(want, theirs)
    check_ledger(batched, business_id)
    assert named(every_table(batched), mine) == named(every_table(alone), theirs)


def run_batch(
    writer: group_commit.GroupWriter, seeded: Seeded, calls: list[Call]
) -> list[tuple[Any, ...]]:
    """The calls as one batch of the writer, with the API's batch steps; what each was told."""
    jobs = [
        group_commit.Job(
            seeded.business_id,
            work_for(seeded, call),
            contextvars.copy_context(),
            around=once_per_batch,
            together=together_for(seeded, call),
        )
        for call in calls
    ]
    writer.run_batch(jobs)
    return [outcome(job.future.result) for job in jobs]


def check_ledger(db: Database, business_id: int) -> None:
    with db.read() as conn:
        assert verify(conn, business_id) == []


# --- the properties -----------------------------------------------------------------------------


# Three members earn, then redeem against one another for the last two mugs, one spends past
# their balance, an unknown member tries, a refund takes points back, then one more redemption.
REDEMPTION_RACE = [
    ("buy", 0, 2500, False),
    ("buy", 1, 1500, False),
    ("buy", 2, 1200, False),
    ("redeem", 0, 0),
    ("redeem", 0, 0),
    ("redeem", 0, 1),
    ("redeem", 1, 1),
    ("redeem", 2, 1),
    ("redeem", -1, 0),
    ("refund", 1, 3),
    ("redeem", 1, 0),
]


def test_redemptions_in_one_batch_each_get_their_own_answer(seeded: Seeded) -> None:
    calls = calls_for(REDEMPTION_RACE, seeded.members, seeded.rewards)
    db = seeded.copy()
    try:
        paths = ("setwise", "alone", "refused")
        before = [reward_setwise.WRITTEN.labels(path)._value.get() for path in paths]
        told = run_batch(group_commit.GroupWriter(db), seeded, calls)[3:]
        after = [reward_setwise.WRITTEN.labels(path)._value.get() for path in paths]
        said = [o[1] if o[0] == "ok" else o[2] for o in told]
        # 25 points: two cups (10 each) and a mug (5); the last mug to the first who asks; the
        # unknown member is not found; after the refund member 1 holds too little for a cup.
        assert said == [
            201,
            201,
            201,
            201,
            "out_of_stock",
            "member_not_found",
            201,
            "insufficient_balance",
        ]
        # Set-wise: the four that succeed; refused by the batch as `redeem` refuses it: the mug
        # out of stock; alone: the unknown member. The last, after the refund, is a run of one:
        # the writer runs it as its own job.
        assert [after[n] - before[n] for n in range(3)] == [4, 1, 1]
        check_ledger(db, seeded.business_id)
    finally:
        seeded.discard(db)


# One member four times (their third purchase fills the three-stamp card), a replay and a
# changed replay of their first receipt, an unknown member, a receipt sent again under another
# key, a sale without a member.
SAME_MEMBER_MIX = [
    ("buy", 0, 1500, True),
    ("buy", 0, 2000, False),
    ("buy", 1, 700, False),
    ("replay", 0),
    ("changed", 0),
    ("unknown",),
    ("buy", 0, 3000, True),
    ("duplicate", 1),
    ("buy", -1, 500, False),
    ("buy", 0, 1200, False),
]


def _written(path: str) -> float:
    return setwise.WRITTEN.labels(path)._value.get()


def test_one_batch_writes_set_wise_what_it_can_and_answers_as_one_by_one(seeded: Seeded) -> None:
    calls = calls_for(SAME_MEMBER_MIX, seeded.members, seeded.rewards)
    alone, batched = seeded.copy(), seeded.copy()
    try:
        want = one_by_one(alone, seeded, calls)
        before = _written("setwise"), _written("alone")
        got = run_batch(group_commit.GroupWriter(batched), seeded, calls)
        after = _written("setwise"), _written("alone")
        said = [o[1] if o[0] == "ok" else o[2] for o in got]
        refused = ["idempotency_key_reused", "member_not_found"]
        assert said == [201, 201, 201, 201, *refused, 201, "duplicate_receipt", 201, 201]
        assert_same(got, want, batched, alone, seeded.business_id)
        # Set-wise: member 0's four sales (the third fills the card), member 1's and the sale
        # without a member; alone: the replay, the changed replay, the unknown member and the
        # receipt sent again.
        assert (after[0] - before[0], after[1] - before[1]) == (6, 4)
    finally:
        seeded.discard(alone)
        seeded.discard(batched)


def test_a_key_or_receipt_taken_after_the_batch_read_them_sends_its_group_alone(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction (a process on PostgreSQL) commits a key and a receipt after the batch
    read the ones in use: writing the group fails in its savepoint, and each of its sales then
    gets the answer recording alone gives: the replay, the duplicate receipt, the new sale."""
    first = [("buy", 0, 1500, True), ("buy", 1, 800, False)]
    calls = calls_for(first, seeded.members, seeded.rewards)
    replay, duplicate = calls[0], Call("purchase", "other-key", calls[1].body)
    fresh = Call("purchase", None, {**calls[1].body, "receipt_id": "R-new", "amount": 990})
    alone, batched = seeded.copy(), seeded.copy()
    try:
        for db in (alone, batched):
            one_by_one(db, seeded, calls)
        want = one_by_one(alone, seeded, [replay, duplicate, fresh])
        # As if read before the other transaction committed them.
        monkeypatch.setattr(setwise.idempotency_store, "known_idempotency_keys", lambda *a: set())
        monkeypatch.setattr(setwise.store, "recorded_receipts", lambda *a: {})
        before = _written("setwise"), _written("alone")
        got = run_batch(group_commit.GroupWriter(batched), seeded, [replay, duplicate, fresh])
        after = _written("setwise"), _written("alone")
        assert [o[1] if o[0] == "ok" else o[2] for o in got] == [201, "duplicate_receipt", 201]
        assert got[0] == one_by_one(alone, seeded, [replay])[0]  # the very first answer
        monkeypatch.undo()
        assert (after[0] - before[0], after[1] - before[1]) == (0, 3)
        if batched.dialect == "sqlite":
            assert_same(got, want, batched, alone, seeded.business_id)
            return

        # PostgreSQL's sequences do not roll back: the ids the failed group drew stay unused, as
        # after any rolled-back insert, so the new sale's id differs; all else is the same.
        def but_id(o: tuple[Any, ...]) -> tuple[Any, ...]:
            return (*o[:2], {k: v for k, v in o[2].items() if k != "id"}) if o[0] == "ok" else o

        assert [but_id(o) for o in got] == [but_id(o) for o in want]
        check_ledger(batched, seeded.business_id)
    finally:
        seeded.discard(alone)
        seeded.discard(batched)


@example(steps=SAME_MEMBER_MIX, cuts=[10])
@example(steps=REDEMPTION_RACE, cuts=[4, 3])
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES
)
@given(steps=st.lists(step, min_size=1, max_size=24), cuts=st.lists(st.integers(1, 9), max_size=8))
def test_batches_give_every_answer_and_row_that_one_by_one_gives(
    seeded: Seeded, steps: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    batches_equal_one_by_one(seeded, calls_for(steps, seeded.members, seeded.rewards), cuts)


def batches_equal_one_by_one(seeded: Seeded, calls: list[Call], cuts: list[int]) -> None:
    """The calls one by one on a copy, and in batches of the sizes `cuts` gives (then the rest
    in one) on another: every answer and every row the same."""
    alone, batched = seeded.copy(), seeded.copy()
    try:
        want = one_by_one(alone, seeded, calls)
        writer = group_commit.GroupWriter(batched)
        got: list[tuple[Any, ...]] = []
        rest = list(calls)
        for size in itertools.chain(cuts, itertools.repeat(len(calls))):
            if not rest:
                break
            chunk, rest = rest[:size], rest[size:]
            got += run_batch(writer, seeded, chunk)
        assert_same(got, want, batched, alone, seeded.business_id)
    finally:
        seeded.discard(alone)
        seeded.discard(batched)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES
)
@given(steps=st.lists(step, min_size=8, max_size=40))
def test_concurrent_submissions_equal_one_by_one_in_the_order_the_writer_ran_them(
    seeded: Seeded, steps: list[tuple[Any, ...]]
) -> None:
    calls = calls_for(steps, seeded.members, seeded.rewards)
    batched, alone = seeded.copy(), seeded.copy()
    try:
        ran: list[int] = []
        start = threading.Barrier(8)

        def logged(n: int) -> Callable[[Connection], Any]:
            write = work_for(seeded, calls[n])

            def run(conn: Connection) -> Any:
                ran.append(n)
                return write(conn)

            return run

        def logged_write(write: Any) -> Any:
            def record_logged(
                conn: Connection, bid: int, items: list[Any], alone: Callable[[int], Any]
            ) -> list[Any]:
                # The set-wise write answers its jobs in their order (`alone` at its place).
                ran.extend(n for n, _ in items)
                return write(conn, bid, [asked for _, asked in items], alone)

            return record_logged

        # One logging write per kind: the writer groups neighbours with the same write.
        writes = {w: logged_write(w) for w in (setwise.record_all, reward_setwise.redeem_all)}

        def together(n: int) -> group_commit.Together | None:
            made = together_for(seeded, calls[n])
            if made is None:
                return None
            return group_commit.Together(writes[made.write], (n, made.item))

        def submit(numbers: list[int]) -> list[tuple[int, Future[Any]]]:
            start.wait()
            writer = group_commit.writer_for(batched)
            return [
                (n, writer.submit(seeded.business_id, logged(n), once_per_batch, together(n)))
                for n in numbers
            ]

        with ThreadPoolExecutor(8) as pool:
            shares = [list(range(len(calls)))[i::8] for i in range(8)]
            futures = [pair for share in pool.map(submit, shares) for pair in share]
        got = {n: outcome(lambda f=future: f.result(timeout=60)) for n, future in futures}
        order = list(dict.fromkeys(ran))  # a batch re-run one by one runs its jobs again
        want = dict(zip(order, one_by_one(alone, seeded, [calls[n] for n in order]), strict=True))
        assert_same(got, want, batched, alone, seeded.business_id)
    finally:
        seeded.discard(batched)
        seeded.discard(alone)
