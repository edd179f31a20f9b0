"""The counter screen at the till (/counter): find the member by scanning or typing, see who
they are, record a purchase and what it earned, a sale without a member, and enrol a new
customer. Vouchers, redemptions and refunds are in counter_vouchers.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import Connection

from lealtad.config import Settings
from lealtad.db import group_commit
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.ledger import idempotency
from lealtad.members import pin as card_pin
from lealtad.members import pin as card_pins
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.products import service as products
from lealtad.purchases import service as purchases
from lealtad.purchases import setwise
from lealtad.purchases.batch_steps import once_per_batch
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rewards import redemption
from lealtad.security import limits
from lealtad.web import limit_pages, sessions
from lealtad.web.counter import paying
from lealtad.web.counter.forms import (
    FormError,
    Sale,
    check_key,
    items_total,
    parse_amount,
    parse_items,
    parse_products,
    readings,
    receipt_for,
)
from lealtad.web.counter.view import Desk, earned, explain, open_desk, show, show_member
from lealtad.web.counter.vouchers import voucher_page
from lealtad.web.pages import Lang
from lealtad.web.sessions import CurrentStaff

router = APIRouter(include_in_schema=False)

AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Text = Annotated[str, Form(max_length=320)]
Short = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]
Rows = Annotated[list[str], Form(max_length=50)]
# One count per product button; a menu longer than this is not a counter's.
Products = Annotated[list[str], Form(max_length=200)]


@router.get("/counter", response_class=HTMLResponse)
def counter(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return show(request, open_desk(db, staff, lang, accept_language))


@router.get("/counter/members/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request,
    member_id: IdPath,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    desk = open_desk(db, staff, lang, accept_language)
    try:
        return show_member(request, desk, db, member_id, now)
    except LealtadError as exc:
        errors = {"find": explain(exc, desk._)}
        return show(request, desk, exc.http_status, errors=errors)


def _find(db: Db, settings: Settings, desk: Desk, text: str, now: datetime) -> tuple[str, Any]:
    """The member or voucher the text names; a card code that does not read is said apart from
    a number that matches nobody, so staff know whether to ask for the card number."""
    bid, secret = desk.business.id, settings.effective_secret_key
    with db.read() as conn:
        for lookup in readings(text):
            try:
                if lookup.kind == "voucher":
                    return "voucher", redemption.get_voucher(conn, bid, lookup.value)
                named: dict[str, Any] = {lookup.kind: lookup.value}
                found = members.find(conn, bid, secret, now=now, **named)
                return "member", found.id
            except NotFound:
                if lookup.kind == "qr_token":
                    raise NotFound("card code not valid here", code="card_code_invalid") from None
    raise NotFound("no member or voucher matches", code="nothing_found")


def _missed(exc: LealtadError) -> bool:
    """A search that named nobody: what someone walking through numbers would mostly get."""
    return exc.code in ("nothing_found", "member_not_found", "card_code_invalid")


@router.post("/counter/find", response_class=HTMLResponse)
def find(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    settings: AppSettings,
    q: Text = "",
    csrf: Short = "",
    lang: FormLang = "",
) -> HTMLResponse:
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    try:
        sessions.require_csrf(staff.csrf, csrf)
        if not q.strip():
            raise Invalid("nothing typed", code="nothing_typed")
        guard = limits.lookup_attempt(db, request, staff.principal, now)
        kind, found = limits.guarded(guard, _missed, lambda: _find(db, settings, desk, q, now))
    except limits.TooManyAttempts as exc:
        errors = {"find": limit_pages.search_message(desk.lang, exc)}
        page = show(request, desk, exc.http_status, errors=errors, forms={"q": q})
        return limit_pages.with_retry_after(page, exc)
    except LealtadError as exc:
        message = (
            desk._("Scan a card or type a card number, e-mail or phone.")
            if exc.code == "nothing_typed"
            else explain(exc, desk._)
        )
        return show(request, desk, exc.http_status, errors={"find": message}, forms={"q": q})
    if kind == "voucher":
        return voucher_page(request, desk, db, found.code, now)
    if card_pin.is_rotating_code(q):
        # The wallet's rotating code proves the phone is here: no card PIN for this visit.
        proof = card_pin.presence_proof(
            settings.effective_secret_key, staff.business_id, found, now
        )
        return show_member(request, desk, db, found, now, presence=proof)
    return show_member(request, desk, db, found, now)


@router.post("/counter/members/{member_id}/purchases", response_class=HTMLResponse)
def purchase(
    request: Request,
    member_id: IdPath,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    settings: AppSettings,
    amount: Short = "",
    receipt: Short = "",
    key: Short = "",
    csrf: Short = "",
    lang: FormLang = "",
    sku: Rows = [],  # noqa: B006  (FastAPI copies form defaults)
    qty: Rows = [],  # noqa: B006
    price: Rows = [],  # noqa: B006
    product: Products = [],  # noqa: B006
    count: Products = [],  # noqa: B006
    pay_cashback: Short = "",
    pay_points: Short = "",
    card_pin: Annotated[str, Form(max_length=20)] = "",
    presence: Short = "",
) -> HTMLResponse:
    """A sale for the member on screen, through the same service as POST /api/v1/purchases:
    the product buttons' counts and any typed rows are its items, the amount is what was paid
    (the products' prices when left empty); part of it may be paid with the member's cashback
    or points, behind their card PIN."""
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    sale = Sale(amount, receipt, key, csrf, sku, qty, price, product, count)
    form = {
        "amount": amount,
        "receipt": receipt,
        "rows": list(zip(sku, qty, price, strict=False)),
        "counts": dict(zip(product, count, strict=False)),
        "pay_cashback": pay_cashback,
        "pay_points": pay_points,
    }
    kept = {"presence": presence} if presence else {}
    try:
        paid = paying.read(pay_cashback, pay_points, desk.business.currency, desk._)
        if paid:
            sessions.require_csrf(staff.csrf, csrf)
            secret = settings.effective_secret_key
            card_pins.require_at_counter(
                db, request, secret, staff.business_id, member_id, card_pin, presence, now=now
            )
        answer = _record(db, settings, desk, now, sale, member_id, paid)
        with db.read() as conn:
            result = earned(conn, desk, answer, now)
        return show_member(
            request, desk, db, member_id, now, 201, result=result, focus="scan", **kept
        )
    except (LealtadError, FormError) as exc:
        message = str(exc) if isinstance(exc, FormError) else explain(exc, desk._)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        if isinstance(exc, LealtadError) and exc.code == "member_not_found":
            return show(request, desk, 404, errors={"find": message})
        if isinstance(exc, LealtadError) and exc.code == "insufficient_balance":
            message = desk._("The member's balance does not cover that payment.")
        return show_member(
            request,
            desk,
            db,
            member_id,
            now,
            status,
            errors={"purchase": message},
            forms=form,
            **kept,
        )


def _record(
    db: Db,
    settings: Settings,
    desk: Desk,
    now: datetime,
    sale: Sale,
    member_id: int | None,
    paid: paying.BalancePayment = paying.BalancePayment(),
) -> dict[str, Any]:
    """The sale as a POS would send it, the form's key as its idempotency key: a second tap
    with the same form gets the first answer back and records nothing more."""
    _ = desk._
    sessions.require_csrf(desk.staff.csrf, sale.csrf)
    check_key(sale.key, _)
    currency = desk.business.currency
    with db.read() as conn:
        sold = {p.id: p for p in products.listing(conn, desk.business.id, active_only=False)}
    items = parse_products(sale.products, sale.counts, sold, _)
    items += parse_items(sale.skus, sale.quantities, sale.prices, currency, _)
    # Left empty, the amount is what the items cost; typed, it is what was paid (a discount).
    total = items_total(items)
    minor = parse_amount(sale.amount, currency, _) if sale.amount.strip() or not total else total
    try:
        data = PurchaseIn(
            receipt_id=sale.receipt.strip() or receipt_for(sale.key),
            amount=minor,
            currency=currency,
            member_id=member_id,
            channel="counter",
            items=items,
            cashback_redeem=paid.cashback,
            points_redeem=paid.points,
        )
    except ValidationError:
        raise FormError(_("That receipt number or an item does not look right.")) from None
    principal, secret = desk.staff.principal, settings.effective_secret_key

    def write(conn: Connection) -> tuple[int, dict[str, Any]]:
        return purchases.record(
            conn, principal, data, secret_key=secret, now=now, idempotency_key=sale.key
        )

    # Through the process's one writer, with the API's purchases (db/group_commit.py).
    together = group_commit.Together(
        setwise.record_all, setwise.Asked(principal, data, secret, now, sale.key)
    )
    bid = principal.business_id
    _status, answer = group_commit.committed_here(db, bid, write, once_per_batch, together)
    return dict(answer)


@router.post("/counter/purchases", response_class=HTMLResponse)
def sale_without_member(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    settings: AppSettings,
    amount: Short = "",
    receipt: Short = "",
    key: Short = "",
    csrf: Short = "",
    lang: FormLang = "",
) -> HTMLResponse:
    """A customer who is not a member: the sale still counts, for the enrolment rate."""
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    try:
        sale = Sale(amount, receipt, key, csrf, [], [], [], [], [])
        answer = _record(db, settings, desk, now, sale, None)
    except (LealtadError, FormError) as exc:
        message = str(exc) if isinstance(exc, FormError) else explain(exc, desk._)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        forms = {"sale_amount": amount, "sale_receipt": receipt}
        return show(
            request,
            desk,
            status,
            errors={"sale": message},
            forms=forms,
            open_tool="sale",
            focus="sale-amount",
        )
    with db.read() as conn:
        result = earned(conn, desk, answer, now)
    return show(request, desk, 201, view="sale", result=result)


@router.post("/counter/members", response_class=HTMLResponse)
def enrol(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
    contact: Text = "",
    consent: Annotated[bool, Form()] = False,
    consent_whatsapp: Annotated[bool, Form()] = False,
    accept_terms: Annotated[bool, Form()] = False,
    key: Short = "",
    csrf: Short = "",
    lang: FormLang = "",
) -> HTMLResponse:
    """The customer joins at the till: name, e-mail or phone, consent, the terms; the staff
    member and the location are recorded with the enrolment."""
    desk = open_desk(db, staff, lang or None, request.headers.get("accept-language"))
    _ = desk._
    whatsapp = consent_whatsapp and "whatsapp" in desk.phone_channels
    form = {"name": name, "contact": contact, "consent": consent, "consent_whatsapp": whatsapp}
    try:
        sessions.require_csrf(staff.csrf, csrf)
        check_key(key, _)
        if not name.strip():
            raise FormError(_("Please write the customer's name."))
        if not contact.strip():
            raise FormError(_("Please give an e-mail address or a phone number."))
        if whatsapp and "@" in contact:
            raise FormError(_("WhatsApp needs the customer's phone number as the contact."))
        if not accept_terms:
            raise FormError(_("The customer must accept the program terms to join."))
        member_id = _enrol(db, staff, now, name, contact, (consent, whatsapp), key)
    except (LealtadError, FormError) as exc:
        message = str(exc) if isinstance(exc, FormError) else explain(exc, _)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        return show(
            request,
            desk,
            status,
            errors={"enrol": message},
            forms=form,
            open_tool="enrol",
            focus="enrol-name",
        )
    return show_member(request, desk, db, member_id, now, 201, welcome=True)


def _enrol(
    db: Db,
    staff: sessions.StaffSession,
    now: datetime,
    name: str,
    contact: str,
    consents: tuple[bool, bool],
    key: str,
) -> int:
    """Enrols once per form: a second tap finds the enrolment the first one made. `consents`:
    offers by e-mail or SMS (whichever the contact is), and by WhatsApp."""
    is_email = "@" in contact
    consent, whatsapp = consents
    data = MemberIn(
        name=name.strip(),
        email=contact.strip() if is_email else None,
        phone=None if is_email else contact.strip(),
        consent=Consent(
            email=consent and is_email, sms=consent and not is_email, whatsapp=whatsapp
        ),
    )
    with db.transaction() as conn:
        scope = f"counter-enrol:{key}"
        replay = idempotency.begin(
            conn, staff.business_id, scope, data.model_dump(mode="json"), now
        )
        if replay is not None:
            return int(replay.body["member_id"])
        member_id = members.enrol(
            conn,
            staff.business_id,
            data,
            channel="counter",
            now=now,
            staff_id=staff.staff_id,
            location_id=staff.location_id,
        )
        idempotency.finish(conn, staff.business_id, scope, 201, {"member_id": member_id})
    return member_id
