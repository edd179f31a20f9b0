"""The segments a member is in, as the rules engine, reward visibility and campaigns see them:
the RFM segment of the last refresh (e.g. "champions", "at_risk") and one "exp:<slug>:<arm>"
per running experiment, so a rule or a reward can target an experiment's arm with the segment
condition it already has (decisions D26)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from lealtad.analytics import uplift
from lealtad.analytics.tables import experiments, member_stats
from lealtad.kit.clock import naive_utc
from lealtad.members.tables import members

# The named RFM segments, best first; their labels in both languages live with the pages.
RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)


def experiment_segment(slug: str, arm: str) -> str:
    return f"exp:{slug}:{arm}"


def running_experiments(
    conn: Connection, business_id: int, now: datetime
) -> list[tuple[str, list[tuple[str, int]]]]:
    at = naive_utc(now)
    rows = conn.execute(
        select(experiments.c.slug, experiments.c.arms).where(
            experiments.c.business_id == business_id,
            experiments.c.status == "running",
            experiments.c.starts_at <= at,
            or_(experiments.c.ends_at.is_(None), experiments.c.ends_at > at),
        )
    )
    return [(row.slug, [(str(a), int(w)) for a, w in row.arms]) for row in rows]


def any_experiment_running(conn: Connection, business_id: int) -> bool:
    """Whether any experiment is running (whatever its dates): the set-wise writers, which read
    segments once per batch, leave such a business's sales to the one-by-one path."""
    query = select(experiments.c.id).where(
        experiments.c.business_id == business_id, experiments.c.status == "running"
    )
    return conn.execute(query.limit(1)).first() is not None


def of_member(conn: Connection, business_id: int, member_id: int, now: datetime) -> frozenset[str]:
    found: set[str] = set()
    segment = conn.execute(
        select(member_stats.c.segment).where(
            member_stats.c.member_id == member_id, member_stats.c.business_id == business_id
        )
    ).scalar()
    if segment:
        found.add(segment)
    for slug, arms in running_experiments(conn, business_id, now):
        found.add(experiment_segment(slug, uplift.assign(slug, member_id, arms)))
    return frozenset(found)


def member_value(conn: Connection, business_id: int, member_id: int) -> Any:
    """The member's nightly figures (segment, visits, spend, predicted value), or None."""
    return conn.execute(
        select(member_stats).where(
            member_stats.c.member_id == member_id, member_stats.c.business_id == business_id
        )
    ).first()


def top_members(conn: Connection, business_id: int, limit: int) -> list[Any]:
    """The members of highest predicted value with their figures, for the customers page."""
    ms = member_stats.c
    return list(
        conn.execute(
            select(
                ms.member_id,
                members.c.card_number,
                members.c.name,
                ms.segment,
                ms.visit_days,
                ms.spend,
                ms.p_alive,
                ms.expected_visits,
                ms.predicted_value,
            )
            .join(members, members.c.id == ms.member_id)
            .where(ms.business_id == business_id, ms.predicted_value.is_not(None))
            .order_by(ms.predicted_value.desc(), ms.member_id)
            .limit(limit)
        )
    )
