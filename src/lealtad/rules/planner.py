"""Earning planned as values. One run of the program over one transaction (a purchase, a refund,
an event, a referral) takes the program version, the transaction's facts and the member's state,
and returns what it earns: the awards with their reasons, the ledger entries to post, the stamp
cards it completes (stamps beyond a full card carry over), the budget it takes and the events to
emit. Nothing here reads or writes storage or asks the time: `rules.earn_store` reads the state
and writes the plan, and the one earn path for batches (purchases/planned.py) writes many plans
at once. What a plan reads is in `rules.plan_reads`.

A state that lacks something a run needs (the caps used of a rule that fired, a budget, a stamp
balance) gives a plan that says so in `missing` instead of guessing; the reader fetches exactly
that and plans again, so it reads (and locks) no more than the run touches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from lealtad.kit.clock import as_utc
from lealtad.ledger.model import (
    PENDING_POINTS_ACCOUNT,
    POINTS_ACCOUNT,
    Entry,
    Leg,
    MemberLeg,
    SystemLeg,
)
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_model import (
    CapKey,
    CardCompletion,
    EarnPlan,
    Event,
    Granted,
    MemberEarn,
    MemberState,
    Missing,
    StampKey,
)
from lealtad.rules.earn_rule import EarnRule, Multiplier
from lealtad.rules.facts import Award, Facts
from lealtad.rules.periods import expiry_for, period_start
from lealtad.rules.plan_reads import asks_segments, asks_visits, prefetch, with_reads
from lealtad.rules.program import Program

__all__ = [
    "CapKey",
    "CardCompletion",
    "EarnPlan",
    "Event",
    "Granted",
    "MemberEarn",
    "MemberState",
    "Missing",
    "StampKey",
    "asks_segments",
    "asks_visits",
    "earn_legs",
    "for_purchase",
    "moves_tier_metric",
    "plan_earn",
    "prefetch",
    "referral_run",
    "with_reads",
]


def referral_run(facts: Facts, state: MemberState) -> tuple[Facts, int] | None:
    """The referral run that follows a referred member's purchase, with the referrer it pays."""
    if state.referrer_id is None:
        return None
    stage: Literal["first_purchase", "purchase"] = (
        "first_purchase" if state.visits_before == 0 else "purchase"
    )
    return replace(facts, trigger="referral", referral_stage=stage), state.referrer_id


class _Allotment:
    """Trims each award to the rule's caps and budget, and notes what the state lacked."""

    __slots__ = ("budget_left", "budgets", "caps", "facts", "state", "take_budget", "taken")

    def __init__(self, state: MemberState, facts: Facts, take_budget: bool) -> None:
        self.state = state
        self.facts = facts
        self.take_budget = take_budget
        self.budget_left: Mapping[str, int] = state.budget_left  # copied when taken from
        self.taken: dict[str, int] = {}
        self.caps: set[CapKey] = set()
        self.budgets: set[str] = set()

    def capped(self, amount: int, rule: EarnRule | None, member_id: int) -> int | None:
        """What is left of the amount once the caps and the budget allow; None when unknown."""
        if rule is None:
            return amount
        known = True
        for cap in rule.caps:
            key = (
                member_id,
                rule.id,
                period_start(self.facts.occurred_at, cap.period, self.facts.tz),
            )
            used = self.state.caps_used.get(key)
            if used is None:
                self.caps.add(key)
                known = False
                continue
            amount = min(amount, cap.max_units - used)
        if not known:
            return None
        if amount > 0 and rule.budget is not None and self.take_budget:
            left = self.budget_left.get(rule.id)
            if left is None:
                self.budgets.add(rule.id)
                return None
            got = max(0, min(amount, left))
            if got:
                self.budget_left = {**self.budget_left, rule.id: left - got}
                self.taken[rule.id] = self.taken.get(rule.id, 0) + got
            amount = got
        return max(0, amount)


def _is_bonus(award: Award, rules: Mapping[str, EarnRule]) -> bool:
    rule = rules.get(award.rule_id)
    return rule is None or isinstance(rule.action, Multiplier)


def _allot(
    awards: Sequence[Award],
    rules: Mapping[str, EarnRule],
    allotment: _Allotment,
    member_id: int,
    referrer_id: int | None,
) -> list[int] | None:
    """Each award's amount after caps and budgets, or None while the state lacks something.
    Multiplier lines (a rule's or the tier's) are cut in the same proportion as the points they
    multiply, so a cap cannot be got around by a bonus computed on the uncapped figure."""
    amounts = [0] * len(awards)
    bonus = [_is_bonus(award, rules) for award in awards]
    raw_base = capped_base = 0
    known = True
    for i, award in enumerate(awards):
        recipient = member_id if award.recipient == "member" else referrer_id
        if recipient is None or bonus[i]:
            continue
        got = allotment.capped(award.amount, rules.get(award.rule_id), recipient)
        if got is None:
            known = False
            continue
        amounts[i] = got
        if award.unit == "points" and award.recipient == "member":
            raw_base += award.amount
            capped_base += got
    if not known:  # the bonus lines depend on the capped base: they wait for it
        return None
    for i, award in enumerate(awards):
        if not bonus[i]:
            continue
        scaled = award.amount * capped_base // raw_base if raw_base else 0
        if scaled <= 0:
            continue
        got = allotment.capped(scaled, rules.get(award.rule_id), member_id)
        if got is None:
            known = False
            continue
        amounts[i] = got
    return amounts if known else None


def _granted(
    definition: ProgramDefinition,
    awards: Sequence[Award],
    amounts: Sequence[int],
    facts: Facts,
    member_id: int,
    referrer_id: int | None,
) -> list[Granted]:
    policy = definition.points
    granted = []
    for award, amount in zip(awards, amounts, strict=True):
        recipient = member_id if award.recipient == "member" else referrer_id
        if recipient is None or amount <= 0:
            continue
        account, expires, unlocks = award.unit, None, None
        if award.unit == "points":
            expires = expiry_for(
                facts.occurred_at, policy.expiry, policy.expiry_days, facts.tz, policy.expiry_months
            )
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
                recipient,
                account,
                expires,
                unlocks,
            )
        )
    return granted


def earn_legs(
    granted: Sequence[Granted], purchase_id: int | None, now: datetime
) -> tuple[Leg, ...]:
    """The legs of an earn entry: a points award still pending at `now` goes to the pending
    account with its unlock date; one whose unlock date has passed (a backdated sale) is
    spendable at once."""
    legs: list[Leg] = []
    for g in granted:
        pending = g.unlocks_at is not None and as_utc(g.unlocks_at) > as_utc(now)
        account = g.account if pending or g.account != PENDING_POINTS_ACCOUNT else POINTS_ACCOUNT
        legs.append(
            MemberLeg(
                g.member_id,
                account,
                g.unit,
                g.amount,
                expires_at=g.expires_at,
                unlocks_at=g.unlocks_at if pending else None,
                origin_purchase_id=purchase_id,
            )
        )
        legs.append(SystemLeg("issued", g.unit, -g.amount))
    return tuple(legs)


def _completions(
    definition: ProgramDefinition,
    member_id: int,
    grants: Sequence[Granted],
    stamps: dict[StampKey, int],
    facts: Facts,
    actor: str,
) -> list[CardCompletion]:
    """A full card turns into its reward at once; stamps beyond it carry over to the next card.
    `stamps` holds the balances before this run (every one its stamps go to: the plan asked for
    them first) and is moved on by it."""
    earned: dict[str, int] = {}
    for g in grants:
        if g.unit.startswith("stamps."):
            earned[g.unit] = earned.get(g.unit, 0) + g.amount
    done = []
    for card in definition.stamp_cards:
        unit = f"stamps.{card.id}"
        if unit not in earned:
            continue
        key = (member_id, unit)
        held = stamps[key] + earned[unit]
        full = held // card.stamps_required
        stamps[key] = held - full * card.stamps_required
        if not full:
            continue
        reward = f"reward.{card.reward}"
        used = full * card.stamps_required
        entry = Entry(
            kind="redeem",
            memo=f"{card.name} complete: {full} x {card.reward}",
            legs=(
                MemberLeg(member_id, unit, unit, -used),
                SystemLeg("redeemed", unit, used),
                MemberLeg(member_id, reward, reward, full),
                SystemLeg("issued", reward, -full),
            ),
            occurred_at=facts.occurred_at,
            member_id=member_id,
            actor=actor,
        )
        done.append(CardCompletion(member_id, card.id, full, card.reward, entry))
    return done


def moves_tier_metric(
    definition: ProgramDefinition, facts: Facts, granted: Sequence[Granted]
) -> bool:
    """Only a transaction that can change the qualifying metric re-checks the tier: otherwise a
    greeting or a reminder would renew a tier's hold without the member doing anything."""
    policy = definition.tiers
    if policy is None:
        return False
    if facts.trigger in ("purchase", "refund", "enrolment"):
        return True  # enrolment places a new member in the entry tier
    if policy.metric == "points_earned":
        return any(g.unit == "points" for g in granted)
    return policy.metric == "custom" and policy.custom_event in (facts.trigger, facts.event)


def _caps_after(state: MemberState, granted: Sequence[Granted], at: datetime) -> dict[CapKey, int]:
    """The caps used once this run's awards count: an award counts in every known period of
    its rule that began at or before it."""
    caps = dict(state.caps_used)
    for key in caps:
        member_id, rule_id, since = key
        for g in granted:
            if g.member_id == member_id and g.rule_id == rule_id and (since is None or at >= since):
                caps[key] += g.amount
    return caps


def plan_earn(
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
    awards: Sequence[Award] | None = None,
) -> EarnPlan:
    """One run of the program over the transaction. `referrer_id` is whom referrer awards go to
    in this run (none in a purchase's own run); `take_budget` is False for a preview, which
    ignores budgets as it always has; `awards`, when given, are the engine's raw awards already
    evaluated for these facts and this state (the reader plans again with the same ones)."""
    definition = program.definition
    rules = program.rules_by_id
    if awards is None:
        awards = program.compiled.evaluate(facts, state.context)
    allotment = _Allotment(state, facts, take_budget)
    amounts = _allot(awards, rules, allotment, state.member_id, referrer_id)
    if amounts is None:
        missing = Missing(frozenset(allotment.caps), frozenset(allotment.budgets))
        return EarnPlan(program.version, (), (), {}, (), False, state, missing)
    granted = _granted(definition, awards, amounts, facts, state.member_id, referrer_id)
    cards = program.stamp_units
    if cards:
        wanted = {
            (g.member_id, g.unit)
            for g in granted
            if g.unit in cards and (g.member_id, g.unit) not in state.stamps
        }
        if wanted:
            missing = Missing(stamps=frozenset(wanted))
            return EarnPlan(program.version, (), (), {}, (), False, state, missing)
    by_member: dict[int, list[Granted]] = {}
    for g in granted:
        by_member.setdefault(g.member_id, []).append(g)
    stamps = dict(state.stamps)
    parts = []
    for member_id, grants in by_member.items():
        entry = Entry(
            kind="earn",
            memo=(memo + ": " if memo else "") + "; ".join(g.reason for g in grants),
            legs=earn_legs(grants, purchase_id, now),
            occurred_at=facts.occurred_at,
            member_id=member_id,
            purchase_id=purchase_id,
            actor=actor,
        )
        completions = (
            _completions(definition, member_id, grants, stamps, facts, actor) if cards else ()
        )
        parts.append(MemberEarn(member_id, entry, tuple(grants), tuple(completions)))
    after = state
    if state.caps_used or allotment.taken or stamps:  # else nothing the state holds moved
        after = replace(
            state,
            caps_used=_caps_after(state, granted, facts.occurred_at),
            budget_left=allotment.budget_left,
            stamps=stamps,
        )
    events: tuple[Event, ...] = ()
    if cards:
        events = tuple(
            Event("stamp_card.completed", c.event()) for part in parts for c in part.completions
        )
    return EarnPlan(
        version=program.version,
        granted=tuple(granted),
        members=tuple(parts),
        budget_taken=allotment.taken,
        events=events,
        checks_tier=moves_tier_metric(definition, facts, granted),
        state_after=after,
    )


def for_purchase(entry: Entry, purchase_id: int) -> Entry:
    """An earn entry planned before its purchase had an id (a set-wise batch plans, then inserts
    the purchases), as `plan_earn` would have made it with the id."""
    # Built field by field, not with `dataclasses.replace`: an import runs this for every row.
    legs = tuple(
        MemberLeg(
            leg.member_id,
            leg.code,
            leg.unit,
            leg.amount,
            leg.expires_at,
            leg.unlocks_at,
            purchase_id,
            leg.prefer_purchase_id,
            leg.lot_ids,
        )
        if isinstance(leg, MemberLeg)
        else leg
        for leg in entry.legs
    )
    e = entry
    return Entry(
        e.kind, e.memo, legs, e.occurred_at, e.member_id, purchase_id, e.refund_id, e.actor, e.extra
    )
