"""SQL of analytics' own settings and member figures that their modules read and write (the
experiments' is in experiments_store.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from lealtad.analytics.tables import analytics_settings, counters, member_stats
from lealtad.db.inserts import insert_if_new

# The model's scores of a member: what a refresh sets and a refresh as of a past date clears.
_SCORES = (
    "recency_score",
    "frequency_score",
    "monetary_score",
    "segment",
    "p_alive",
    "expected_visits",
    "predicted_value",
    "scored_at",
)


def settings(conn: Connection, business_id: int) -> Any:
    """The business's analytics settings row, or None while it has saved none."""
    return conn.execute(
        select(analytics_settings).where(analytics_settings.c.business_id == business_id)
    ).first()


def save_settings(conn: Connection, business_id: int, **values: Any) -> None:
    if not insert_if_new(conn, analytics_settings, business_id=business_id, **values):
        conn.execute(
            analytics_settings.update()
            .where(analytics_settings.c.business_id == business_id)
            .values(**values)
        )


def clear_scores_first_bought_after(conn: Connection, business_id: int, at: datetime) -> int:
    """Clears the scores of the members whose first purchase is after `at` (naive UTC); returns
    how many such members there are, scored or not."""
    ms = member_stats.c
    later = and_(
        ms.business_id == business_id,
        ms.first_purchase_at.is_not(None),
        ms.first_purchase_at > at,
    )
    conn.execute(
        update(member_stats).where(later, ms.scored_at.is_not(None)).values(dict.fromkeys(_SCORES))
    )
    return int(conn.execute(select(func.count()).where(later)).scalar_one())


def rollup_sizes(conn: Connection, business_id: int) -> tuple[int, int]:
    """How many counter rows and members with figures the business's rollups hold, as
    `lealtad analytics rebuild` reports them."""
    rows = select(func.count()).where(counters.c.business_id == business_id)
    figures = select(func.count()).where(member_stats.c.business_id == business_id)
    return int(conn.execute(rows).scalar_one()), int(conn.execute(figures).scalar_one())
