"""Group commit with a tier program and a referred member: a set-wise batch re-checks each sale's
tier right after its group is written, and plans a member's next sale at the tier that check
left (purchases/setwise.py), so every answer and every row equals recording one by one.

The helpers (copies of one seeded database, the calls, the comparison) are the ones of
tests/integration/test_group_commit.py; this program adds tiers by spend with multipliers, and
the shop a fourth member referred by the first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lealtad.db import group_commit
from lealtad.db.engine import Database
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import planned
from lealtad.rewards import service as rewards
from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition, Tier, TierPolicy
from lealtad.rules.earn_rule import Conditions, EarnRule, FixedPoints
from lealtad.rules.program import Program
from tests.integration.test_group_commit import (
    NOW,
    PHASES,
    Seeded,
    _reward,
    _written,
    assert_same,
    batches_equal_one_by_one,
    calls_for,
    one_by_one,
    run_batch,
    seeded_with,
)
from tests.support import make_shop, threaded_program

LEVELS = [
    Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
    Tier(id="silver", name="Silver", threshold=Decimal(3000), multiplier=Decimal(2)),
    Tier(id="gold", name="Gold", threshold=Decimal(7000), multiplier=Decimal(3)),
]
TIERED = threaded_program(
    day_cap=90,
    tiers=TierPolicy(metric="spend", levels=LEVELS),
    bonus=EarnRule(
        id="gold_only",
        name="Gold bonus",
        action=FixedPoints(points=7),
        conditions=Conditions(tiers=["gold"]),
    ),
)


def _seed_tiered(db: Database) -> tuple[int, int, list[int], list[int]]:
    from lealtad.db.migrate import upgrade

    upgrade(db)
    shop = make_shop(db, NOW, members_count=3, program=TIERED)
    with db.transaction() as conn:
        code = members.get(conn, shop.id, shop.members[0]).referral_code
        referred = MemberIn(name="Referred", email="referred@example.com", referral_code=code)
        shop.members.append(members.enrol(conn, shop.id, referred, channel="api", now=NOW))
        plenty = rewards.create(conn, shop.id, _reward("cup", 10, None), NOW)
    return shop.id, shop.locations[0], shop.members, [plenty, plenty]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def tiered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_with(request, tmp_path_factory, _seed_tiered, "group_commit_tiers")


# Member 0 crosses into silver on their second sale and earns double from the next; the referred
# member 3 goes straight to gold; a refund of member 0's second sale between their sales.
CROSSINGS = [
    ("buy", 0, 2500, False),
    ("buy", 0, 1000, False),
    ("buy", 3, 8000, False),
    ("buy", 0, 1000, True),
    ("buy", 1, 500, False),
    ("refund", 1, 3),
    ("buy", 0, 400, False),
    ("buy", 3, 300, False),
    ("buy", -1, 500, False),
]


def test_a_batch_re_checks_each_tier_and_plans_the_next_sale_at_it(tiered: Seeded) -> None:
    calls = calls_for(CROSSINGS, tiered.members, tiered.rewards)
    alone, batched = tiered.copy(), tiered.copy()
    try:
        want = one_by_one(alone, tiered, calls)
        before = _written("setwise"), _written("alone")
        got = run_batch(group_commit.GroupWriter(batched), tiered, calls)
        after = _written("setwise"), _written("alone")
        assert [o[1] for o in got] == [201] * len(calls)
        sales = [o[2] for o, c in zip(got, calls, strict=True) if c.kind == "purchase"]
        assert [(s["tier"], s["tier_changed"]) for s in sales] == [
            ("bronze", False),
            ("silver", True),
            ("gold", True),
            ("silver", False),
            ("bronze", False),
            ("silver", False),
            ("gold", False),
            (None, False),
        ]
        # At silver, 10 points earn 20; at gold the gold-only rule adds its 7.
        assert sum(a["amount"] for a in sales[3]["awards"] if a["unit"] == "points") == 20
        assert any(a["rule_id"] == "gold_only" for a in sales[6]["awards"])
        assert_same(got, want, batched, alone, tiered.business_id)
        # Every sale went set-wise, the referred member's included (no referral rule).
        assert (after[0] - before[0], after[1] - before[1]) == (8, 0)
    finally:
        tiered.discard(alone)
        tiered.discard(batched)


tier_step = st.one_of(
    st.tuples(
        st.just("buy"),
        st.sampled_from([0, 0, 1, 3, 3, -1]),
        st.integers(100, 4000),
        st.booleans(),
    ),
    st.tuples(st.just("replay"), st.integers(0, 50)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(0, 3)),
    st.tuples(st.just("redeem"), st.sampled_from([0, 3]), st.just(0)),
)


@example(steps=CROSSINGS, cuts=[4, 2])
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES
)
@given(
    steps=st.lists(tier_step, min_size=1, max_size=20),
    cuts=st.lists(st.integers(1, 9), max_size=6),
)
def test_tiered_batches_give_every_answer_and_row_that_one_by_one_gives(
    tiered: Seeded, steps: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    batches_equal_one_by_one(tiered, calls_for(steps, tiered.members, tiered.rewards), cuts)


class _Referred:
    referred_by_member_id = 1


def test_a_referred_members_sale_goes_alone_when_a_referral_rule_could_pay() -> None:
    """The referral run pays the referrer (another member's state), which a batch does not
    plan; nor does it plan a tier reached by the crossing purchase itself."""
    paying = TIERED.model_copy(
        update={
            "rules": [
                *TIERED.rules,
                EarnRule(
                    id="thanks",
                    name="Thanks for the referral",
                    trigger="referral",
                    action=FixedPoints(points=50),
                    award_to="referrer",
                ),
            ]
        }
    )
    assert planned.plannable(_program(TIERED), _Referred())
    assert not planned.plannable(_program(paying), _Referred())
    assert planned.plannable(_program(paying), None)
    assert TIERED.tiers is not None
    early = TIERED.tiers.model_copy(update={"crossing_purchase_earns_at": "new_tier"})
    assert not planned.plannable(_program(TIERED.model_copy(update={"tiers": early})), None)


def _program(definition: ProgramDefinition) -> Program:
    return Program(1, 1, NOW, definition, compile_program(definition))
