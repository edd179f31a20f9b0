"""The member's vouchers in the wallet: each with its code as a QR and as text to read out, its
validity and status; the list of open, used and expired ones; and rating a redeemed reward."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import Connection

from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Conflict, LealtadError, NotFound
from lealtad.kit.clock import as_utc
from lealtad.members import cards
from lealtad.rewards import model, ratings, redemption, store
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import VoucherOut
from lealtad.rules.names import ProgramNames
from lealtad.web.pages import Lang, render_page
from lealtad.web.wallet.common import (
    Gettext,
    Visit,
    expired_form,
    local_text,
    problem,
    program_names_now,
    to_login,
    visit,
    when,
)

router = APIRouter(include_in_schema=False)

AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Code = Annotated[str, Path(min_length=1, max_length=40)]
Csrf = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]
LIST_LIMIT = 200
REVIEW_MAX = 1000
GROUPS = ("open", "used", "expired", "cancelled")


def _state(voucher: VoucherOut, now: datetime) -> str:
    """open, used, expired or cancelled, as the member should read it now: an unused voucher
    past its date is expired even before the nightly job marks it."""
    if voucher.status == "issued":
        past = voucher.expires_at is not None and voucher.expires_at <= as_utc(now)
        return "expired" if past else "open"
    return voucher.status


def _labels(_: Gettext) -> dict[str, str]:
    return {
        "open": _("Ready to use"),
        "used": _("Used"),
        "expired": _("Expired"),
        "cancelled": _("Cancelled"),
        "done": _("Done"),
        "ordered": _("Ordered"),
        "shipped": _("On its way"),
        "delivered": _("Delivered"),
    }


def _shown(
    voucher: VoucherOut, reward: Any, visit: Visit, now: datetime, names: ProgramNames
) -> dict[str, Any]:
    _, lang, zone = visit._, visit.lang, visit.zone
    state = _state(voucher, now)
    settled = reward.kind in model.SETTLED_AT_ONCE
    labels = _labels(_)
    return {
        "code": voucher.code,
        "title": local_text(reward.title, lang, reward.slug),
        "reward_id": reward.id,
        "state": state,
        "label": labels["done" if settled and state == "used" else state],
        "settled": settled,
        "cost": names.quantity(voucher.cost_unit, voucher.cost),
        "unit": "",
        "issued": when(voucher.issued_at, zone, lang),
        "expires": when(voucher.expires_at, zone, lang) if voucher.expires_at else None,
        "used": when(voucher.used_at, zone, lang) if voucher.used_at else None,
        "fulfilment": labels.get(voucher.fulfilment or "", None),
    }


def _own_voucher(conn: Connection, visit: Visit, code: str) -> VoucherOut:
    """The member's own voucher; another member's, or another business's, does not exist."""
    found = redemption.get_voucher(conn, visit.business.id, code)
    if found.member_id != visit.member.id:
        raise NotFound("no voucher with this code in this business", code="voucher_not_found")
    return found


def _my_rating(conn: Connection, visit: Visit, reward_id: int) -> ratings.RatingOut | None:
    every = ratings.of_reward(conn, visit.business.id, reward_id, include_hidden=True)
    return next((r for r in every if r.member_id == visit.member.id), None)


def _voucher_page(
    request: Request,
    db: Database,
    visit: Visit,
    code: str,
    now: datetime,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        try:
            found = _own_voucher(conn, visit, code)
        except NotFound as exc:
            context = visit.page(tab="rewards", voucher=None, error=problem(exc, visit._))
            return render_page(request, "wallet_rewards_voucher.html", visit.lang, 404, **context)
        reward = rewards.get(conn, visit.business.id, found.reward_id)
        mine = _my_rating(conn, visit, reward.id)
        names = program_names_now(conn, visit.business, visit.lang, now)
    shown = _shown(found, reward, visit, now, names)
    # The QR says only the code: staff scan it, or type the code read out.
    qr = Markup(cards.qr_svg(found.code))  # noqa: S704  (segno's own SVG)
    return render_page(
        request,
        "wallet_rewards_voucher.html",
        visit.lang,
        status,
        **visit.page(
            tab="rewards",
            voucher=shown,
            qr_svg=qr if shown["state"] == "open" else None,
            rating=mine,
            can_rate=mine is None and shown["state"] == "used",
            error=error,
            rated=request.query_params.get("rated") == "1",
        ),
    )


@router.get("/w/{slug}/vouchers/{code}", response_class=HTMLResponse)
def voucher(
    request: Request,
    slug: str,
    code: Code,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    return _voucher_page(request, db, found, code, now)


@router.get("/w/{slug}/vouchers", response_class=HTMLResponse)
def vouchers(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    bid = found.business.id
    groups: dict[str, list[dict[str, Any]]] = {name: [] for name in GROUPS}
    with db.read() as conn:
        catalog = {r.id: r for r in store.catalog(conn, bid, active_only=False)}
        names = program_names_now(conn, found.business, found.lang, now)
        for row in store.member_vouchers(conn, bid, found.member.id, LIST_LIMIT):
            reward = catalog[row.reward_id]
            out = redemption.voucher_out(conn, row, reward.slug)
            shown = _shown(out, reward, found, now, names)
            groups[shown["state"]].append(shown)
    return render_page(
        request, "wallet_vouchers.html", found.lang, **found.page(tab="rewards", groups=groups)
    )


def _stars(value: str) -> int | None:
    text = value.strip()
    return int(text) if text in ("1", "2", "3", "4", "5") else None


@router.post("/w/{slug}/vouchers/{code}/rate")
def rate(
    request: Request,
    slug: str,
    code: Code,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    lang: FormLang = "",
    stars: Annotated[str, Form(max_length=10)] = "",
    review: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """One rating per member and reward, from one of its vouchers; the service would replace an
    earlier rating, the wallet says it was already given."""
    found = visit(request, db, settings, slug, lang)
    if found is None:
        return to_login(slug)
    _ = found._
    if not found.csrf_ok(csrf):
        return _voucher_page(request, db, found, code, now, 403, expired_form(_))
    given = _stars(stars)
    if given is None:
        return _voucher_page(request, db, found, code, now, 422, _("Choose from 1 to 5 stars."))
    if len(review.strip()) > REVIEW_MAX:
        error = _("Your review is too long: at most 1,000 characters.")
        return _voucher_page(request, db, found, code, now, 422, error)
    try:
        with db.transaction() as conn:
            voucher_row = _own_voucher(conn, found, code)
            if _my_rating(conn, found, voucher_row.reward_id) is not None:
                raise Conflict("already rated", code="already_rated")
            text = review.strip()
            body = ratings.RatingIn(reward_id=voucher_row.reward_id, stars=given, text=text)
            ratings.rate(conn, found.business.id, found.member.id, body, now)
    except LealtadError as exc:
        error = _("You already rated this reward.")
        if exc.code != "already_rated":
            error = problem(exc, _)
        return _voucher_page(request, db, found, code, now, exc.http_status, error)
    return RedirectResponse(found.url(f"/vouchers/{voucher_row.code}", rated=1), status_code=303)
