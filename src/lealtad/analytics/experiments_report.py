"""The report of an experiment: per arm, the members, their visits and spend in the experiment's
window, and each variant's uplift over control with confidence intervals (analytics.uplift).

Who counts: every member enrolled before the window closes, in the arm the hash gives them, with
0 visits and 0 spend if they bought nothing. Leaving the inactive out would compare only those
who came, and a variation that brings members back would look worse, not better.

- visits: distinct local days (the business's zone) with a purchase in the window;
- spend: the amounts of those purchases minus what was refunded of them, in minor units.

Both come from the purchases table in one grouped query, so the report is right even for
purchases recorded before the rollups existed, and costs one pass over the window's purchases.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Integer, case, cast, distinct, func, select
from sqlalchemy.sql.elements import ColumnElement

from lealtad.analytics import experiments, uplift
from lealtad.analytics.segments import experiment_segment
from lealtad.errors import Conflict
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.dates import EARLIEST, in_zone
from lealtad.kit.money import minor_exponent
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases
from lealtad.tenancy import store as tenancy_store

Metric = Literal["visits", "spend"]
METRICS: tuple[Metric, ...] = ("visits", "spend")


@dataclass(frozen=True)
class Figures:
    arm: str
    visits: int
    spend: int


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    control: bool
    segment: str
    members: int
    visits_mean: float | None
    spend_mean: float | None


@dataclass(frozen=True)
class Comparison:
    arm: str
    metric: Metric
    n_control: int
    n_variant: int
    uplift: uplift.Uplift | None  # None when a group has fewer than 2 members
    minimum_detectable_effect: float | None


@dataclass(frozen=True)
class Report:
    experiment: Any
    window_start: datetime
    window_end: datetime
    confidence: float
    currency: str
    arms: list[ArmSummary]
    comparisons: list[Comparison]


# --- the window and the local day ---------------------------------------------------------------


def window(row: Any, now: datetime) -> tuple[datetime, datetime]:
    """[starts_at, min(ends_at, now)) in naive UTC; a draft or a future start has none yet."""
    end = naive_utc(now) if row.ends_at is None else min(row.ends_at, naive_utc(now))
    if row.status == "draft" or end <= row.starts_at:
        raise Conflict(
            "the experiment has not started yet, so there is nothing to report",
            code="experiment_not_started",
            details={"status": row.status, "starts_at": as_utc(row.starts_at).isoformat()},
        )
    # A start stored before the API bounded dates (year 1) would walk two thousand years of the
    # zone's history for nothing: nothing was bought before the earliest date accepted.
    return max(row.starts_at, naive_utc(EARLIEST)), end


def _offset(zone: ZoneInfo, at: datetime) -> int:
    found = in_zone(at, zone).utcoffset()
    return int(found.total_seconds()) if found is not None else 0


def offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset in seconds at `start`, then at each change before `end` (naive UTC
    instants): a summer-time switch inside the window moves where local days begin."""
    changes = [(start, _offset(zone, start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if _offset(zone, following) != changes[-1][1]:
            # Zones change at most once a day: bisect to the second it happened.
            low, high = 0, int((following - day).total_seconds())
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, day + timedelta(seconds=middle)) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            at = day + timedelta(seconds=high)
            changes.append((at, _offset(zone, at)))
        day = following
    return changes


def _local_day(
    dialect: str, column: Any, changes: list[tuple[datetime, int]]
) -> ColumnElement[Any]:
    """Days since 1970-01-01 in local time, as SQL both databases run: the UTC epoch seconds plus
    the offset in force (a CASE over the window's offset changes), divided by a day."""
    if dialect == "sqlite":
        seconds: ColumnElement[Any] = cast(func.strftime("%s", column), Integer)
    else:
        seconds = func.extract("epoch", column)
    shifted: ColumnElement[Any] = seconds + changes[-1][1]
    if len(changes) > 1:
        # Before the n-th change, the offset in force since the one before it.
        bounds = [
            (column < at, seconds + before[1])
            for (at, _after), before in zip(changes[1:], changes[:-1], strict=True)
        ]
        shifted = case(*bounds, else_=shifted)
    if dialect == "sqlite":
        return shifted // 86400
    return func.floor(shifted / 86400)


# --- the figures ------------------------------------------------------------------------------


def member_figures(conn: Connection, row: Any, now: datetime) -> dict[int, Figures]:
    """Every counted member's arm, visits and spend in the window, by member id."""
    start, end = window(row, now)
    bid = row.business_id
    ids = list(
        conn.execute(
            select(members.c.id)
            .where(members.c.business_id == bid, members.c.enrolled_at < end)
            .order_by(members.c.id)
        ).scalars()
    )
    arms = uplift.assign_many(row.slug, ids, experiments.arms_of(row))
    zone = ZoneInfo(tenancy_store.business(conn, bid).timezone)
    p = purchases.c
    day = _local_day(conn.dialect.name, p.occurred_at, offset_changes(zone, start, end))
    activity = {
        r.member_id: (int(r.visits), int(r.spend or 0))
        for r in conn.execute(
            select(
                p.member_id,
                func.count(distinct(day)).label("visits"),
                func.sum(p.amount - p.refunded_amount).label("spend"),
            )
            .where(
                p.business_id == bid,
                p.member_id.is_not(None),
                p.occurred_at >= start,
                p.occurred_at < end,
            )
            .group_by(p.member_id)
        )
    }
    return {
        member_id: Figures(arm, *activity.get(member_id, (0, 0)))
        for member_id, arm in zip(ids, arms, strict=True)
    }


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _sd(values: list[int]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _compare(
    arm: str, metric: Metric, control: list[int], variant: list[int], confidence: float
) -> Comparison:
    if len(control) < 2 or len(variant) < 2:
        return Comparison(arm, metric, len(control), len(variant), None, None)
    found = uplift.compare(control, variant, confidence)
    mde = uplift.minimum_detectable_effect(
        len(control), len(variant), _sd(control), confidence=confidence
    )
    return Comparison(arm, metric, len(control), len(variant), found, mde)


def report(
    conn: Connection, business_id: int, experiment_id: int, now: datetime, confidence: float = 0.95
) -> Report:
    row = experiments.get(conn, business_id, experiment_id)
    start, end = window(row, now)
    figures = member_figures(conn, row, now)
    names = [name for name, _weight in experiments.arms_of(row)]
    by_arm: dict[str, dict[str, list[int]]] = {a: {"visits": [], "spend": []} for a in names}
    for found in figures.values():
        by_arm[found.arm]["visits"].append(found.visits)
        by_arm[found.arm]["spend"].append(found.spend)
    control = names[0]
    summaries = [
        ArmSummary(
            arm=a,
            control=a == control,
            segment=experiment_segment(row.slug, a),
            members=len(by_arm[a]["visits"]),
            visits_mean=_mean(by_arm[a]["visits"]),
            spend_mean=_mean(by_arm[a]["spend"]),
        )
        for a in names
    ]
    comparisons = [
        _compare(a, metric, by_arm[control][metric], by_arm[a][metric], confidence)
        for a in names[1:]
        for metric in METRICS
    ]
    currency = tenancy_store.business(conn, business_id).currency
    return Report(row, as_utc(start), as_utc(end), confidence, currency, summaries, comparisons)


# --- JSON and CSV -------------------------------------------------------------------------------


class UpliftOut(BaseModel):
    difference: float = Field(description="mean of the variant minus mean of control")
    difference_low: float
    difference_high: float
    relative: float | None = Field(description="difference / control mean; 0.2 is +20 %")
    relative_low: float | None
    relative_high: float | None
    p_value: float
    significant: bool = Field(description="the interval for the difference excludes 0")


class ComparisonOut(BaseModel):
    arm: str
    metric: Metric = Field(description="visits (days with a purchase) or spend (minor units)")
    n_control: int
    n_variant: int
    mean_control: float | None
    mean_variant: float | None
    uplift: UpliftOut | None = Field(description="null while a group has fewer than 2 members")
    minimum_detectable_effect: float | None = Field(
        description="the smallest difference these groups detect with 80 % power"
    )


class ArmSummaryOut(BaseModel):
    arm: str
    control: bool
    segment: str
    members: int
    visits_mean: float | None
    spend_mean: float | None = Field(description="minor units")


class ReportOut(BaseModel):
    experiment: experiments.ExperimentOut
    window_start: datetime
    window_end: datetime
    confidence: float
    currency: str
    arms: list[ArmSummaryOut]
    comparisons: list[ComparisonOut]


def _means(found: Report, c: Comparison) -> tuple[float | None, float | None]:
    key = "visits_mean" if c.metric == "visits" else "spend_mean"
    by_arm = {a.arm: getattr(a, key) for a in found.arms}
    return by_arm[found.arms[0].arm], by_arm[c.arm]


def report_out(found: Report, now: datetime) -> ReportOut:
    comparisons = []
    for c in found.comparisons:
        u = c.uplift
        mean_control, mean_variant = _means(found, c)
        comparisons.append(
            ComparisonOut(
                arm=c.arm,
                metric=c.metric,
                n_control=c.n_control,
                n_variant=c.n_variant,
                mean_control=mean_control,
                mean_variant=mean_variant,
                uplift=None
                if u is None
                else UpliftOut(
                    difference=u.difference,
                    difference_low=u.difference_low,
                    difference_high=u.difference_high,
                    relative=u.relative,
                    relative_low=u.relative_low,
                    relative_high=u.relative_high,
                    p_value=u.p_value,
                    significant=u.significant,
                ),
                minimum_detectable_effect=c.minimum_detectable_effect,
            )
        )
    return ReportOut(
        experiment=experiments.out(found.experiment, now),
        window_start=found.window_start,
        window_end=found.window_end,
        confidence=found.confidence,
        currency=found.currency,
        arms=[ArmSummaryOut(**a.__dict__) for a in found.arms],
        comparisons=comparisons,
    )


CSV_COLUMNS = (
    "arm",
    "metric",
    "unit",
    "n_control",
    "n_variant",
    "mean_control",
    "mean_variant",
    "difference",
    "difference_low",
    "difference_high",
    "relative",
    "relative_low",
    "relative_high",
    "p_value",
    "significant",
    "minimum_detectable_effect",
    "confidence",
)


def csv_text(found: Report) -> str:
    """One row per variant and metric; spend in currency units (12.5 is 12.50 EUR), relative
    uplifts as fractions (0.2 is +20 %)."""
    scale = 10 ** minor_exponent(found.currency)

    def number(value: float | None, money: bool = False) -> str:
        if value is None:
            return ""
        return f"{value / scale if money else value:.4f}"

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for c in found.comparisons:
        money = c.metric == "spend"
        u = c.uplift
        mean_control, mean_variant = _means(found, c)
        writer.writerow(
            [
                c.arm,
                c.metric,
                found.currency if money else "visits",
                c.n_control,
                c.n_variant,
                number(mean_control, money),
                number(mean_variant, money),
                number(u.difference if u else None, money),
                number(u.difference_low if u else None, money),
                number(u.difference_high if u else None, money),
                number(u.relative if u else None),
                number(u.relative_low if u else None),
                number(u.relative_high if u else None),
                f"{u.p_value:.6g}" if u else "",
                ("yes" if u.significant else "no") if u else "",
                number(c.minimum_detectable_effect, money),
                f"{found.confidence:g}",
            ]
        )
    return buffer.getvalue()
