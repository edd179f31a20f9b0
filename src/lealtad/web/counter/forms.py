"""What staff type at the counter, read strictly: amounts in either decimal style, the optional
item rows, the form keys that make a double tap harmless, and what a scanned or typed text is."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from lealtad.kit.money import MAX_MINOR, minor_exponent
from lealtad.members.model import is_card_number, normalise_card_number, normalise_phone
from lealtad.purchases.schemas import ItemIn
from lealtad.rewards.model import normalise_code

Translate = Callable[[str], str]

# Letters and digits without look-alikes: a receipt number made from a key can be read aloud.
KEY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
VOUCHER_PATTERN = re.compile(r"^[A-Z0-9]{5}-[A-Z0-9]{5}$")


@dataclass(frozen=True)
class Sale:
    """A purchase form as posted: what was paid, the product buttons' counts, typed item rows."""

    amount: str
    receipt: str
    key: str
    csrf: str
    skus: list[str]
    quantities: list[str]
    prices: list[str]
    products: list[str]
    counts: list[str]


class FormError(ValueError):
    """A field that cannot be read; the message is already in the page's language."""


def new_key() -> str:
    """Drawn with each form: the same key twice is the same submission (decisions D21)."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(20))


def check_key(key: str, _: Translate) -> str:
    if not KEY_PATTERN.match(key):
        raise FormError(_("This form has expired. Reload the page and try again."))
    return key


def receipt_for(key: str) -> str:
    """The receipt number of a sale typed without one: short, and fixed by the form's key, so
    a replay carries the same receipt."""
    return f"C-{key[:10].upper()}"


def parse_amount(text: str, currency: str, _: Translate, *, allow_zero: bool = False) -> int:
    """Minor units from "12,50", "12.50", "1.234,50", "1,234.50" or "12". A single separator
    is the decimal one; more digits after it than the currency has is refused rather than
    guessed, so "1.000" is never silently one euro or a thousand."""
    raw = re.sub(r"[\s\u00a0\u202f]", "", text)
    raw = re.sub(r"[^\w.,-]", "", raw)  # a currency sign typed or pasted along
    unreadable = FormError(_("That amount does not look right. Type it like 12,50."))
    if not raw:
        raise FormError(_("Enter the amount, like 12,50."))
    if "-" in raw:
        raise FormError(_("The amount cannot be negative."))
    if not re.fullmatch(r"[\d.,]+", raw):
        raise unreadable
    marks = {ch for ch in raw if ch in ".,"}
    whole, fraction = raw, ""
    if len(marks) == 2 or (marks and raw.count(marks.pop()) == 1):
        last = max(raw.rfind("."), raw.rfind(","))
        whole, fraction = raw[:last], raw[last + 1 :]
    if not re.fullmatch(r"\d*|\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*", whole):
        raise unreadable
    whole = re.sub(r"[.,]", "", whole)
    if not (whole or fraction):
        raise unreadable
    if len(fraction) > minor_exponent(currency):
        raise FormError(_("That amount has too many decimals. Type it like 12,50."))
    minor = int(Decimal(f"{whole or '0'}.{fraction or '0'}").scaleb(minor_exponent(currency)))
    if minor == 0 and not allow_zero:
        raise FormError(_("The amount must be more than zero."))
    if minor > MAX_MINOR:
        raise FormError(_("That amount is too large."))
    return minor


def parse_items(
    skus: list[str], quantities: list[str], prices: list[str], currency: str, _: Translate
) -> list[ItemIn]:
    """The optional item rows; a row without a code is an empty row and is skipped."""
    items = []
    for index, sku in enumerate(skus):
        quantity = quantities[index] if index < len(quantities) else ""
        price = prices[index] if index < len(prices) else ""
        if not sku.strip():
            if quantity.strip() not in ("", "1") or price.strip():
                raise FormError(_("Each item needs its product code."))
            continue
        try:
            count = Decimal(quantity.strip().replace(",", ".") or "1")
        except InvalidOperation:
            raise FormError(_("An item's quantity does not look right.")) from None
        if not count.is_finite() or not 0 < count <= 100_000 or count != round(count, 3):
            raise FormError(_("An item's quantity does not look right."))
        unit_price = parse_amount(price, currency, _, allow_zero=True) if price.strip() else 0
        items.append(ItemIn(sku=sku.strip()[:100], quantity=count, unit_price=unit_price))
    return items


def parse_products(
    ids: list[str], counts: list[str], sold: dict[int, Any], _: Translate
) -> list[ItemIn]:
    """The product buttons' counts as the sale's items, each with the code, category and price
    the owner set, as a till would send them; a count of 0 is a product not bought."""
    items = []
    for index, raw_id in enumerate(ids):
        raw = counts[index].strip() if index < len(counts) else ""
        if raw in ("", "0"):
            continue
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= 999):
            raise FormError(_("An item's quantity does not look right."))
        product = sold.get(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
        if product is None:
            raise FormError(_("That product is no longer sold here. Reload the page."))
        items.append(
            ItemIn(
                sku=product.sku,
                category=product.category,
                quantity=Decimal(int(raw)),
                unit_price=product.price,
            )
        )
    return items


def items_total(items: list[ItemIn]) -> int:
    return int(sum(i.unit_price * i.quantity for i in items))


@dataclass(frozen=True)
class Lookup:
    """How to look up what was scanned or typed, most likely reading first."""

    kind: Literal["qr_token", "email", "card_number", "voucher", "phone"]
    value: str


def readings(text: str) -> list[Lookup]:
    value = text.strip()
    if value.upper().startswith(("LT1-", "LT2-")):
        return [Lookup("qr_token", value)]
    if "@" in value:
        return [Lookup("email", value)]
    found = []
    digits = normalise_card_number(value)
    if is_card_number(digits):
        found.append(Lookup("card_number", digits))
    code = normalise_code(value)
    if VOUCHER_PATTERN.match(code):
        found.append(Lookup("voucher", code))
    if normalise_phone(value):
        found.append(Lookup("phone", value))
    if digits and not is_card_number(digits) and len(digits) <= 40:
        # Last: a card of the system the business moved from (`lealtad import members`).
        found.append(Lookup("card_number", digits))
    return found
