"""Challenges, streaks and badges: after every transaction, each active challenge of the business
measures the member's progress in its current period (in the business's zone); reaching the
target records the badge for that period and pays the bonus, at most once per period."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.events import store as events_store
from lealtad.kit import process_cache
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import service as ledger
from lealtad.ledger.model import POINTS, POINTS_ACCOUNT, Entry, MemberLeg, SystemLeg
from lealtad.purchases import store as purchases_store
from lealtad.rewards import gamification_store
from lealtad.rules.periods import Period, expiry_for, next_period_start, period_start
from lealtad.rules.service import in_force
from lealtad.tenancy import store as tenancy_store

METRICS = ("purchases", "visits", "spend", "streak_weeks")
EVENT_PREFIX = "event:"
# The same names the events API accepts, after "event:".
METRIC_PATTERN = r"^(purchases|visits|spend|streak_weeks|event:[a-z][a-z0-9_.-]{0,63})$"
PERIODS = ("week", "month", "year", "lifetime")
LIFETIME = "lifetime"
# A streak is looked for in this many weeks back first, then in longer spans while it lasts.
_STREAK_SPAN_WEEKS = 26
_STREAK_MAX_WEEKS = 52 * 200


def zone(conn: Connection, business_id: int) -> ZoneInfo:
    business = process_cache.part(
        conn, business_id, "business", lambda: tenancy_store.business(conn, business_id)
    )
    return ZoneInfo(business.timezone if business is not None else "UTC")


def active_challenges(conn: Connection, business_id: int) -> list[Any]:
    """From the cache of the business's pinned config version, if any (kit/process_cache.py):
    creating, changing or ending a challenge renews that version."""
    return process_cache.part(
        conn,
        business_id,
        "challenges",
        lambda: gamification_store.active_challenges(conn, business_id),
    )


def bounds(at: datetime, period: str, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The local period containing `at` as [start, end) in naive UTC; (None, None) for lifetime."""
    if period == LIFETIME:
        return None, None
    start = period_start(at, cast(Period, period), tz)
    assert start is not None
    return naive_utc(start), naive_utc(next_period_start(start, cast(Period, period)))


def period_key(at: datetime, period: str, tz: ZoneInfo) -> str:
    """ "2026-W10" (ISO week), "2026-03", "2026" or "lifetime", by the local calendar."""
    if period == LIFETIME:
        return LIFETIME
    start = period_start(at, cast(Period, period), tz)
    assert start is not None
    day = start.date()
    if period == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}"


def _local_day(value: datetime, tz: ZoneInfo) -> date:
    return as_utc(value).astimezone(tz).date()


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def streak_weeks(
    conn: Connection, business_id: int, member_id: int, at: datetime, tz: ZoneInfo
) -> int:
    """The run of consecutive local ISO weeks with at least one purchase that ends in the week of
    `at` or the week before (this week may still come)."""
    this_week = _monday(_local_day(at, tz))
    until = naive_utc(datetime.combine(this_week + timedelta(weeks=1), time.min, tzinfo=tz))
    span = _STREAK_SPAN_WEEKS
    while True:
        first = this_week - timedelta(weeks=span)
        since = naive_utc(datetime.combine(first, time.min, tzinfo=tz))
        times = purchases_store.counted_purchase_times(conn, business_id, member_id, (since, until))
        weeks = {_monday(_local_day(occurred_at, tz)) for occurred_at in times}
        week = this_week if this_week in weeks else this_week - timedelta(weeks=1)
        run = 0
        while week in weeks:
            run += 1
            week -= timedelta(weeks=1)
        # A gap inside the span ends the run; a run reaching the span's start may go on.
        if week >= first or span >= _STREAK_MAX_WEEKS:
            return run
        span *= 4


def progress(
    conn: Connection,
    business_id: int,
    member_id: int,
    metric: str,
    at: datetime,
    period: str,
    tz: ZoneInfo,
) -> Decimal:
    """The member's figure for `metric` in the period containing `at`."""
    if metric == "streak_weeks":
        return Decimal(streak_weeks(conn, business_id, member_id, at, tz))
    window = bounds(at, period, tz)
    if metric == "purchases":
        return Decimal(purchases_store.counted_purchases(conn, business_id, member_id, window))
    if metric == "spend":
        return Decimal(purchases_store.net_spend(conn, business_id, member_id, window))
    if metric == "visits":
        times = purchases_store.counted_purchase_times(conn, business_id, member_id, window)
        return Decimal(len({_local_day(occurred_at, tz) for occurred_at in times}))
    if metric.startswith(EVENT_PREFIX):
        name = metric[len(EVENT_PREFIX) :]
        return plain(events_store.event_total(conn, business_id, member_id, name, window))
    raise ValueError(f"unknown challenge metric {metric!r}")


def plain(value: Decimal) -> Decimal:
    """10.0000 as 10 and 1.5000 as 1.5, never 1E+1."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def earned(conn: Connection, business_id: int, member_id: int, challenge_id: int, key: str) -> bool:
    return gamification_store.badge_earned(conn, business_id, member_id, challenge_id, key)


def _claim(
    conn: Connection,
    business_id: int,
    member_id: int,
    challenge: Any,
    key: str,
    now: datetime,
) -> bool:
    """Records the badge; False when this period's badge was already there (a concurrent
    transaction of the same member got it first), so the bonus is never paid twice."""
    result = gamification_store.insert_badge_if_new(
        conn,
        business_id=business_id,
        member_id=member_id,
        badge=challenge.badge or challenge.slug,
        challenge_id=challenge.id,
        period_key=key,
        earned_at=naive_utc(now),
    )
    return result


def _pay_bonus(
    conn: Connection,
    business_id: int,
    member_id: int,
    challenge: Any,
    key: str,
    at: datetime,
    now: datetime,
    actor: str,
    tz: ZoneInfo,
) -> int:
    points = int(challenge.bonus_points)
    policy = in_force(conn, business_id, at).definition.points
    expires = expiry_for(at, policy.expiry, policy.expiry_days, tz, policy.expiry_months)
    title = challenge.title.get("en") or challenge.slug
    return ledger.post(
        conn,
        business_id,
        Entry(
            kind="earn",
            memo=f"challenge {challenge.slug} ({title}) completed, {key}",
            legs=(
                MemberLeg(member_id, POINTS_ACCOUNT, POINTS, points, expires_at=expires),
                SystemLeg("issued", POINTS, -points),
            ),
            occurred_at=at,
            member_id=member_id,
            actor=actor,
        ),
        now,
    )


def after_transaction(
    conn: Connection,
    business_id: int,
    member_id: int,
    at: datetime,
    now: datetime,
    actor: str,
) -> list[dict[str, Any]]:
    """Badges (and bonuses) this member earned with a transaction at `at`. Calling it again for
    the same period finds the badge recorded and pays nothing."""
    found = active_challenges(conn, business_id)
    if not found:
        return []
    tz = zone(conn, business_id)
    done: list[dict[str, Any]] = []
    streak: Decimal | None = None
    for challenge in found:
        key = period_key(at, challenge.period, tz)
        if earned(conn, business_id, member_id, challenge.id, key):
            continue
        if challenge.metric == "streak_weeks":
            if streak is None:
                streak = Decimal(streak_weeks(conn, business_id, member_id, at, tz))
            value = streak
        else:
            value = progress(
                conn, business_id, member_id, challenge.metric, at, challenge.period, tz
            )
        if value < challenge.target:
            continue
        if not _claim(conn, business_id, member_id, challenge, key, now):
            continue
        entry_id = None
        if challenge.bonus_points > 0:
            entry_id = _pay_bonus(conn, business_id, member_id, challenge, key, at, now, actor, tz)
        event = {
            "member_id": member_id,
            "challenge_id": challenge.id,
            "challenge": challenge.slug,
            "badge": challenge.badge or challenge.slug,
            "period_key": key,
            "bonus_points": int(challenge.bonus_points),
            "entry_id": entry_id,
        }
        emit(conn, business_id, "badge.earned", event, now)
        done.append(event)
    return done
