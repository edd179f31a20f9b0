"""What the analytics API takes and answers: the scope query (and the scope it resolves to,
shared with the console's page), every KPI, the tables and the enrolment goal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from lealtad.analytics.periods import Grain, Scope, bucket_of, default_scope, next_bucket
from lealtad.errors import Invalid
from lealtad.kit.ids import MAX_ID
from lealtad.tenancy import service as tenancy

Period = Literal["30d", "12w", "12m"]
PRESET_GRAIN: dict[str, Grain] = {"30d": "day", "12w": "week", "12m": "month"}
GRAIN_PRESET = {grain: period for period, grain in PRESET_GRAIN.items()}
# Far enough either way for any business's history; beyond it the calendar arithmetic of the
# buckets would overflow.
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


class ScopeQuery(BaseModel):
    """What a dashboard looks at."""

    period: Period | None = Field(
        default=None, description="30d by day, 12w by week, 12m by month (when no dates)"
    )
    start: date | None = Field(default=None, description="first local day (custom period)")
    end: date | None = Field(default=None, description="last local day; today if omitted")
    grain: Grain | None = Field(default=None, description="day, week or month")
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    staff_id: int | None = Field(default=None, ge=1, le=MAX_ID)


def scope_from(conn: Connection, business_id: int, today: date, query: ScopeQuery) -> Scope:
    """The scope asked for. Without dates, a preset (30 days unless the grain says otherwise);
    with them, a custom period. Weeks and months are whole (Monday to Sunday, first to last
    day), so that every bucket counts the same days and the first is not cut short. A store or
    staff member must be the business's own: 404 otherwise."""
    grain = query.grain
    if query.start is None and query.end is None:
        preset = default_scope(business_id, today, query.period or GRAIN_PRESET[grain or "day"])
        start, end, grain = preset.start, preset.end, grain or preset.grain
    else:
        grain = grain or "day"
        end = query.end or today
        if not EARLIEST <= end <= LATEST:
            raise Invalid("dates go from 2000-01-01 to 2199-12-31", code="period_out_of_range")
        start = query.start or default_scope(business_id, end, GRAIN_PRESET[grain]).start
    if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
        raise Invalid("dates go from 2000-01-01 to 2199-12-31", code="period_out_of_range")
    if end < start:
        raise Invalid("the period ends before it starts", code="invalid_period")
    if grain != "day":
        start = bucket_of(start, grain)
        end = next_bucket(bucket_of(end, grain), grain) - timedelta(days=1)
    if query.location_id is not None:
        tenancy.get_location(conn, business_id, query.location_id)
    if query.staff_id is not None:
        tenancy.get_staff(conn, business_id, query.staff_id)
    return Scope(business_id, start, end, grain, query.location_id, query.staff_id)


class ScopeOut(BaseModel):
    start: date
    end: date
    grain: Grain
    location_id: int | None
    staff_id: int | None
    today: date = Field(description="the business's local date now")


class KpiOut(BaseModel):
    key: str
    unit: str = Field(description="percent, count, money (minor units), points, days or ratio")
    value: float | None = Field(description="the headline figure for the period")
    goal: float | None = None
    labels: list[date] = Field(description="the first day of each bucket, or each cohort month")
    series: dict[str, list[float | None]]
    extra: dict[str, Any]


class DashboardOut(BaseModel):
    scope: ScopeOut
    currency: str
    kpis: dict[str, KpiOut]


class CohortRow(BaseModel):
    cohort: date
    members: int
    retained_30: float | None
    retained_60: float | None
    retained_90: float | None
    first_reward_90: float | None
    median_days_to_first_reward: float | None


class StaffRow(BaseModel):
    staff_id: int
    name: str
    enrolments: int
    purchases: int
    enrolment_rate: float | None


class RewardRow(BaseModel):
    reward_id: int
    slug: str
    title: dict[str, str]
    redemptions: int
    rating: float | None
    ratings: int


class CauseRow(BaseModel):
    cause_id: int
    name: dict[str, str]
    points: int
    donors: int
    donations: int


class CohortsOut(BaseModel):
    scope: ScopeOut
    rows: list[CohortRow]


class StaffOut(BaseModel):
    scope: ScopeOut
    rows: list[StaffRow]


class RewardsOut(BaseModel):
    scope: ScopeOut
    rows: list[RewardRow]


class CausesOut(BaseModel):
    scope: ScopeOut
    rows: list[CauseRow]


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrolment_goal: int = Field(ge=1, le=100, description="percent of purchases by members")


class SettingsOut(BaseModel):
    enrolment_goal: int


class BgNbdOut(BaseModel):
    """BG/NBD: purchase rate while active ~ Gamma(r, alpha), dropout after each repeat visit
    ~ Beta(a, b)."""

    r: float = Field(description="shape of the purchase rates (no unit)")
    alpha: float = Field(description="scale of the purchase rates, in days")
    a: float = Field(description="dropout Beta's a (no unit)")
    b: float = Field(description="dropout Beta's b (no unit)")
    log_likelihood: float | None = Field(description="at the fitted parameters, time in days")
    customers: int | None = Field(description="customers fitted on (everyone who bought)")


class GammaGammaOut(BaseModel):
    """Gamma-Gamma: each repeat visit's spend ~ Gamma(p, ν), ν ~ Gamma(q, gamma)."""

    p: float = Field(description="shape of each visit's spend (no unit)")
    q: float = Field(description="shape of the customers' ν (no unit)")
    gamma: float = Field(description="scale, in the business's currency minor units")
    log_likelihood: float | None = Field(
        description="at the fitted parameters, money in minor units"
    )
    customers: int | None = Field(description="customers fitted on (those with a repeat visit)")


class ModelOut(BaseModel):
    """The value models of the latest refresh, fitted as Fader, Hardie and Lee define them:
    BG/NBD on repeat visit days, Gamma-Gamma on the mean spend of repeat visits."""

    computed_at: str | None
    fitted: bool
    reason: str | None = Field(description="why there are no predicted values, or a note")
    horizon_days: int
    currency: str
    bgnbd: BgNbdOut | None
    gamma_gamma: GammaGammaOut | None
    units: dict[str, dict[str, str]] = Field(description="each parameter's unit, by model")


class MemberValueOut(BaseModel):
    """A member's predicted value taken apart: expected_purchases × expected_spend_per_purchase
    (minor units) = predicted_value, over horizon_days; p_alive, the probability that they are
    still a customer. Nulls before the member's first scoring refresh."""

    member_id: int
    scored_at: str | None
    horizon_days: int
    currency: str
    predicted_value: int | None
    expected_purchases: float | None
    expected_spend_per_purchase: float | None
    p_alive: float | None
