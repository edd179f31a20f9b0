"""A member's tier re-derived in date order, free of storage (D74): the checks that recording the
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
    """The member's dated transactions, each list in date order (aware UTC)."""

    sale_times: list[datetime]
    sales: list[tuple[int, int]]  # (purchase id, amount), in the order of sale_times
    refunds: dict[int, list[tuple[datetime, int]]]  # purchase id: (when, amount)
    refund_times: list[datetime]
    points: list[tuple[datetime, Decimal]]  # points awarded (+) and taken back by refunds (-)
    events: list[tuple[datetime, Decimal]]  # the counted event's values

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
        return cls(
            [at for at, _, _ in ordered],
            [(pid, amount) for _, pid, amount in ordered],
            dict(returned),
            sorted(at for found in returned.values() for at, _ in found),
            sorted((as_utc(at), Decimal(v)) for at, v in points),
            sorted((as_utc(at), Decimal(v)) for at, v in events),
        )

    def refunded(self, purchase_id: int, now: datetime) -> int:
        return sum(amount for at, amount in self.refunds.get(purchase_id, ()) if at <= now)


def metric(policy: TierPolicy, history: History, now: datetime, tz: ZoneInfo) -> Decimal:
    """The policy's metric over its window ending at `now`, as recorded in date order up to then."""
    since = model.window_start(policy, now, tz)
    if policy.metric in ("spend", "visits"):
        first = bisect_left(history.sale_times, since)
        last = bisect_right(history.sale_times, now)
        total = 0
        for pid, amount in history.sales[first:last]:
            left = amount - history.refunded(pid, now)
            if policy.metric == "spend":
                total += left
            elif amount > 0 and left > 0:
                total += 1
        return Decimal(total)
    dated = history.points if policy.metric == "points_earned" else history.events
    return sum((v for at, v in dated if since <= at <= now), Decimal(0))


def instants(history: History, policy_at: PolicyAt) -> list[datetime]:
    """When a tier was checked: at every sale and refund, at every award of points under a
    policy that counts them, at every counted event under a policy that counts it. Two checks
    at one instant measure the same and end the same, so each instant is checked once."""
    found = set(history.sale_times) | set(history.refund_times)
    for dated, kind in ((history.points, "points_earned"), (history.events, "custom")):
        for at, _ in dated:
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
