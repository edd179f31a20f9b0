"""The rewards catalog in the admin console: every reward with its cost, stock, dates and
ratings; creating one (every field of RewardIn, both languages), editing what RewardPatch
allows, deactivating; and each reward's ratings and reviews, which a manager may hide. Writes go
through rewards.service and rewards.ratings, like the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.deps import Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.members import store as member_store
from lealtad.rewards import ratings, service, store
from lealtad.rewards.model import KINDS
from lealtad.rewards.schemas import RewardPatch
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.web import sessions
from lealtad.web.admin.program.fields import (
    FieldError,
    PostedForm,
)
from lealtad.web.admin.program.rewards_forms import (
    NEW_DEFAULTS,
    Values,
    new_reward,
    patch_from,
    values_of,
)
from lealtad.web.admin.program.rewards_text import (
    cost_names,
    cost_text,
    kind_labels,
    rating_text,
    validity_text,
)
from lealtad.web.i18n import pick_language, translator
from lealtad.web.numbers import money, percent
from lealtad.web.pages import AcceptLanguage, Lang, render_page
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager, StaffSession
from lealtad.web.times import Times

router = APIRouter(include_in_schema=False)


def _business(conn: Connection, bid: int, lang: str | None, accept: str | None) -> tuple[Any, str]:
    business = tenancy_store.business(conn, bid)
    return business, pick_language(lang, accept, business.locale)


@router.get("/admin/rewards", response_class=HTMLResponse)
def catalog_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, lang, accept_language)
        rows = store.catalog(conn, staff.business_id, active_only=False)
        names = cost_names(conn, business, language)
    _ = translator(language)
    kinds = kind_labels(_)
    shown = []
    for row in rows:
        reward = service.out(row)
        shown.append(
            {
                "reward": reward,
                "kind": kinds.get(row.kind, row.kind),
                "cost": cost_text(names, row.cost, row.cost_unit),
                "validity": validity_text(
                    _, row.valid_from, row.valid_until, Times(business.timezone, language)
                ),
                "rating": rating_text(_, language, reward.rating_average, reward.rating_count),
            }
        )
    return render_page(
        request,
        "admin_rewards.html",
        language,
        business=business,
        staff=staff,
        rewards=shown,
        error=None,
    )


def _new_page(
    request: Request,
    business: Any,
    staff: StaffSession,
    lang: str,
    values: Values,
    errors: list[FieldError],
    status: int = 200,
) -> HTMLResponse:
    _ = translator(lang)
    return render_page(
        request,
        "admin_rewards_new.html",
        lang,
        status,
        business=business,
        staff=staff,
        values=values,
        errors=errors,
        kinds=[(k, kind_labels(_)[k]) for k in KINDS],
        currency=business.currency,
    )


@router.get("/admin/rewards/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, lang, accept_language)
    return _new_page(request, business, staff, language, dict(NEW_DEFAULTS), [])


@router.post("/admin/rewards/new", response_class=HTMLResponse)
def create(request: Request, staff: CurrentManager, db: Db, now: Now, form: PostedForm) -> Response:
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, form.get("lang") or None, None)
    _ = translator(language)
    data, errors = new_reward(form, business, _)
    status = 422
    if data is not None:
        try:
            with db.transaction() as conn:
                reward_id = service.create(conn, staff.business_id, data, now)
                tenancy.audit_created(
                    conn,
                    staff.principal,
                    "reward.create",
                    f"reward:{reward_id}",
                    now,
                    service.out(service.get(conn, staff.business_id, reward_id)),
                )
            return RedirectResponse(
                f"/admin/rewards/{reward_id}?saved=1&lang={language}", status_code=303
            )
        except LealtadError as exc:
            where = {"duplicate_reward": "slug", "cause_not_found": "cause_id"}.get(exc.code, "")
            message = {
                "duplicate_reward": _("another reward already has this id"),
                "cause_not_found": _("there is no cause with this number"),
            }.get(exc.code) or said(exc, _)
            errors, status = [(where, message)], exc.http_status
    return _new_page(request, business, staff, language, form.values, errors, status)


def _reward_page(
    request: Request,
    conn: Connection,
    staff: StaffSession,
    business: Any,
    lang: str,
    reward_id: int,
    *,
    values: Values | None = None,
    errors: list[FieldError] | None = None,
    saved: bool = False,
    status: int = 200,
) -> HTMLResponse:
    _ = translator(lang)
    row = service.get(conn, staff.business_id, reward_id)
    reward = service.out(row)
    found = ratings.of_reward(conn, staff.business_id, reward_id, include_hidden=True)
    ids = {r.member_id for r in found}
    names = member_store.display_names(conn, staff.business_id, ids)
    return render_page(
        request,
        "admin_rewards_edit.html",
        lang,
        status,
        business=business,
        staff=staff,
        reward=reward,
        kind=kind_labels(_).get(row.kind, row.kind),
        cost=cost_text(cost_names(conn, business, lang), row.cost, row.cost_unit),
        validity=validity_text(_, row.valid_from, row.valid_until, Times(business.timezone, lang)),
        rating=rating_text(_, lang, reward.rating_average, reward.rating_count),
        value_text=(
            percent(row.value / 100, lang)
            if row.kind == "discount_percent"
            else money(row.value, business.currency, lang)
        ),
        values=values if values is not None else values_of(row, business.timezone),
        errors=errors or [],
        saved=saved,
        ratings=[(r, names.get(r.member_id, f"#{r.member_id}")) for r in found],
    )


@router.get("/admin/rewards/{reward_id}", response_class=HTMLResponse)
def reward_page(
    request: Request,
    reward_id: IdPath,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    saved: Annotated[int | None, Query(ge=1, le=1)] = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, lang, accept_language)
        try:
            return _reward_page(
                request, conn, staff, business, language, reward_id, saved=saved is not None
            )
        except NotFound:
            pass
    missing = translator(language)("There is no such reward in this business.")
    return render_page(
        request,
        "admin_rewards.html",
        language,
        404,
        business=business,
        staff=staff,
        rewards=[],
        error=missing,
    )


@router.post("/admin/rewards/{reward_id}", response_class=HTMLResponse)
def update(
    request: Request, reward_id: IdPath, staff: CurrentManager, db: Db, now: Now, form: PostedForm
) -> Response:
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _business(conn, staff.business_id, form.get("lang") or None, None)
        service.get(conn, staff.business_id, reward_id)
    patch, errors = patch_from(form, business, translator(language))
    if patch is not None:
        with db.transaction() as conn:
            before = service.out(service.get(conn, staff.business_id, reward_id))
            service.update(conn, staff.business_id, reward_id, patch)
            after = service.out(service.get(conn, staff.business_id, reward_id))
            tenancy.audit_change(
                conn, staff.principal, "reward.update", f"reward:{reward_id}", now, before, after
            )
        return RedirectResponse(
            f"/admin/rewards/{reward_id}?saved=1&lang={language}", status_code=303
        )
    with db.read() as conn:
        return _reward_page(
            request,
            conn,
            staff,
            business,
            language,
            reward_id,
            values=form.values,
            errors=errors,
            status=422,
        )


@router.post("/admin/rewards/{reward_id}/active")
def set_active(
    reward_id: IdPath, staff: CurrentManager, db: Db, now: Now, form: PostedForm
) -> Response:
    """Deactivate a reward (members stop seeing it; vouchers already issued stay good) or bring
    it back."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    active = form.get("active") == "1"
    with db.transaction() as conn:
        before = service.out(service.get(conn, staff.business_id, reward_id))
        service.update(conn, staff.business_id, reward_id, RewardPatch(active=active))
        after = service.out(service.get(conn, staff.business_id, reward_id))
        tenancy.audit_change(
            conn, staff.principal, "reward.update", f"reward:{reward_id}", now, before, after
        )
    lang = form.get("lang") if form.get("lang") in ("es", "en") else ""
    return RedirectResponse(f"/admin/rewards/{reward_id}?saved=1&lang={lang}", status_code=303)


@router.post("/admin/rewards/{reward_id}/ratings/{rating_id}")
def moderate(
    reward_id: IdPath,
    rating_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    form: PostedForm,
) -> Response:
    """Hide a rating from the catalog's average (or show it again)."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    hidden = form.get("hidden") == "1"
    with db.transaction() as conn:
        service.get(conn, staff.business_id, reward_id)
        ratings.moderate(conn, staff.business_id, rating_id, hidden)
        tenancy.audit(
            conn, staff.principal, "rating.moderate", f"rating:{rating_id}", now, hidden=hidden
        )
    lang = form.get("lang") if form.get("lang") in ("es", "en") else ""
    return RedirectResponse(f"/admin/rewards/{reward_id}?lang={lang}", status_code=303)
