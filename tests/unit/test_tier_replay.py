"""The tier replay's pure side (D75): a window's metric as recorded in date order up to each
instant, and the checks from the opening status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from lealtad.rules.definition import TierPolicy
from lealtad.tiers import replay
from lealtad.tiers.model import NO_TIER, Status

UTC_ZONE = ZoneInfo("UTC")
START = datetime(2025, 1, 1, tzinfo=UTC)


def policy(metric: str = "spend") -> TierPolicy:
    return TierPolicy.model_validate(
        {
            "metric": metric,
            "window": {"kind": "rolling", "days": 30},
            "grace_days": 0,
            "levels": [
                {"id": "base", "name": "Base", "threshold": "0"},
                {"id": "top", "name": "Top", "threshold": "100" if metric == "spend" else "2"},
            ],
        }
    )


def day(n: int) -> datetime:
    return (START + timedelta(days=n)).replace(tzinfo=None)  # stored times are naive UTC


HISTORY = replay.History.of(
    sales=[(1, day(0), 60), (2, day(5), 50), (3, day(40), 10)],
    refunds=[(2, day(10), 50)],  # the day-5 sale taken back whole on day 10
    points=[],
    events=[],
)


def test_a_refund_counts_from_its_own_date() -> None:
    at = START + timedelta(days=5)
    assert replay.metric(policy(), HISTORY, at, UTC_ZONE) == 110
    assert replay.metric(policy(), HISTORY, at + timedelta(days=5), UTC_ZONE) == 60
    assert replay.metric(policy("visits"), HISTORY, at, UTC_ZONE) == 2
    assert replay.metric(policy("visits"), HISTORY, at + timedelta(days=5), UTC_ZONE) == 1


def test_the_window_leaves_out_what_is_older_than_it() -> None:
    assert replay.metric(policy(), HISTORY, START + timedelta(days=40), UTC_ZONE) == 10


def test_checks_run_at_every_sale_and_refund_from_the_opening() -> None:
    def policy_at(_at: datetime) -> TierPolicy:
        return policy()

    status, changes = replay.replay(NO_TIER, None, HISTORY, policy_at, UTC_ZONE)
    assert [(c.at.day, c.after) for c in changes] == [(1, "base"), (6, "top"), (10, "base")]
    assert status.tier_id == "base"
    # From an opening tier held past the refund, the refund does not lower it yet.
    held = Status("top", START, START + timedelta(days=20))
    status, changes = replay.replay(held, None, HISTORY, policy_at, UTC_ZONE)
    assert [(c.at.day, c.after) for c in changes] == [(10, "base")]
    assert status.since == START + timedelta(days=40)


def test_nothing_is_checked_before_the_first_version() -> None:
    status, changes = replay.replay(NO_TIER, None, HISTORY, lambda _at: None, UTC_ZONE)
    assert (status, changes) == (NO_TIER, [])
    assert Decimal(0) == replay.metric(
        policy("points_earned"), HISTORY, START + timedelta(days=5), UTC_ZONE
    )
