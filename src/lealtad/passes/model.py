"""What an Apple pass is, decided without a database: pass.json as a store card, the manifest of
SHA-1 digests, the bundle's zip, the pass's authentication token and update tag. The signature
is signing.py's; the numbers shown come from the service."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

# Apple's Wallet Passes reference, "Pass" (formatVersion 1) and "Adding a Web Service to Update
# Passes": the device calls <webServiceURL>/v1/... with "Authorization: ApplePass <token>".
FORMAT_VERSION = 1
TOKEN_PREFIX = "ApplePass "
# Apple asks for a token of at least 16 characters.
TOKEN_LENGTH = 32


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    value: str


@dataclass(frozen=True)
class CardFace:
    """What the member's pass shows; its fingerprint says when it changed."""

    organization: str
    description: str
    member_name: str
    card_number: str
    barcode: str
    colour: str
    ink: str
    primary: Field
    secondary: tuple[Field, ...] = ()
    back: tuple[Field, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        text = json.dumps(
            [
                self.organization,
                self.member_name,
                self.card_number,
                self.barcode,
                self.colour,
                [(f.key, f.label, f.value) for f in (self.primary, *self.secondary, *self.back)],
            ],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


def authentication_token(secret: str, serial_number: str, card_version: int) -> str:
    """Derived, not stored: a reissued card (a new card version) makes every old pass's token
    stop opening the web service."""
    message = f"pass|{serial_number}|{card_version}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:TOKEN_LENGTH]


def token_from_header(authorization: str | None) -> str | None:
    if not authorization or not authorization.startswith(TOKEN_PREFIX):
        return None
    return authorization[len(TOKEN_PREFIX) :].strip() or None


def _rgb(colour: str) -> str:
    return f"rgb({int(colour[1:3], 16)}, {int(colour[3:5], 16)}, {int(colour[5:7], 16)})"


def _fields(items: tuple[Field, ...]) -> list[dict[str, str]]:
    return [{"key": f.key, "label": f.label, "value": f.value} for f in items]


def pass_json(
    face: CardFace,
    *,
    pass_type_id: str,
    team_id: str,
    serial_number: str,
    token: str,
    web_service_url: str,
) -> dict[str, object]:
    """A storeCard: the balance up front, stamps and tier beside it, the card number behind."""
    return {
        "formatVersion": FORMAT_VERSION,
        "passTypeIdentifier": pass_type_id,
        "serialNumber": serial_number,
        "teamIdentifier": team_id,
        "organizationName": face.organization,
        "description": face.description,
        "logoText": face.organization,
        "authenticationToken": token,
        "webServiceURL": web_service_url,
        "backgroundColor": _rgb(face.colour),
        "foregroundColor": _rgb(face.ink),
        "labelColor": _rgb(face.ink),
        "sharingProhibited": True,
        "barcodes": [
            {
                "format": "PKBarcodeFormatQR",
                "message": face.barcode,
                "messageEncoding": "iso-8859-1",
                "altText": face.card_number,
            }
        ],
        "storeCard": {
            "headerFields": [],
            "primaryFields": _fields((face.primary,)),
            "secondaryFields": _fields(face.secondary),
            "auxiliaryFields": [],
            "backFields": _fields(face.back),
        },
    }


def manifest(files: dict[str, bytes]) -> bytes:
    """Every file of the bundle but the manifest and signature, with its SHA-1 in hex."""
    digests = {name: hashlib.sha1(data).hexdigest() for name, data in sorted(files.items())}  # noqa: S324  (Apple's format)
    return json.dumps(digests, indent=1, sort_keys=True).encode()


def bundle(files: dict[str, bytes], manifest_bytes: bytes, signature: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("signature", signature)
    return buffer.getvalue()


def update_tag(moment: datetime) -> str:
    """`lastUpdated` and `passesUpdatedSince`: microseconds since the epoch, opaque to devices."""
    return str(int(_utc(moment).timestamp() * 1_000_000))


def read_tag(tag: str | None) -> datetime | None:
    if not tag or not tag.isdigit() or len(tag) > 20:
        return None
    return datetime.fromtimestamp(int(tag) / 1_000_000, UTC)


def http_date(moment: datetime) -> str:
    return format_datetime(_utc(moment).replace(microsecond=0), usegmt=True)


def not_modified_since(updated_at: datetime, header: str | None) -> bool:
    """True when the device's copy (If-Modified-Since) is as new as the pass."""
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return _utc(updated_at).replace(microsecond=0) <= since


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
