"""Tier use cases: check after each transaction, the periodic review, a manager's floor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.errors import Invalid, LealtadError
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.rules import service as rules
from lealtad.rules import store as rule_store
from lealtad.rules.definition import TierPolicy
from lealtad.rules.facts import Facts
from lealtad.tiers import model, replay, store
from lealtad.tiers.replay import PolicyAt


def metric(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy,
    now: datetime,
    tz: ZoneInfo,
) -> Decimal:
    return _measure(conn, business_id, member_id, policy, now, tz)[0]


def _measure(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy,
    now: datetime,
    tz: ZoneInfo,
    *,
    ask_later: bool = False,
) -> tuple[Decimal, bool]:
    since = naive_utc(model.window_start(policy, now, tz))
    return store.measure(
        conn,
        business_id,
        member_id,
        policy.metric,
        policy.custom_event,
        since,
        naive_utc(now),
        ask_later=ask_later,
    )


def current(conn: Connection, business_id: int, member_id: int) -> str | None:
    row = store.status(conn, business_id, member_id)
    return row.tier_id if row else None


def current_of(conn: Connection, business_id: int, member_ids: list[int]) -> dict[int, str | None]:
    """`current` for several members at once (a page of a list)."""
    found = store.tiers_of(conn, business_id, member_ids)
    return {m: found.get(m) for m in member_ids}


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
    *,
    policy_at: PolicyAt | None = None,
    opening: bool = False,
) -> tuple[str | None, str | None] | None:
    """Re-qualifies the member; returns (old tier, new tier) when it changed. The check after a
    dated transaction passes `policy_at`: if the member has a transaction dated after `now`,
    this one arrived out of date order, and the tier is replayed in date order instead (D75).
    `opening`: the enrolment's check, whose result is where the member starts."""
    if policy is None:
        return None
    row = store.status(conn, business_id, member_id)
    value, late = _measure(
        conn, business_id, member_id, policy, now, tz, ask_later=policy_at is not None
    )
    if late:
        assert policy_at is not None
        return replay_member(conn, business_id, member_id, policy, policy_at, tz, now, row=row)
    moved, values = _step(policy, row, value, now, tz, opening=opening)
    if values:
        store.save(conn, business_id, member_id, **values)
    if moved is None:
        return None
    announce(conn, business_id, member_id, moved, now)
    return moved.before, moved.after


@dataclass(frozen=True)
class Moved:
    """A check's change of tier, with the metric that made it."""

    before: str | None
    after: str | None
    metric: Decimal


def _step(
    policy: TierPolicy, row: Any, value: Decimal, now: datetime, tz: ZoneInfo, *, opening: bool
) -> tuple[Moved | None, dict[str, object]]:
    """The check's decision from the stored status and the metric: the move (None when the tier
    stays) and the status columns to write (none when nothing changes)."""
    before = _status(row)
    taken = model.step(policy, before, row.floor_tier_id if row else None, value, now, tz)
    values: dict[str, object] = {}
    if taken.changed:
        values |= {"tier_id": taken.status.tier_id, "since": naive_utc(now)}
    if taken.touched:
        until = taken.status.held_until
        values["held_until"] = naive_utc(until) if until else None
    if opening and taken.touched:
        # Written with the status in the same statement: the enrolment's entry tier.
        values |= _opening(taken.status)
    moved = Moved(before.tier_id, taken.status.tier_id, value) if taken.changed else None
    return moved, values


def announce(
    conn: Connection, business_id: int, member_id: int, moved: Moved, now: datetime
) -> None:
    emit(
        conn,
        business_id,
        "tier.changed",
        {
            "member_id": member_id,
            "from": moved.before,
            "to": moved.after,
            "metric": str(moved.metric),
        },
        now,
    )


# One member's check in a batch: (member id, policy, the transaction's time, the zone).
Ask = tuple[int, TierPolicy, datetime, ZoneInfo]
# Metrics a batch measures in one statement; the others are checked one by one.
_MEASURED_TOGETHER = ("spend", "visits")


def check_many(conn: Connection, business_id: int, asks: list[Ask]) -> dict[int, Moved | None]:
    """`check` for the distinct members of a written batch of purchases, in a few statements
    for all (their statuses, each metric kind's measure, the saves) instead of three per member:
    the move of each member checked, which the caller announces (`announce`) where the one by
    one check would have, in its order. Members left out are checked one by one: a metric
    measured alone, or a transaction dated after this one (a replay in date order, D75)."""
    asks = [ask for ask in asks if ask[1].metric in _MEASURED_TOGETHER]
    if len(asks) < 2:
        return {}  # one member costs the same either way
    rows = store.statuses(conn, business_id, [m for m, *_ in asks])
    measured: dict[int, tuple[Decimal, bool]] = {}
    for kind in {policy.metric for _, policy, _, _ in asks}:
        windows = [
            (m, naive_utc(model.window_start(policy, now, tz)), naive_utc(now))
            for m, policy, now, tz in asks
            if policy.metric == kind
        ]
        measured |= store.measure_many(conn, business_id, kind, windows)
    found: dict[int, Moved | None] = {}
    saves: list[tuple[int, dict[str, Any], bool]] = []
    for m, policy, now, tz in asks:
        value, late = measured[m]
        if late:
            continue
        found[m], values = _step(policy, rows.get(m), value, now, tz, opening=False)
        if values:
            saves.append((m, values, m in rows))
    store.save_many(conn, business_id, saves)
    return found


def _status(row: Any) -> model.Status:
    if row is None:
        return model.NO_TIER
    return model.Status(
        row.tier_id,
        as_utc(row.since) if row.since else None,
        as_utc(row.held_until) if row.held_until else None,
    )


def _opening(status: model.Status) -> dict[str, object]:
    return {
        "opening_tier_id": status.tier_id,
        "opening_since": naive_utc(status.since) if status.since else None,
        "opening_held_until": naive_utc(status.held_until) if status.held_until else None,
    }


def replay_member(
    conn: Connection,
    business_id: int,
    member_id: int,
    policy: TierPolicy,
    policy_at: PolicyAt,
    tz: ZoneInfo,
    now: datetime,
    *,
    row: Any = None,
) -> tuple[str | None, str | None] | None:
    """The member's tier re-derived from their opening status by checking at each dated
    transaction in date order, and stored. Emits one `tier.changed` (marked `replayed`) when
    the tier differs from the stored one; the changes that date order would have made earlier
    are not announced now, and what was announced stays (D75)."""
    row = row if row is not None else store.status(conn, business_id, member_id)
    stored = _status(row)
    opening = model.NO_TIER
    if row is not None:
        opening = model.Status(
            row.opening_tier_id,
            as_utc(row.opening_since) if row.opening_since else None,
            as_utc(row.opening_held_until) if row.opening_held_until else None,
        )
    event = policy.custom_event if policy.metric == "custom" else None
    found = replay.History.of(
        *store.history(
            conn,
            business_id,
            member_id,
            points=policy.metric == "points_earned",
            event=event,
        )
    )
    floor = row.floor_tier_id if row is not None else None
    after, changes = replay.replay(opening, floor, found, policy_at, tz)
    if after == stored:
        return None
    store.save(
        conn,
        business_id,
        member_id,
        tier_id=after.tier_id,
        since=naive_utc(after.since) if after.since else None,
        held_until=naive_utc(after.held_until) if after.held_until else None,
    )
    if after.tier_id == stored.tier_id:
        return None
    emit(
        conn,
        business_id,
        "tier.changed",
        {
            "member_id": member_id,
            "from": stored.tier_id,
            "to": after.tier_id,
            "metric": str(changes[-1].metric) if changes else "0",
            "replayed": True,
        },
        now,
    )
    return stored.tier_id, after.tier_id


def policies(conn: Connection, business_id: int) -> PolicyAt:
    """The tier policy of the program version in force at an instant (None before the first
    version): read once per version, for a replay over the member's whole history."""
    dates = rule_store.version_dates(conn, business_id)
    read: dict[int, TierPolicy | None] = {}

    def at(when: datetime) -> TierPolicy | None:
        try:
            row = rules.version_at(dates, when)
        except LealtadError:
            return None
        if row.version not in read:
            read[row.version] = rules.get_version(conn, business_id, row.version).definition.tiers
        return read[row.version]

    return at


def rebuild(conn: Connection, business_id: int, tz: ZoneInfo, now: datetime) -> int:
    """Every member's tier replayed in date order (`lealtad analytics rebuild`); returns how
    many changed. A business whose program has never had tiers is left as it is."""
    policy_at = policies(conn, business_id)
    versions = rule_store.version_dates(conn, business_id)
    with_tiers = [p for p in (policy_at(v.effective_from) for v in versions) if p is not None]
    if not with_tiers:
        return 0
    changed = 0
    for member_id in store.members_with_history(conn, business_id):
        if replay_member(conn, business_id, member_id, with_tiers[0], policy_at, tz, now):
            changed += 1
    return changed


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
