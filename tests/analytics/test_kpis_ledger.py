"""The ledger and cohort figures on small stories (tests/analytics/kpi_stories.py): points
issued, redeemed and expired with the redemption and breakage rates and the liability in money;
reward popularity with ratings, donations per cause; retention and first rewards by monthly
cohort. Every expected value is worked out by hand below."""

from __future__ import annotations

from datetime import date

import pytest

from lealtad.analytics import kpis, rankings
from lealtad.analytics.periods import Scope
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.analytics.kpi_stories import (
    FEB_2,
    MAR_2,
    Story,
    cohorts_story,
    new_story,
    story_of_points,
)
from tests.support import make_shop


@pytest.fixture
def story(db: Database, clock: FixedClock) -> Story:
    return new_story(db, clock)


def test_points_issued_redeemed_expired_with_rates_and_liability(story: Story) -> None:
    story_of_points(story)
    now = story.clock.now()
    with story.db.read() as conn:
        whole = kpis.points_flows(conn, story.scope(FEB_2, date(2026, 3, 31)), now)
        weekly = kpis.points_flows(conn, story.scope(FEB_2, date(2026, 3, 8), "week"), now)
        to_mar_2 = kpis.points_flows(conn, story.scope(FEB_2, MAR_2), now)
        at_store_2 = kpis.points_flows(conn, story.scope(FEB_2, date(2026, 3, 31), store="2"), now)
    assert whole.value == 131.0
    assert whole.extra == {
        "issued": 131,
        "redeemed": 54,  # two cups of 25 and the gift of 4
        "expired": 63,
        "redemption_rate": 41.2,  # 54 / 131 = 41.22%
        "breakage_rate": 48.1,  # 63 / 131 = 48.09%
        "outstanding": 10,  # 131 - 54 - 63 - 4 taken back by the refund
        "value_per_unit": "5",
        "liability": 50,  # 10 points at 5 cents
    }
    # Weeks from Feb 2: issued Ana 35 + Carl 30 + Bea 10 = 75; Dan 40 + Ana 6 = 46; none;
    # none; Ana 10. Spent: the cups in the week of Feb 9, the gift in that of Mar 2. Expired in
    # the week of Mar 2 (Mar 4 and 5): 26 + 10 + 6 = 42.
    assert weekly.series == {
        "issued": [75.0, 46.0, 0.0, 0.0, 10.0],
        "redeemed": [0.0, 50.0, 0.0, 0.0, 4.0],
        "expired": [0.0, 0.0, 0.0, 0.0, 42.0],
        # held at the end of each week: 75; 75 + 46 - 50 = 71; 71; 71; 71 + 10 - 4 - 4 - 42 = 31
        "outstanding": [75.0, 71.0, 71.0, 71.0, 31.0],
    }
    # Up to Mar 2 nothing had expired yet: 131 - 54 - 4 = 73 held, worth 365 cents
    assert (to_mar_2.extra["expired"], to_mar_2.extra["outstanding"]) == (0, 73)
    assert to_mar_2.extra["liability"] == 365
    assert to_mar_2.extra["breakage_rate"] == 0.0
    # The ledger is counted for the whole business: a store filter changes nothing
    assert at_store_2.extra == whole.extra


def test_liability_is_unknown_while_the_program_gives_a_point_no_value(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    body = PurchaseIn(receipt_id="V1", amount=1250, currency="EUR", member_id=shop.members[0])
    with db.transaction() as conn:
        purchases.record(conn, shop.principal(), body, secret_key="s", now=clock.now())
    with db.read() as conn:
        today = clock.now().date()
        flows = kpis.points_flows(conn, Scope(shop.id, today, today), clock.now())
    # 12.50 earns 12 points (1 per euro, floor); no value per point: no liability in money
    assert (flows.extra["outstanding"], flows.extra["liability"]) == (12, None)
    assert flows.extra["value_per_unit"] is None


def test_reward_popularity_with_ratings_and_donations_per_cause(story: Story) -> None:
    cause = story_of_points(story)
    with story.db.read() as conn:
        popular = rankings.reward_popularity(conn, story.scope(FEB_2, MAR_2))
        later = rankings.reward_popularity(conn, story.scope(MAR_2, date(2026, 3, 31)))
        causes = rankings.donations_by_cause(conn, story.shop.id)
    cup, bag = story.rewards["cup"], story.rewards["bag"]
    # Two cups (Ana 5 stars, Dan 4: 4.5 on average), no bag
    assert [(r["reward_id"], r["redemptions"], r["rating"], r["ratings"]) for r in popular] == [
        (cup, 2, 4.5, 2),
        (bag, 0, None, 0),
    ]
    # In March nobody redeemed: by slug, the ratings are of all time
    assert [(r["slug"], r["redemptions"], r["rating"]) for r in later] == [
        ("bag", 0, None),
        ("cup", 0, 4.5),
    ]
    assert causes == [
        {
            "cause_id": cause,
            "name": {"es": "Banco de alimentos", "en": "Food bank"},
            "points": 4,
            "donors": 1,
            "donations": 1,
        }
    ]


def test_retention_and_first_reward_by_monthly_cohort(story: Story) -> None:
    cohorts_story(story)
    with story.db.read() as conn:
        rows = kpis.cohorts(conn, story.shop.id, date(2025, 12, 1), date(2026, 3, 31))
        scope = story.scope(date(2025, 12, 1), date(2026, 3, 31), "month")
        first = kpis.first_reward(conn, scope)
        kept = kpis.retention(conn, scope)
        january = kpis.first_reward(conn, story.scope(date(2026, 1, 1), date(2026, 3, 31)))
    assert rows == [
        {
            "cohort": date(2025, 12, 1),
            "members": 4,
            "retained_30": 50.0,  # Gil and Ivo of 4
            "retained_60": 50.0,  # Gil and Hana of 4
            "retained_90": 25.0,  # Hana of 4 (Jon's day 99 is too late)
            "first_reward_90": 50.0,  # Gil and Hana of 4 (Jon's day 99 is too late)
            "median_days_to_first_reward": 27.5,  # (10 + 45) / 2
        },
        {
            "cohort": date(2026, 1, 1),
            "members": 2,
            "retained_30": 50.0,  # Kim of 2 (day 30 is the last of the first window)
            "retained_60": 0.0,
            "retained_90": 50.0,  # Lea of 2
            "first_reward_90": 50.0,  # Kim of 2
            "median_days_to_first_reward": 0.0,
        },
    ]
    # Both cohorts: 3 of 6 reached a first reward, after 0, 10 and 45 days: median 10
    assert first.value == 50.0
    assert first.extra == {"members": 6, "reached": 3, "median_days": 10.0}
    assert first.series == {"share": [50.0, 50.0]}
    assert kept.labels == [date(2025, 12, 1), date(2026, 1, 1)]
    assert kept.series == {"30": [50.0, 50.0], "60": [50.0, 0.0], "90": [25.0, 50.0]}
    # From January: Kim of Kim and Lea, on the day she joined
    assert (january.value, january.extra["median_days"]) == (50.0, 0.0)
