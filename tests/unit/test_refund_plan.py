"""A refund planned as values, with no database: what it owes back, from which accounts, and what
the accounts no longer held."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lealtad.ledger.model import MemberLeg, SystemLeg
from lealtad.purchases.refund_plan import owed_after, owed_now, sources, take_back

MEMBER = 7


def test_a_half_refund_owes_half_of_each_award_and_a_second_half_the_rest() -> None:
    awarded = [(MEMBER, "points", 15), (MEMBER, "stamps.coffee", 1)]
    first = owed_now(awarded, [], 1000, 500)
    assert first == {"points": {MEMBER: 8}, "stamps.coffee": {MEMBER: 1}}
    second = owed_now(awarded, [{"points": 8, "stamps.coffee": 1}], 1000, 1000)
    assert second == {"points": {MEMBER: 7}}


def test_pending_points_are_taken_back_first_and_what_was_spent_is_the_shortfall() -> None:
    held = {(MEMBER, "points.pending"): 3, (MEMBER, "points"): 2}
    taken = take_back({"points": {MEMBER: 9}}, held, purchase_id=41)
    assert taken.legs == (
        MemberLeg(MEMBER, "points.pending", "points", -3, prefer_purchase_id=41),
        MemberLeg(MEMBER, "points", "points", -2, prefer_purchase_id=41),
        SystemLeg("reversed", "points", 5),
    )
    assert (taken.reversed, taken.shortfall) == ({"points.pending": 3, "points": 2}, {"points": 4})


def test_a_unit_no_refund_takes_back_is_all_shortfall() -> None:
    assert sources("reward.free-drink") == ()
    taken = take_back({"reward.free-drink": {MEMBER: 1}}, {}, purchase_id=1)
    assert (taken.legs, taken.shortfall) == ((), {"reward.free-drink": 1})


@given(
    amount=st.integers(min_value=0, max_value=10_000),
    awarded=st.integers(min_value=0, max_value=5_000),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), max_size=6),
)
def test_refunds_in_any_parts_owe_back_exactly_the_award_when_the_whole_is_refunded(
    amount: int, awarded: int, cuts: list[int]
) -> None:
    refunded, before = 0, []
    for cut in [*cuts, amount]:
        refunded = min(amount, refunded + cut)
        owed = owed_now([(MEMBER, "points", awarded)], before, amount, refunded)
        units = owed.get("points", {}).get(MEMBER, 0)
        assert units >= 0, "a refund never gives units back"
        assert sum(b["points"] for b in before) + units == owed_after(awarded, refunded, amount)
        before.append({"points": units})
    assert sum(b["points"] for b in before) == awarded, "the whole refund takes the whole award"


@given(
    due=st.integers(min_value=1, max_value=1_000),
    pending=st.integers(min_value=0, max_value=1_000),
    spendable=st.integers(min_value=0, max_value=1_000),
)
def test_what_is_taken_back_balances_never_exceeds_what_is_held_and_adds_up_to_the_debt(
    due: int, pending: int, spendable: int
) -> None:
    held = {(MEMBER, "points.pending"): pending, (MEMBER, "points"): spendable}
    taken = take_back({"points": {MEMBER: due}}, held, purchase_id=1)
    members = [leg for leg in taken.legs if isinstance(leg, MemberLeg)]
    system = [leg for leg in taken.legs if isinstance(leg, SystemLeg)]
    assert sum(leg.amount for leg in members) + sum(leg.amount for leg in system) == 0
    for leg in members:
        assert -leg.amount <= held[MEMBER, leg.code], "never below zero"
    assert sum(taken.reversed.values()) + taken.shortfall.get("points", 0) == due
    assert taken.shortfall.get("points", 0) == max(0, due - pending - spendable)
