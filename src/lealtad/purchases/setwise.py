"""The API's purchases of one group-commit batch written set-wise (issue 18, part 2): the members,
their balances, tiers, segments and visits, the batch's idempotency keys and receipts read in one
query each; each sale planned in order with the pure planner, the member's state threaded from
one sale to the next (`state_after`); then purchases, journal, lots, postings, awards, rollups,
idempotency records and events written with a few statements per table (`purchases.bulk`, the
import's writer).

A sale takes this path only when nothing about it needs the one-by-one path: a new key and
receipt, no payment with points or cashback, a member found and active (or no member), a plan
complete with the state read here, no budget taken, no referral award, a tier policy (if any)
whose crossing purchase earns at the tier held before it, in a business with no challenge and no
experiment running. A stamp card the sale fills is written with it (its stamps taken from their
lots in the ledger's own order). The tier re-check reads the member's stored history, so it runs
right after the group is written, sale by sale, and a member whose tier is still to be checked
has their next sale planned only after it (`unchecked`). Every other sale
goes through `purchases.service.record` in its own savepoint (`slow`), at its place in the
order: what waits is written first, and the state read here is read again after it. So every
answer and every row is the one recording one by one gives (tests/integration/
test_group_commit.py).

What it reads stays true until it commits: on SQLite the batch holds the database's write lock
from its BEGIN IMMEDIATE; on PostgreSQL it locks the named members' rows first (in id order, as
`record` locks its one member), and claims its keys when it writes them: a key or a receipt
another transaction took in between fails the group's savepoint, and its sales are then recorded
alone, each getting the answer `record` gives."""

from __future__ import annotations

import os
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
from lealtad.ledger import idempotency
from lealtad.ledger import store as ledger_store
from lealtad.purchases import bulk, service
from lealtad.purchases.schemas import PurchaseIn
from lealtad.purchases.setwise_members import BatchMembers
from lealtad.rules import apply, earn_store, planner
from lealtad.rules import service as rule_service
from lealtad.rules.planner import EarnPlan, MemberState
from lealtad.rules.program import Program
from lealtad.tenancy import config
from lealtad.tenancy.model import Principal

ENV_SWITCH = "LEALTAD_SETWISE"
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


@dataclass
class _Waiting:
    """A sale planned and waiting for its group to be written."""

    index: int
    sale: bulk.Sale
    plan: EarnPlan | None
    tier: str | None
    held: dict[str, int] | None  # the member's balances after this sale
    facts: Any = None  # a sale whose tier is re-checked once it is written: its facts


def record_all(
    conn: Connection, business_id: int, asked: Sequence[Asked], slow: Slow
) -> list[Outcome]:
    """Each request's outcome, in order; `slow(i)` records request i alone in its savepoint."""
    if not _switched_on(conn) or not _setwise_allowed(conn, business_id):
        ALONE.inc(len(asked))
        return [slow(i) for i in range(len(asked))]
    return _Batch(conn, business_id, asked, slow).run()


def _switched_on(conn: Connection) -> bool:
    """Unless LEALTAD_SETWISE=0 (for comparison, and as an operations switch)."""
    return os.environ.get(ENV_SWITCH, "1").strip() != "0"


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
        self.waiting: list[_Waiting] = []
        # Keys and receipts already used, in the database or earlier in the batch.
        self.keys = ledger_store.known_idempotency_keys(conn, business_id, [a.key for a in asked])
        receipts = [a.data.receipt_id for a in asked]
        self.receipts = set(bulk.recorded_receipts(conn, business_id, receipts))
        # Who each request names, and their state as of the sales planned so far.
        self.members = BatchMembers(conn, business_id, asked)
        # Members with a sale waiting whose tier is re-checked when it is written.
        self.unchecked: set[int] = set()

    # --- the run -------------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        for i, a in enumerate(self.asked):
            taken = a.key in self.keys or a.data.receipt_id in self.receipts
            self.keys.add(a.key)
            self.receipts.add(a.data.receipt_id)
            sale = None if taken else self._sale(i)
            if sale is None or not self._plan(i, sale):
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
        if program is not None and not _plannable_here(program, member):
            return None
        staff = a.principal.staff_id
        return bulk.Sale(data, at, location, member, program, now=a.now, staff_id=staff)

    def _plan(self, i: int, sale: bulk.Sale) -> bool:
        """Plans a member's sale with the state threaded so far; False when the plan needs the
        one-by-one path."""
        a = self.asked[i]
        if sale.member is None:
            self.waiting.append(_Waiting(i, sale, None, None, None))
            return True
        program = sale.program
        assert program is not None, "a member's sale has its program"
        member_id = int(sale.member.id)
        if member_id in self.unchecked:
            self._flush()  # their tier, checked after their last sale, is this one's
        state = self.members.state(i, member_id, program, self._flush)
        facts = service.purchase_facts(self.business, sale.location, sale.data, sale.at)
        plan = self._plan_earn(program, facts, state, a, member_id)
        if plan is None or plan.budget_taken:
            return False
        if any(part.member_id != member_id for part in plan.members):
            return False
        held = self.members.planned(member_id, plan, sale.data.amount)
        tier = self.members.tier(member_id)
        checked = facts if plan.checks_tier else None
        if plan.checks_tier:
            self.unchecked.add(member_id)
        self.waiting.append(_Waiting(i, sale, plan, tier, held, checked))
        return True

    def _plan_earn(
        self, program: Program, facts: Any, state: MemberState, a: Asked, member_id: int
    ) -> EarnPlan | None:
        memo = f"purchase {a.data.receipt_id}"
        actor = a.principal.actor

        def made(state: MemberState) -> EarnPlan:
            return planner.plan_earn(program, facts, state, now=a.now, actor=actor, memo=memo)

        plan = made(state)
        if plan.missing.budgets:
            return None
        if plan.missing:
            # A cap or stamp balance not read yet: read from the tables, which must hold this
            # member's waiting sales first.
            if any(
                w.sale.member is not None and w.sale.member.id == member_id for w in self.waiting
            ):
                self._flush()
            state = earn_store.read_state(self.conn, self.bid, program, state, plan.missing)
            plan = made(state)
            if plan.missing:
                return None
        return plan

    # --- writing -------------------------------------------------------------------------

    def _alone(self, i: int) -> None:
        self._flush()
        ALONE.inc()
        self.outcomes[i] = self.slow(i)
        # What `record` wrote can have changed its member's state and their referrer's (a
        # referral award); nobody else's: challenges, which read others' sales, keep a business
        # off this path. Those two are read again when next needed.
        member = self.members.rows.get(i)
        if member is not None:
            self.members.forget(int(member.id))
            if member.referred_by_member_id is not None:
                self.members.forget(int(member.referred_by_member_id))

    def _flush(self) -> None:
        if not self.waiting:
            return
        waiting, self.waiting = self.waiting, []
        self.unchecked.clear()
        conn = self.conn
        tiers_after: dict[int, str | None] = {}
        try:
            with group_commit.group_savepoint(conn):
                ids = bulk.record_many(
                    conn,
                    self.business,
                    [w.sale for w in waiting],
                    actor="",
                    staff_id=None,
                    now=self.asked[waiting[0].index].now,
                    planned=[w.plan for w in waiting],
                )
                first: list[tuple[str, Any, int, Any, datetime]] = []
                for w, purchase_id in zip(waiting, ids, strict=True):
                    # In the order `record` takes: the cards' events, the tier re-check (which
                    # may emit its own), the answer and its event.
                    a = self.asked[w.index]
                    for event in w.plan.events if w.plan is not None else ():
                        emit(conn, self.bid, event.topic, event.payload, a.now)
                    changed = self._check_tier(w, tiers_after)
                    body = _answer(w, a, purchase_id, changed)
                    emit(conn, self.bid, "purchase.recorded", body, a.now)
                    first.append((a.key, a.data.model_dump(mode="json"), 201, body, a.now))
                    self.outcomes[w.index] = (True, (201, body))
                idempotency.first_answers(conn, self.bid, first)
        except Exception:
            # Never expected; each sale then gets the answer the one-by-one path gives.
            for w in waiting:
                ALONE.inc()
                self.outcomes[w.index] = self.slow(w.index)
            self.members.forget_all()
            return
        SETWISE.inc(len(waiting))
        for member_id, tier in tiers_after.items():
            self.members.retier(member_id, tier)
        for w in waiting:
            commit_counts.purchase_recorded(conn, w.plan.granted if w.plan is not None else ())

    def _check_tier(self, w: _Waiting, tiers_after: dict[int, str | None]) -> bool:
        """The member's tier re-checked once their sale is written (their later sales in the
        batch wait for it, so the stored history is theirs up to this sale); whether it moved."""
        if w.facts is None or w.sale.member is None or w.sale.program is None:
            return False
        member_id = int(w.sale.member.id)
        crossed = apply.check_tier(self.conn, self.bid, w.sale.program, member_id, w.facts)
        if crossed is None:
            return False
        w.tier = tiers_after[member_id] = crossed[1]
        return True


def _plannable_here(program: Program, member: Any) -> bool:
    """Whether the program's steps for this member's sale are all ones a batch plans: not a tier
    reached by the crossing purchase itself (checked before the plan, from stored history), and
    for a referred member no referral run that could give anything or move a tier."""
    tiers = program.definition.tiers
    if tiers is not None and tiers.crossing_purchase_earns_at == "new_tier":
        return False
    if member is None or member.referred_by_member_id is None:
        return True
    if tiers is not None and tiers.metric == "custom":
        return False  # its event may be the referral itself
    return not any(rule.trigger == "referral" for rule in program.definition.rules)


def _answer(w: _Waiting, a: Asked, purchase_id: int, tier_changed: bool) -> dict[str, Any]:
    granted = w.plan.granted if w.plan is not None else ()
    location_id = w.sale.location.id if w.sale.location is not None else None
    member, at = w.sale.member, w.sale.at
    out = service.answer(purchase_id, a.data, member, location_id, at, granted, w.tier, w.held)
    out.cards_completed = w.plan.cards_completed if w.plan is not None else []
    out.tier_changed = tier_changed
    return out.model_dump(mode="json")
