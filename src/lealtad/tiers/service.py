"""Tier use cases: check after each transaction, the periodic review, a manager's floor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.errors import Invalid
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.rules.definition import TierPolicy
from lealtad.rules.facts import Facts
from lealtad.tiers import model, store


def metric(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy,
    now: datetime,
    tz: ZoneInfo,
) -> Decimal:
    since = naive_utc(model.window_start(policy, now, tz))
    until = naive_utc(now)
    if policy.metric == "spend":
        return store.spend(conn, business_id, member_id, since, until)
    if policy.metric == "visits":
        return store.visits(conn, business_id, member_id, since, until)
    if policy.metric == "points_earned":
        return store.points_earned(conn, business_id, member_id, since, until)
    assert policy.custom_event is not None
    return store.event_total(conn, business_id, member_id, policy.custom_event, since, until)


def current(conn: Connection, business_id: int, member_id: int) -> str | None:
    row = store.status(conn, business_id, member_id)
    return row.tier_id if row else None


def standing(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[str | None, Decimal]:
    """The tier a member is at now, and the metric it is measured by: the stored one, or the
    one the metric already qualifies for when that is higher. An upgrade is immediate (`decide`),
    so a member whose visits reach a tier is in it even before the next purchase stores it (a
    lowest tier from 0 holds every member; tiers added to a running program catch up so)."""
    held = current(conn, business_id, member_id)
    value = metric(conn, business_id, member_id, policy, now, tz)
    reached = model.qualified(policy, value)
    if reached is not None and model.rank(policy, reached.id) > model.rank(policy, held):
        return reached.id, value
    return held, value


def reached_with(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy | None,
    facts: Facts,
    held: str | None,
) -> str | None:
    """The tier a purchase not yet stored would take the member to (for a preview of a program
    whose crossing purchase earns at the new tier): the held tier, or a higher one that the
    metric reaches once the purchase counts. Moving down is left to the check after the sale."""
    if policy is None:
        return held
    value = metric(conn, business_id, member_id, policy, facts.occurred_at, facts.tz)
    if policy.metric == "spend":
        value += max(facts.amount, 0)
    elif policy.metric == "visits" and facts.amount > 0:
        value += 1
    reached = model.qualified(policy, value)
    if reached is not None and model.rank(policy, reached.id) > model.rank(policy, held):
        return reached.id
    return held


def check(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy | None,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[str | None, str | None] | None:
    """Re-qualifies the member; returns (old tier, new tier) when it changed."""
    if policy is None:
        return None
    row = store.status(conn, business_id, member_id)
    before = row.tier_id if row else None
    held = as_utc(row.held_until) if row and row.held_until else None
    value = metric(conn, business_id, member_id, policy, now, tz)
    decision = model.decide(policy, before, row.floor_tier_id if row else None, value, held, now)
    values: dict[str, object] = {}
    if decision.changed:
        values |= {"tier_id": decision.tier_id, "since": naive_utc(now)}
    if decision.extend or decision.changed:
        until = model.held_until(policy, now, tz) if decision.tier_id else None
        if held is not None and until is not None and not decision.changed:
            until = max(until, held)
        values["held_until"] = naive_utc(until) if until else None
    if values:
        store.save(conn, business_id, member_id, **values)
    if not decision.changed:
        return None
    emit(
        conn,
        business_id,
        "tier.changed",
        {"member_id": member_id, "from": before, "to": decision.tier_id, "metric": str(value)},
        now,
    )
    return before, decision.tier_id


def set_floor(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy | None,
    tier_id: str | None,
    actor: str,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[str | None, str | None] | None:
    if tier_id is not None and (policy is None or model.rank(policy, tier_id) < 0):
        raise Invalid(f"the program has no tier {tier_id!r}", code="unknown_tier")
    store.save(conn, business_id, member_id, floor_tier_id=tier_id, floor_set_by=actor)
    return check(conn, business_id, member_id, policy, now, tz)


def review(
    conn: Connection, business_id: int, policy: TierPolicy | None, now: datetime, tz: ZoneInfo
) -> int:
    """Re-checks every member whose tier hold has run out; returns how many changed."""
    if policy is None:
        return 0
    changed = 0
    for member_id in store.due_for_review(conn, business_id, naive_utc(now), limit=10_000):
        if check(conn, business_id, member_id, policy, now, tz):
            changed += 1
        else:
            # Still qualifying or nothing lower to fall to: hold again from now.
            store.save(
                conn,
                business_id,
                member_id,
                held_until=naive_utc(model.held_until(policy, now, tz)),
            )
    return changed
