"""The dashboard's figures on small stories told through the real services (kpi_stories.py:
enrolments at the counter, purchases by members and by anonymous customers at two stores by two
staff members, a refund), each figure worked out by hand below: enrolment rate, new, visiting,
active and lapsed members, tickets, visits per member, revenue share, the staff leaderboard, by
location and staff member and by day, week and month. The points, rewards and cohort figures
are in test_kpis_ledger.py."""

from __future__ import annotations

from datetime import date

import pytest

from lealtad.analytics import kpis, rankings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.analytics.kpi_stories import FEB_2, MAR_2, Story, at, february, new_story


@pytest.fixture
def story(db: Database, clock: FixedClock) -> Story:
    return new_story(db, clock)


def test_enrolment_rate_counts_anonymous_purchases_in_the_denominator(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        whole = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2))
        store_1 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, store="1"))
        store_2 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, store="2"))
        by_s1 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, staff="S1"))
        by_s2 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, staff="S2"))
        s2_at_store_1 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, store="1", staff="S2"))
    # 12 purchases, 8 of them by members (Ana 5, Carl, Bea, Dan): 8 / 12 = 66.67%
    assert whole.value == 66.7
    assert whole.extra == {"purchases": 12, "member_purchases": 8}
    assert whole.goal == 60.0, "the default goal"
    # By day: Feb 2 2 of 3; Feb 3 3 of 5; Feb 9 2 of 3; Mar 2 1 of 1; nothing on other days
    series = dict(zip(whole.labels, whole.series["rate"], strict=True))
    assert len(whole.labels) == 29, "Feb 2 to Mar 2, one bucket a day"
    assert series[FEB_2] == 66.7  # 2 / 3
    assert series[date(2026, 2, 3)] == 60.0  # 3 / 5
    assert series[date(2026, 2, 9)] == 66.7  # 2 / 3
    assert series[MAR_2] == 100.0  # 1 / 1
    assert series[date(2026, 2, 4)] is None, "no purchases: no rate, not 0%"
    # L1: Ana 2000, anon 1000, Bea, Ana, Ana, anon 2400 (S2), Ana on Mar 2: 5 of 7 = 71.43%
    assert store_1.value == 71.4
    # L2: Carl, anon, anon, Dan, Ana 600: 3 of 5
    assert store_2.value == 60.0
    # S1 recorded Ana 2000, anon 1000, Bea, Ana, Ana, Ana on Mar 2: 5 of 6 = 83.33%
    assert by_s1.value == 83.3
    # S2: Carl, anon, anon, Dan, Ana 600, anon 2400: 3 of 6
    assert by_s2.value == 50.0
    # S2 at L1: one anonymous purchase: 0 of 1
    assert s2_at_store_1.value == 0.0


def test_enrolment_rate_by_week_and_by_month(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        weekly = kpis.enrolment_rate(conn, story.scope(FEB_2, date(2026, 3, 8), "week"))
        monthly = kpis.enrolment_rate(conn, story.scope(date(2026, 2, 1), MAR_2, "month"))
    # Weeks from Monday: Feb 2-8 has 8 purchases, 5 by members (Ana 3, Carl, Bea) = 62.5%;
    # Feb 9-15 has 3, 2 by members = 66.67%; then two empty weeks; Mar 2-8 has 1 of 1
    assert weekly.labels == [date(2026, 2, d) for d in (2, 9, 16, 23)] + [MAR_2]
    assert weekly.series["rate"] == [62.5, 66.7, None, None, 100.0]
    # February 7 of 11 = 63.64%; March 1 of 1
    assert monthly.labels == [date(2026, 2, 1), date(2026, 3, 1)]
    assert monthly.series["rate"] == [63.6, 100.0]
    assert monthly.value == 66.7  # 8 / 12 over the whole period


def test_new_and_visiting_members_by_day_week_and_month(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        daily = kpis.members_activity(conn, story.scope(FEB_2, MAR_2), story.clock.now())
        weekly = kpis.members_activity(
            conn, story.scope(FEB_2, date(2026, 3, 8), "week"), story.clock.now()
        )
        monthly = kpis.members_activity(
            conn, story.scope(date(2026, 2, 1), date(2026, 3, 31), "month"), story.clock.now()
        )
        store_2 = kpis.members_activity(
            conn, story.scope(FEB_2, MAR_2, store="2"), story.clock.now()
        )
        by_s1 = kpis.members_activity(
            conn, story.scope(FEB_2, MAR_2, staff="S1"), story.clock.now()
        )
    # Ana, Bea, Carl on Feb 2 and Dan, Eva on Feb 9
    assert daily.value == 5.0
    new = dict(zip(daily.labels, daily.series["new"], strict=True))
    assert (new[FEB_2], new[date(2026, 2, 9)], sum(new.values())) == (3.0, 2.0, 5.0)
    # Distinct members buying each day: Feb 2 Ana, Carl; Feb 3 Bea, Ana; Feb 9 Dan, Ana; Mar 2 Ana
    visiting = dict(zip(daily.labels, daily.series["visiting"], strict=True))
    assert [visiting[d] for d in (FEB_2, date(2026, 2, 3), date(2026, 2, 9), MAR_2)] == [
        2.0,
        2.0,
        2.0,
        1.0,
    ]
    # Each week: Ana, Carl, Bea; then Dan, Ana; then nobody twice; then Ana
    assert weekly.series["new"] == [3.0, 2.0, 0.0, 0.0, 0.0]
    assert weekly.series["visiting"] == [3.0, 2.0, 0.0, 0.0, 1.0]
    # February: Ana, Bea, Carl, Dan (Eva never bought); March: Ana
    assert monthly.series == {"new": [5.0, 0.0], "visiting": [4.0, 1.0]}
    # Enrolled at L2: Carl, Dan, Eva. Enrolled by S1: Ana and Bea
    assert store_2.value == 3.0
    assert by_s1.value == 2.0


def test_active_and_lapsed_members_are_counted_as_of_now_by_home_store(story: Story) -> None:
    february(story)
    feb = story.scope(FEB_2, MAR_2)
    with story.db.read() as conn:
        # On Mar 12 the last 30 days start on Feb 10 10:30: only Ana (Mar 2) bought since.
        # The last 90 days start on Dec 12: Ana, Bea, Carl and Dan. Eva never bought.
        early = kpis.members_activity(conn, feb, at(date(2026, 3, 12))).extra
        # On May 11 the last 90 days start on Feb 10 10:30: Ana's Mar 2 purchase is in them;
        # Bea (Feb 3), Carl (Feb 2) and Dan (Feb 9) lapsed.
        late = kpis.members_activity(conn, feb, at(date(2026, 5, 11))).extra
        # Members whose home store is L2: Carl, Dan (lapsed by May 11) and Eva (never bought)
        late_2 = kpis.members_activity(
            conn, story.scope(FEB_2, MAR_2, store="2"), at(date(2026, 5, 11))
        ).extra
    assert early == {"total": 5, "active_30": 1, "active_90": 4, "lapsed": 0, "never_bought": 1}
    assert late == {"total": 5, "active_30": 0, "active_90": 1, "lapsed": 3, "never_bought": 1}
    assert late_2 == {"total": 3, "active_30": 0, "active_90": 0, "lapsed": 2, "never_bought": 1}


def test_members_against_everyone_else_tickets_visits_and_revenue_share(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        daily = kpis.members_vs_others(conn, story.scope(FEB_2, MAR_2))
        weekly = kpis.members_vs_others(conn, story.scope(FEB_2, date(2026, 3, 8), "week"))
        monthly = kpis.members_vs_others(conn, story.scope(date(2026, 2, 1), MAR_2, "month"))
        store_2 = kpis.members_vs_others(conn, story.scope(FEB_2, MAR_2, store="2"))
    # Members spent 2000+3000 + 1000+1000+500 + 4000+600 + 1000 = 13100 in 8 purchases,
    # everyone else 1000 + 500+1500 + 2400 = 5400 in 4; Carl got 400 back.
    assert daily.extra["member_ticket"] == 1638  # 13100 / 8 = 1637.5, rounded half to even
    assert daily.extra["other_ticket"] == 1350  # 5400 / 4
    # Revenue net of refunds: members 13100 - 400 = 12700 of 18500 - 400 = 18100: 70.17%
    assert daily.extra["revenue"] == 18100
    assert daily.extra["member_revenue"] == 12700
    assert daily.value == 70.2
    assert daily.unit == "percent"
    # Purchases per visiting member: 8 purchases over 7 member-days (2 + 2 + 2 + 1)
    assert daily.extra["visits_per_member"] == pytest.approx(8 / 7)
    # ... over 6 member-weeks (3 + 2 + 1), over 5 member-months (4 + 1)
    assert weekly.extra["visits_per_member"] == pytest.approx(8 / 6)
    assert monthly.extra["visits_per_member"] == pytest.approx(8 / 5)
    # Week of Feb 2: members 2000+3000+1000+1000+500 = 7500 in 5, others 1000+500+1500 in 3
    assert weekly.series["member_ticket"][0] == 1500
    assert weekly.series["other_ticket"][0] == 1000
    assert weekly.series["visits"][:2] == [pytest.approx(5 / 3), 1.0]  # 5 by 3; 2 by Dan, Ana
    # Share by month: February 12100 of 17500 (Carl's refund is on Mar 2); March
    # 1000 - 400 = 600 of 1000 - 400 = 600
    assert monthly.series["member_share"] == [69.1, 100.0]  # 12100 / 17500 = 69.14%
    # L2: Carl 3000, Dan 4000, Ana 600 against 500 + 1500; Carl's refund was at L2
    assert store_2.extra["member_ticket"] == 2533  # 7600 / 3 = 2533.3
    assert store_2.extra["other_ticket"] == 1000  # 2000 / 2
    assert store_2.value == 78.3  # (7600 - 400) / (9600 - 400) = 7200 / 9200 = 78.26%


def test_the_staff_enrolment_leaderboard(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        board = rankings.staff_leaderboard(conn, story.scope(FEB_2, MAR_2))
        at_store_1 = rankings.staff_leaderboard(conn, story.scope(FEB_2, MAR_2, store="1"))
        february_only = rankings.staff_leaderboard(conn, story.scope(FEB_2, date(2026, 2, 8)))
    s1, s2 = story.shop.staff["staff"], story.shop.staff["manager"]
    rows = [(r["staff_id"], r["enrolments"], r["purchases"], r["enrolment_rate"]) for r in board]
    # S2 enrolled Carl, Dan and Eva and recorded 6 purchases, 3 by members (Carl, Dan, Ana);
    # S1 enrolled Ana and Bea and recorded 6, 5 by members: more enrolments rank first
    assert rows == [(s2, 3, 6, 50.0), (s1, 2, 6, 83.3)]
    assert [r["name"] for r in board] == ["manager", "staff"]
    # At L1: S1 enrolled 2 and recorded 6 (5 by members); S2 one anonymous purchase
    assert [(r["staff_id"], r["enrolments"], r["enrolment_rate"]) for r in at_store_1] == [
        (s1, 2, 83.3),
        (s2, 0, 0.0),
    ]
    # Feb 2-8: S1 enrolled Ana and Bea and recorded 5, 4 by members (80%); S2 enrolled Carl and
    # recorded 3, 1 by a member
    assert [(r["staff_id"], r["enrolments"], r["enrolment_rate"]) for r in february_only] == [
        (s1, 2, 80.0),
        (s2, 1, 33.3),
    ]


def test_the_dashboard_gathers_every_figure(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        board = kpis.dashboard(conn, story.scope(FEB_2, MAR_2), story.clock.now())
    assert set(board) == {
        "enrolment_rate",
        "members",
        "members_vs_others",
        "points",
        "cashback",
        "first_reward",
        "retention",
    }
    assert board["enrolment_rate"].value == 66.7
    assert board["cashback"].unit == "money"
    assert board["cashback"].extra["issued"] == 0
