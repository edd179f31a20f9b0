"""What every connector reads a vendor's delivery into, and the signature checks they share.
Pure: no database, no framework. A vendor module verifies the sender and maps its payload to
these shapes; the service does the rest the same way for every vendor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lealtad.errors import Invalid, LealtadError, Unauthorized
from lealtad.kit.money import minor_exponent

ENROL, ANONYMOUS = "enrol", "anonymous"
UNKNOWN_CUSTOMER = (ENROL, ANONYMOUS)


class Stale(LealtadError):
    """A signed request older than the vendor's tolerance: a replay, or a clock far off."""

    http_status = 400
    code = "stale_timestamp"


def unsigned(message: str = "the request is not signed") -> Unauthorized:
    return Unauthorized(message, code="missing_signature")


def forged() -> Unauthorized:
    return Unauthorized("the signature does not match the request", code="bad_signature")


def unmappable(message: str) -> Invalid:
    return Invalid(message, code="unmappable_payload")


def json_object(delivery: Delivery) -> dict[str, Any]:
    """The delivery's body as a JSON object, or the 422 every vendor answers when it is not."""
    try:
        payload = json.loads(delivery.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise unmappable("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise unmappable("the body must be an object")
    return payload


@dataclass(frozen=True)
class Customer:
    """How the vendor names the buyer; any of these may be missing (an anonymous sale)."""

    email: str | None = None
    phone: str | None = None
    card: str | None = None
    name: str | None = None
    # The vendor's own id of the buyer (a Loyverse customer, a Square customer_id): remembered
    # once it is seen beside a contact, so that later sales naming only this id find the member.
    ref: str | None = None

    @property
    def named(self) -> bool:
        return bool(self.email or self.phone or self.card)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: str
    unit_price: int
    category: str | None = None


@dataclass(frozen=True)
class Sale:
    external_id: str
    amount: int
    currency: str
    occurred_at: datetime
    customer: Customer = Customer()
    lines: tuple[Line, ...] = ()
    location: str | None = None  # the vendor's location id, mapped by the configuration
    channel: str = "counter"


@dataclass(frozen=True)
class Refund:
    external_id: str
    sale_external_id: str
    amount: int | None  # None: the rest of the sale
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Ignored:
    """A delivery that is genuine but asks for nothing (yet): a payment not completed, an order
    not paid. Answered 200 so the vendor does not retry it."""

    external_id: str | None
    reason: str


@dataclass(frozen=True)
class Contact:
    """The vendor's record of a customer (Loyverse's customers.update): nothing to record, but
    the vendor's customer id is linked to the member its e-mail or phone names."""

    external_id: str  # the vendor's customer id
    customer: Customer


Single = Sale | Refund | Ignored | Contact


@dataclass(frozen=True)
class Batch:
    """Several events in one delivery (a WooCommerce order paid and partly refunded, a
    Loyverse delivery of many receipts), applied together in one transaction."""

    events: tuple[Single, ...]

    @property
    def external_id(self) -> str | None:
        return next((e.external_id for e in self.events if e.external_id), None)


Event = Single | Batch


@dataclass(frozen=True)
class Delivery:
    """One request as it came: the raw body (signatures are over bytes, not parsed JSON), its
    headers with lower-case names, and the address it was sent to."""

    body: bytes
    headers: dict[str, str]
    url: str
    received_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)  # the address's query parameters
    # The business's own currency, for vendors whose payloads name none (Loyverse).
    currency: str | None = None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower())
        return value.strip() if value and value.strip() else None


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def same_base64(expected: bytes, presented: str) -> bool:
    """Constant-time comparison of a digest with its base64 text as presented."""
    try:
        given = base64.b64decode(presented, validate=True)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, given)


def check_age(signed_at: datetime, now: datetime, tolerance: timedelta) -> None:
    """Refuses a request signed too long ago (or too far ahead): beyond the tolerance, a captured
    request replayed would otherwise be accepted for ever."""
    at = signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=UTC)
    try:
        off = abs(now - at)
    except OverflowError:  # a time at the very edge of what datetime holds
        off = timedelta.max
    if off > tolerance:
        raise Stale(f"the request was signed at {at.isoformat()}, outside the tolerance")


def vendor_id(value: str, what: str) -> str:
    """A vendor's id as a receipt or refund id can hold it: 1 to 90 characters (the vendor's
    name goes before it), no NUL (PostgreSQL refuses it in text)."""
    if not 0 < len(value) <= 90 or "\x00" in value:
        raise unmappable(f"{what} must be 1 to 90 characters")
    return value


def printable(value: str | None, size: int) -> str | None:
    """Text from a request as the delivery log can keep it, whatever was sent."""
    if not value:
        return None
    return value.replace("\x00", "")[:size] or None


def parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise unmappable(f"{what} is missing")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise unmappable(f"{what} is not an ISO 8601 time") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def decimal_minor(value: Any, currency: str, what: str) -> int:
    """A decimal amount as a vendor writes it ("12.50", 12.5) in the currency's minor units;
    refused unless it is a finite, non-negative amount the currency can hold exactly."""
    try:
        amount = Decimal(str(value)) * (10 ** minor_exponent(currency))
        whole = amount.is_finite() and amount >= 0 and amount == amount.to_integral_value()
    except (ArithmeticError, ValueError) as exc:
        raise unmappable(f"{what} is not an amount") from exc
    if isinstance(value, bool) or not whole:
        raise unmappable(f"{what} is not an amount in {currency}")
    return int(amount)


def minor_units(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise unmappable(f"{what} must be a whole number of minor units, not negative")
    return value
