"""The nightly refresh: RFM scores and segment for every member who has bought, their predicted
value from the BG/NBD and Gamma-Gamma models, and the snapshots the dashboard draws ("rfm",
"clv"). One SELECT of the figures, numpy in between, UPDATEs in batches: a million members fit.

Time is counted in the business's local days, as member_stats counts visits: recency is today
minus the last purchase day, and for the value models x = visit days - 1 (repeat visits),
t_x = last minus first purchase day, T = today minus the first purchase day.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Connection, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.sql.compiler import SQLCompiler

from lealtad.analytics import clv, reward_reach, rfm, rollups
from lealtad.analytics.segments import RFM_SEGMENTS
from lealtad.analytics.tables import member_stats, snapshots
from lealtad.kit.clock import naive_utc

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

BATCH = 5_000
HORIZON_DAYS = 365
HISTOGRAM_BINS = 20
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9, "p99": 0.99}
_DAY_S = 86_400
_QUARTER_S = 900
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
        valuation = value(figures)
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
            _epoch_seconds(conn, ms.first_purchase_at),
            _epoch_seconds(conn, ms.last_day),
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
    compiled = _compile(conn, query)
    # Parameters in the driver's own style: in order for SQLite's "?", by name for psycopg.
    params = compiled.params
    if compiled.positional:
        params = tuple(params[k] for k in compiled.positiontup or [])
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        table = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 5)
    finally:
        cursor.close()
    ids, first_at, last_day, visits, spend = table.T
    last_day = last_day // _DAY_S
    today = (rollups.local_day(conn, business_id, now) - _EPOCH).days
    first_day = _local_days(first_at, rollups.zone(conn, business_id))
    return Figures(
        member_id=ids.copy(),
        recency_days=np.maximum(today - last_day, 0),
        # A member whose only purchases were out of order may show 0 visit days; they did visit.
        visit_days=np.maximum(visits, 1),
        spend=spend.copy(),
        first_day=np.minimum(first_day, last_day),
        last_day=last_day,
        today=today,
    )


def _epoch_seconds(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), BigInteger)


def _compile(conn: Connection, statement: Any) -> SQLCompiler:
    compiled = statement.compile(dialect=conn.dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def _local_days(utc_seconds: Ints, tz: ZoneInfo) -> Ints:
    """Local days since 1970 of UTC instants in seconds since 1970.

    Every time zone's offset and change of offset falls on a quarter hour, so the local date is
    the same all through a UTC quarter hour: converting each distinct quarter (a few hundred
    thousand at most in years of history) stands for converting every member.
    """
    distinct, inverse = np.unique(utc_seconds // _QUARTER_S, return_inverse=True)
    local = np.fromiter(
        (
            (datetime.fromtimestamp(q * _QUARTER_S, tz).date() - _EPOCH).days
            for q in distinct.tolist()
        ),
        np.int64,
        distinct.size,
    )
    days: Ints = local[inverse.ravel()]
    return days


@dataclass(frozen=True)
class Valuation:
    """The value models' output; per-member arrays in the order of Figures, None when the model
    behind them could not be fitted."""

    fitted: bool
    reason: str | None
    bgnbd: clv.BgNbd | None = None
    gamma_gamma: clv.GammaGamma | None = None
    p_alive: Floats | None = None
    expected_visits: Floats | None = None
    predicted_value: Ints | None = None

    def payload(self, at: datetime) -> dict[str, Any]:
        found: dict[str, Any] = {
            "computed_at": at.isoformat(),
            "fitted": self.fitted,
            "reason": self.reason,
            "horizon_days": HORIZON_DAYS,
            "bgnbd": vars(self.bgnbd) if self.bgnbd else None,
            "gamma_gamma": vars(self.gamma_gamma) if self.gamma_gamma else None,
            "members": 0,
            "total_predicted_value": None,
            "quantiles": None,
            "histogram": None,
        }
        values = self.predicted_value
        if values is None or values.size == 0:
            return found
        marks = np.quantile(values, list(QUANTILES.values()))
        # Values are skewed: equal bins up to p99, the last bin also holding everything above.
        top = max(float(marks[-1]), 1.0)
        counts, edges = np.histogram(np.minimum(values, top), bins=HISTOGRAM_BINS, range=(0, top))
        found |= {
            "members": int(values.size),
            "total_predicted_value": int(values.sum()),
            "quantiles": {k: round(float(q)) for k, q in zip(QUANTILES, marks, strict=True)},
            "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
        }
        return found


def value(figures: Figures) -> Valuation:
    """Fits BG/NBD on every member who has bought and Gamma-Gamma on those who came back, then
    predicts each member's next 12 months. Spend per visit is spend / visit days, a mean over
    all their visit days, so visit days (not repeats) is the count that goes with it, in the fit
    and in each member's expected spend."""
    x, t_x, T = figures.x, figures.t_x, figures.T
    try:
        bg = clv.fit_bgnbd(x, t_x, T)
    except clv.NotEnoughHistory as exc:
        return Valuation(fitted=False, reason=str(exc))
    alive = clv.p_alive(bg, x, t_x, T)
    visits = clv.expected_purchases(bg, float(HORIZON_DAYS), x, t_x, T)
    if not (np.all(np.isfinite(alive)) and np.all(np.isfinite(visits))):
        return Valuation(fitted=False, reason=_NOT_FINITE, bgnbd=bg)
    mean = np.maximum(figures.spend, 0) / figures.visit_days
    returning = (x > 0) & (figures.spend > 0)
    try:
        gg = clv.fit_gamma_gamma(figures.visit_days[returning], mean[returning])
    except clv.NotEnoughHistory as exc:
        # Spend per visit that barely varies between members is the case where Gamma-Gamma's
        # shrinkage ends at the overall mean; predicting with that mean still ranks members by
        # their expected visits, which is most of what the value says.
        overall = float(np.maximum(figures.spend, 0).sum() / figures.visit_days.sum())
        note = f"{exc} {_OVERALL_MEAN}"
        flat = np.rint(visits * overall).astype(np.int64)
        return Valuation(True, note, bg, None, alive, visits, flat)
    predicted = visits * clv.expected_spend(gg, figures.visit_days, mean)
    if not np.all(np.isfinite(predicted)):
        return Valuation(False, _NOT_FINITE, bg, gg, alive, visits)
    return Valuation(True, None, bg, gg, alive, visits, np.rint(predicted).astype(np.int64))


_OVERALL_MEAN = "Spend is predicted with the overall mean spend per visit."
_NOT_FINITE = "The fitted model gave no usable predictions; collect more history and try again."


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
    compiled = _compile(conn, statement)
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
