"""Vouchers and refunds at the counter: redeem a reward for the member on screen and show the
voucher, validate a voucher once (a second try says when, where and by whom it was used), and
refund a purchase by its receipt number showing what was taken back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from pydantic import ValidationError

from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.ids import MAX_ID, IdPath
from lealtad.ledger import idempotency
from lealtad.members import cards, pin
from lealtad.members import service as members
from lealtad.purchases import refunds
from lealtad.purchases import store as purchase_store
from lealtad.purchases.schemas import RefundIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.names import program_names
from lealtad.security import limits
from lealtad.tenancy import store as tenancy_store
from lealtad.web import limit_pages, sessions
from lealtad.web.counter.forms import FormError, check_key, parse_amount
from lealtad.web.counter.view import (
    Desk,
    balance_texts,
    explain,
    money,
    open_desk,
    program,
    show,
    show_member,
    title,
    when,
)
from lealtad.web.sessions import CurrentStaff
from lealtad.web.wallet.common import program_names_now

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]


def voucher_page(
    request: Request,
    desk: Desk,
    db: Database,
    code: str,
    now: datetime,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The voucher, whose it is and whether it can be used; its QR while it is still open."""
    bid = desk.business.id
    with db.read() as conn:
        voucher = redemption.get_voucher(conn, bid, code)
        reward = rewards.get(conn, bid, voucher.reward_id)
        member = members.get(conn, bid, voucher.member_id)
    qr = (
        Markup(cards.qr_svg(voucher.code))  # noqa: S704  (segno's own SVG)
        if voucher.status == "issued"
        else None
    )
    shown = {
        "code": voucher.code,
        "status": voucher.status,
        "title": title(reward, desk.lang),
        "member": member,
        "expires": when(voucher.expires_at, desk.business, desk.lang)
        if voucher.expires_at
        else None,
        "used": when(voucher.used_at, desk.business, desk.lang) if voucher.used_at else None,
        "qr": qr,
    }
    return show(request, desk, status, view="voucher", voucher=shown, **extra)


@router.post("/counter/members/{member_id}/redemptions", response_class=HTMLResponse)
def redeem(
    request: Request,
    member_id: IdPath,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    settings: AppSettings,
    reward_id: Annotated[int, Form(ge=1, le=MAX_ID)] = 1,
    key: Short = "",
    csrf: Short = "",
    lang: FormLang = "",
    card_pin: Annotated[str, Form(max_length=20)] = "",
    presence: Short = "",
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    """Staff redeem a reward for the member; one voucher per form, however often it is sent.
    The first tap asks ("Redeem ... for ...?") and spends nothing; the answer's Confirm sends
    the same form again, confirmed. A member with a card PIN gives it at that step, unless the
    wallet's rotating code was scanned."""
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    kept = {"presence": presence} if presence else {}
    asking: dict[str, Any] = {"confirm_id": reward_id, "confirm_key": key, "focus": "confirm"}
    try:
        sessions.require_csrf(staff.csrf, csrf)
        check_key(key, desk._)
        asking["question"] = _question(db, desk, reward_id, now)
        if confirmed != "yes":
            return show_member(request, desk, db, member_id, now, 200, **asking, **kept)
        pin.require_at_counter(
            db,
            request,
            settings.effective_secret_key,
            staff.business_id,
            member_id,
            card_pin,
            presence,
            now=now,
        )
        with db.transaction() as conn:
            scope = f"counter-redeem:{key}"
            payload = {"member_id": member_id, "reward_id": reward_id}
            replay = idempotency.begin(conn, staff.business_id, scope, payload, now)
            if replay is not None:
                code = str(replay.body["code"])
            else:
                voucher = redemption.redeem(conn, staff.principal, member_id, reward_id, now)
                code = voucher.code
                body = voucher.model_dump(mode="json")
                idempotency.finish(conn, staff.business_id, scope, 201, body)
    except limits.TooManyAttempts as exc:
        errors = {"redeem": limit_pages.message(desk.lang, exc)}
        page = show_member(request, desk, db, member_id, now, 429, errors=errors, **kept)
        return limit_pages.with_retry_after(page, exc)
    except (LealtadError, FormError) as exc:
        message = str(exc) if isinstance(exc, FormError) else _pin_text(exc, desk)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        if isinstance(exc, LealtadError) and exc.code == "member_not_found":
            return show(request, desk, 404, errors={"find": message})
        errors = {"redeem": message}
        # A PIN refused: the question stays, so that staff can ask for the PIN again.
        pin_asked = isinstance(exc, LealtadError) and exc.code.startswith("card_pin")
        again: dict[str, Any] = asking if pin_asked else {}
        return show_member(
            request, desk, db, member_id, now, status, errors=errors, **again, **kept
        )
    return voucher_page(request, desk, db, code, now, 201, notice="redeemed")


def _question(db: Database, desk: Desk, reward_id: int, now: datetime) -> str:
    """ "Redeem Free drink for 10 stamps?", as the wallet asks the member."""
    with db.read() as conn:
        reward = rewards.get(conn, desk.business.id, reward_id)
        names = program_names_now(conn, desk.business, desk.lang, now)
    cost = names.quantity(reward.cost_unit, reward.cost)
    return desk._("Redeem %(reward)s for %(cost)s?") % {
        "reward": title(reward, desk.lang),
        "cost": cost,
    }


def _pin_text(exc: LealtadError, desk: Desk) -> str:
    _ = desk._
    if exc.code == "card_pin_required":
        return _("This member has a card PIN: ask for it, or scan the code in their wallet.")
    if exc.code == "card_pin_wrong":
        return _("The card PIN is wrong.")
    return explain(exc, _)


def _used_message(db: Database, desk: Desk, details: dict[str, Any]) -> str:
    """When, where and by whom a voucher was already used, in the page's language."""
    _ = desk._
    bid = desk.business.id
    where = who = _("unknown")
    with db.read() as conn:
        if details.get("used_location_id"):
            place = tenancy_store.location(conn, bid, int(details["used_location_id"]))
            where = place.name if place is not None else where
        actor = str(details.get("used_by") or "")
        if actor.startswith("staff:") and actor[6:].isdigit():
            person = tenancy_store.staff(conn, bid, int(actor[6:]))
            who = (person.name or person.email) if person is not None else who
        elif actor.startswith("api_key:"):
            who = _("the till system")
    used_at = details.get("used_at")
    at = (
        when(datetime.fromisoformat(used_at), desk.business, desk.lang) if used_at else _("unknown")
    )
    message = _("This voucher was already used on %(when)s at %(where)s by %(who)s.")
    return message % {"when": at, "where": where, "who": who}


def _unknown(exc: LealtadError) -> bool:
    return exc.code == "voucher_not_found"


def _validate(db: Database, staff: Any, code: str, now: datetime) -> Any:
    with db.transaction() as conn:
        return redemption.validate(conn, staff.principal, code, None, now)


@router.post("/counter/vouchers/validate", response_class=HTMLResponse)
def validate(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    code: Annotated[str, Form(max_length=40)] = "",
    csrf: Short = "",
    lang: FormLang = "",
) -> HTMLResponse:
    """Uses the voucher here, once; a used, expired or cancelled one is refused, saying why."""
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    _ = desk._
    try:
        sessions.require_csrf(staff.csrf, csrf)
        if not code.strip():
            raise FormError(_("Type or scan the voucher code."))
        guard = limits.voucher_attempt(db, request, staff.principal, now)
        used = limits.guarded(guard, _unknown, lambda: _validate(db, staff, code, now))
    except limits.TooManyAttempts as exc:
        forms = {"voucher_code": code}
        page = show(
            request,
            desk,
            429,
            errors={"voucher": limit_pages.message(desk.lang, exc)},
            forms=forms,
            open_tool="voucher",
            focus="voucher-code",
        )
        return limit_pages.with_retry_after(page, exc)
    except (LealtadError, FormError) as exc:
        if isinstance(exc, FormError) or exc.code in ("voucher_not_found", "csrf_token_invalid"):
            message = str(exc) if isinstance(exc, FormError) else explain(exc, _)
            status = 422 if isinstance(exc, FormError) else exc.http_status
            forms = {"voucher_code": code}
            return show(
                request,
                desk,
                status,
                errors={"voucher": message},
                forms=forms,
                open_tool="voucher",
                focus="voucher-code",
            )
        message = (
            _used_message(db, desk, exc.details or {})
            if exc.code == "voucher_used"
            else explain(exc, _)
        )
        return voucher_page(
            request, desk, db, code, now, exc.http_status, errors={"voucher": message}
        )
    return voucher_page(request, desk, db, used.code, now, notice="validated")


@router.post("/counter/refunds", response_class=HTMLResponse)
def refund(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    receipt: Short = "",
    amount: Short = "",
    key: Short = "",
    csrf: Short = "",
    lang: FormLang = "",
) -> HTMLResponse:
    """All or part of a sale back; its awards come back in proportion, never below zero."""
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    _ = desk._
    try:
        sessions.require_csrf(staff.csrf, csrf)
        check_key(key, _)
        if not receipt.strip():
            raise FormError(_("Type the receipt number of the sale."))
        part = parse_amount(amount, desk.business.currency, _) if amount.strip() else None
        try:
            data = RefundIn(refund_id=f"counter-{key}", receipt_id=receipt.strip(), amount=part)
        except ValidationError:
            raise FormError(_("That receipt number does not look right.")) from None
        with db.transaction() as conn:
            _status, answer = refunds.refund(conn, staff.principal, data, now=now)
            sale = purchase_store.purchase(conn, staff.business_id, answer["purchase_id"])
            definition = program(conn, staff.business_id, now)
            names = program_names(conn, desk.business, definition, desk.lang)
    except (LealtadError, FormError) as exc:
        message = str(exc) if isinstance(exc, FormError) else explain(exc, _)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        forms = {"refund_receipt": receipt, "refund_amount": amount}
        return show(
            request,
            desk,
            status,
            errors={"refund": message},
            forms=forms,
            open_tool="refund",
            focus="refund-receipt",
        )
    shown = {
        "receipt": sale.receipt_id,
        "amount": money(answer["amount"], sale.currency, desk.lang),
        "reversed": [names.award(u, n) for u, n in sorted(answer["reversed"].items())],
        "shortfall": [names.award(u, n) for u, n in sorted(answer["shortfall"].items())],
        "balances": balance_texts(answer.get("balances") or {}, names)
        if answer.get("balances") is not None
        else [],
    }
    if sale.member_id is not None:
        return show_member(request, desk, db, sale.member_id, now, 201, refund=shown, focus="scan")
    return show(request, desk, 201, view="refund", refund=shown)
