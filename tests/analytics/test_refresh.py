"""The nightly refresh on small stories told through the real services: RFM scores, segments and
the Pareto share worked out by hand, segments that rules and reward visibility act on, and the
value models fed with each member's local days.

Every event happens at 10:30 UTC (11:30 in Madrid), so day n of a story is one local day."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from lealtad.analytics import clv, clv_spend, refresh
from lealtad.analytics.segments import RFM_SEGMENTS
from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import Conditions, EarnRule, FixedPoints, PointsPerUnit
from tests.support import Shop, make_shop

# 1 point per euro, and 50 more on every purchase by a champion.
PROGRAM = ProgramDefinition(
    rules=[
        EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1))),
        EarnRule(
            id="champions",
            name="Champions' bonus",
            conditions=Conditions(segments=["champions"]),
            action=FixedPoints(points=50),
        ),
    ]
)
_receipts = itertools.count(1)


@dataclass
class Story:
    db: Database
    clock: FixedClock
    shop: Shop
    start: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock.at

    def day(self, n: int) -> None:
        self.clock.at = self.start + timedelta(days=n)

    def buy(self, member: int, amount: int) -> dict[str, Any]:
        receipt = f"R{next(_receipts)}"
        body = PurchaseIn(receipt_id=receipt, amount=amount, currency="EUR", member_id=member)
        with self.db.transaction() as conn:
            _, answer = purchases.record(
                conn, self.shop.principal(), body, secret_key="s", now=self.clock.now()
            )
        return answer | {"receipt_id": receipt}

    def refund(self, receipt: str, amount: int) -> None:
        body = RefundIn(refund_id=f"F{next(_receipts)}", receipt_id=receipt, amount=amount)
        with self.db.transaction() as conn:
            refunds.refund(conn, self.shop.principal(), body, now=self.clock.now())

    def refresh(self) -> refresh.RefreshResult:
        with self.db.transaction() as conn:
            return refresh.refresh(conn, self.shop.id, self.clock.now())

    def rows(self) -> dict[int, tuple[Any, ...]]:
        c = member_stats.c
        with self.db.read() as conn:
            found = conn.execute(
                select(
                    c.member_id,
                    c.recency_score,
                    c.frequency_score,
                    c.monetary_score,
                    c.segment,
                    c.scored_at,
                ).where(c.business_id == self.shop.id)
            )
            return {r[0]: tuple(r[1:]) for r in found}


def five_members(db: Database, clock: FixedClock, program: ProgramDefinition = PROGRAM) -> Story:
    """Members A..E buy as below and F never does; the story ends on day 41.

    A: days 0, 10, 20, 30 (10 € each) and two of 5 € on day 40: 5 visit days, 50 €, last day 40.
    B: days 0, 10, 20, 30, 10 € each: 4 visits, 40 €, last day 30.
    C: day 39, 1 €.  D: days 0, 1, 2, 25 € each, 15 € refunded on day 2: 3 visits, 60 €.
    E: days 5 and 10, 1.50 € each: 2 visits, 3 €, last day 10.
    """
    shop = make_shop(db, clock.now(), program=program, members_count=6)
    story = Story(db, clock, shop)
    a, b, c, d, e, _ = shop.members
    plan: dict[int, list[tuple[int, int]]] = {
        0: [(a, 1000), (b, 1000), (d, 2500)],
        1: [(d, 2500)],
        2: [(d, 2500)],
        5: [(e, 150)],
        10: [(a, 1000), (b, 1000), (e, 150)],
        20: [(a, 1000), (b, 1000)],
        30: [(a, 1000), (b, 1000)],
        39: [(c, 100)],
        40: [(a, 500), (a, 500)],
    }
    for n, bought in plan.items():
        story.day(n)
        for member, amount in bought:
            answer = story.buy(member, amount)
        if n == 2:
            story.refund(answer["receipt_id"], 1500)
    story.day(41)
    return story


def test_every_member_who_bought_is_scored_and_named_and_the_others_are_not(
    db: Database, clock: FixedClock
) -> None:
    story = five_members(db, clock)
    a, b, c, d, e, f = story.shop.members
    result = story.refresh()
    at = naive_utc(clock.now())
    # Recency (days since the last visit, fewer is better): A 1, C 2, B 11, E 31, D 39 → A 5,
    # C 4, B 3, E 2, D 1. Visits: A 5, B 4, D 3, E 2, C 1. Spend: D 60, A 50, B 40, E 3, C 1 €.
    # FM rounds (F + M) / 2 half up: A (5 + 4) → 5, B (4 + 3) → 4, C 1, D (3 + 5) → 4, E 2.
    assert story.rows() == {
        a: (5, 5, 4, "champions", at),  # R5 FM5
        b: (3, 4, 3, "loyal", at),  # R3 FM4
        c: (4, 1, 1, "promising", at),  # R4 FM1
        d: (1, 3, 5, "cannot_lose", at),  # R1 FM4
        e: (2, 2, 2, "hibernating", at),  # R2 FM2
        f: (None, None, None, None, None),
    }
    assert (result.members_scored, result.members_unscored) == (5, 1)
    assert {k: v for k, v in result.segments.items() if v} == {
        "champions": 1,
        "loyal": 1,
        "promising": 1,
        "cannot_lose": 1,
        "hibernating": 1,
    }
    # Five customers are too few to fit the value models: no values, and the reason says why.
    assert not result.model_fitted
    assert result.model_reason is not None
    assert "20" in result.model_reason


def test_the_rfm_snapshot_holds_segments_revenue_the_pareto_share_and_the_grid(
    db: Database, clock: FixedClock
) -> None:
    story = five_members(db, clock)
    with db.read() as conn:
        assert refresh.snapshot(conn, story.shop.id, "rfm") is None
    story.refresh()
    with db.read() as conn:
        computed_at, payload = refresh.snapshot(conn, story.shop.id, "rfm") or (None, {})
        _, value = refresh.snapshot(conn, story.shop.id, "clv") or (None, {})
    assert computed_at == naive_utc(clock.now())
    assert (payload["members_scored"], payload["members_unscored"]) == (5, 1)
    by_segment = {s["segment"]: (s["members"], s["revenue"]) for s in payload["segments"]}
    assert list(by_segment) == list(RFM_SEGMENTS)
    assert {k: v for k, v in by_segment.items() if v != (0, 0)} == {
        "champions": (1, 5000),
        "loyal": (1, 4000),
        "promising": (1, 100),
        "cannot_lose": (1, 6000),
        "hibernating": (1, 300),
    }
    # Spends 1, 3, 40, 50, 60 € (154 €): the top fifth is D alone, 60 of 154. The Lorenz curve at
    # 80% of members is the four smallest, 94 of 154; at 50%, 1 + 3 + half of 40 = 24 of 154.
    pareto = payload["pareto"]
    assert pareto["top_share"] == pytest.approx(6000 / 15400)
    assert pareto["revenue"] == 15400
    curve = dict((p, s) for p, s in pareto["lorenz"])
    assert curve[0.8] == pytest.approx(9400 / 15400)
    assert curve[0.5] == pytest.approx(2400 / 15400)
    # grid[R - 1][F - 1]: A (5, 5), B (3, 4), C (4, 1), D (1, 3), E (2, 2).
    grid = payload["grid"]
    assert [grid[4][4], grid[2][3], grid[3][0], grid[0][2], grid[1][1]] == [1] * 5
    assert sum(map(sum, grid)) == 5
    assert payload["segment_map"]["5"]["5"] == "champions"
    assert value["fitted"] is False
    assert "20" in value["reason"]
    assert value["members"] == 0
    assert value["histogram"] is None


def test_refreshing_twice_changes_nothing(db: Database, clock: FixedClock) -> None:
    story = five_members(db, clock)
    first = story.refresh()
    rows = story.rows()
    with db.read() as conn:
        snapshots = [refresh.snapshot(conn, story.shop.id, k) for k in ("rfm", "clv")]
    second = story.refresh()
    assert story.rows() == rows
    with db.read() as conn:
        assert [refresh.snapshot(conn, story.shop.id, k) for k in ("rfm", "clv")] == snapshots
    assert (second.segments, second.members_scored) == (first.segments, first.members_scored)


def test_a_member_moving_into_and_out_of_champions_is_seen_by_rules_and_reward_visibility(
    db: Database, clock: FixedClock
) -> None:
    story = five_members(db, clock)
    a, b, c, d, e, _ = story.shop.members
    with db.transaction() as conn:
        rewards.create(
            conn,
            story.shop.id,
            RewardIn(
                slug="vip-cup",
                kind="physical_gift",
                title={"es": "Taza", "en": "Cup"},
                cost=1,
                visible_segments=["champions"],
            ),  # type: ignore[arg-type]
            clock.now(),
        )

    def bonus(member: int) -> bool:
        return "champions" in {award["rule_id"] for award in story.buy(member, 1000)["awards"]}

    def sees_the_cup(member: int) -> bool:
        with db.read() as conn:
            shown = rewards.for_member(conn, story.shop.id, member, clock.now())
        return "vip-cup" in {r.slug for r in shown}

    # Day 41: no segments yet. A's purchase makes A 6 visit days and 60 €, tied with D on spend
    # (M5 both, positions 3-4 of 5), which leaves A R5 F5 M5: a champion at the refresh.
    assert not bonus(a)
    assert not sees_the_cup(a)
    story.refresh()
    assert bonus(a)  # A: 70 €, still 6 visit days (the same day)
    assert sees_the_cup(a)
    assert not bonus(c)  # promising; C: 2 visit days, 11 €, last day 41
    assert not sees_the_cup(c)
    # Day 150: C and E come back (1 € and 1.50 €); day 199: B (10 €). On day 200:
    #   recency A 159, B 1, C 50, D 198, E 50 → D 1, A 2, C and E 4 (positions 2-3), B 5;
    #   visit days A 6, B 5, C 3, D 3, E 3 → C, D and E 2 (positions 0-2), B 4, A 5;
    #   spend A 70 €, B 50, C 12, D 60, E 4.50 → E 1, C 2, B 3, D 4, A 5.
    story.day(150)
    story.buy(c, 100)
    story.buy(e, 150)
    story.day(199)
    assert not bonus(b)  # B is still "loyal" until the refresh
    story.day(200)
    story.refresh()
    rows = story.rows()
    assert {m: rows[m][:4] for m in (a, b, c, d, e)} == {
        a: (2, 5, 5, "at_risk"),  # R2 FM5
        b: (5, 4, 3, "champions"),  # R5 FM (4 + 3) → 4
        c: (4, 2, 2, "potential_loyalists"),  # R4 FM2
        d: (1, 2, 4, "at_risk"),  # R1 FM (2 + 4) → 3
        e: (4, 2, 1, "potential_loyalists"),  # R4 FM (2 + 1) → 2
    }
    assert not bonus(a)
    assert not sees_the_cup(a)
    assert bonus(b)
    assert sees_the_cup(b)


def test_members_without_a_purchase_stay_unscored_however_often_the_refresh_runs(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=3)
    story = Story(db, clock, shop)
    for _ in range(2):
        result = story.refresh()
        assert (result.members_scored, result.members_unscored) == (0, 3)
        assert set(story.rows().values()) == {(None, None, None, None, None)}
    assert sum(result.segments.values()) == 0
    with db.read() as conn:
        _, payload = refresh.snapshot(conn, shop.id, "rfm") or (None, {})
    assert payload["pareto"]["top_share"] is None
    assert payload["members_scored"] == 0


# Thirty members (Gamma-Gamma needs 20 who came back): ten regulars every 10 to 12 days from
# their first day to day 95, twelve who come two or three times in the first month and stop, and
# eight who come once; each with their own level of spend.
def _value_plan() -> list[list[tuple[int, int]]]:
    plan = []
    for i in range(30):
        first = i % 8
        if i < 10:
            days = list(range(first, 96, 10 + i % 3))
        elif i < 22:
            days = [first, first + 6, first + 13][: 2 + i % 2]
        else:
            days = [first + 20]
        # Each member has their own level of spend (400 to 2200), varied by up to 30% a visit.
        level = 400 + 300 * ((i * 5) % 7)
        plan.append([(day, int(level * (1 + 0.06 * ((i * 7 + day) % 11 - 5)))) for day in days])
    return plan


def test_the_value_models_are_fitted_on_local_days_and_written_for_every_member(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=30)
    story = Story(db, clock, shop)
    plan = _value_plan()
    for n in range(100):
        buying = [
            (m, amount) for m, visits in enumerate(plan) for day, amount in visits if day == n
        ]
        if buying:
            story.day(n)
            for m, amount in buying:
                story.buy(shop.members[m], amount)
    story.day(100)
    result = story.refresh()
    # By hand, as the method defines them: x = visit days - 1, t_x = last - first day,
    # T = 100 - first day; Gamma-Gamma on the mean of the repeat visits only (the first visit
    # left out) of those who came back, and a one-time buyer valued at the population mean.
    x = np.array([len(v) - 1 for v in plan], dtype=float)
    t_x = np.array([v[-1][0] - v[0][0] for v in plan], dtype=float)
    T = np.array([100 - v[0][0] for v in plan], dtype=float)
    repeat_mean = np.array([sum(a for _, a in v[1:]) / max(len(v) - 1, 1) for v in plan])
    bg = clv.fit_bgnbd(x, t_x, T)
    gg = clv_spend.fit_gamma_gamma(x[x > 0], repeat_mean[x > 0])
    alive = clv.p_alive(bg, x, t_x, T)
    expected = clv.expected_purchases(bg, 365, x, t_x, T)
    value = np.rint(expected * clv_spend.expected_spend(gg, x, repeat_mean))
    assert x[x > 0].size == 22  # the eight one-time buyers are not in the spend model
    assert result.model_fitted
    assert result.model_reason is None
    c = member_stats.c
    with db.read() as conn:
        rows = {
            r.member_id: r
            for r in conn.execute(
                select(c.member_id, c.p_alive, c.expected_visits, c.predicted_value).where(
                    c.business_id == shop.id
                )
            )
        }
        _, payload = refresh.snapshot(conn, shop.id, "clv") or (None, {})
    for m, member in enumerate(shop.members):
        row = rows[member]
        assert row.p_alive == pytest.approx(alive[m], rel=1e-6)
        assert row.expected_visits == pytest.approx(expected[m], rel=1e-6)
        assert row.predicted_value == value[m]
    assert payload["fitted"] is True
    assert payload["bgnbd"] == pytest.approx(vars(bg), rel=1e-6)
    assert payload["gamma_gamma"] == pytest.approx(vars(gg), rel=1e-6)
    assert payload["fit"]["bgnbd"]["customers"] == 30
    assert payload["fit"]["gamma_gamma"]["customers"] == 22
    assert payload["fit"]["bgnbd"]["log_likelihood"] == pytest.approx(
        float(clv.bgnbd_log_likelihood(bg, x, t_x, T).sum()), rel=1e-9
    )
    assert payload["units"]["bgnbd"]["alpha"] == "days"
    assert payload["members"] == 30
    assert payload["total_predicted_value"] == int(value.sum())
    assert payload["quantiles"]["p50"] == round(float(np.quantile(value, 0.5)))
    assert sum(payload["histogram"]["counts"]) == 30
    assert len(payload["histogram"]["edges"]) == refresh.HISTOGRAM_BINS + 1


def test_on_postgresql_the_refresh_leaves_the_planner_fresh_statistics_of_the_scores(
    postgres_db: Database, clock: FixedClock
) -> None:
    # PostgreSQL only: SQLite keeps no planner statistics that a refresh could leave stale.
    db = postgres_db
    story = five_members(db, clock)
    story.refresh()
    with db.read() as conn:
        rows = conn.scalar(select(func.count()).select_from(member_stats))
        estimated = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'member_stats'"
        ).scalar()
    assert estimated == rows, "member_stats was not analysed at the end of the refresh"
