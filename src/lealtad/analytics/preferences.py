"""What a business sets for its analytics: the enrolment-rate goal and who receives which
scheduled report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from lealtad.analytics import store

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
    row = store.settings(conn, business_id)
    if row is None:
        return Preferences()
    return Preferences(row.enrolment_goal, dict(row.reports), dict(row.reports_sent))


def save(conn: Connection, business_id: int, prefs: Preferences) -> None:
    values: dict[str, Any] = {
        "enrolment_goal": prefs.enrolment_goal,
        "reports": prefs.reports,
        "reports_sent": prefs.reports_sent,
    }
    store.save_settings(conn, business_id, **values)
