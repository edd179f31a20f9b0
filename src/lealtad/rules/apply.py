"""Applying the program to one transaction, as three steps: read the member's state, plan the
run with the pure planner (`rules.planner`: caps, budgets, awards, ledger entries, stamp cards,
events), write the plan (`rules.earn_store`); then the two post-steps that read stored history,
the tier re-check and the challenges. The one path every trigger takes, from the API, the CLI
jobs and imports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.analytics import segments
from lealtad.rewards import gamification
from lealtad.rules import earn_store
from lealtad.rules.definition import TierPolicy
from lealtad.rules.facts import Facts, MemberContext
from lealtad.rules.planner import EarnPlan, Granted, MemberState, asks_segments
from lealtad.rules.planner import asks_visits as asks_visits
from lealtad.rules.program import Program
from lealtad.rules.service import in_force
from lealtad.tiers import service as tiers
from lealtad.tiers.replay import PolicyAt

__all__ = [
    "Granted",
    "Outcome",
    "apply",
    "asks_visits",
    "challenges_running",
    "check_tier",
    "context_for",
    "plan",
    "zone",
]


@dataclass
class Outcome:
    version: int
    granted: list[Granted] = field(default_factory=list)
    cards_completed: list[dict[str, Any]] = field(default_factory=list)
    tier_change: tuple[str | None, str | None] | None = None
    badges: list[dict[str, Any]] = field(default_factory=list)


def context_for(
    conn: Connection,
    bid: int,
    member: Any,
    purchase_id: int | None,
    *,
    at: datetime,
    for_program_in_force: bool = False,
    program: Program | None = None,
    need_visits: bool = False,
) -> MemberContext:
    """What the rules may ask about the member, as of this transaction. A caller that evaluates
    the program in force at `at` says so (or passes it), and then the segments (two reads: the
    member's segment and the running experiments) and the visit count (a count of purchases) are
    read only when a rule of that program asks for them, or the caller does (`need_visits`)."""
    segments_asked = visits_asked = True
    if for_program_in_force or program is not None:
        definition = (program or in_force(conn, bid, at)).definition
        segments_asked = asks_segments(definition)
        visits_asked = need_visits or asks_visits(definition)
    return MemberContext(
        member_id=member.id,
        tier=tiers.current(conn, bid, member.id),
        tags=frozenset(member.tags),
        segments=segments.of_member(conn, bid, member.id, at) if segments_asked else frozenset(),
        visits_before=earn_store.visits_before(conn, bid, member.id, purchase_id)
        if visits_asked
        else 0,
    )


def plan(
    conn: Connection,
    business_id: int,
    context: MemberContext,
    facts: Facts,
    *,
    referrer_id: int | None = None,
    program: Program | None = None,
    take_budget: bool = False,
) -> tuple[Program, list[Granted]]:
    """The awards this transaction earns, after caps, without writing anything (budgets are
    ignored unless `take_budget`; a preview leaves them be)."""
    program = program or in_force(conn, business_id, facts.occurred_at)
    if _earns_at_new_tier(program, facts):
        reached = tiers.reached_with(
            conn, business_id, context.member_id, program.definition.tiers, facts, context.tier
        )
        context = replace(context, tier=reached)
    planned = earn_store.plan(
        conn,
        business_id,
        program,
        facts,
        MemberState.of(context),
        now=facts.occurred_at,  # only the ledger legs depend on it, and they are not used here
        referrer_id=referrer_id,
        take_budget=take_budget,
    )
    return program, list(planned.granted)


def apply(
    conn: Connection,
    business_id: int,
    context: MemberContext,
    facts: Facts,
    *,
    now: datetime,
    actor: str,
    purchase_id: int | None = None,
    referrer_id: int | None = None,
    memo: str = "",
    program: Program | None = None,
) -> Outcome:
    program = program or in_force(conn, business_id, facts.occurred_at)
    crossed = None
    early = _earns_at_new_tier(program, facts)
    if early:
        # The purchase is stored already, so the check counts it: the plan is made at the tier
        # it qualifies for (the program's choice, D66), and the check after the plan is not
        # needed again.
        crossed = tiers.check(
            conn,
            business_id,
            context.member_id,
            program.definition.tiers,
            facts.occurred_at,
            facts.tz,
            policy_at=_policies(conn, business_id),
        )
        if crossed is not None:
            context = replace(context, tier=crossed[1])
    planned = earn_store.plan(
        conn,
        business_id,
        program,
        facts,
        MemberState.of(context),
        now=now,
        actor=actor,
        purchase_id=purchase_id,
        referrer_id=referrer_id,
        memo=memo,
    )
    earn_store.write_plan(conn, business_id, planned, now)
    outcome = after_plan(
        conn, business_id, program, planned, context, facts, now, actor, tier_checked=early
    )
    if crossed is not None:
        outcome.tier_change = crossed
    return outcome


def _earns_at_new_tier(program: Program, facts: Facts) -> bool:
    """Whether this purchase earns at the tier it makes the member reach; by default (and for
    every other trigger) a crossing purchase earns at the tier held before it."""
    policy = program.definition.tiers
    return (
        facts.trigger == "purchase"
        and policy is not None
        and policy.crossing_purchase_earns_at == "new_tier"
    )


def after_plan(
    conn: Connection,
    business_id: int,
    program: Program,
    planned: EarnPlan,
    context: MemberContext,
    facts: Facts,
    now: datetime,
    actor: str,
    *,
    tier_checked: bool = False,
) -> Outcome:
    """The post-steps of a written plan that read stored history, so they are not planned as
    values: the tier re-check (the qualifying window's purchases and points) and the challenges
    (their progress so far). `tier_checked`: the tier was checked before the plan already."""
    outcome = Outcome(program.version, list(planned.granted), planned.cards_completed)
    if planned.checks_tier and not tier_checked:
        outcome.tier_change = check_tier(conn, business_id, program, context.member_id, facts)
    # Challenges: a no-op (one indexed query) when the business has no active challenge.
    outcome.badges = gamification.after_transaction(
        conn, business_id, context.member_id, facts.occurred_at, now, actor
    )
    return outcome


def check_tier(
    conn: Connection, business_id: int, program: Program, member_id: int, facts: Facts
) -> tuple[str | None, str | None] | None:
    """The tier re-check after a written transaction (also a set-wise batch's, sale by sale):
    (old, new) when the tier moved."""
    return tiers.check(
        conn,
        business_id,
        member_id,
        program.definition.tiers,
        facts.occurred_at,
        facts.tz,
        policy_at=_policies(conn, business_id),
        opening=facts.trigger == "enrolment",
    )


def challenges_running(conn: Connection, business_id: int) -> bool:
    """Whether `after_plan` has challenges to advance: a set-wise writer, which skips it, takes
    no purchase then (one cached read of the pinned config)."""
    return bool(gamification.active_challenges(conn, business_id))


def _policies(conn: Connection, business_id: int) -> PolicyAt:
    """The tier policy in force at an instant, for a check that turns out to be out of date
    order and replays the member's tiers (D75). Nothing is read until a replay asks: the
    in-order check pays nothing for it."""
    read: PolicyAt | None = None

    def at(when: datetime) -> TierPolicy | None:
        nonlocal read
        read = read or tiers.policies(conn, business_id)
        return read(when)

    return at


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")
