"""The nightly refresh: RFM scores and segment for every member who has bought, their predicted
value from the BG/NBD and Gamma-Gamma models, and the snapshots the dashboard draws ("rfm",
"clv"). One SELECT of the figures, numpy in between, UPDATEs in batches: a million members fit.

Time is counted in the business's local days, as member_stats counts visits: recency is today
minus the last purchase day, and for the value models x = visit days - 1 (repeat visits),
t_x = last minus first purchase day, T = today minus the first purchase day, and the spend of
the repeat visits: the member's spend less that of their first visit day (analytics/models.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from lealtad.analytics import reward_reach, rfm, zone_store
from lealtad.analytics.model_inputs import (
    compile_for,
    epoch_seconds,
    first_day_spend,
    int_rows,
    local_days,
)
from lealtad.analytics.models import (
    HISTOGRAM_BINS,
    HORIZON_DAYS,
    QUANTILES,
    Inputs,
    Valuation,
    value,
)
from lealtad.analytics.segments import RFM_SEGMENTS
from lealtad.analytics.tables import member_stats, snapshots
from lealtad.kit.clock import naive_utc

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

BATCH = 5_000
__all__ = ["HISTOGRAM_BINS", "HORIZON_DAYS", "QUANTILES", "Valuation", "refresh", "snapshot"]
_DAY_S = 86_400
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class RefreshResult:
    business_id: int
    computed_at: datetime
    members_scored: int
    members_unscored: int
    segments: dict[str, int]
    model_fitted: bool
    # Why there are no predicted values (plain English, from clv.NotEnoughHistory), or None.
    model_reason: str | None
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Figures:
    """member_stats of the members who have bought, as arrays in member id order."""

    member_id: Ints
    recency_days: Ints
    visit_days: Ints
    spend: Ints
    first_day: Ints  # local days since 1970
    last_day: Ints
    today: int
    # Spend on the first visit day: what the spend model leaves out (it counts repeat visits).
    first_spend: Ints

    @property
    def x(self) -> Ints:
        return self.visit_days - 1

    @property
    def t_x(self) -> Ints:
        span: Ints = np.clip(self.last_day - self.first_day, 0, self.T)
        return span

    @property
    def T(self) -> Ints:
        return np.maximum(self.today - self.first_day, 0)

    def inputs(self) -> Inputs:
        return Inputs(self.x, self.t_x, self.T, self.spend - self.first_spend)


def refresh(
    conn: Connection, business_id: int, now: datetime, *, as_of: bool = False
) -> RefreshResult:
    """Scores every member of the business and stores the "rfm" and "clv" snapshots. Running it
    again with the same data and `now` writes the same values. `as_of`: `now` is a past instant
    and the figures are replayed from the history up to it (analytics/as_of.py)."""
    seconds: dict[str, float] = {}

    @contextmanager
    def lap(name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - start, 3)

    at = naive_utc(now)
    with lap("load"):
        if as_of:
            from lealtad.analytics import as_of as history

            figures = history.figures(conn, business_id, now)
        else:
            figures = load(conn, business_id, now)
    with lap("score"):
        scores = rfm.score(figures.recency_days, figures.visit_days, figures.spend)
    with lap("model"):
        valuation = value(figures.inputs())
    with lap("write"):
        _write(conn, business_id, figures, scores, valuation, at)
        unscored = _clear_unscored(conn, business_id)
        if as_of:
            from lealtad.analytics import as_of as history

            unscored += history.clear_not_yet_bought(conn, business_id, now)
        _store(conn, business_id, "rfm", at, _rfm_payload(figures, scores, unscored, at))
        _store(conn, business_id, "clv", at, valuation.payload(at))
        # The owner's home reads this count for a business too big to count it live.
        reach = reward_reach.measure(conn, business_id, now)
        _store(conn, business_id, reward_reach.SNAPSHOT, at, reach.payload())
        if conn.dialect.name == "postgresql":
            # The refresh has just written every member's scores; until autovacuum gets round to
            # it the planner believes the columns are still empty, and the customers page's
            # "top members by value" sorted the whole table (2.2 s at 156k members) instead of
            # reading the index backwards (0.2 ms). ANALYZE sees this transaction's own rows.
            conn.exec_driver_sql("ANALYZE member_stats")
    counts = np.bincount(scores.segment, minlength=len(RFM_SEGMENTS))
    return RefreshResult(
        business_id=business_id,
        computed_at=at,
        members_scored=int(figures.member_id.size),
        members_unscored=unscored,
        segments={name: int(c) for name, c in zip(RFM_SEGMENTS, counts, strict=True)},
        model_fitted=valuation.fitted,
        model_reason=valuation.reason,
        seconds=seconds,
    )


def load(conn: Connection, business_id: int, now: datetime) -> Figures:
    """The figures of every member who has bought, read with one SELECT of whole numbers: the
    database turns timestamps and dates into seconds since 1970, which skips making a million
    datetime objects (slower than the query itself on SQLite)."""
    ms = member_stats.c
    query = (
        select(
            ms.member_id,
            epoch_seconds(conn, ms.first_purchase_at),
            epoch_seconds(conn, ms.last_day),
            ms.visit_days,
            ms.spend,
        )
        .where(
            ms.business_id == business_id,
            ms.purchases > 0,
            ms.first_purchase_at.is_not(None),
            ms.last_day.is_not(None),
        )
        .order_by(ms.member_id)
    )
    table = int_rows(conn, query, 5)
    ids, first_at, last_day, visits, spend = table.T
    last_day = last_day // _DAY_S
    today = (zone_store.local_day(conn, business_id, now) - _EPOCH).days
    tz = zone_store.zone(conn, business_id)
    first_day = np.minimum(local_days(first_at, tz), last_day)
    return Figures(
        member_id=ids.copy(),
        recency_days=np.maximum(today - last_day, 0),
        # Every member here bought: at least one visit day (history counts in any order, D69).
        visit_days=np.maximum(visits, 1),
        spend=spend.copy(),
        first_day=first_day,
        last_day=last_day,
        today=today,
        first_spend=first_day_spend(conn, business_id, ids, first_day, tz),
    )


def _write(
    conn: Connection,
    business_id: int,
    figures: Figures,
    scores: rfm.Scores,
    valuation: Valuation,
    at: datetime,
) -> None:
    ms = member_stats.c
    statement = (
        update(member_stats)
        .where(ms.business_id == bindparam("b_business"), ms.member_id == bindparam("b_member"))
        .values(
            recency_score=bindparam("b_r"),
            frequency_score=bindparam("b_f"),
            monetary_score=bindparam("b_m"),
            segment=bindparam("b_segment"),
            p_alive=bindparam("b_alive"),
            expected_visits=bindparam("b_visits"),
            predicted_value=bindparam("b_value"),
            scored_at=bindparam("b_at"),
        )
    )
    n = figures.member_id.size
    # The timestamp as the driver stores it (a string on SQLite), converted once.
    to_driver = ms.scored_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    columns: dict[str, list[Any]] = {
        "b_business": [business_id] * n,
        "b_member": figures.member_id.tolist(),
        "b_r": scores.recency.tolist(),
        "b_f": scores.frequency.tolist(),
        "b_m": scores.monetary.tolist(),
        "b_segment": scores.segment_names(),
        "b_alive": _or_none(valuation.p_alive, n),
        "b_visits": _or_none(valuation.expected_visits, n),
        "b_value": _or_none(valuation.predicted_value, n),
        "b_at": [to_driver(at) if to_driver else at] * n,
    }
    # Straight to the driver's executemany: SQLAlchemy's per-row parameter handling took longer
    # than the database's work at a million rows, and these values need no conversion.
    compiled = compile_for(conn, statement)
    sql = str(compiled)
    if compiled.positional:
        order = compiled.positiontup or []
        for start in range(0, n, BATCH):
            batch = [columns[k][start : start + BATCH] for k in order]
            conn.exec_driver_sql(sql, list(zip(*batch, strict=True)))
    else:
        names = list(columns)
        for start in range(0, n, BATCH):
            batch = [columns[k][start : start + BATCH] for k in names]
            rows = [dict(zip(names, row, strict=True)) for row in zip(*batch, strict=True)]
            conn.exec_driver_sql(sql, rows)


def _or_none(values: npt.NDArray[Any] | None, n: int) -> list[Any]:
    return values.tolist() if values is not None else [None] * n


def _clear_unscored(conn: Connection, business_id: int) -> int:
    """Members who have not bought carry no scores (a refresh before the figures were rebuilt
    may have left some); returns how many members have not bought. A member has bought exactly
    when last_purchase_at is set, which an index finds without reading the whole table."""
    ms = member_stats.c
    conn.execute(
        update(member_stats)
        .where(
            ms.business_id == business_id, ms.last_purchase_at.is_(None), ms.scored_at.is_not(None)
        )
        .values(
            recency_score=None,
            frequency_score=None,
            monetary_score=None,
            segment=None,
            p_alive=None,
            expected_visits=None,
            predicted_value=None,
            scored_at=None,
        )
    )
    return int(
        conn.execute(
            select(func.count()).where(ms.business_id == business_id, ms.last_purchase_at.is_(None))
        ).scalar_one()
    )


def _rfm_payload(
    figures: Figures, scores: rfm.Scores, unscored: int, at: datetime
) -> dict[str, Any]:
    k = len(RFM_SEGMENTS)
    members = np.bincount(scores.segment, minlength=k)
    revenue = np.bincount(scores.segment, weights=figures.spend.astype(np.float64), minlength=k)
    pareto = rfm.pareto(figures.spend)
    return {
        "computed_at": at.isoformat(),
        "members_scored": int(figures.member_id.size),
        "members_unscored": unscored,
        "segments": [
            {"segment": name, "members": int(c), "revenue": round(float(r))}
            for name, c, r in zip(RFM_SEGMENTS, members, revenue, strict=True)
        ],
        "pareto": {
            "top": rfm.PARETO_TOP,
            "top_share": pareto.top_share,
            "revenue": pareto.revenue,
            "lorenz": [[p, s] for p, s in pareto.lorenz],
        },
        # counts[r - 1][f - 1]; and the segment of each (R, FM) cell, for drawing the map.
        "grid": rfm.grid_counts(scores.recency, scores.frequency),
        "segment_map": {
            str(r): {str(fm): s for fm, s in row.items()} for r, row in rfm.SEGMENT_MAP.items()
        },
    }


def _store(
    conn: Connection, business_id: int, kind: str, at: datetime, payload: dict[str, Any]
) -> None:
    conn.execute(
        delete(snapshots).where(snapshots.c.business_id == business_id, snapshots.c.kind == kind)
    )
    conn.execute(
        insert(snapshots).values(
            business_id=business_id, kind=kind, computed_at=at, payload=payload
        )
    )


def store_snapshot(
    conn: Connection, business_id: int, kind: str, at: datetime, payload: dict[str, Any]
) -> None:
    """Replaces the business's snapshot of a kind (a back-test stores its latest this way)."""
    _store(conn, business_id, kind, at, payload)


def snapshot(
    conn: Connection, business_id: int, kind: str
) -> tuple[datetime, dict[str, Any]] | None:
    """The latest stored snapshot of a kind ("rfm", "clv", "reward_reach"): (computed_at,
    payload), or None before the first refresh."""
    row = conn.execute(
        select(snapshots.c.computed_at, snapshots.c.payload).where(
            snapshots.c.business_id == business_id, snapshots.c.kind == kind
        )
    ).first()
    return None if row is None else (row.computed_at, dict(row.payload))


def member_scores(conn: Connection, business_id: int, member_id: int) -> Any:
    """A member's value figures as the last refresh wrote them (p_alive, expected_visits,
    predicted_value, scored_at), or None for a member not of the business."""
    ms = member_stats.c
    return conn.execute(
        select(ms.p_alive, ms.expected_visits, ms.predicted_value, ms.scored_at).where(
            ms.business_id == business_id, ms.member_id == member_id
        )
    ).first()
