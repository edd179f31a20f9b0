"""Experiments end to end: the service's rules (validation, draft → running → stopped, frozen
arms), the report's figures computed by hand, a planted effect found through a rule variation
that targets one arm and one with no effect not claimed, and a reward shown to one arm only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from lealtad.analytics import experiments, experiments_report, uplift
from lealtad.analytics.experiments import ArmIn, ExperimentIn, ExperimentPatch
from lealtad.db.engine import Database
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import Conditions, EarnRule, Multiplier, PointsPerUnit
from lealtad.tenancy.model import Principal, Role
from tests.support import Shop, make_shop

SLUG = "double-points"
DOUBLE_SEGMENT = f"exp:{SLUG}:double"
# One point per euro for everyone; twice that for the members of the "double" arm.
PROGRAM = ProgramDefinition(
    rules=[
        EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1))),
        EarnRule(
            id="double",
            name="Double points (experiment)",
            conditions=Conditions(segments=[DOUBLE_SEGMENT]),
            action=Multiplier(factor=Decimal(2)),
        ),
    ]
)
WEEKS = 2


def experiment_in(**fields: Any) -> ExperimentIn:
    body: dict[str, Any] = {
        "slug": SLUG,
        "name": "Double points bring members back",
        "arms": [{"name": "control", "weight": 1}, {"name": "double", "weight": 1}],
    }
    return ExperimentIn.model_validate(body | fields)


def running(db: Database, shop: Shop, now: datetime, **fields: Any) -> int:
    with db.transaction() as conn:
        experiment_id = experiments.create(conn, shop.id, experiment_in(**fields), now)
        experiments.start(conn, shop.id, experiment_id, now)
    return experiment_id


def enrol_many(db: Database, shop: Shop, count: int, now: datetime) -> list[int]:
    with db.transaction() as conn:
        return [
            members.enrol(conn, shop.id, MemberIn(), channel="api", now=now) for _ in range(count)
        ]


def buy(
    conn: Any, shop: Shop, member_id: int | None, amount: int, at: datetime, receipt: str
) -> dict[str, Any]:
    principal = Principal(shop.id, Role.staff, shop.locations[0])
    body = PurchaseIn(receipt_id=receipt, amount=amount, currency="EUR", member_id=member_id)
    return purchases.record(conn, principal, body, secret_key="s", now=at)[1]


# --- the service --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"slug": "Double Points"}, "string_pattern_mismatch"),
        ({"slug": "x" * 41}, "string_pattern_mismatch"),
        ({"arms": [{"name": "control"}]}, "too_short"),
        ({"arms": [{"name": f"a{i}"} for i in range(6)]}, "too_long"),
        ({"arms": [{"name": "control", "weight": 0}, {"name": "b"}]}, "greater_than_equal"),
        ({"arms": [{"name": "control"}, {"name": "control"}]}, "value_error"),
        ({"arms": [{"name": "control"}, {"name": "B arm"}]}, "string_pattern_mismatch"),
        (
            {"starts_at": "2026-04-01T00:00:00Z", "ends_at": "2026-03-31T00:00:00Z"},
            "value_error",
        ),
        ({"name": ""}, "string_too_short"),
    ],
)
def test_an_experiment_is_refused_with_a_bad_slug_bad_arms_or_an_end_before_its_start(
    fields: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        experiment_in(**fields)
    assert why in {e["type"] for e in caught.value.errors()}


def test_two_experiments_cannot_share_a_slug_nor_end_in_the_past(db, clock) -> None:
    shop = make_shop(db, clock.now(), members_count=0)
    now = clock.now()
    with db.transaction() as conn:
        experiments.create(conn, shop.id, experiment_in(), now)
        with pytest.raises(Conflict) as duplicate:
            experiments.create(conn, shop.id, experiment_in(), now)
        assert duplicate.value.code == "duplicate_experiment"
        with pytest.raises(Invalid) as past:
            experiments.create(
                conn, shop.id, experiment_in(slug="late", ends_at=now - timedelta(days=1)), now
            )
        assert past.value.code == "ends_in_past"


def test_an_experiment_goes_from_draft_to_running_to_stopped_and_never_back(db, clock) -> None:
    shop = make_shop(db, clock.now(), members_count=0)
    created = clock.now() - timedelta(days=3)
    with db.transaction() as conn:
        experiment_id = experiments.create(conn, shop.id, experiment_in(starts_at=created), created)
        draft = experiments.get(conn, shop.id, experiment_id)
        assert (draft.status, draft.ends_at) == ("draft", None)
        # A draft may still change its arms.
        arms = [ArmIn(name="control", weight=2), ArmIn(name="double", weight=1)]
        experiments.update(conn, shop.id, experiment_id, ExperimentPatch(arms=arms), created)
        experiments.start(conn, shop.id, experiment_id, clock.now())
        started = experiments.get(conn, shop.id, experiment_id)
        # A start already past moves to the moment it really started.
        assert started.status == "running"
        assert started.starts_at == clock.now().replace(tzinfo=None)
        assert experiments.arms_of(started) == [("control", 2), ("double", 1)]
        assert experiments.out(started, clock.now()).in_effect
        with pytest.raises(Conflict) as frozen:
            experiments.update(
                conn,
                shop.id,
                experiment_id,
                ExperimentPatch(arms=[ArmIn(name="control"), ArmIn(name="double")]),
                clock.now(),
            )
        assert frozen.value.code == "arms_frozen"
        experiments.update(
            conn, shop.id, experiment_id, ExperimentPatch(name="Renamed"), clock.now()
        )
        with pytest.raises(Conflict) as twice:
            experiments.start(conn, shop.id, experiment_id, clock.now())
        assert twice.value.code == "already_running"
        later = clock.now() + timedelta(days=10)
        experiments.stop(conn, shop.id, experiment_id, later)
        stopped = experiments.get(conn, shop.id, experiment_id)
        assert (stopped.status, stopped.name) == ("stopped", "Renamed")
        assert stopped.ends_at == later.replace(tzinfo=None)
        assert not experiments.out(stopped, later).in_effect
        for again in (experiments.start, experiments.stop):
            with pytest.raises(Conflict):
                again(conn, shop.id, experiment_id, later)
        with pytest.raises(NotFound):
            experiments.get(conn, shop.id + 10_000, experiment_id)


# --- the report's figures, by hand -----------------------------------------------------------


def test_the_report_counts_local_days_and_spend_net_of_refunds_for_every_enrolled_member(
    db, clock
) -> None:
    shop = make_shop(db, clock.now(), members_count=0)
    start = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    end = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
    a, b, c, d = enrol_many(db, shop, 4, start - timedelta(days=5))
    with db.transaction() as conn:
        experiment_id = experiments.create(
            conn, shop.id, experiment_in(starts_at=start, ends_at=end), start - timedelta(days=1)
        )
        experiments.start(conn, shop.id, experiment_id, start - timedelta(hours=1))
        at = datetime
        # Member a, Madrid (UTC+1 until 29 March 01:00 UTC, then UTC+2):
        buy(conn, shop, a, 1000, at(2026, 3, 19, 9, tzinfo=UTC), "before-start")  # not counted
        # 22:30 UTC is 23:30 on the 21st in Madrid, 23:30 UTC is 00:30 on the 22nd: two visits
        # on one UTC day.
        buy(conn, shop, a, 500, at(2026, 3, 21, 22, 30, tzinfo=UTC), "a1")
        buy(conn, shop, a, 700, at(2026, 3, 21, 23, 30, tzinfo=UTC), "a2")
        # 00:10 UTC the next day is 01:10 on the 22nd: the same local day as a2.
        buy(conn, shop, a, 300, at(2026, 3, 22, 0, 10, tzinfo=UTC), "a3")
        # After the switch to summer time 22:30 UTC is already the next local day (00:30 on the
        # 30th), and 21:30 UTC is 23:30 on the 29th: two visits.
        buy(conn, shop, a, 100, at(2026, 3, 29, 21, 30, tzinfo=UTC), "a4")
        buy(conn, shop, a, 100, at(2026, 3, 29, 22, 30, tzinfo=UTC), "a5")
        buy(conn, shop, a, 1000, at(2026, 4, 10, 12, 0, tzinfo=UTC), "at-end")  # not counted
        # Member b: one purchase, partly refunded.
        buy(conn, shop, b, 2000, at(2026, 3, 25, 10, tzinfo=UTC), "b1")
        staff = Principal(shop.id, Role.staff, shop.locations[0])
        refunds.refund(
            conn,
            staff,
            RefundIn(refund_id="rb1", receipt_id="b1", amount=750),
            now=at(2026, 3, 26, 10, tzinfo=UTC),
        )
        # An anonymous purchase counts for no one.
        buy(conn, shop, None, 5000, at(2026, 3, 25, 11, tzinfo=UTC), "anon")
    # Member d joins during the experiment and counts; e joins after it ended and does not.
    with db.transaction() as conn:
        members.enrol(conn, shop.id, MemberIn(), channel="api", now=end + timedelta(days=1))
        found = experiments.get(conn, shop.id, experiment_id)
        figures = experiments_report.member_figures(conn, found, end + timedelta(days=2))
    assert sorted(figures) == [a, b, c, d]
    assert (figures[a].visits, figures[a].spend) == (4, 500 + 700 + 300 + 100 + 100)
    assert (figures[b].visits, figures[b].spend) == (1, 2000 - 750)
    assert (figures[c].visits, figures[c].spend) == (0, 0)
    arms = uplift.assign_many(SLUG, [a, b, c, d], [("control", 1), ("double", 1)])
    assert [figures[m].arm for m in (a, b, c, d)] == arms


def test_the_offset_changes_in_a_window_are_found_to_the_second() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    changes = experiments_report.offset_changes(madrid, datetime(2026, 3, 1), datetime(2026, 11, 1))
    assert changes == [
        (datetime(2026, 3, 1), 3600),
        (datetime(2026, 3, 29, 1, 0), 7200),
        (datetime(2026, 10, 25, 1, 0), 3600),
    ]


def test_a_draft_has_no_report_and_an_arm_too_small_gives_no_interval(db, clock) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    now = clock.now()
    with db.transaction() as conn:
        experiment_id = experiments.create(conn, shop.id, experiment_in(), now)
        with pytest.raises(Conflict) as draft:
            experiments_report.report(conn, shop.id, experiment_id, now)
        assert draft.value.code == "experiment_not_started"
        experiments.start(conn, shop.id, experiment_id, now)
        found = experiments_report.report(conn, shop.id, experiment_id, now + timedelta(days=1))
    assert sum(a.members for a in found.arms) == 1
    assert [c.uplift for c in found.comparisons] == [None, None]
    assert experiments_report.report_out(found, now).comparisons[0].uplift is None


# --- planted effects, end to end ----------------------------------------------------------------


def member_plan(rng: random.Random, weekly_visit: float) -> list[tuple[int, int, int]]:
    """(day, hour, amount) of one member's purchases: each week, one visit with this chance.
    Every week draws the same four numbers, so a member's plan depends only on its place in its
    arm's stream, not on how many members came before it in the other arm."""
    plan = []
    for week in range(WEEKS):
        comes, day, hour = rng.random(), rng.randrange(7), rng.randrange(8, 19)
        amount = rng.randint(500, 1500)  # mean 10.00 EUR
        if comes < weekly_visit:
            plan.append((7 * week + 1 + day, hour, amount))
    return plan


def simulate(
    db: Database, shop: Shop, start: datetime, people: list[int], chances: dict[str, float]
) -> dict[int, list[dict[str, Any]]]:
    """Purchases for each member by the plan of its arm (one seeded stream per arm); returns
    each member's purchase answers."""
    streams = {arm: random.Random(f"experiment-{arm}") for arm in chances}
    arms = uplift.assign_many(SLUG, people, [(arm, 1) for arm in chances])
    answers: dict[int, list[dict[str, Any]]] = {}
    midnight = start.replace(hour=0, minute=0)
    with db.transaction() as conn:
        for member_id, arm in zip(people, arms, strict=True):
            answers[member_id] = [
                buy(
                    conn,
                    shop,
                    member_id,
                    amount,
                    midnight + timedelta(days=day, hours=hour),
                    f"r{member_id}-{day}",
                )
                for day, hour, amount in member_plan(streams[arm], chances[arm])
            ]
    return answers


def group_size(db: Database) -> int:
    # PostgreSQL runs each purchase over a socket; fewer members keep the test fast there.
    return 600 if db.dialect == "sqlite" else 300


def test_a_rule_variation_that_brings_one_arm_back_more_is_found_with_its_planted_effect(
    db: Database, clock: FixedClock
) -> None:
    start = clock.now()
    shop = make_shop(db, start, program=PROGRAM, members_count=0)
    people = enrol_many(db, shop, group_size(db), start)
    experiment_id = running(db, shop, start)
    chances = {"control": 0.1, "double": 0.3}
    answers = simulate(db, shop, start, people, chances)

    # Only the "double" arm got the bonus: the multiplier rule fired for them and no one else.
    arms = dict(
        zip(people, uplift.assign_many(SLUG, people, [("control", 1), ("double", 1)]), strict=True)
    )
    for member_id, bought in answers.items():
        for answer in bought:
            points = {a["rule_id"]: a["amount"] for a in answer["awards"]}
            base = answer["amount"] // 100
            if arms[member_id] == "double":
                assert points == {"base": base, "double": base}, answer["awards"]
            else:
                assert points == {"base": base}, answer["awards"]

    with db.read() as conn:
        found = experiments_report.report(conn, shop.id, experiment_id, start + timedelta(days=30))
    visits, spend = found.comparisons
    assert (visits.arm, visits.metric, spend.metric) == ("double", "visits", "spend")
    assert visits.n_control + visits.n_variant == len(people)
    planted_visits = WEEKS * (chances["double"] - chances["control"])  # 0.4 more visits
    planted_spend = planted_visits * 1000  # at 10.00 EUR a visit on average
    assert visits.uplift is not None
    assert spend.uplift is not None
    assert visits.uplift.significant
    assert spend.uplift.significant
    assert visits.uplift.p_value < 0.001
    assert visits.uplift.difference_low <= planted_visits <= visits.uplift.difference_high
    assert spend.uplift.difference_low <= planted_spend <= spend.uplift.difference_high
    # Relative: (0.3 - 0.1) / 0.1 = +200 % visits.
    assert visits.uplift.relative_low is not None
    assert visits.uplift.relative_high is not None
    assert visits.uplift.relative_low <= 2 <= visits.uplift.relative_high
    assert visits.minimum_detectable_effect is not None
    assert visits.minimum_detectable_effect < planted_visits


def test_an_experiment_with_no_planted_effect_claims_none(db: Database, clock: FixedClock) -> None:
    start = clock.now()
    shop = make_shop(db, start, program=PROGRAM, members_count=0)
    people = enrol_many(db, shop, group_size(db), start)
    experiment_id = running(db, shop, start)
    simulate(db, shop, start, people, {"control": 0.2, "double": 0.2})
    with db.read() as conn:
        found = experiments_report.report(conn, shop.id, experiment_id, start + timedelta(days=30))
    for comparison in found.comparisons:
        assert comparison.uplift is not None
        assert not comparison.uplift.significant, comparison
        assert comparison.uplift.difference_low < 0 < comparison.uplift.difference_high
        assert comparison.uplift.p_value > 0.05


# --- a reward for one arm -------------------------------------------------------------------


def test_a_reward_visible_to_one_arm_is_shown_only_to_that_arms_members_while_it_runs(
    db: Database, clock: FixedClock
) -> None:
    now = clock.now()
    shop = make_shop(db, now, members_count=0)
    people = enrol_many(db, shop, 40, now)
    reward = RewardIn(
        slug="free-coffee",
        kind="free_product",
        sku="COFFEE",
        title={"es": "Café gratis", "en": "Free coffee"},
        cost=5,
        visible_segments=[DOUBLE_SEGMENT],
    )
    with db.transaction() as conn:
        rewards.create(conn, shop.id, reward, now)
        experiment_id = experiments.create(conn, shop.id, experiment_in(), now)

    def who_sees(at: datetime) -> set[int]:
        with db.read() as conn:
            return {
                m
                for m in people
                if any(r.slug == "free-coffee" for r in rewards.for_member(conn, shop.id, m, at))
            }

    assert who_sees(now) == set(), "a draft gives no segments"
    with db.transaction() as conn:
        experiments.start(conn, shop.id, experiment_id, now)
    arms = uplift.assign_many(SLUG, people, [("control", 1), ("double", 1)])
    double = {m for m, arm in zip(people, arms, strict=True) if arm == "double"}
    assert 0 < len(double) < len(people)
    assert who_sees(now + timedelta(hours=1)) == double
    with db.transaction() as conn:
        experiments.stop(conn, shop.id, experiment_id, now + timedelta(days=1))
    assert who_sees(now + timedelta(days=2)) == set(), "a stopped experiment gives none"
