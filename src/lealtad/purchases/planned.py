"""The one earn path for a batch of sales, the API's and the import's alike: each sale planned in
order with the pure planner (`rules.planner.plan_earn`), the member's state threaded from one
sale to the next (caps used, stamp balances, visits, tier: `purchases.setwise_members`), then
what waits written as a group by `purchases.bulk.record_many` (a few statements per table), and
each sale's tier re-checked right after its group is written, in order (D79).

The owner (`purchases.setwise` for the API's group-commit batch, `imports.batch` for a file)
checks each sale the way `purchases.service.record` does, asks `plan` for it, and sends to the
one-by-one path what `plan` declines (a budget, a referral award, a tier reached by the crossing
purchase itself, a state the batch cannot read). It writes what waits with `write`, inside its
own savepoint, adding what is its own per sale (the API's answers, idempotency records and
events); `flush` is its callback for when the planner needs what waits written first (a member's
caps or stamps read from the tables, visit counts, a tier still to be checked)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.ledger import service as ledger
from lealtad.purchases import bulk, service
from lealtad.purchases.setwise_members import BatchMembers
from lealtad.rules import apply, earn_store, planner
from lealtad.rules.planner import EarnPlan, MemberState
from lealtad.rules.program import Program
from lealtad.tiers import service as tiers


@dataclass
class Planned:
    """A sale planned and waiting for its group to be written."""

    index: int  # the owner's: the request's or the file row's place
    sale: bulk.Sale
    plan: EarnPlan | None
    tier: str | None
    held: dict[str, int] | None  # the member's balances after this sale
    facts: Any = None  # a sale whose tier is re-checked once it is written: its facts


ENV_SWITCH = "LEALTAD_SETWISE"


def switched_on() -> bool:
    """Unless LEALTAD_SETWISE=0 (an operations switch, and for comparison): then every sale of
    a batch, the API's or an import's, goes the one-by-one path."""
    return os.environ.get(ENV_SWITCH, "1").strip() != "0"


# Per sale once its group is written: (the sale, its purchase id, whether its tier moved).
Each = Callable[[Planned, int, bool], None]


class PlannedSales:
    def __init__(
        self,
        conn: Connection,
        business: Any,
        members: BatchMembers,
        flush: Callable[[], None],
        *,
        staff_id: int | None,
        now: datetime,
        answers: bool = True,
        group_limit: int | None = None,
    ) -> None:
        self.conn, self.business, self.bid = conn, business, business.id
        self.answers, self.group_limit = answers, group_limit
        self.members, self.flush = members, flush
        # What `record_many` writes for a sale that does not carry its own seller and time.
        self.staff_id, self.now = staff_id, now
        self.waiting: list[Planned] = []
        # Members with a sale waiting whose tier is re-checked when it is written.
        self.unchecked: set[int] = set()

    def plan(self, index: int, sale: bulk.Sale, *, actor: str, now: datetime) -> bool:
        """Plans the sale with the state threaded so far and puts it with what waits; False
        when it needs the one-by-one path (nothing planned then)."""
        if sale.member is None:
            self.waiting.append(Planned(index, sale, None, None, None))
            return True
        program = sale.program
        assert program is not None, "a member's sale has its program"
        if not plannable(program, sale.member):
            return False
        member_id = int(sale.member.id)
        if member_id in self.unchecked:
            self.flush()  # their tier, checked after their last sale, is this one's
        state = self.members.state(index, member_id, program, self.flush)
        facts = service.purchase_facts(self.business, sale.location, sale.data, sale.at)
        memo = f"purchase {sale.data.receipt_id}"
        plan = self._earn(program, facts, state, member_id, actor=actor, now=now, memo=memo)
        if plan is None or plan.budget_taken:
            return False
        if any(part.member_id != member_id for part in plan.members):
            return False
        balances = self.members.planned(member_id, plan, sale.data.amount)
        # The answer's balances (every account), for an owner that answers per sale.
        held = ledger.with_every_account(balances) if self.answers else None
        tier = self.members.tier(member_id)
        if plan.checks_tier:
            self.unchecked.add(member_id)
        checked = facts if plan.checks_tier else None
        self.waiting.append(Planned(index, sale, plan, tier, held, checked))
        if self.group_limit is not None and len(self.waiting) >= self.group_limit:
            self.flush()
        return True

    def _earn(
        self,
        program: Program,
        facts: Any,
        state: MemberState,
        member_id: int,
        *,
        actor: str,
        now: datetime,
        memo: str,
    ) -> EarnPlan | None:
        def made(state: MemberState) -> EarnPlan:
            return planner.plan_earn(program, facts, state, now=now, actor=actor, memo=memo)

        plan = made(state)
        if plan.missing.budgets:
            return None
        if plan.missing:
            # A cap or stamp balance not read yet: read from the tables, which must hold this
            # member's waiting sales first.
            if any(
                w.sale.member is not None and w.sale.member.id == member_id for w in self.waiting
            ):
                self.flush()
            state = earn_store.read_state(self.conn, self.bid, program, state, plan.missing)
            plan = made(state)
            if plan.missing:
                return None
        return plan

    def take_waiting(self) -> list[Planned]:
        """What waits, handed to the owner to write (`write`), in order."""
        waiting, self.waiting = self.waiting, []
        self.unchecked.clear()
        return waiting

    def write(self, waiting: list[Planned], each: Each) -> None:
        """Writes the sales, then per sale in order, as `record` takes its steps: the events of
        the cards it filled, its tier re-check (which may emit its own), then `each`. Inside
        the owner's savepoint: if anything raises, nothing of the group stays."""
        ids = bulk.record_many(
            self.conn,
            self.business,
            [w.sale for w in waiting],
            staff_id=self.staff_id,
            now=self.now,
            planned=[w.plan for w in waiting],
        )
        checked = self._check_tiers(waiting)
        moved: dict[int, str | None] = {}
        for w, purchase_id in zip(waiting, ids, strict=True):
            now = w.sale.now or self.now
            for event in w.plan.events if w.plan is not None else ():
                emit(self.conn, self.bid, event.topic, event.payload, now)
            each(w, purchase_id, self._check_tier(w, moved, checked))
        for member_id, tier in moved.items():
            self.members.retier(member_id, tier)

    def _check_tiers(self, waiting: list[Planned]) -> dict[int, tiers.Moved | None]:
        """The group's tier re-checks, made together once it is written: a member has at most
        one check waiting (their next sale waits for it), and it reads only their own rows, so
        each comes out as it would in its turn; `_check_tier` announces it there."""
        asks: dict[int, tiers.Ask] = {}
        # `plan` flushes before a member's second check, so none should come twice; one that
        # did would be checked alone in its turn, not from the group's reads.
        twice: set[int] = set()
        for w in waiting:
            policy = w.sale.program.definition.tiers if w.sale.program is not None else None
            if w.facts is None or w.sale.member is None or policy is None:
                continue
            member_id = int(w.sale.member.id)
            if member_id in asks:
                twice.add(member_id)
            asks[member_id] = (member_id, policy, w.facts.occurred_at, w.facts.tz)
        asks = {m: ask for m, ask in asks.items() if m not in twice}
        return tiers.check_many(self.conn, self.bid, list(asks.values()))

    def _check_tier(
        self, w: Planned, moved: dict[int, str | None], checked: dict[int, tiers.Moved | None]
    ) -> bool:
        """The member's tier re-checked once their sale is written (their later sales in the
        batch wait for it, so the stored history is theirs up to this sale); whether it moved."""
        if w.facts is None or w.sale.member is None or w.sale.program is None:
            return False
        member_id = int(w.sale.member.id)
        if member_id in checked:
            found = checked[member_id]
            if found is None:
                return False
            tiers.announce(self.conn, self.bid, member_id, found, w.facts.occurred_at)
            crossed: tuple[str | None, str | None] | None = (found.before, found.after)
        else:
            crossed = apply.check_tier(self.conn, self.bid, w.sale.program, member_id, w.facts)
        if crossed is None:
            return False
        w.tier = moved[member_id] = crossed[1]
        return True

    def forget(self, member: Any) -> None:
        """A sale of this member went the one-by-one path: what it wrote can have changed their
        state and their referrer's (a referral award); nobody else's (challenges, which read
        others' sales, keep a business off this path). Those two are read again when needed."""
        if member is None:
            return
        self.members.forget(int(member.id))
        if member.referred_by_member_id is not None:
            self.members.forget(int(member.referred_by_member_id))


def plannable(program: Program, member: Any) -> bool:
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
