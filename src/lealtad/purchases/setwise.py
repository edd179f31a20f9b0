"""The API's purchases of one group-commit batch written set-wise (issue 18, part 2): the batch's
idempotency keys, receipts and members read in one query each, then each sale checked as
`purchases.service.record` checks it and handed to the one earn path for batches
(`purchases.planned`: planned in order with the member's state threaded, written as a group,
tiers re-checked after it), with this batch's own steps per sale: the answer, its idempotency
record and its `purchase.recorded` event.

A sale takes this path only when nothing about it needs the one-by-one path: a new key and
receipt, no payment with points or cashback, a member found and active (or no member), a plan
`purchases.planned` can make (no budget taken, no referral award, no tier reached by the
crossing purchase itself), in a business with no challenge and no experiment running. Every
other sale goes through `purchases.service.record` in its own savepoint (`slow`), at its place
in the order: what waits is written first, and the state read here is read again after it. So
every answer and every row is the one recording one by one gives (tests/integration/
test_group_commit.py).

What it reads stays true until it commits: on SQLite the batch holds the database's write lock
from its BEGIN IMMEDIATE; on PostgreSQL it locks the named members' rows first (in id order, as
`record` locks its one member), and claims its keys when it writes them: a key or a receipt
another transaction took in between fails the group's savepoint, and its sales are then recorded
alone, each getting the answer `record` gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Connection

from lealtad.analytics import segments
from lealtad.comms.outbox import emit
from lealtad.db import group_commit
from lealtad.errors import LealtadError
from lealtad.kit import commit_counts
from lealtad.ledger import idempotency, idempotency_store
from lealtad.purchases import bulk, planned, service, store
from lealtad.purchases.planned import Planned, PlannedSales
from lealtad.purchases.schemas import PurchaseIn
from lealtad.purchases.setwise_members import BatchMembers, named_members
from lealtad.rules import apply
from lealtad.rules import service as rule_service
from lealtad.tenancy import config
from lealtad.tenancy.model import Principal

WRITTEN = Counter(
    "lealtad_purchases_batched",
    "Purchases of group-commit batches, by how they were written: set-wise, or alone (in their "
    "savepoint, through purchases.service.record)",
    ["path"],
)
SETWISE, ALONE = WRITTEN.labels("setwise"), WRITTEN.labels("alone")

# (True, (status, body)) or (False, the exception), as the writer answers each job.
Outcome = tuple[bool, Any]
Slow = Callable[[int], Outcome]


@dataclass(frozen=True)
class Asked:
    """One purchase request, as the route hands it to the writer."""

    principal: Principal
    data: PurchaseIn
    secret_key: str
    now: datetime
    idempotency_key: str | None

    @property
    def key(self) -> str:
        return (self.idempotency_key or f"purchase:{self.data.receipt_id}")[: idempotency.MAX_KEY]


def record_all(
    conn: Connection, business_id: int, asked: Sequence[Asked], slow: Slow
) -> list[Outcome]:
    """Each request's outcome, in order; `slow(i)` records request i alone in its savepoint."""
    if not planned.switched_on() or not _setwise_allowed(conn, business_id):
        ALONE.inc(len(asked))
        return [slow(i) for i in range(len(asked))]
    return _Batch(conn, business_id, asked, slow).run()


def _setwise_allowed(conn: Connection, business_id: int) -> bool:
    """Challenges and experiments read state that each purchase changes (badges, arms): with
    either running, every sale takes the one-by-one path (as the import decides)."""
    if apply.challenges_running(conn, business_id):
        return False
    return not segments.any_experiment_running(conn, business_id)


class _Batch:
    def __init__(
        self, conn: Connection, business_id: int, asked: Sequence[Asked], slow: Slow
    ) -> None:
        self.conn, self.bid, self.asked, self.slow = conn, business_id, asked, slow
        self.business = config.business(conn, business_id)
        self.outcomes: list[Outcome | None] = [None] * len(asked)
        # Keys and receipts already used, in the database or earlier in the batch.
        self.keys = idempotency_store.known_idempotency_keys(
            conn, business_id, [a.key for a in asked]
        )
        receipts = [a.data.receipt_id for a in asked]
        self.receipts = set(store.recorded_receipts(conn, business_id, receipts))
        # Who each request names, and their state as of the sales planned so far.
        self.members = BatchMembers(conn, business_id, named_members(conn, business_id, asked))
        # Each sale carries its own request time and seller (`bulk.Sale`): these are unused.
        self.sales = PlannedSales(
            conn,
            self.business,
            self.members,
            self._flush,
            staff_id=None,
            now=asked[0].now,
        )

    def run(self) -> list[Outcome]:
        for i, a in enumerate(self.asked):
            taken = a.key in self.keys or a.data.receipt_id in self.receipts
            self.keys.add(a.key)
            self.receipts.add(a.data.receipt_id)
            sale = None if taken else self._sale(i)
            if sale is None or not self.sales.plan(i, sale, actor=a.principal.actor, now=a.now):
                self._alone(i)
        self._flush()
        return [o for o in self.outcomes if o is not None]

    def _sale(self, i: int) -> bulk.Sale | None:
        """The sale, when every check `record` makes passes and it can be written set-wise."""
        a = self.asked[i]
        data = a.data
        if data.points_redeem or data.cashback_redeem or data.card_pin is not None:
            return None
        member = self.members.rows.get(i)
        named = data.member_id or data.card_number or data.qr_token
        if named and member is None:
            return None
        try:
            service.check_currency(data.currency, self.business)
            at = service.occurred(data.occurred_at, a.now)
            location_id = service.where_sold(self.conn, self.bid, data, a.principal)
            location = config.location(self.conn, self.bid, location_id) if location_id else None
            program = rule_service.in_force(self.conn, self.bid, at) if member else None
        except LealtadError:
            return None
        staff = a.principal.staff_id
        return bulk.Sale(data, at, location, member, program, now=a.now, staff_id=staff)

    def _alone(self, i: int) -> None:
        self._flush()
        ALONE.inc()
        self.outcomes[i] = self.slow(i)
        self.sales.forget(self.members.rows.get(i))

    def _flush(self) -> None:
        waiting = self.sales.take_waiting()
        if not waiting:
            return
        conn = self.conn
        first: list[tuple[str, Any, int, Any, datetime]] = []

        def each(w: Planned, purchase_id: int, tier_changed: bool) -> None:
            a = self.asked[w.index]
            body = _answer(w, a, purchase_id, tier_changed)
            emit(conn, self.bid, "purchase.recorded", body, a.now)
            first.append((a.key, a.data.model_dump(mode="json"), 201, body, a.now))
            self.outcomes[w.index] = (True, (201, body))

        try:
            with group_commit.group_savepoint(conn):
                self.sales.write(waiting, each)
                idempotency.first_answers(conn, self.bid, first)
        except Exception:
            # Never expected; each sale then gets the answer the one-by-one path gives.
            for w in waiting:
                ALONE.inc()
                self.outcomes[w.index] = self.slow(w.index)
            self.members.forget_all()
            return
        SETWISE.inc(len(waiting))
        for w in waiting:
            commit_counts.purchase_recorded(conn, w.plan.granted if w.plan is not None else ())


def _answer(w: Planned, a: Asked, purchase_id: int, tier_changed: bool) -> dict[str, Any]:
    granted = w.plan.granted if w.plan is not None else ()
    location_id = w.sale.location.id if w.sale.location is not None else None
    member, at = w.sale.member, w.sale.at
    out = service.answer(purchase_id, a.data, member, location_id, at, granted, w.tier, w.held)
    out.cards_completed = w.plan.cards_completed if w.plan is not None else []
    out.tier_changed = tier_changed
    return out.model_dump(mode="json")
