"""Each member's rollup figures (member_stats): read, first written at enrolment, saved after
each purchase or entry that changes them, one member or a batch's at a time."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from lealtad.analytics import fold, zone_store
from lealtad.analytics.tables import member_stats
from lealtad.db import setwise
from lealtad.db.plans import filter_only
from lealtad.members.tables import members

_FIGURE_COLUMNS = [
    member_stats.c[name]
    for name in (
        "enrolled_on",
        "enrolled_location_id",
        "first_purchase_at",
        "last_purchase_at",
        "last_day",
        "purchases",
        "visit_days",
        "spend",
        "first_reward_at",
        "retention_mask",
    )
]


def _figures(row: Any) -> fold.MemberFigures:
    return fold.MemberFigures(
        enrolled_on=row.enrolled_on,
        location_id=row.enrolled_location_id,
        first_purchase_at=row.first_purchase_at,
        last_purchase_at=row.last_purchase_at,
        last_day=row.last_day,
        purchases=row.purchases,
        visit_days=row.visit_days,
        spend=row.spend,
        first_reward_at=row.first_reward_at,
        retention_mask=row.retention_mask,
    )


def values_of(figures: fold.MemberFigures) -> dict[str, Any]:
    values = asdict(figures)
    values["enrolled_location_id"] = values.pop("location_id")
    return values


# Built once with bound parameters: these run on every purchase and redemption, and building a
# Core statement per call (and its cache key) cost more than running it (docs/benchmarks.md, P4).
_LOAD = select(*_FIGURE_COLUMNS).where(
    member_stats.c.member_id == bindparam("m"), member_stats.c.business_id == bindparam("b")
)
_SAVE = (
    update(member_stats)
    .where(
        member_stats.c.member_id == bindparam("m_"), member_stats.c.business_id == bindparam("b_")
    )
    .values({c.name: bindparam(c.name) for c in _FIGURE_COLUMNS})
)


def load(conn: Connection, business_id: int, member_id: int) -> fold.MemberFigures:
    """The member's figures; a member enrolled before the rollups existed starts from its
    enrolment (`lealtad analytics rebuild` fills in its history)."""
    row = conn.execute(_LOAD, {"m": member_id, "b": business_id}).first()
    if row is not None:
        return _figures(row)
    member = conn.execute(
        select(members.c.enrolled_at, members.c.enrolled_location_id).where(
            members.c.id == member_id, members.c.business_id == business_id
        )
    ).one()
    figures = fold.MemberFigures(
        enrolled_on=zone_store.local_day(conn, business_id, member.enrolled_at),
        location_id=member.enrolled_location_id or 0,
    )
    insert(conn, business_id, member_id, figures)
    return figures


def insert(conn: Connection, business_id: int, member_id: int, figures: fold.MemberFigures) -> None:
    conn.execute(
        member_stats.insert().values(
            member_id=member_id, business_id=business_id, **values_of(figures)
        )
    )


def save(conn: Connection, business_id: int, member_id: int, figures: fold.MemberFigures) -> None:
    conn.execute(_SAVE, {"m_": member_id, "b_": business_id, **values_of(figures)})


def load_many(
    conn: Connection, business_id: int, member_ids: list[int]
) -> dict[int, fold.MemberFigures]:
    """`load` for several members: one read, and `load` itself for one without a row yet."""
    if len(member_ids) <= 1:
        return {m: load(conn, business_id, m) for m in member_ids}
    found: dict[int, fold.MemberFigures] = {}
    for start in range(0, len(member_ids), 500):
        chunk = member_stats.c.member_id.in_(member_ids[start : start + 500])
        query = select(member_stats.c.member_id, *_FIGURE_COLUMNS).where(
            member_stats.c.business_id == business_id, chunk
        )
        found.update({int(row.member_id): _figures(row) for row in conn.execute(query)})
    return {m: found[m] if m in found else load(conn, business_id, m) for m in member_ids}


def save_many(conn: Connection, business_id: int, figures: dict[int, fold.MemberFigures]) -> None:
    """`save` for a batch's members, one executemany. The values are read off the figures'
    slots: `values_of`'s `asdict` deep-copies every figure and was most of this step's time."""
    if not figures:
        return
    slots = [
        ("location_id" if c.name == "enrolled_location_id" else c.name) for c in _FIGURE_COLUMNS
    ]
    rows = [
        {
            **{c.name: getattr(f, slot) for c, slot in zip(_FIGURE_COLUMNS, slots, strict=True)},
            "business_id": business_id,
            "member_id": m,
        }
        for m, f in sorted(figures.items())
    ]
    setwise.update_many(conn, member_stats, rows, where=("business_id", "member_id"))


def segments_of(conn: Connection, business_id: int, member_ids: list[int]) -> dict[int, str | None]:
    """Each member's value segment (members without figures yet are absent), one read per 500."""
    found: dict[int, str | None] = {}
    unique = sorted(set(member_ids))
    for start in range(0, len(unique), 500):
        query = select(member_stats.c.member_id, member_stats.c.segment).where(
            filter_only(member_stats.c.business_id) == business_id,
            member_stats.c.member_id.in_(unique[start : start + 500]),
        )
        found.update({int(m): s for m, s in conn.execute(query)})
    return found
