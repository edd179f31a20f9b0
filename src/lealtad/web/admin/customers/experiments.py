"""Experiments in the admin console: the list and a form to create one (a control and up to four
variants with their weights), one experiment with its segments, start and stop, and its report as
a table, a chart of each variant's uplift with its interval, and CSV. Writes go through
analytics.experiments, like the JSON API; the figures come from analytics.experiments_report."""

from __future__ import annotations

import contextlib
from typing import Any

from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Connection

from lealtad.analytics import experiments, experiments_report
from lealtad.analytics.experiments import ExperimentIn
from lealtad.deps import Db, Now
from lealtad.errors import Conflict, LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.kit.money import minor_exponent
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.web import sessions
from lealtad.web.admin.customers.members_view import LOCALES, Formats
from lealtad.web.admin.program.fields import (
    FieldError,
    PostedForm,
    Translate,
    parse_local,
    validation_errors,
)
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import AcceptLanguage, Lang, render_page
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
MAX_ARMS = 5
Values = dict[str, list[str]]
NEW_DEFAULTS: Values = {
    "arm_1": ["control"],
    "weight_1": ["1"],
    "arm_2": ["variant"],
    "weight_2": ["1"],
}


def _business(conn: Connection, bid: int, lang: str | None, accept: str | None) -> tuple[Any, str]:
    business = tenancy_store.business(conn, bid)
    return business, pick_language(lang, accept, business.locale)


def _form_language(form: Any) -> str | None:
    return form.get("lang") if form.get("lang") in ("es", "en") else None


def status_labels(_: Translate) -> dict[str, str]:
    return {"draft": _("Draft"), "running": _("Running"), "stopped": _("Stopped")}


def _list_page(
    request: Request,
    conn: Connection,
    staff: StaffSession,
    business: Any,
    lang: str,
    now: Any,
    *,
    values: Values | None = None,
    errors: list[FieldError] | None = None,
    missing: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    fmt = Formats(business, lang)
    rows = [experiments.out(r, now) for r in experiments.list_all(conn, staff.business_id)]
    return render_page(
        request,
        "admin_experiments.html",
        lang,
        status,
        business=business,
        staff=staff,
        experiments=rows,
        statuses=status_labels(translator(lang)),
        when=fmt.when,
        values=values if values is not None else dict(NEW_DEFAULTS),
        errors=errors or [],
        arm_slots=range(1, MAX_ARMS + 1),
        missing=missing,
    )


@router.get("/admin/experiments", response_class=HTMLResponse)
def list_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, lang, accept_language)
        return _list_page(request, conn, staff, business, language, now)


def experiment_from(
    form: Any, business: Any, _: Translate
) -> tuple[ExperimentIn | None, list[FieldError]]:
    """The posted form as an ExperimentIn, or the errors named by the path of their field."""
    errors: list[FieldError] = []
    arms, rows = [], []
    for n in range(1, MAX_ARMS + 1):
        name, weight = form.get(f"arm_{n}"), form.get(f"weight_{n}")
        if name:
            arms.append({"name": name, "weight": weight or "1"})
            rows.append(n)
    body: dict[str, Any] = {
        "slug": form.get("slug"),
        "name": form.get("name"),
        "hypothesis": form.get("hypothesis"),
        "arms": arms,
    }
    for field in ("starts_at", "ends_at"):
        text = form.get(field)
        if text:
            when = parse_local(text, business.timezone)
            if when is None:
                errors.append((field, _("is not a valid date or time")))
            body[field] = when
    try:
        data = ExperimentIn.model_validate(body)
    except ValidationError as exc:
        found = validation_errors(exc, body, _, whole="ends_at")
        # Empty rows are skipped, so the n-th arm sent may sit on a later row of the form.
        for k, n in reversed(list(enumerate(rows, 1))):
            found = [(p.replace(f"arms.#{k}.", f"arms.#{n}."), m) for p, m in found]
        return None, errors + found
    return (data, []) if not errors else (None, errors)


@router.post("/admin/experiments", response_class=HTMLResponse)
def create(request: Request, staff: CurrentManager, db: Db, now: Now, form: PostedForm) -> Response:
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, _form_language(form), None)
    _ = translator(language)
    data, errors = experiment_from(form, business, _)
    status = 422
    if data is not None:
        try:
            with db.transaction() as conn:
                experiment_id = experiments.create(conn, staff.business_id, data, now)
                tenancy.audit(
                    conn,
                    staff.principal,
                    "experiment.create",
                    f"experiment:{experiment_id}",
                    now,
                    slug=data.slug,
                )
            return RedirectResponse(
                f"/admin/experiments/{experiment_id}?lang={language}", status_code=303
            )
        except LealtadError as exc:
            where = {"duplicate_experiment": "slug"}.get(exc.code, "ends_at")
            message = {
                "duplicate_experiment": _("another experiment already has this id"),
                "ends_in_past": _("the end is already past"),
                "ends_before_start": _("the experiment must end after it starts"),
            }.get(exc.code) or said(exc, _)
            errors, status = [(where, message)], exc.http_status
    with db.read() as conn:
        return _list_page(
            request,
            conn,
            staff,
            business,
            language,
            now,
            values=form.values,
            errors=errors,
            status=status,
        )


# --- one experiment and its report ------------------------------------------------------------


class ReportView:
    """The report's figures as the page writes them: numbers, money and percents in the page's
    language, and the chart's data."""

    def __init__(self, found: experiments_report.Report, lang: str) -> None:
        self.found = found
        self.locale = LOCALES.get(lang, "en_GB")
        self.scale = 10 ** minor_exponent(found.currency)

    def number(self, value: float | None) -> str:
        return "–" if value is None else str(format_decimal(round(value, 2), locale=self.locale))

    def money(self, minor: float | None) -> str:
        if minor is None:
            return "–"
        return str(format_currency(minor / self.scale, self.found.currency, locale=self.locale))

    def percent(self, fraction: float | None) -> str:
        if fraction is None:
            return "–"
        return str(format_percent(fraction, "#,##0.# %", locale=self.locale))

    def value(self, metric: str, amount: float | None) -> str:
        return self.money(amount) if metric == "spend" else self.number(amount)

    def p_value(self, value: float) -> str:
        if value < 0.001:
            return "< " + str(format_decimal(0.001, "0.000", locale=self.locale))
        return str(format_decimal(value, "0.000", locale=self.locale))

    def charts(self, _: Translate) -> list[dict[str, Any]]:
        """One chart per measure: each variant's difference from control, in the measure's
        units (visits, or money in currency units), the interval as a floating bar and the
        estimate as a mark. Significant is an interval that leaves out 0, as in the table."""
        titles = {
            "visits": _("Visits per member: difference from control"),
            "spend": _("Spend per member: difference from control ({currency})").format(
                currency=self.found.currency
            ),
        }
        out = []
        for metric in experiments_report.METRICS:
            scale = self.scale if metric == "spend" else 1

            def unit(value: float, scale: int = scale) -> float:
                return round(value / scale, 3)

            compared = [c for c in self.found.comparisons if c.metric == metric]
            out.append(
                {
                    "metric": metric,
                    "title": titles[metric],
                    "labels": [c.arm for c in compared],
                    "ranges": [
                        [unit(c.uplift.difference_low), unit(c.uplift.difference_high)]
                        if c.uplift
                        else None
                        for c in compared
                    ],
                    "points": [unit(c.uplift.difference) if c.uplift else None for c in compared],
                    "interval": _("interval"),
                    "estimate": _("estimate"),
                }
            )
        return out


def _experiment_page(
    request: Request,
    conn: Connection,
    staff: StaffSession,
    business: Any,
    lang: str,
    now: Any,
    experiment_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    _ = translator(lang)
    row = experiments.get(conn, staff.business_id, experiment_id)
    experiment = experiments.out(row, now)
    total = sum(a.weight for a in experiment.arms)
    view = None
    with contextlib.suppress(Conflict):  # not started: the page says the report comes later
        view = ReportView(
            experiments_report.report(conn, staff.business_id, experiment_id, now), lang
        )
    return render_page(
        request,
        "admin_experiment.html",
        lang,
        status,
        business=business,
        staff=staff,
        experiment=experiment,
        shares={a.name: a.weight / total for a in experiment.arms},
        statuses=status_labels(_),
        when=Formats(business, lang).when,
        report=view,
        charts=view.charts(_) if view else [],
        error=error,
    )


def _missing(
    request: Request, conn: Connection, staff: StaffSession, business: Any, lang: str, now: Any
) -> HTMLResponse:
    _ = translator(lang)
    missing = _("There is no such experiment in this business.")
    return _list_page(request, conn, staff, business, lang, now, missing=missing, status=404)


@router.get("/admin/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(
    request: Request,
    experiment_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, lang, accept_language)
        try:
            return _experiment_page(request, conn, staff, business, language, now, experiment_id)
        except NotFound:
            return _missing(request, conn, staff, business, language, now)


def _change(
    request: Request,
    experiment_id: int,
    staff: StaffSession,
    db: Any,
    now: Any,
    form: Any,
    action: str,
) -> Response:
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    change = experiments.start if action == "start" else experiments.stop
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, _form_language(form), None)
    _ = translator(language)
    try:
        with db.transaction() as conn:
            change(conn, staff.business_id, experiment_id, now)
            tenancy.audit(
                conn, staff.principal, f"experiment.{action}", f"experiment:{experiment_id}", now
            )
    except NotFound:
        with db.read() as conn:
            return _missing(request, conn, staff, business, language, now)
    except LealtadError as exc:
        message = {
            "already_running": _("This experiment is already running."),
            "experiment_stopped": _("A stopped experiment cannot start again."),
            "not_running": _("Only a running experiment can be stopped."),
            "ends_in_past": _("Its planned end is already past; it cannot start."),
        }.get(exc.code) or said(exc, _)
        with db.read() as conn:
            return _experiment_page(
                request,
                conn,
                staff,
                business,
                language,
                now,
                experiment_id,
                error=message,
                status=exc.http_status,
            )
    return RedirectResponse(f"/admin/experiments/{experiment_id}?lang={language}", status_code=303)


@router.post("/admin/experiments/{experiment_id}/start", response_class=HTMLResponse)
def start(
    request: Request,
    experiment_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    form: PostedForm,
) -> Response:
    return _change(request, experiment_id, staff, db, now, form, "start")


@router.post("/admin/experiments/{experiment_id}/stop", response_class=HTMLResponse)
def stop(
    request: Request,
    experiment_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    form: PostedForm,
) -> Response:
    return _change(request, experiment_id, staff, db, now, form, "stop")


@router.get("/admin/experiments/{experiment_id}/report.csv")
def report_csv(experiment_id: IdPath, staff: CurrentManager, db: Db, now: Now) -> Response:
    with db.read() as conn:
        found = experiments_report.report(conn, staff.business_id, experiment_id, now)
    name = f"experiment-{found.experiment.slug}.csv"
    return Response(
        "\ufeff" + experiments_report.csv_text(found),  # so spreadsheets read it as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
