"""The daily program job: birthdays and anniversaries (once a year each, by event id), the tier
review, and unlocking and expiring points. Idempotent: running it twice in a day changes nothing.

Run as of a past instant (`lealtad jobs run --as-of`), it does what changes the program's state
as it would have happened then (birthdays, anniversaries, tiers, voucher and point expiry, the
scores from the history up to then) and sends nothing: a reminder, campaign or report about a
past day would reach people today."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.analytics import reports
from lealtad.comms import campaigns, reminders
from lealtad.comms.outbox import HISTORIC
from lealtad.config import Settings
from lealtad.errors import LealtadError
from lealtad.events import service as events
from lealtad.events.schemas import EventIn
from lealtad.ledger.maturity import settle
from lealtad.members import days_store, pii
from lealtad.rewards import redemption
from lealtad.rules.service import Program, in_force
from lealtad.security.fields import keys_of
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from lealtad.tiers import service as tiers

log = logging.getLogger(__name__)


@dataclass
class DailyRun:
    birthdays: int = 0
    anniversaries: int = 0
    tier_changes: int = 0
    unlocked: int = 0
    expired: int = 0
    vouchers_expired: int = 0
    expiry_notices: int = 0
    campaign_messages: int = 0
    monthly_summaries: int = 0
    win_back: int = 0
    reports: int = 0
    # Set by the callers (worker.run_once, `lealtad jobs run`): connectors are above events.
    deliveries_pruned: int = 0


def run_daily(
    conn: Connection,
    business_id: int,
    now: datetime,
    secret_key: str,
    base_url: str = "",
    *,
    settings: Settings | None = None,
    as_of: bool = False,
) -> DailyRun:
    """`base_url` is where this server is reached from outside: campaign e-mails link to their
    survey with it (without it they carry only the link's signed token in their context).
    With `settings`, the scheduled analytics reports due are sent too."""
    if as_of:
        # Nothing of a past day goes out (greetings, webhooks), as for an import (D35); the
        # connection lives for this run's transaction only.
        conn.execution_options(**{HISTORIC: True})
    business = tenancy_store.business(conn, business_id)
    tz = ZoneInfo(business.timezone)
    today = now.astimezone(tz).date()
    # The same day's run always sends the same event, so a second run is a replay.
    midnight = datetime.combine(today, time.min, tzinfo=tz)
    done = DailyRun()
    system = Principal(business_id, Role.owner)
    # Birthdays are encrypted; their month-day's blind index finds today's without reading any.
    born_today = pii.birthday_index(keys_of(conn.dialect), business_id, today)
    # The day's greetings are events dated at midnight: they earn under the program in force
    # then. Before a business's first version (a business started today, or a run as of a day
    # before its history) there is none, and nothing to greet with (D65).
    greets = _in_force_or_none(conn, business_id, midnight) is not None
    for member_id in days_store.active_born_on(conn, business_id, born_today) if greets else ():
        _event(conn, system, member_id, "birthday", midnight, now, secret_key)
        done.birthdays += 1
    rows = days_store.active_enrolments(conn, business_id) if greets else []
    for member_id, enrolled_at in rows:
        joined = enrolled_at.date()
        if (joined.month, joined.day) == (today.month, today.day) and joined.year < today.year:
            _event(conn, system, member_id, "anniversary", midnight, now, secret_key)
            done.anniversaries += 1
    # No program (yet, or as of a day before the first version): no tiers to review.
    program = _in_force_or_none(conn, business_id, now)
    policy = program.definition.tiers if program is not None else None
    done.tier_changes = tiers.review(conn, business_id, policy, now, tz)
    done.vouchers_expired = redemption.expire_due(conn, business_id, now)
    if not as_of:
        done.expiry_notices = reminders.expiring(conn, business_id, now)
        done.win_back = reminders.win_back(conn, business_id, now)
        done.campaign_messages = campaigns.release_due(
            conn, business_id, now, secret_key=secret_key, base_url=base_url
        )
        done.monthly_summaries = reminders.monthly(conn, business_id, now, tz)
    while True:
        settled = settle(conn, business_id, now)
        done.unlocked += settled.unlocked_units
        done.expired += settled.expired_units
        if not (settled.unlocked_lots or settled.expired_lots):
            break
    if as_of:
        _refresh_as_of(conn, business_id, now)
    elif settings is not None:
        # Last, so that yesterday's figures include the points that expired until now.
        done.reports = reports.daily_jobs(conn, business_id, now, settings)
    return done


def _in_force_or_none(conn: Connection, business_id: int, at: datetime) -> Program | None:
    try:
        return in_force(conn, business_id, at)
    except LealtadError as exc:
        if exc.code in ("program_not_found", "before_first_program"):
            return None
        raise


def _refresh_as_of(conn: Connection, business_id: int, now: datetime) -> None:
    """The scores from the history up to `now`, in a savepoint as the daily refresh: a failure
    is logged and undoes nothing else of the run."""
    from lealtad.analytics.refresh import refresh

    try:
        with conn.begin_nested():
            refresh(conn, business_id, now, as_of=True)
    except Exception:
        log.exception("analytics refresh as of %s failed for business %s", now, business_id)


def _event(
    conn: Connection,
    system: Principal,
    member_id: int,
    name: str,
    day: datetime,
    now: datetime,
    secret: str,
) -> None:
    body = EventIn(
        event_id=f"{name}-{member_id}-{day.year}", name=name, member_id=member_id, occurred_at=day
    )
    events.record(conn, system, body, secret_key=secret, now=now)
