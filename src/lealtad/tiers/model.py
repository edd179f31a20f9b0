"""Tier policy, free of storage: which tier a metric qualifies for, how long a tier holds, and
the progress to the next one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from lealtad.rules.definition import Tier, TierPolicy
from lealtad.rules.periods import next_period_start, period_start


def rank(policy: TierPolicy, tier_id: str | None) -> int:
    """-1 for no tier, else the tier's position, lowest first."""
    for i, tier in enumerate(policy.levels):
        if tier.id == tier_id:
            return i
    return -1


def qualified(policy: TierPolicy, metric: Decimal) -> Tier | None:
    best = None
    for tier in policy.levels:
        if metric >= tier.threshold:
            best = tier
    return best


def window_start(policy: TierPolicy, now: datetime, tz: ZoneInfo) -> datetime:
    if policy.window.kind == "rolling":
        return now - timedelta(days=policy.window.days)
    start = period_start(now, policy.window.period, tz)
    assert start is not None
    return start


def held_until(policy: TierPolicy, qualified_at: datetime, tz: ZoneInfo) -> datetime:
    """A tier earned now holds for a whole window (a calendar tier through the next period),
    plus the grace days, before a review may lower it."""
    grace = timedelta(days=policy.grace_days)
    if policy.window.kind == "rolling":
        return qualified_at + timedelta(days=policy.window.days) + grace
    start = period_start(qualified_at, policy.window.period, tz)
    assert start is not None
    after_next = next_period_start(
        next_period_start(start, policy.window.period), policy.window.period
    )
    return after_next + grace


@dataclass(frozen=True)
class Decision:
    tier_id: str | None
    changed: bool
    extend: bool


def decide(
    policy: TierPolicy,
    current: str | None,
    floor: str | None,
    metric: Decimal,
    held: datetime | None,
    now: datetime,
) -> Decision:
    """Upgrade at once; keep (and extend) while qualifying; lower only once the tier's hold has
    run out, never below a manager's floor."""
    earned = qualified(policy, metric)
    target = earned.id if earned else None
    if rank(policy, floor) > rank(policy, target):
        target = floor
    if rank(policy, target) > rank(policy, current):
        return Decision(target, True, True)
    if rank(policy, target) == rank(policy, current):
        return Decision(current, False, earned is not None and earned.id == current)
    if held is not None and held > now:
        return Decision(current, False, False)
    return Decision(target, True, True)


@dataclass(frozen=True)
class Status:
    """A member's tier, since when, and until when it holds (aware UTC)."""

    tier_id: str | None
    since: datetime | None
    held_until: datetime | None


NO_TIER = Status(None, None, None)


@dataclass(frozen=True)
class Step:
    status: Status
    changed: bool
    # Whether the hold (and, on a change, the tier and since) is written.
    touched: bool


def step(
    policy: TierPolicy,
    status: Status,
    floor: str | None,
    metric: Decimal,
    now: datetime,
    tz: ZoneInfo,
) -> Step:
    """One tier check: `decide`, then the tier's since and hold as a check stores them. The
    check after a transaction and the replay in date order (D75) both take this step."""
    decision = decide(policy, status.tier_id, floor, metric, status.held_until, now)
    since = now if decision.changed else status.since
    held = status.held_until
    touched = decision.extend or decision.changed
    if touched:
        until = held_until(policy, now, tz) if decision.tier_id else None
        if held is not None and until is not None and not decision.changed:
            until = max(until, held)
        held = until
    return Step(Status(decision.tier_id, since, held), decision.changed, touched)


@dataclass(frozen=True)
class Progress:
    tier_id: str | None
    tier_name: str | None
    metric: Decimal
    next_tier_id: str | None
    next_tier_name: str | None
    next_threshold: Decimal | None
    remaining: Decimal | None


def progress(policy: TierPolicy, current: str | None, metric: Decimal) -> Progress:
    here = rank(policy, current)
    tier = policy.levels[here] if here >= 0 else None
    nxt = policy.levels[here + 1] if here + 1 < len(policy.levels) else None
    return Progress(
        tier.id if tier else None,
        tier.name if tier else None,
        metric,
        nxt.id if nxt else None,
        nxt.name if nxt else None,
        nxt.threshold if nxt else None,
        max(Decimal(0), nxt.threshold - metric) if nxt else None,
    )
