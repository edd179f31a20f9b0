"""What a plan reads: which member facts a program asks for (visit counts, segments), what a
run over a set of awards will surely ask of the state (`prefetch`), and the state with what the
reader fetched added (`with_reads`). Pure, like the planner (rules/planner.py) that uses it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_model import CapKey, MemberState, Missing, StampKey
from lealtad.rules.earn_rule import Multiplier
from lealtad.rules.facts import Award, Facts
from lealtad.rules.periods import period_start
from lealtad.rules.program import Program


def asks_visits(definition: ProgramDefinition) -> bool:
    """Whether a rule needs the member's visit count: reading it counts their purchases,
    so the one-by-one and the import's bulk path read it only when this says so."""
    return any(
        rule.conditions.first_purchase or rule.conditions.every_nth_visit
        for rule in definition.rules
    )


def asks_segments(definition: ProgramDefinition) -> bool:
    return any(rule.conditions.segments for rule in definition.rules)


def prefetch(
    program: Program,
    facts: Facts,
    awards: Sequence[Award],
    state: MemberState,
    referrer_id: int | None = None,
) -> Missing:
    """What a run over these awards will surely ask for, so that the reader can fetch it before
    the first plan: the caps of every rule that fired (as the one-by-one path always read them)
    and the stamp balances its stamps go to. Budgets are left to `missing`: reading one locks
    its row, and that only for a rule that actually pays out."""
    rules = program.rules_by_id
    cards = program.stamp_units
    caps: set[CapKey] = set()
    stamps: set[StampKey] = set()
    for award in awards:
        recipient = state.member_id if award.recipient == "member" else referrer_id
        rule = rules.get(award.rule_id)
        if recipient is None or rule is None or isinstance(rule.action, Multiplier):
            continue
        for cap in rule.caps:
            since = period_start(facts.occurred_at, cap.period, facts.tz)
            caps.add((recipient, rule.id, since))
        if award.unit in cards and (recipient, award.unit) not in state.stamps:
            stamps.add((recipient, award.unit))
    caps.difference_update(state.caps_used)
    return Missing(caps=frozenset(caps), stamps=frozenset(stamps))


def with_reads(
    state: MemberState,
    *,
    caps: Mapping[CapKey, int] | None = None,
    budgets: Mapping[str, int] | None = None,
    stamps: Mapping[StampKey, int] | None = None,
) -> MemberState:
    """The state with what the reader fetched for a plan's `missing` added."""
    return replace(
        state,
        caps_used={**state.caps_used, **(caps or {})},
        budget_left={**state.budget_left, **(budgets or {})},
        stamps={**state.stamps, **(stamps or {})},
    )
