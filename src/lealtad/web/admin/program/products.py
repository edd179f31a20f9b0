"""The products in the admin console: what the business sells, as the counter's buttons. Each
has the code and category the program's rules name, its name in Spanish and English and its
price; managers and owners add, change, hide and remove them."""

from __future__ import annotations

from typing import Annotated, Any

from babel.numbers import get_decimal_symbol
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from lealtad.deps import Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.ids import IdPath
from lealtad.kit.money import Money, minor_exponent
from lealtad.products import service as products
from lealtad.products.schemas import ProductIn
from lealtad.rewards.schemas import Texts
from lealtad.rules import service as programs
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.counter.forms import FormError, parse_amount
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Code = Annotated[str, Form(max_length=100)]
Title = Annotated[str, Form(max_length=500)]
Price = Annotated[str, Form(max_length=40)]


def _named(definition: Any) -> tuple[set[str], set[str]]:
    """The categories and product codes the program's rules name, to tell the owner which
    products earn."""
    categories: set[str] = set()
    skus: set[str] = set()
    for rule in definition.rules if definition else []:
        if rule.conditions.items is not None:
            categories |= set(rule.conditions.items.categories)
            skus |= set(rule.conditions.items.skus)
    return categories, skus


def _page(
    request: Request,
    db: Db,
    staff: StaffSession,
    now: Any,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        sold = products.listing(conn, staff.business_id, active_only=False)
        try:
            definition = programs.in_force(conn, staff.business_id, now).definition
        except LealtadError:
            definition = None
    categories, skus = _named(definition)
    exponent = minor_exponent(business.currency)
    mark = get_decimal_symbol(language)
    rows = [
        {
            "p": p,
            "price": f"{Money(p.price, business.currency).major():.{exponent}f}".replace(".", mark),
            "earns": p.category in categories or p.sku in skus,
        }
        for p in sold
    ]
    context = {"error": None, "error_for": None, "notice": None, "form": {}} | extra
    return render_page(
        request,
        "admin_products.html",
        language,
        status,
        business=business,
        staff=staff,
        rows=rows,
        named=sorted(categories | skus),
        **context,
    )


@router.get("/admin/products", response_class=HTMLResponse)
def products_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _page(request, db, staff, now, lang, accept_language)


def _product_in(
    business: Any, lang: str, sku: str, category: str, name_es: str, name_en: str, price: str
) -> ProductIn:
    """The form as a product; a name given in one language only serves for both."""
    _ = translator(lang)
    if not sku.strip():
        raise FormError(_("Give the product code the till uses, like CAFE."))
    if not (name_es.strip() or name_en.strip()):
        raise FormError(_("Give the product a name."))
    minor = parse_amount(price, business.currency, _, allow_zero=True)
    try:
        return ProductIn(
            sku=sku.strip(),
            category=category.strip() or None,
            title=Texts(
                es=name_es.strip() or name_en.strip(), en=name_en.strip() or name_es.strip()
            ),
            price=minor,
        )
    except ValidationError:
        raise FormError(
            _(
                "The product code takes letters, digits and . _ / - only, up to 100; names "
                "and the category up to 100 characters."
            )
        ) from None


def _refusal(lang: str, exc: LealtadError) -> str:
    _ = translator(lang)
    known = {
        "duplicate_sku": _("Another product already has that code."),
        "product_not_found": _("There is no such product."),
    }
    return known.get(exc.code, exc.message)


@router.post("/admin/products", response_class=HTMLResponse)
def add_product(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    sku: Code = "",
    category: Code = "",
    name_es: Title = "",
    name_en: Title = "",
    price: Price = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    form = {"sku": sku, "category": category, "name_es": name_es, "name_en": name_en}
    with db.read() as conn:
        business, _me, language = console(conn, staff, None, accept_language)
    try:
        data = _product_in(business, language, sku, category, name_es, name_en, price)
        with db.transaction() as conn:
            product_id = products.add(conn, staff.business_id, data, now)
            tenancy.audit_created(
                conn, staff.principal, "product.create", f"product:{product_id}", now, data
            )
    except (FormError, LealtadError) as exc:
        message = str(exc) if isinstance(exc, FormError) else _refusal(language, exc)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        form["price"] = price
        return _page(
            request, db, staff, now, None, accept_language, status, error=message, form=form
        )
    notice = translator(language)("The product is added: the counter shows it now.")
    return _page(request, db, staff, now, None, accept_language, 201, notice=notice)


@router.post("/admin/products/{product_id}", response_class=HTMLResponse)
def change_product(
    request: Request,
    product_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    sku: Code = "",
    category: Code = "",
    name_es: Title = "",
    name_en: Title = "",
    price: Price = "",
    active: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Saves one product's row; unticking "shown at the counter" hides it from the buttons."""
    sessions.require_csrf(staff.csrf, csrf)
    with db.read() as conn:
        business, _me, language = console(conn, staff, None, accept_language)
    try:
        with db.read() as conn:
            # Another business's product is not found, whatever the form says.
            products.get(conn, staff.business_id, product_id)
        data = _product_in(business, language, sku, category, name_es, name_en, price)
        data = data.model_copy(update={"active": active})
        with db.transaction() as conn:
            before = products.get(conn, staff.business_id, product_id)
            products.update(conn, staff.business_id, product_id, data)
            tenancy.audit_change(
                conn,
                staff.principal,
                "product.update",
                f"product:{product_id}",
                now,
                ProductIn(
                    sku=before.sku,
                    category=before.category,
                    title=Texts(**before.title),
                    price=before.price,
                    active=before.active,
                ),
                data,
            )
    except (FormError, LealtadError) as exc:
        message = str(exc) if isinstance(exc, FormError) else _refusal(language, exc)
        status = 422 if isinstance(exc, FormError) else exc.http_status
        return _page(
            request,
            db,
            staff,
            now,
            None,
            accept_language,
            status,
            error=message,
            error_for=product_id,
        )
    notice = translator(language)("The product is saved.")
    return _page(request, db, staff, now, None, accept_language, notice=notice)


@router.post("/admin/products/{product_id}/remove", response_class=HTMLResponse)
def remove_product(
    request: Request,
    product_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Past purchases keep their items: they carry the code, not the product."""
    sessions.require_csrf(staff.csrf, csrf)
    with db.read() as conn:
        language = console(conn, staff, None, accept_language)[2]
    try:
        with db.transaction() as conn:
            gone = products.get(conn, staff.business_id, product_id)
            products.remove(conn, staff.business_id, product_id)
            tenancy.audit(
                conn, staff.principal, "product.remove", f"product:{product_id}", now, sku=gone.sku
            )
    except LealtadError as exc:
        return _page(
            request,
            db,
            staff,
            now,
            None,
            accept_language,
            exc.http_status,
            error=_refusal(language, exc),
        )
    notice = translator(language)("The product is removed from the counter.")
    return _page(request, db, staff, now, None, accept_language, notice=notice)
