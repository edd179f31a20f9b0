"""What a scanned ticket says, read without a database: the business-signed receipt code
(`LT1.<payload>.<mac>`, docs/tickets.md) and the VERI*FACTU invoice QR's address (AEAT,
"Características del QR y especificaciones del servicio de cotejo", v0.5.0). Each reader
answers a ticket or raises a `Refusal` whose code the wallet and the API put in words."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

PREFIX = "LT1"
# A receipt code fits a small QR; anything longer is not one of ours.
MAX_CODE = 600
MAX_RECEIPT = 100
KEY_ID = re.compile(r"^[a-z0-9]{4,16}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# The AEAT's hosts: production and its pre-production test environment.
VERIFACTU_HOSTS = ("www2.agenciatributaria.gob.es", "prewww2.aeat.es")
VERIFACTU_PATHS = ("/wlpl/TIKE-CONT/ValidarQR", "/wlpl/TIKE-CONT/ValidarQRNoVerifactu")
NIF = re.compile(r"^[A-Z0-9]{9}$")
# A till's clock a little ahead of ours is normal; a receipt dated an hour ahead is not.
CLOCK_SKEW = timedelta(minutes=10)


class Refusal(Exception):
    """Why a ticket earns nothing; `code` is stable (API answers, wallet texts)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedTicket:
    key_id: str
    location_id: int
    receipt_id: str
    amount: int
    currency: str
    issued_at: datetime
    signed_part: str
    mac: bytes


@dataclass(frozen=True)
class InvoiceTicket:
    """A VERI*FACTU invoice: issuer's tax id, series and number, date of issue, total."""

    nif: str
    numserie: str
    issued_on: date
    amount: Decimal


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac_of(key: bytes, signed_part: str) -> bytes:
    return hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest()


def sign(
    key: bytes,
    *,
    key_id: str,
    location_id: int,
    receipt_id: str,
    amount: int,
    currency: str,
    issued_at: datetime,
) -> str:
    """The code a till prints (the reference of docs/tickets.md; tests print with it too)."""
    payload = {
        "k": key_id,
        "l": location_id,
        "r": receipt_id,
        "a": amount,
        "c": currency,
        "t": int(issued_at.timestamp()),
    }
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    signed_part = f"{PREFIX}.{_b64(body)}"
    return f"{signed_part}.{_b64(mac_of(key, signed_part))}"


def code_in(text: str) -> str:
    """The code itself from what was scanned or pasted: the code, or an address carrying it in
    `t=` (a till may print a link to the wallet so that the phone's camera opens it)."""
    text = text.strip()
    if text.startswith(f"{PREFIX}."):
        return text
    try:
        query = parse_qs(urlsplit(text).query)
    except ValueError:
        return text
    found = query.get("t") or []
    return found[0].strip() if found else text


def read_signed(text: str) -> SignedTicket:
    """The receipt code's fields, unverified: the key it names must still check the MAC."""
    code = code_in(text)
    parts = code.split(".")
    if len(code) > MAX_CODE or len(parts) != 3 or parts[0] != PREFIX:
        raise Refusal("ticket_unreadable", "this is not a receipt code Lealtad can read")
    try:
        data = json.loads(_unb64(parts[1]).decode("utf-8"))
        mac = _unb64(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Refusal("ticket_unreadable", "the receipt code is damaged") from exc
    if not isinstance(data, dict):
        raise Refusal("ticket_unreadable", "the receipt code is damaged")
    k, loc, r, a, c, t = (data.get(f) for f in ("k", "l", "r", "a", "c", "t"))
    well_formed = (
        isinstance(k, str)
        and KEY_ID.match(k)
        and _whole(loc, 1, 2**62)
        and isinstance(r, str)
        and 1 <= len(r) <= MAX_RECEIPT
        and "\x00" not in r
        and _whole(a, 0, 10**15)
        and isinstance(c, str)
        and CURRENCY.match(c)
        and _whole(t, 0, 7_258_118_399)  # up to 2199-12-31
    )
    if not well_formed:
        raise Refusal("ticket_unreadable", "the receipt code lacks a field or has a wrong one")
    return SignedTicket(
        key_id=str(k),
        location_id=int(str(loc)),
        receipt_id=str(r),
        amount=int(str(a)),
        currency=str(c),
        issued_at=datetime.fromtimestamp(int(str(t)), UTC),
        signed_part=f"{parts[0]}.{parts[1]}",
        mac=mac,
    )


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_mac(ticket: SignedTicket, key: bytes) -> None:
    if not hmac.compare_digest(mac_of(key, ticket.signed_part), ticket.mac):
        raise Refusal("ticket_bad_signature", "the receipt code's signature does not match")


def is_verifactu(text: str) -> bool:
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return False
    return parts.hostname in VERIFACTU_HOSTS and parts.path in VERIFACTU_PATHS


def read_verifactu(text: str) -> InvoiceTicket:
    """The four fields of the AEAT's QR address: nif, numserie, fecha (dd-mm-yyyy), importe
    (a decimal point, at most two decimals)."""
    if len(text) > MAX_CODE or not is_verifactu(text):
        raise Refusal("ticket_unreadable", "this is not a VERI*FACTU invoice QR")
    query = parse_qs(urlsplit(text.strip()).query, keep_blank_values=True)
    fields = {name: (query.get(name) or [""])[0].strip() for name in ("nif", "numserie", "fecha")}
    nif, numserie, fecha = fields["nif"].upper(), fields["numserie"], fields["fecha"]
    try:
        amount = Decimal((query.get("importe") or [""])[0].strip())
        issued_on = datetime.strptime(fecha, "%d-%m-%Y").date()
    except (InvalidOperation, ValueError) as exc:
        raise Refusal("ticket_unreadable", "the invoice QR has a wrong date or amount") from exc
    fine = (
        NIF.match(nif)
        and 1 <= len(numserie) <= 60
        and "\x00" not in numserie
        and amount.is_finite()
        and Decimal(0) <= amount < Decimal(10) ** 12
        and amount == amount.quantize(Decimal("0.01"))
    )
    if not fine:
        raise Refusal("ticket_unreadable", "the invoice QR lacks a field or has a wrong one")
    return InvoiceTicket(nif=nif, numserie=numserie, issued_on=issued_on, amount=amount)


def check_age(issued_at: datetime, now: datetime, max_age_days: int) -> None:
    if issued_at > now + CLOCK_SKEW:
        raise Refusal("ticket_in_future", "the ticket is dated in the future")
    if now - issued_at > timedelta(days=max_age_days):
        raise Refusal("ticket_too_old", f"the ticket is older than {max_age_days} days")


def normal_tax_id(value: str) -> str:
    """A Spanish NIF as the AEAT's QR writes it: no spaces or dashes, upper case, no ES prefix."""
    cleaned = re.sub(r"[\s.-]", "", value).upper()
    return cleaned[2:] if cleaned.startswith("ES") and len(cleaned) == 11 else cleaned


def minor_units(amount: Decimal, exponent: int) -> int:
    return int((amount * (Decimal(10) ** exponent)).to_integral_value())
