"""The earn planner's storage side: reading the member's state a run needs, and writing the plan
it returns. Reading follows the plan: the planner says which caps, budgets and stamp balances it
lacked (`EarnPlan.missing`), this reads exactly those and plans again, so a run reads and locks
what it touches and nothing more (a budget row is locked only for a rule that pays out)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from lealtad.comms.outbox import emit
from lealtad.kit.clock import naive_utc
from lealtad.ledger import service as ledger
from lealtad.purchases.tables import purchases
from lealtad.rules import planner, store
from lealtad.rules.facts import Facts
from lealtad.rules.planner import CapKey, EarnPlan, MemberEarn, MemberState, Missing, StampKey
from lealtad.rules.program import Program

# The visit count a rule may ask for, read from the purchases table (core, below every domain) by
# the planner's own store, so that the rules never import the purchases service that calls them.
# Built once for the purchase path (see ledger.store).
_VISITS = select(func.count()).where(
    purchases.c.business_id == bindparam("b"),
    purchases.c.member_id == bindparam("m"),
    purchases.c.amount > 0,
    purchases.c.refunded_amount < purchases.c.amount,
)
_VISITS_BUT = _VISITS.where(purchases.c.id != bindparam("p"))


def visits_before(
    conn: Connection, business_id: int, member_id: int, purchase_id: int | None
) -> int:
    """The member's earlier purchases that still count as visits (not fully refunded)."""
    if purchase_id is None:
        return int(conn.execute(_VISITS, {"b": business_id, "m": member_id}).scalar_one())
    params = {"b": business_id, "m": member_id, "p": purchase_id}
    return int(conn.execute(_VISITS_BUT, params).scalar_one())


def read_state(
    conn: Connection, business_id: int, program: Program, state: MemberState, missing: Missing
) -> MemberState:
    """The state with what a plan lacked read in: caps used, budgets left (their rows locked
    until commit, in rule order so that concurrent purchases lock them alike) and stamp
    balances (one read per member)."""
    caps: dict[CapKey, int] = {}
    for key in missing.caps:
        member_id, rule_id, since = key
        caps[key] = store.awarded_since(
            conn, business_id, member_id, rule_id, naive_utc(since) if since else None
        )
    budgets: dict[str, int] = {}
    if missing.budgets:
        limits = {r.id: r.budget for r in program.definition.rules if r.budget is not None}
        for rule_id in sorted(missing.budgets):
            budgets[rule_id] = limits[rule_id] - store.budget_spent(conn, business_id, rule_id)
    stamps: dict[StampKey, int] = {}
    units: dict[int, list[str]] = defaultdict(list)
    for member_id, unit in missing.stamps:
        units[member_id].append(unit)
    for member_id, wanted in units.items():
        held = ledger.balances(conn, business_id, member_id)
        stamps.update({(member_id, unit): held.get(unit, 0) for unit in wanted})
    return planner.with_reads(state, caps=caps, budgets=budgets, stamps=stamps)


def plan(
    conn: Connection,
    business_id: int,
    program: Program,
    facts: Facts,
    state: MemberState,
    *,
    now: datetime,
    actor: str = "system",
    purchase_id: int | None = None,
    referrer_id: int | None = None,
    memo: str = "",
    take_budget: bool = True,
) -> EarnPlan:
    """Plans the run, reading into the state what it will need (`planner.prefetch`) and then
    whatever the plan still finds missing (budgets, the caps of a multiplier). The engine
    evaluates once; a further round only trims again."""
    awards = program.compiled.evaluate(facts, state.context)
    ahead = planner.prefetch(program, facts, awards, state, referrer_id)
    if ahead:
        state = read_state(conn, business_id, program, state, ahead)
    while True:
        planned = planner.plan_earn(
            program,
            facts,
            state,
            now=now,
            actor=actor,
            purchase_id=purchase_id,
            referrer_id=referrer_id,
            memo=memo,
            take_budget=take_budget,
            awards=awards,
        )
        if not planned.missing:
            return planned
        state = read_state(conn, business_id, program, state, planned.missing)


def write_plan(conn: Connection, business_id: int, plan: EarnPlan, now: datetime) -> None:
    """Writes a complete plan: the budgets it took, each recipient's earn entry with its award
    rows and the cards it completed, then its events. The ledger posts (and with them the
    analytics rollups, see `ledger.service.post`) happen in the plan's order."""
    assert not plan.missing, "a plan that lacks part of the state cannot be written"
    for rule_id, amount in plan.budget_taken.items():
        store.spend_budget(conn, business_id, rule_id, amount)
    for part in plan.members:
        entry_id = ledger.post(conn, business_id, part.entry, now)
        rows = award_rows(business_id, plan.version, part, part.entry.purchase_id)
        store.insert_awards(conn, [{**row, "entry_id": entry_id} for row in rows])
        for completion in part.completions:
            ledger.post(conn, business_id, completion.entry, now)
    for event in plan.events:
        emit(conn, business_id, event.topic, event.payload, now)


def award_rows(
    business_id: int, version: int, part: MemberEarn, purchase_id: int | None
) -> list[dict[str, Any]]:
    """The `awards` rows of one recipient's part of a plan, but for their entry's id."""
    at = naive_utc(part.entry.occurred_at)
    return [
        dict(
            business_id=business_id,
            member_id=part.member_id,
            rule_id=g.rule_id,
            program_version=version,
            unit=g.unit,
            amount=g.amount,
            reason=g.reason[:500],
            purchase_id=purchase_id,
            occurred_at=at,
        )
        for g in part.granted
    ]
