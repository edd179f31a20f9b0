"""A member's lifetime figures from the system the business moved from (member_previous_figures):
kept per import run, read as the latest run's, and never read by any figure Lealtad computes
(tiers, visits, dashboards and value models read dated purchases; D68)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from lealtad.kit.clock import naive_utc
from lealtad.members.tables import member_previous_figures as figures


@dataclass(frozen=True)
class PreviousFigures:
    """Totals of the previous system as of a day; a figure the file did not give is None."""

    as_of: date
    visits: int | None
    spend: int | None  # minor units of the business's currency
    points: int | None
    import_run_id: int


def _figures(row: Any) -> PreviousFigures:
    return PreviousFigures(
        as_of=row.as_of,
        visits=None if row.visits is None else int(row.visits),
        spend=None if row.spend is None else int(row.spend),
        points=None if row.points is None else int(row.points),
        import_run_id=int(row.import_run_id),
    )


def record(
    conn: Connection, business_id: int, member_id: int, found: PreviousFigures, now: datetime
) -> bool:
    """Keeps the run's figures for the member once; False when the run has them already (the
    same figures on another row of the file, checked equal before loading)."""
    c = figures.c
    there = conn.execute(
        select(c.id).where(
            c.business_id == business_id,
            c.import_run_id == found.import_run_id,
            c.member_id == member_id,
        )
    ).first()
    if there is not None:
        return False
    conn.execute(
        insert(figures).values(
            business_id=business_id,
            member_id=member_id,
            import_run_id=found.import_run_id,
            as_of=found.as_of,
            visits=found.visits,
            spend=found.spend,
            points=found.points,
            created_at=naive_utc(now),
        )
    )
    return True


def latest(conn: Connection, business_id: int, member_id: int) -> PreviousFigures | None:
    """The figures of the member's latest import run, or None."""
    return next(iter(every(conn, business_id, member_id)), None)


def every(conn: Connection, business_id: int, member_id: int) -> list[PreviousFigures]:
    """Every run's figures for the member, the latest run first."""
    c = figures.c
    rows = conn.execute(
        select(figures)
        .where(c.business_id == business_id, c.member_id == member_id)
        .order_by(c.import_run_id.desc())
    )
    return [_figures(row) for row in rows]


def forget_run(conn: Connection, business_id: int, run_id: int) -> int:
    """An undone import run's figures go with it; how many members had some."""
    c = figures.c
    done = conn.execute(
        delete(figures).where(c.business_id == business_id, c.import_run_id == run_id)
    )
    return int(done.rowcount or 0)


def forget_member(conn: Connection, business_id: int, member_id: int) -> int:
    """An erased member's figures go: they describe the person's buying."""
    c = figures.c
    done = conn.execute(
        delete(figures).where(c.business_id == business_id, c.member_id == member_id)
    )
    return int(done.rowcount or 0)


def latest_of(
    conn: Connection, business_id: int, member_ids: list[int]
) -> dict[int, PreviousFigures]:
    """`latest` for several members in one read per 500: {member id: figures} for those with any."""
    c = figures.c
    found: dict[int, PreviousFigures] = {}
    unique = sorted(set(member_ids))
    for start in range(0, len(unique), 500):
        rows = conn.execute(
            select(figures)
            .where(c.business_id == business_id, c.member_id.in_(unique[start : start + 500]))
            .order_by(c.member_id, c.import_run_id.desc())
        )
        for row in rows:
            found.setdefault(int(row.member_id), _figures(row))
    return found
