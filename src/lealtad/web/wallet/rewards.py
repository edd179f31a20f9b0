"""The wallet's rewards: the catalog the member can see, with what each costs, whether their
balance covers it and how much is missing; redeeming one for a voucher; giving points to a
cause. Every change goes through the rewards services, as the JSON API's member routes do,
with the member ("member:<id>") as the actor in the journal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.ids import MAX_ID, IdPath
from lealtad.ledger import idempotency
from lealtad.ledger import service as ledger
from lealtad.rewards import donations, redemption
from lealtad.rewards import service as rewards
from lealtad.rules import service as programs
from lealtad.rules.names import ProgramNames
from lealtad.web.pages import Lang, render_page
from lealtad.web.wallet.card import program_units
from lealtad.web.wallet.common import (
    Visit,
    amount,
    expired_form,
    form_key,
    local_text,
    problem,
    program_names_now,
    to_login,
    visit,
)
from lealtad.web.wallet.vouchers import router as vouchers_router

router = APIRouter(include_in_schema=False)
router.include_router(vouchers_router)

AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Csrf = Annotated[str, Form(max_length=100)]
Key = Annotated[str, Form(max_length=64)]
FormLang = Annotated[str, Form(max_length=5)]
# Numbers arrive as text so that a wrong one is explained on the page, not refused as JSON.
Number = Annotated[str, Form(max_length=30)]
MAX_DONATION = 10**9


def _offer(reward: Any, held: dict[str, int], visit: Visit, names: ProgramNames) -> dict[str, Any]:
    _, lang = visit._, visit.lang
    have = held.get(reward.cost_unit, 0)
    missing = max(reward.cost - have, 0)
    rating = None
    if reward.rating_average is not None:
        rating = _("Rated %(average)s out of 5 by %(count)s members") % {
            "average": format_decimal(round(reward.rating_average, 1), locale=lang),
            "count": reward.rating_count,
        }
    return {
        "id": reward.id,
        "question": _("Redeem %(reward)s for %(cost)s?")
        % {
            "reward": local_text(reward.title, lang, reward.slug),
            "cost": names.quantity(reward.cost_unit, reward.cost),
        },
        "title": local_text(reward.title, lang, reward.slug),
        "description": local_text(reward.description, lang),
        "cost": names.quantity(reward.cost_unit, reward.cost),
        "unit": "",
        "affordable": missing == 0,
        "missing": names.missing(*names.shortfall(reward.cost_unit, missing, held))
        if missing
        else "",
        "rating": rating,
        "stars": round(reward.rating_average or 0),
        "featured": reward.featured,
    }


def _catalog(conn: Connection, visit: Visit, now: datetime) -> dict[str, Any]:
    bid, mid, lang = visit.business.id, visit.member.id, visit.lang
    held = ledger.balances(conn, bid, mid)
    names = program_names_now(conn, visit.business, lang, now)
    offers = [_offer(r, held, visit, names) for r in rewards.for_member(conn, bid, mid, now)]
    causes = [
        {
            "id": c.id,
            "name": local_text(c.name, lang),
            "description": local_text(c.description, lang),
            "total": format_decimal(c.total_points, locale=lang),
        }
        for c in donations.list_causes(conn, bid)
        if c.active
    ]
    try:
        definition = programs.in_force(conn, bid, now).definition
    except LealtadError:
        definition = None
    return {
        "offers": offers,
        "causes": causes,
        # A stamps-only café has no "Your points: 0" line (as on the card).
        "shows_points": bool("points" in program_units(definition) or held.get("points") or causes),
        "points": held.get("points", 0),
        "points_text": amount("points", held.get("points", 0), visit.business.currency, lang),
    }


def _page(
    request: Request,
    db: Database,
    visit: Visit,
    now: datetime,
    status: int = 200,
    error: str | None = None,
    donated: int | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        shown = _catalog(conn, visit, now)
    thanks = None
    if donated:
        thanks = visit._("Thank you! You gave %(count)s points.") % {
            "count": format_decimal(donated, locale=visit.lang)
        }
    return render_page(
        request,
        "wallet_rewards.html",
        visit.lang,
        status,
        **visit.page(tab="rewards", error=error, thanks=thanks, key=form_key(), **shown),
    )


@router.get("/w/{slug}/rewards", response_class=HTMLResponse)
def catalog(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    donated: Annotated[int | None, Query(ge=1, le=MAX_DONATION)] = None,
) -> Response:
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    return _page(request, db, found, now, donated=donated)


def _redeem(conn: Connection, visit: Visit, reward_id: int, key: str, now: datetime) -> str:
    """The voucher's code; a form sent twice (a double tap) finds the first voucher."""
    bid, mid = visit.business.id, visit.member.id
    replay_key = f"wallet:{mid}:redeem:{key}" if key else None
    if replay_key is not None:
        replay = idempotency.begin(conn, bid, replay_key, {"reward_id": reward_id}, now)
        if replay is not None:
            return str(replay.body["code"])
    voucher = redemption.redeem(conn, visit.principal, mid, reward_id, now)
    if replay_key is not None:
        idempotency.finish(conn, bid, replay_key, 201, {"code": voucher.code})
    return voucher.code


def _confirmation(
    request: Request, db: Database, visit: Visit, reward_id: int, now: datetime
) -> HTMLResponse:
    """The question before anything is spent: the reward, what it costs, Confirm or Cancel. A
    reward the member cannot redeem now sends them back to the catalog, which says why."""
    with db.read() as conn:
        shown = _catalog(conn, visit, now)
    offer = next((o for o in shown["offers"] if o["id"] == reward_id), None)
    if offer is None:  # none of this business's, or not offered to this member now
        return _page(request, db, visit, now, 404, visit._("There is no such reward."))
    if not offer["affordable"]:
        return _page(request, db, visit, now, 409, offer["missing"])
    return render_page(
        request,
        "wallet_rewards_confirm.html",
        visit.lang,
        **visit.page(tab="rewards", offer=offer, key=form_key()),
    )


@router.get("/w/{slug}/rewards/{reward_id}/redeem", response_class=HTMLResponse)
def confirm_redeem(
    request: Request,
    slug: str,
    reward_id: IdPath,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """One tap on "Redeem" asks first; works without JavaScript."""
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    return _confirmation(request, db, found, reward_id, now)


@router.post("/w/{slug}/rewards/{reward_id}/redeem")
def redeem(
    request: Request,
    slug: str,
    reward_id: IdPath,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    key: Key = "",
    lang: FormLang = "",
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    found = visit(request, db, settings, slug, lang)
    if found is None:
        return to_login(slug)
    if not found.csrf_ok(csrf):
        return _page(request, db, found, now, 403, expired_form(found._))
    if confirmed != "yes":
        # A form from before the question (an old page, a cached copy) spends nothing either.
        return _confirmation(request, db, found, reward_id, now)
    try:
        with db.transaction() as conn:
            code = _redeem(conn, found, reward_id, key, now)
    except LealtadError as exc:
        return _page(request, db, found, now, exc.http_status, problem(exc, found._))
    return RedirectResponse(found.url(f"/vouchers/{code}"), status_code=303)


def _whole(value: str, low: int, high: int) -> int | None:
    text = value.strip()
    if not text.isdigit():
        return None
    number = int(text)
    return number if low <= number <= high else None


@router.post("/w/{slug}/donate")
def donate(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    key: Key = "",
    lang: FormLang = "",
    cause: Number = "",
    points: Number = "",
) -> Response:
    found = visit(request, db, settings, slug, lang)
    if found is None:
        return to_login(slug)
    _ = found._
    if not found.csrf_ok(csrf):
        return _page(request, db, found, now, 403, expired_form(_))
    cause_id = _whole(cause, 1, MAX_ID)
    given = _whole(points, 1, MAX_DONATION)
    if cause_id is None:
        return _page(request, db, found, now, 422, _("Choose a cause."))
    if given is None:
        error = _("Choose how many points to give: a whole number, at least 1.")
        return _page(request, db, found, now, 422, error)
    body = donations.DonationIn(cause_id=cause_id, points=given)
    replay_key = f"wallet:{found.member.id}:{key}" if key else None
    try:
        with db.transaction() as conn:
            donations.donate(
                conn, found.principal, found.member.id, body, now, idempotency_key=replay_key
            )
    except LealtadError as exc:
        return _page(request, db, found, now, exc.http_status, problem(exc, _))
    return RedirectResponse(found.url("/rewards", donated=given), status_code=303)
