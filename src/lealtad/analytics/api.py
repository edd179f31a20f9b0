"""JSON and CSV routes of the analytics dashboard: every KPI for a period, store and staff member,
the cohort, staff, reward and cause tables, and the enrolment goal. For managers and owners,
by API key or staff token, or from the admin console with the manager's session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Connection

from lealtad import deps
from lealtad.analytics import kpis, preferences, rankings, zone_store
from lealtad.analytics.api_schemas import (
    CauseRow,
    CausesOut,
    CohortRow,
    CohortsOut,
    DashboardOut,
    KpiOut,
    MemberValueOut,
    ModelOut,
    Period,
    RewardRow,
    RewardsOut,
    ScopeOut,
    ScopeQuery,
    SettingsIn,
    SettingsOut,
    StaffOut,
    StaffRow,
    scope_from,
)
from lealtad.analytics.csv_out import csv_response
from lealtad.analytics.periods import Grain, Scope
from lealtad.deps import Db, Now
from lealtad.errors import Forbidden, NotFound, Unauthorized
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.dates import IsoDate
from lealtad.kit.ids import MAX_ID, IdPath
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from lealtad.web import sessions

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=ERROR_RESPONSES)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    # The session's form token when the call comes from the console; None with a key or token.
    csrf: str | None = None


def _caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(deps._bearer)],
    api_key: Annotated[str | None, Depends(deps._api_key_header)],
) -> Caller:
    """An API key or staff token when one is sent; otherwise the admin console's session, so
    the dashboard's own pages and scripts can read these routes."""
    if api_key or (bearer and bearer.credentials):
        principal = deps._principal(request, bearer, api_key)
        csrf = None
    else:
        try:
            session = sessions._staff(request, deps._db(request), deps._settings(request))
        except sessions.LoginRequired:
            raise Unauthorized(
                "send an API key (Authorization: Bearer lk_...) or sign in to the console",
                code="missing_credentials",
            ) from None
        principal, csrf = session.principal, session.csrf
    if not principal.role.allows(Role.manager):
        raise Forbidden("analytics are for managers and owners", code="role_required")
    return Caller(principal, csrf)


Reader = Annotated[Caller, Depends(_caller)]


def _scope_query(
    period: Annotated[Period | None, Query()] = None,
    start: Annotated[IsoDate | None, Query()] = None,
    end: Annotated[IsoDate | None, Query()] = None,
    grain: Annotated[Grain | None, Query()] = None,
    location_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ScopeQuery:
    return ScopeQuery(
        period=period,
        start=start,
        end=end,
        grain=grain,
        location_id=location_id,
        staff_id=staff_id,
    )


Scoped = Annotated[ScopeQuery, Depends(_scope_query)]


def _scope_out(scope: Scope, today: date) -> ScopeOut:
    return ScopeOut(
        start=scope.start,
        end=scope.end,
        grain=scope.grain,
        location_id=scope.location_id,
        staff_id=scope.staff_id,
        today=today,
    )


def _open(
    conn: Connection, caller: Caller, query: ScopeQuery, now: datetime
) -> tuple[Scope, ScopeOut]:
    bid = caller.principal.business_id
    today = zone_store.local_day(conn, bid, now)
    scope = scope_from(conn, bid, today, query)
    return scope, _scope_out(scope, today)


def kpi_out(kpi: kpis.Kpi) -> KpiOut:
    return KpiOut(
        key=kpi.key,
        unit=kpi.unit,
        value=kpi.value,
        goal=kpi.goal,
        labels=kpi.labels,
        series=kpi.series,
        extra=kpi.extra,
    )


def bucket_rows(
    board: dict[str, kpis.Kpi], scope: Scope
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """One row per bucket with every series that is drawn over the period's buckets (cohort
    figures have their own table)."""
    buckets = scope.buckets()
    columns = [("bucket", "bucket")]
    by_bucket: list[dict[str, Any]] = [{"bucket": b} for b in buckets]
    for name, kpi in board.items():
        if kpi.labels != buckets:
            continue
        for series, values in kpi.series.items():
            key = f"{name}.{series}"
            columns.append((key, key))
            for row, value in zip(by_bucket, values, strict=True):
                row[key] = value
    return columns, by_bucket


@router.get("/dashboard", response_model=DashboardOut)
def dashboard(caller: Reader, query: Scoped, db: Db, now: Now) -> DashboardOut:
    """Every KPI for the period: a headline value, its series over the buckets (or cohorts),
    the goal where there is one and the figures behind it in `extra`. The store and staff
    filters apply to purchases and enrolments; points flows and redemptions are business-wide;
    active and lapsed members are as of today, by the store where they joined."""
    with db.read() as conn:
        scope, out = _open(conn, caller, query, now)
        board = kpis.dashboard(conn, scope, now)
        currency = tenancy_store.business(conn, scope.business_id).currency
    return DashboardOut(
        scope=out, currency=currency, kpis={k: kpi_out(v) for k, v in board.items()}
    )


@router.get(
    "/dashboard.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def dashboard_csv(caller: Reader, query: Scoped, db: Db, now: Now) -> Response:
    """The series of the dashboard, one row per bucket."""
    with db.read() as conn:
        scope, _out = _open(conn, caller, query, now)
        columns, rows = bucket_rows(kpis.dashboard(conn, scope, now), scope)
    return csv_response(_filename("dashboard", scope), columns, rows)


def _filename(table: str, scope: Scope) -> str:
    return f"{table}-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"


COHORT_COLUMNS = [(name, name) for name in CohortRow.model_fields]
STAFF_COLUMNS = [(name, name) for name in StaffRow.model_fields]
REWARD_COLUMNS = [
    ("reward_id", "reward_id"),
    ("slug", "slug"),
    ("title_es", "title_es"),
    ("title_en", "title_en"),
    ("redemptions", "redemptions"),
    ("rating", "rating"),
    ("ratings", "ratings"),
]
CAUSE_COLUMNS = [
    ("cause_id", "cause_id"),
    ("name_es", "name_es"),
    ("name_en", "name_en"),
    ("points", "points"),
    ("donors", "donors"),
    ("donations", "donations"),
]


def flat_texts(rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """{"title": {"es": .., "en": ..}} as title_es and title_en, for a flat file."""
    return [
        row | {f"{field}_{lang}": (row.get(field) or {}).get(lang, "") for lang in ("es", "en")}
        for row in rows
    ]


@router.get("/cohorts", response_model=CohortsOut)
def cohorts(caller: Reader, query: Scoped, db: Db, now: Now) -> CohortsOut:
    """Monthly enrolment cohorts from the period's first month: size, the share that came back
    within 30, 31-60 and 61-90 days, and first rewards within 90 days. Business-wide."""
    with db.read() as conn:
        scope, out = _open(conn, caller, query, now)
        rows = kpis.cohorts(conn, scope.business_id, scope.start, scope.end, scope.location_id)
    return CohortsOut(scope=out, rows=[CohortRow(**r) for r in rows])


@router.get("/cohorts.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def cohorts_csv(caller: Reader, query: Scoped, db: Db, now: Now) -> Response:
    with db.read() as conn:
        scope, _out = _open(conn, caller, query, now)
        rows = kpis.cohorts(conn, scope.business_id, scope.start, scope.end, scope.location_id)
    return csv_response(_filename("cohorts", scope), COHORT_COLUMNS, rows)


@router.get("/staff", response_model=StaffOut)
def staff(caller: Reader, query: Scoped, db: Db, now: Now) -> StaffOut:
    """Enrolments and purchases per staff member in the period (and store), most enrolments
    first; the enrolment rate is the share of their purchases made by members."""
    with db.read() as conn:
        scope, out = _open(conn, caller, query, now)
        rows = rankings.staff_leaderboard(conn, scope)
    return StaffOut(scope=out, rows=[StaffRow(**r) for r in rows])


@router.get("/staff.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def staff_csv(caller: Reader, query: Scoped, db: Db, now: Now) -> Response:
    with db.read() as conn:
        scope, _out = _open(conn, caller, query, now)
        rows = rankings.staff_leaderboard(conn, scope)
    return csv_response(_filename("staff", scope), STAFF_COLUMNS, rows)


@router.get("/rewards", response_model=RewardsOut)
def rewards(caller: Reader, query: Scoped, db: Db, now: Now) -> RewardsOut:
    """Redemptions of each reward in the period (business-wide) with its ratings of all time."""
    with db.read() as conn:
        scope, out = _open(conn, caller, query, now)
        rows = rankings.reward_popularity(conn, scope)
    return RewardsOut(scope=out, rows=[RewardRow(**r) for r in rows])


@router.get("/rewards.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def rewards_csv(caller: Reader, query: Scoped, db: Db, now: Now) -> Response:
    with db.read() as conn:
        scope, _out = _open(conn, caller, query, now)
        rows = flat_texts(rankings.reward_popularity(conn, scope), "title")
    return csv_response(_filename("rewards", scope), REWARD_COLUMNS, rows)


@router.get("/causes", response_model=CausesOut)
def causes(caller: Reader, query: Scoped, db: Db, now: Now) -> CausesOut:
    """Points donated to each cause, with donors and donations, of all time."""
    with db.read() as conn:
        scope, out = _open(conn, caller, query, now)
        rows = rankings.donations_by_cause(conn, scope.business_id)
    return CausesOut(scope=out, rows=[CauseRow(**r) for r in rows])


@router.get("/causes.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def causes_csv(caller: Reader, query: Scoped, db: Db, now: Now) -> Response:
    with db.read() as conn:
        scope, _out = _open(conn, caller, query, now)
        rows = flat_texts(rankings.donations_by_cause(conn, scope.business_id), "name")
    return csv_response(_filename("causes", scope), CAUSE_COLUMNS, rows)


@router.get("/settings", response_model=SettingsOut)
def get_settings(caller: Reader, db: Db) -> SettingsOut:
    with db.read() as conn:
        prefs = preferences.get(conn, caller.principal.business_id)
    return SettingsOut(enrolment_goal=prefs.enrolment_goal)


@router.put("/settings", response_model=SettingsOut)
def put_settings(
    body: SettingsIn,
    caller: Reader,
    db: Db,
    now: Now,
    csrf: Annotated[str, Header(alias="X-CSRF-Token", max_length=100)] = "",
) -> SettingsOut:
    """The enrolment-rate goal, 1 to 100 (%). From the console, send the session's form token
    in X-CSRF-Token."""
    if caller.csrf is not None:
        sessions.require_csrf(caller.csrf, csrf)
    with db.transaction() as conn:
        set_goal(conn, caller.principal, body.enrolment_goal, now)
    return SettingsOut(enrolment_goal=body.enrolment_goal)


def set_goal(conn: Connection, principal: Principal, goal: int, now: datetime) -> None:
    """Saves the goal, keeping the report settings, and records who changed it."""
    prefs = preferences.get(conn, principal.business_id)
    before = prefs.enrolment_goal
    prefs.enrolment_goal = goal
    preferences.save(conn, principal.business_id, prefs)
    if before != goal:
        tenancy.audit(
            conn,
            principal,
            "analytics.goal",
            f"business:{principal.business_id}",
            now,
            before=before,
            after=goal,
        )


@router.get("/model", response_model=ModelOut)
def model(caller: Reader, db: Db) -> ModelOut:
    """The value models of the latest refresh: BG/NBD (r, alpha in days, a, b) and Gamma-Gamma
    (p, q, gamma in the currency's minor units), each with its log-likelihood and the number of
    customers it was fitted on."""
    from lealtad.analytics import models, refresh  # numpy and scipy: only when asked
    from lealtad.kit.money import minor_exponent

    bid = caller.principal.business_id
    with db.read() as conn:
        found = refresh.snapshot(conn, bid, "clv")
        currency = tenancy.get_business(conn, bid).currency
    payload = None if found is None else found[1]
    return ModelOut(**models.described(payload, currency, minor_exponent(currency)))


@router.get("/members/{member_id}/value", response_model=MemberValueOut)
def member_value(member_id: IdPath, caller: Reader, db: Db) -> MemberValueOut:
    """A member's predicted value for the next 12 months and what it is made of: expected
    purchases (visit days) times expected spend per purchase, and the probability that the
    member is still a customer."""
    from lealtad.analytics import models, refresh

    bid = caller.principal.business_id
    with db.read() as conn:
        row = refresh.member_scores(conn, bid, member_id)
        currency = tenancy.get_business(conn, bid).currency
    if row is None:
        raise NotFound("No such member.")
    parts = models.explain(row.p_alive, row.expected_visits, row.predicted_value) or {}
    return MemberValueOut(
        member_id=member_id,
        scored_at=row.scored_at.isoformat() if row.scored_at else None,
        horizon_days=models.HORIZON_DAYS,
        currency=currency,
        predicted_value=row.predicted_value,
        expected_purchases=parts.get("expected_purchases"),
        expected_spend_per_purchase=parts.get("expected_spend_per_purchase"),
        p_alive=row.p_alive,
    )
