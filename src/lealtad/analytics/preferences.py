"""What a business sets for its analytics: the enrolment-rate goal and who receives which
scheduled report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from lealtad.analytics.tables import analytics_settings
from lealtad.db.inserts import insert_if_new

DEFAULT_ENROLMENT_GOAL = 60
REPORT_FREQUENCIES = ("daily", "weekly", "monthly")


@dataclass
class Preferences:
    enrolment_goal: int = DEFAULT_ENROLMENT_GOAL
    # frequency -> e-mail addresses
    reports: dict[str, list[str]] = field(default_factory=dict)
    # frequency -> ISO date of the last period start reported
    reports_sent: dict[str, str] = field(default_factory=dict)


def get(conn: Connection, business_id: int) -> Preferences:
    row = conn.execute(
        select(analytics_settings).where(analytics_settings.c.business_id == business_id)
    ).first()
    if row is None:
        return Preferences()
    return Preferences(row.enrolment_goal, dict(row.reports), dict(row.reports_sent))


def save(conn: Connection, business_id: int, prefs: Preferences) -> None:
    values: dict[str, Any] = {
        "enrolment_goal": prefs.enrolment_goal,
        "reports": prefs.reports,
        "reports_sent": prefs.reports_sent,
    }
    if not insert_if_new(conn, analytics_settings, business_id=business_id, **values):
        conn.execute(
            analytics_settings.update()
            .where(analytics_settings.c.business_id == business_id)
            .values(**values)
        )
