"""A member's tier re-derived in date order, free of storage (D75): the checks that recording the
member's history in date order would have made, one at each dated transaction that re-checks a
tier, each measuring the metric as it stood then, starting from where the member started (the
opening status). Run when a transaction arrives dated before one already recorded, and by the
rebuild. The metrics are those of `store.measure`, computed from the same rows: a sale counts
in a window by its date, and a refund takes its share back from its own date on."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from lealtad.kit.clock import as_utc
from lealtad.rules.definition import TierPolicy
from lealtad.tiers import model
from lealtad.tiers.model import Status

# The policy in force at an instant, None before the first version (nothing was recorded then).
PolicyAt = Callable[[datetime], TierPolicy | None]


@dataclass(frozen=True)
class Change:
    at: datetime
    before: str | None
    after: str | None
    metric: Decimal


@dataclass(frozen=True)
class History:
    """The member's dated transactions (aware UTC), each kind in date order, with running
    totals: a check's window is then two bisections, not a pass over the history."""

    sale_times: list[datetime]
    spent: list[int]  # running total of the sales' amounts, one more than the sales
    bought: list[int]  # running count of the sales with a positive amount
    # Only the sales something was refunded from: (when sold, amount, [(when, refunded)]).
    refunded: list[tuple[datetime, int, list[tuple[datetime, int]]]]
    refund_times: list[datetime]
    point_times: list[datetime]
    points: list[Decimal]  # running total: awarded (+) and taken back by refunds (-)
    event_times: list[datetime]
    counted: list[Decimal]  # running total of the counted event's values

    @classmethod
    def of(
        cls,
        sales: Iterable[Any],
        refunds: Iterable[Any],
        points: Iterable[Any],
        events: Iterable[Any],
    ) -> History:
        """From `store.history`'s rows (naive UTC times)."""
        ordered = sorted((as_utc(at), int(pid), int(amount)) for pid, at, amount in sales)
        returned: defaultdict[int, list[tuple[datetime, int]]] = defaultdict(list)
        for pid, at, amount in refunds:
            returned[int(pid)].append((as_utc(at), int(amount)))
        dated_points = sorted((as_utc(at), Decimal(v)) for at, v in points)
        dated_events = sorted((as_utc(at), Decimal(v)) for at, v in events)
        return cls(
            [at for at, _, _ in ordered],
            list(accumulate((amount for _, _, amount in ordered), initial=0)),
            list(accumulate((int(amount > 0) for _, _, amount in ordered), initial=0)),
            [(at, amount, returned[pid]) for at, pid, amount in ordered if pid in returned],
            sorted(at for found in returned.values() for at, _ in found),
            [at for at, _ in dated_points],
            list(accumulate((v for _, v in dated_points), initial=Decimal(0))),
            [at for at, _ in dated_events],
            list(accumulate((v for _, v in dated_events), initial=Decimal(0))),
        )


def _within(times: list[datetime], since: datetime, until: datetime) -> tuple[int, int]:
    return bisect_left(times, since), bisect_right(times, until)


def metric(policy: TierPolicy, history: History, now: datetime, tz: ZoneInfo) -> Decimal:
    """The policy's metric over its window ending at `now`, as recorded in date order up to then."""
    since = model.window_start(policy, now, tz)
    if policy.metric in ("spend", "visits"):
        first, last = _within(history.sale_times, since, now)
        spend = history.spent[last] - history.spent[first]
        visits = history.bought[last] - history.bought[first]
        for sold, amount, back in history.refunded:
            if not since <= sold <= now:
                continue
            taken = sum(refunded for at, refunded in back if at <= now)
            spend -= taken
            if amount > 0 and taken >= amount:
                visits -= 1  # fully refunded by then: no longer a visit
        return Decimal(spend if policy.metric == "spend" else visits)
    if policy.metric == "points_earned":
        first, last = _within(history.point_times, since, now)
        return history.points[last] - history.points[first]
    first, last = _within(history.event_times, since, now)
    return history.counted[last] - history.counted[first]


def instants(history: History, policy_at: PolicyAt) -> list[datetime]:
    """When a tier was checked: at every sale and refund, at every award of points under a
    policy that counts them, at every counted event under a policy that counts it. Two checks
    at one instant measure the same and end the same, so each instant is checked once."""
    found = set(history.sale_times) | set(history.refund_times)
    for times, kind in ((history.point_times, "points_earned"), (history.event_times, "custom")):
        for at in times:
            policy = policy_at(at)
            if policy is not None and policy.metric == kind:
                found.add(at)
    return sorted(found)


def replay(
    opening: Status,
    floor: str | None,
    history: History,
    policy_at: PolicyAt,
    tz: ZoneInfo,
) -> tuple[Status, list[Change]]:
    """The status after every check in date order, and the changes on the way."""
    status, changes = opening, []
    for at in instants(history, policy_at):
        policy = policy_at(at)
        if policy is None:
            continue
        value = metric(policy, history, at, tz)
        taken = model.step(policy, status, floor, value, at, tz)
        if taken.changed:
            changes.append(Change(at, status.tier_id, taken.status.tier_id, value))
        status = taken.status
    return status, changes
