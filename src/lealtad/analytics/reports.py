"""Summaries of a period for the people who run a business: the dashboard's headline figures
for the previous complete day, ISO week or calendar month (in the business's time zone) set
against the period before, sent by e-mail to the addresses chosen for each frequency.

Reports are business mail to staff, not marketing to members: member consent and message caps
do not apply; they leave through the same SMTP server as every other e-mail."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from lealtad.analytics import kpis, preferences, rankings, report_text
from lealtad.analytics.fold import month_start, week_start
from lealtad.analytics.periods import Scope
from lealtad.analytics.tables import analytics_settings, member_stats
from lealtad.comms import email
from lealtad.config import Settings
from lealtad.errors import Conflict, LealtadError, NotFound
from lealtad.purchases.tables import purchases
from lealtad.tenancy import store as tenancy_store

log = logging.getLogger("lealtad.reports")

Period = Literal["day", "week", "month", "custom"]
PERIOD_OF: dict[str, Period] = {"daily": "day", "weekly": "week", "monthly": "month"}
ACTIVE_DAYS = 30
TOP = 3
# Units of each figure, in the order a summary shows them.
FIGURES: dict[str, str] = {
    "enrolment_rate": "percent",
    "purchases": "count",
    "revenue": "money",
    "member_share": "percent",
    "new_members": "count",
    "active_30": "count",
    "points_issued": "points",
    "points_redeemed": "points",
    "points_expired": "points",
    "liability": "money",
}


def latest_complete(period: Period, today: date) -> tuple[date, date]:
    """The last day, Monday-to-Sunday week or calendar month that ended before `today`."""
    if period == "day":
        return today - timedelta(days=1), today - timedelta(days=1)
    if period == "week":
        monday = week_start(today)
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if period == "month":
        last = month_start(today) - timedelta(days=1)
        return month_start(last), last
    raise ValueError(f"no latest complete {period}")


def previous(period: Period, start: date, end: date) -> tuple[date, date]:
    """The period a summary is compared with: the month before for a month, else as many days
    just before."""
    if period == "month":
        last = start - timedelta(days=1)
        return month_start(last), last
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


@dataclass(frozen=True)
class Figure:
    key: str
    unit: str
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 1)

    @property
    def relative(self) -> float | None:
        """The change in percent of the previous value; rates change in points instead."""
        if self.unit == "percent" or self.value is None or not self.previous:
            return None
        return round(100 * (self.value - self.previous) / abs(self.previous), 1)


@dataclass
class Summary:
    business_id: int
    business: str
    slug: str
    currency: str
    locale: str
    period: Period
    start: date
    end: date
    previous_start: date
    previous_end: date
    goal: int
    figures: dict[str, Figure]
    top_staff: list[dict[str, Any]]
    top_rewards: list[dict[str, Any]]
    location_id: int | None = None
    location: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Money in minor units of `currency`, rates in percent."""
        return {
            "business": {"id": self.business_id, "slug": self.slug, "name": self.business},
            "currency": self.currency,
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "previous_start": self.previous_start.isoformat(),
            "previous_end": self.previous_end.isoformat(),
            "location_id": self.location_id,
            "enrolment_goal": self.goal,
            "figures": {
                f.key: {
                    "unit": f.unit,
                    "value": _plain(f.value),
                    "previous": _plain(f.previous),
                    "change": _plain(f.change),
                    "change_percent": f.relative,
                }
                for f in self.figures.values()
            },
            "top_staff": self.top_staff,
            "top_rewards": self.top_rewards,
        }


def _plain(value: float | None) -> float | int | None:
    return int(value) if value is not None and float(value).is_integer() else value


def utc_start_of(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local day, as the naive UTC the database stores."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def active_members(
    conn: Connection, business_id: int, last_day: date, tz: ZoneInfo, location_id: int | None
) -> int:
    """Members who bought in the 30 local days up to `last_day`. Counted from the purchases:
    member_stats keeps only each member's latest purchase, which cannot tell who was active at
    an earlier date, and a summary compares two dates."""
    p = purchases.c
    since = utc_start_of(last_day - timedelta(days=ACTIVE_DAYS - 1), tz)
    until = utc_start_of(last_day + timedelta(days=1), tz)
    query = select(func.count(func.distinct(p.member_id))).where(
        p.business_id == business_id,
        p.member_id.is_not(None),
        p.occurred_at >= since,
        p.occurred_at < until,
    )
    if location_id is not None:
        # Like the dashboard: a location's members are the ones who enrolled there.
        query = query.join(member_stats, member_stats.c.member_id == p.member_id).where(
            member_stats.c.enrolled_location_id == location_id
        )
    return int(conn.execute(query).scalar_one())


def _liability(points: kpis.Kpi, cashback: kpis.Kpi) -> float | None:
    """Money owed to members at the period's end: points at the program's value per point plus
    cashback; unknown while members hold points and no value per point is set."""
    held, valued = points.extra["outstanding"], points.extra["liability"]
    if held and valued is None:
        return None
    return float((valued or 0) + (cashback.extra["liability"] or 0))


def figures(conn: Connection, scope: Scope, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    rate = kpis.enrolment_rate(conn, scope)
    shares = kpis.members_vs_others(conn, scope)
    points = kpis.points_flows(conn, scope, now)
    cashback = kpis.points_flows(conn, scope, now, unit="cashback")
    return {
        "enrolment_rate": rate.value,
        "purchases": float(rate.extra["purchases"]),
        "revenue": float(shares.extra["revenue"]),
        "member_share": shares.value,
        "new_members": kpis.members_activity(conn, scope, now).value,
        "active_30": float(
            active_members(conn, scope.business_id, scope.end, tz, scope.location_id)
        ),
        "points_issued": float(points.extra["issued"]),
        "points_redeemed": float(points.extra["redeemed"]),
        "points_expired": float(points.extra["expired"]),
        "liability": _liability(points, cashback),
    }


def business_or_404(conn: Connection, business_id: int) -> Any:
    business = tenancy_store.business(conn, business_id)
    if business is None:
        raise NotFound("no such business", code="business_not_found")
    return business


def build(
    conn: Connection,
    business_id: int,
    period: Period,
    start: date,
    end: date,
    now: datetime,
    *,
    location_id: int | None = None,
) -> Summary:
    business = business_or_404(conn, business_id)
    location = None
    if location_id is not None:
        location = tenancy_store.location(conn, business_id, location_id)
        if location is None:
            raise NotFound(f"no location {location_id} in this business", code="location_not_found")
    tz = ZoneInfo(business.timezone)
    before = previous(period, start, end)
    # Monthly buckets: only the period's totals are read, and a long custom period stays legal.
    scope = Scope(business_id, start, end, "month", location_id)
    prior = Scope(business_id, before[0], before[1], "month", location_id)
    now_figures, then_figures = figures(conn, scope, now, tz), figures(conn, prior, now, tz)
    staff = [
        {"staff_id": row["staff_id"], "name": row["name"], "enrolments": row["enrolments"]}
        for row in rankings.staff_leaderboard(conn, scope)
        if row["enrolments"] > 0
    ][:TOP]
    rewards = [
        {
            "reward_id": row["reward_id"],
            "slug": row["slug"],
            "title": row["title"],
            "redemptions": row["redemptions"],
        }
        for row in rankings.reward_popularity(conn, scope)
        if row["redemptions"] > 0
    ][:TOP]
    return Summary(
        business_id=business_id,
        business=business.name,
        slug=business.slug,
        currency=business.currency,
        locale=business.locale,
        period=period,
        start=start,
        end=end,
        previous_start=before[0],
        previous_end=before[1],
        goal=preferences.get(conn, business_id).enrolment_goal,
        figures={
            key: Figure(key, unit, now_figures[key], then_figures[key])
            for key, unit in FIGURES.items()
        },
        top_staff=staff,
        top_rewards=rewards,
        location_id=location_id,
        location=location.name if location is not None else None,
    )


def local_today(conn: Connection, business_id: int, now: datetime) -> date:
    return now.astimezone(ZoneInfo(business_or_404(conn, business_id).timezone)).date()


def latest(conn: Connection, business_id: int, period: Period, now: datetime) -> Summary:
    """The summary of the last complete day, week or month."""
    start, end = latest_complete(period, local_today(conn, business_id, now))
    return build(conn, business_id, period, start, end, now)


def due_reports(conn: Connection, business_id: int, now: datetime) -> list[tuple[str, date, date]]:
    """(frequency, first day, last day) of each summary to send now: the last complete period
    of each frequency that has recipients, unless that period was sent already."""
    prefs = preferences.get(conn, business_id)
    today = local_today(conn, business_id, now)
    due = []
    for frequency in preferences.REPORT_FREQUENCIES:
        if not prefs.reports.get(frequency):
            continue
        start, end = latest_complete(PERIOD_OF[frequency], today)
        sent = prefs.reports_sent.get(frequency)
        if sent is None or sent < start.isoformat():
            due.append((frequency, start, end))
    return due


def language_for(conn: Connection, business: Any, address: str) -> str:
    """The staff member's own language when the address is one of the business's staff,
    else the business's."""
    staff = tenancy_store.staff_by_email(conn, business.id, address.strip().lower())
    if staff is not None and staff.locale in report_text.LANGUAGES:
        return str(staff.locale)
    return business.locale if business.locale in report_text.LANGUAGES else "en"


def send_summary(
    conn: Connection, settings: Settings, summary: Summary, addresses: list[str]
) -> tuple[int, int]:
    """Sends the summary to each address in its reader's language; returns (sent, failed)."""
    business = business_or_404(conn, summary.business_id)
    sent = failed = 0
    for address in addresses:
        mail = report_text.email(summary, language_for(conn, business, address))
        try:
            email.send(settings, address, mail.subject, mail.text, mail.html, None)
        except (OSError, smtplib.SMTPException, email.Bounced) as exc:
            log.warning("%s report for business %s not sent: %s", summary.period, business.id, exc)
            failed += 1
        else:
            sent += 1
    return sent, failed


def _lock_settings(conn: Connection, business_id: int) -> None:
    # Two workers at once must not both send: the second waits here, then sees the period sent.
    conn.execute(
        select(analytics_settings.c.business_id)
        .where(analytics_settings.c.business_id == business_id)
        .with_for_update()
    )


def send_due(conn: Connection, business_id: int, now: datetime, settings: Settings) -> int:
    """Sends every due summary; returns the e-mails sent. A period counts as sent once any of
    its recipients got it (a retry would repeat it to the others); when all failed, or no
    SMTP server is set, it stays due for the next run."""
    if not settings.smtp_host or not due_reports(conn, business_id, now):
        return 0
    _lock_settings(conn, business_id)
    prefs = preferences.get(conn, business_id)
    total = 0
    for frequency, start, end in due_reports(conn, business_id, now):
        summary = build(conn, business_id, PERIOD_OF[frequency], start, end, now)
        sent, failed = send_summary(conn, settings, summary, prefs.reports[frequency])
        total += sent
        if sent or not failed:
            prefs.reports_sent[frequency] = start.isoformat()
    preferences.save(conn, business_id, prefs)
    return total


def send_test(
    conn: Connection, business_id: int, staff_id: int, now: datetime, settings: Settings
) -> str:
    """The latest daily summary to one staff member, now, whatever was sent before; returns the
    address it went to."""
    if not settings.smtp_host:
        raise Conflict("e-mail is not set up on this server", code="smtp_not_configured")
    staff = tenancy_store.staff(conn, business_id, staff_id)
    if staff is None:
        raise NotFound("no such staff member", code="staff_not_found")
    summary = latest(conn, business_id, "day", now)
    sent, _failed = send_summary(conn, settings, summary, [staff.email])
    if not sent:
        raise LealtadError(
            "the mail server did not take the e-mail; try again later",
            code="mail_not_sent",
            http_status=503,
        )
    return str(staff.email)


def refresh_due(conn: Connection, business_id: int, now: datetime) -> bool:
    """Whether the scores (segments, predicted value) were last computed before today, local."""
    from lealtad.analytics.refresh import snapshot  # numpy and scipy: only when needed

    found = snapshot(conn, business_id, "rfm")
    if found is None:
        return True
    tz = ZoneInfo(business_or_404(conn, business_id).timezone)
    return found[0].replace(tzinfo=UTC).astimezone(tz).date() < now.astimezone(tz).date()


def daily_jobs(conn: Connection, business_id: int, now: datetime, settings: Settings) -> int:
    """The analytics part of the daily jobs: the scores refreshed once a day, then the reports
    due; returns the e-mails sent. Each part has its own savepoint, so a failure is logged and
    undoes neither the other part nor the rest of the day's jobs."""
    try:
        with conn.begin_nested():
            if refresh_due(conn, business_id, now):
                from lealtad.analytics.refresh import refresh

                refresh(conn, business_id, now)
    except Exception:
        log.exception("analytics refresh failed for business %s", business_id)
    try:
        with conn.begin_nested():
            return send_due(conn, business_id, now, settings)
    except Exception:
        log.exception("analytics reports failed for business %s", business_id)
        return 0
