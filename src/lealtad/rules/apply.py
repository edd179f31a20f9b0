"""Applying the program to one transaction: evaluate with the version in force, trim to caps and
budgets, post the awards to the ledger with their provenance, complete stamp cards, re-check the
member's tier. The one path every trigger takes, from the API, the CLI jobs and imports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.analytics import segments
from lealtad.comms.outbox import emit
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import service as ledger
from lealtad.ledger.model import (
    PENDING_POINTS_ACCOUNT,
    POINTS_ACCOUNT,
    Entry,
    Leg,
    MemberLeg,
    SystemLeg,
)
from lealtad.purchases import store as purchase_store
from lealtad.rewards import gamification
from lealtad.rules import store
from lealtad.rules.definition import EarnRule, Multiplier, ProgramDefinition
from lealtad.rules.facts import Award, Facts, MemberContext
from lealtad.rules.periods import expiry_for, period_start
from lealtad.rules.service import Program, in_force
from lealtad.tiers import service as tiers


@dataclass(frozen=True)
class Granted:
    rule_id: str
    unit: str
    amount: int
    reason: str
    member_id: int
    account: str
    expires_at: datetime | None = None
    unlocks_at: datetime | None = None


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
        segments_asked = _asks_segments(definition)
        visits_asked = need_visits or asks_visits(definition)
    return MemberContext(
        member_id=member.id,
        tier=tiers.current(conn, bid, member.id),
        tags=frozenset(member.tags),
        segments=segments.of_member(conn, bid, member.id, at) if segments_asked else frozenset(),
        visits_before=purchase_store.visits_before(conn, bid, member.id, purchase_id)
        if visits_asked
        else 0,
    )


def _asks_segments(definition: ProgramDefinition) -> bool:
    return any(rule.conditions.segments for rule in definition.rules)


def asks_visits(definition: ProgramDefinition) -> bool:
    """Whether a rule needs the member's visit count: reading it counts their purchases,
    so the one-by-one and the import's bulk path read it only when this says so."""
    return any(
        rule.conditions.first_purchase or rule.conditions.every_nth_visit
        for rule in definition.rules
    )


def _rules(definition: ProgramDefinition) -> dict[str, EarnRule]:
    return {r.id: r for r in definition.rules}


def _capped(
    conn: Connection,
    business_id: int,
    award: Award,
    rule: EarnRule | None,
    member_id: int,
    facts: Facts,
    *,
    take_budget: bool,
) -> int:
    """What is left of the award once the rule's caps for this member and its budget allow."""
    amount = award.amount
    if rule is None:
        return amount
    for cap in rule.caps:
        since = period_start(facts.occurred_at, cap.period, facts.tz)
        used = store.awarded_since(
            conn, business_id, member_id, rule.id, naive_utc(since) if since else None
        )
        amount = min(amount, cap.max_units - used)
    if amount > 0 and rule.budget is not None and take_budget:
        amount = store.take_budget(conn, business_id, rule.id, amount, rule.budget)
    return max(0, amount)


def _is_bonus(award: Award, rules: dict[str, EarnRule]) -> bool:
    rule = rules.get(award.rule_id)
    return rule is None or isinstance(rule.action, Multiplier)


def _allowed(
    conn: Connection,
    business_id: int,
    awards: list[Award],
    rules: dict[str, EarnRule],
    context: MemberContext,
    facts: Facts,
    referrer_id: int | None,
    take_budget: bool,
) -> list[int]:
    """Each award's amount after caps and budgets. Multiplier lines (a rule's or the tier's) are
    cut in the same proportion as the points they multiply, so a cap cannot be got around by a
    bonus computed on the uncapped figure."""
    amounts = [0] * len(awards)
    raw_base = capped_base = 0
    for i, award in enumerate(awards):
        member_id = context.member_id if award.recipient == "member" else referrer_id
        if member_id is None or _is_bonus(award, rules):
            continue
        amounts[i] = _capped(
            conn,
            business_id,
            award,
            rules.get(award.rule_id),
            member_id,
            facts,
            take_budget=take_budget,
        )
        if award.unit == "points" and award.recipient == "member":
            raw_base += award.amount
            capped_base += amounts[i]
    for i, award in enumerate(awards):
        if not _is_bonus(award, rules):
            continue
        scaled = award.amount * capped_base // raw_base if raw_base else 0
        amounts[i] = (
            _capped(
                conn,
                business_id,
                award._replace(amount=scaled),
                rules.get(award.rule_id),
                context.member_id,
                facts,
                take_budget=take_budget,
            )
            if scaled > 0
            else 0
        )
    return amounts


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
    """The awards this transaction earns, after caps, without writing anything (but budgets
    when `take_budget`, which only `apply` asks for)."""
    program = program or in_force(conn, business_id, facts.occurred_at)
    rules = _rules(program.definition)
    policy = program.definition.points
    awards = program.compiled.evaluate(facts, context)
    amounts = _allowed(conn, business_id, awards, rules, context, facts, referrer_id, take_budget)
    granted = []
    for award, amount in zip(awards, amounts, strict=True):
        member_id = context.member_id if award.recipient == "member" else referrer_id
        if member_id is None or amount <= 0:
            continue
        account, expires, unlocks = award.unit, None, None
        if award.unit == "points":
            expires = expiry_for(facts.occurred_at, policy.expiry, policy.expiry_days, facts.tz)
            account = POINTS_ACCOUNT
            if policy.pending_days:
                unlocks = facts.occurred_at + timedelta(days=policy.pending_days)
                account = PENDING_POINTS_ACCOUNT
        granted.append(
            Granted(
                award.rule_id,
                award.unit,
                amount,
                award.reason,
                member_id,
                account,
                expires,
                unlocks,
            )
        )
    return program, granted


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
    program, granted = plan(
        conn,
        business_id,
        context,
        facts,
        referrer_id=referrer_id,
        program=program,
        take_budget=True,
    )
    outcome = Outcome(program.version, granted)
    by_member: dict[int, list[Granted]] = defaultdict(list)
    for g in granted:
        by_member[g.member_id].append(g)
    for member_id, grants in by_member.items():
        legs: list[Leg] = []
        for g in grants:
            pending = g.unlocks_at is not None and as_utc(g.unlocks_at) > as_utc(now)
            account = (
                g.account if pending or g.account != PENDING_POINTS_ACCOUNT else POINTS_ACCOUNT
            )
            legs.append(
                MemberLeg(
                    member_id,
                    account,
                    g.unit,
                    g.amount,
                    expires_at=g.expires_at,
                    unlocks_at=g.unlocks_at if pending else None,
                    origin_purchase_id=purchase_id,
                )
            )
            legs.append(SystemLeg("issued", g.unit, -g.amount))
        entry_id = ledger.post(
            conn,
            business_id,
            Entry(
                kind="earn",
                memo=(memo + ": " if memo else "") + "; ".join(g.reason for g in grants),
                legs=tuple(legs),
                occurred_at=facts.occurred_at,
                member_id=member_id,
                purchase_id=purchase_id,
                actor=actor,
            ),
            now,
        )
        store.insert_awards(
            conn,
            [
                dict(
                    business_id=business_id,
                    entry_id=entry_id,
                    member_id=member_id,
                    rule_id=g.rule_id,
                    program_version=program.version,
                    unit=g.unit,
                    amount=g.amount,
                    reason=g.reason[:500],
                    purchase_id=purchase_id,
                    occurred_at=naive_utc(facts.occurred_at),
                )
                for g in grants
            ],
        )
        outcome.cards_completed += complete_cards(
            conn, business_id, member_id, program.definition, grants, facts, now, actor
        )
    if _moves_tier_metric(program.definition, facts, outcome):
        outcome.tier_change = tiers.check(
            conn,
            business_id,
            context.member_id,
            program.definition.tiers,
            facts.occurred_at,
            facts.tz,
        )
    # Challenges: a no-op (one indexed query) when the business has no active challenge.
    outcome.badges = gamification.after_transaction(
        conn, business_id, context.member_id, facts.occurred_at, now, actor
    )
    return outcome


def _moves_tier_metric(definition: ProgramDefinition, facts: Facts, outcome: Outcome) -> bool:
    """Only a transaction that can change the qualifying metric re-checks the tier: otherwise a
    greeting or a reminder would renew a tier's hold without the member doing anything."""
    policy = definition.tiers
    if policy is None:
        return False
    if facts.trigger in ("purchase", "refund", "enrolment"):
        return True  # enrolment places a new member in the entry tier
    if policy.metric == "points_earned":
        return any(g.unit == "points" for g in outcome.granted)
    return policy.metric == "custom" and policy.custom_event in (facts.trigger, facts.event)


def complete_cards(
    conn: Connection,
    business_id: int,
    member_id: int,
    definition: ProgramDefinition,
    grants: list[Granted],
    facts: Facts,
    now: datetime,
    actor: str,
) -> list[dict[str, Any]]:
    """A full card turns into its reward at once; stamps beyond it carry over to the next card."""
    done = []
    stamped = {g.unit for g in grants if g.unit.startswith("stamps.")}
    for card in definition.stamp_cards:
        unit = f"stamps.{card.id}"
        if unit not in stamped:
            continue
        held = ledger.balances(conn, business_id, member_id).get(unit, 0)
        full = held // card.stamps_required
        if not full:
            continue
        reward = f"reward.{card.reward}"
        stamps = full * card.stamps_required
        ledger.post(
            conn,
            business_id,
            Entry(
                kind="redeem",
                memo=f"{card.name} complete: {full} x {card.reward}",
                legs=(
                    MemberLeg(member_id, unit, unit, -stamps),
                    SystemLeg("redeemed", unit, stamps),
                    MemberLeg(member_id, reward, reward, full),
                    SystemLeg("issued", reward, -full),
                ),
                occurred_at=facts.occurred_at,
                member_id=member_id,
                actor=actor,
            ),
            now,
        )
        event = {"member_id": member_id, "card": card.id, "cards": full, "reward": card.reward}
        emit(conn, business_id, "stamp_card.completed", event, now)
        done.append(event)
    return done


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")
