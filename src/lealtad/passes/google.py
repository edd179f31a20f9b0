"""Google Wallet: a loyalty class per program and a loyalty object per member, handed to Google in
the "save to Google Wallet" link, https://pay.google.com/gp/v/save/<JWT>. Google's "Google Wallet
API JWT" reference: RS256, signed with the business's service-account key; claims iss (the
account's client_email), aud "google", typ "savetowallet", iat, origins, and
payload.loyaltyClasses / payload.loyaltyObjects (the LoyaltyClass and LoyaltyObject resources)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import Connection

from lealtad.branding import service as branding
from lealtad.errors import Invalid, NotFound
from lealtad.ledger import service as ledger
from lealtad.passes import service, store
from lealtad.passes.model import CardFace
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

SAVE_URL = "https://pay.google.com/gp/v/save/"
ISSUER_ID = re.compile(r"^\d{6,25}$")
# Google's ids: "<issuer id>.<suffix>", the suffix of letters, digits, ".", "_" and "-".
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def read_service_account(data: bytes) -> dict[str, str]:
    """The JSON key file Google Cloud gives for a service account; only what signing needs is
    kept."""
    try:
        account = json.loads(data)
        email, key_pem = account["client_email"], account["private_key"]
        key = serialization.load_pem_private_key(key_pem.encode(), None)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Invalid("not a service-account key file", code="google_account") from exc
    if account.get("type") != "service_account" or not isinstance(key, rsa.RSAPrivateKey):
        raise Invalid("not a service-account key file", code="google_account")
    return {
        "client_email": email,
        "private_key": key_pem,
        "private_key_id": account.get("private_key_id", ""),
    }


def save(
    conn: Connection, principal: Principal, issuer_id: str, account: dict[str, str], now: datetime
) -> None:
    if not ISSUER_ID.match(issuer_id):
        raise Invalid("not a Google Wallet issuer id", code="google_issuer")
    store.save_credentials(
        conn, principal.business_id, now, google_issuer_id=issuer_id, google_service_account=account
    )
    tenancy.audit(
        conn,
        principal,
        "passes.google_set",
        f"business:{principal.business_id}",
        now,
        issuer_id=issuer_id,
        client_email=account["client_email"],
    )


def remove(conn: Connection, principal: Principal, now: datetime) -> None:
    store.save_credentials(
        conn, principal.business_id, now, google_issuer_id=None, google_service_account=None
    )
    tenancy.audit(
        conn, principal, "passes.google_removed", f"business:{principal.business_id}", now
    )


def credentials(conn: Connection, business_id: int) -> tuple[str, dict[str, str]] | None:
    row = store.credentials(conn, business_id)
    if row is None or not row.google_issuer_id or not row.google_service_account:
        return None
    return row.google_issuer_id, dict(row.google_service_account)


def _id(issuer_id: str, suffix: str) -> str:
    return f"{issuer_id}.{_UNSAFE.sub('_', suffix)}"


def loyalty_class(issuer_id: str, slug: str, face: CardFace, logo_url: str) -> dict[str, Any]:
    """One class per business's program: its name, logo and colour."""
    return {
        "id": _id(issuer_id, f"{slug}-loyalty"),
        "issuerName": face.organization,
        "programName": face.description,
        "programLogo": {"sourceUri": {"uri": logo_url}},
        "hexBackgroundColor": face.colour,
        "reviewStatus": "UNDER_REVIEW",
    }


def loyalty_object(
    issuer_id: str, slug: str, serial: str, face: CardFace, points: int
) -> dict[str, Any]:
    """The member's card: account, balance and the printed card's QR."""
    return {
        "id": _id(issuer_id, serial),
        "classId": _id(issuer_id, f"{slug}-loyalty"),
        "state": "ACTIVE",
        "accountId": face.card_number,
        "accountName": face.member_name or face.card_number,
        "loyaltyPoints": {"label": face.primary.label, "balance": {"int": points}},
        "barcode": {"type": "QR_CODE", "value": face.barcode, "alternateText": face.card_number},
        "textModulesData": [
            {"id": f.key, "header": f.label, "body": f.value} for f in face.secondary
        ],
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(account: dict[str, str], claims: dict[str, Any]) -> str:
    """RS256 with the service account's key, its key id in the header."""
    header = {"alg": "RS256", "typ": "JWT"}
    if account.get("private_key_id"):
        header["kid"] = account["private_key_id"]
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode())
        for part in (header, claims)
    )
    key = serialization.load_pem_private_key(account["private_key"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(signature)


def save_link(
    account: dict[str, str],
    classes: list[dict[str, Any]],
    objects: list[dict[str, Any]],
    origin: str,
    now: datetime,
) -> str:
    claims = {
        "iss": account["client_email"],
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(now.timestamp()),
        "origins": [origin],
        "payload": {"loyaltyClasses": classes, "loyaltyObjects": objects},
    }
    return SAVE_URL + signed_jwt(account, claims)


def member_link(
    conn: Connection, secret: str, base_url: str, business: Any, member: Any, now: datetime
) -> str | None:
    """The member's "save to Google Wallet" address; None without the business's credentials."""
    found = credentials(conn, business.id)
    if found is None:
        return None
    issuer_id, account = found
    face = service.card_face(conn, secret, business, member, now)
    row = service.ensure_pass(conn, business.id, member.id, face, now)
    # The object Google makes from this link shows the balance of now; later moves are synced.
    store.google_synced(conn, row.id, now)
    base = base_url.rstrip("/")
    logo = branding.brand(conn, business).logo_path
    points = ledger.balances(conn, business.id, member.id).get("points", 0)
    return save_link(
        account,
        [loyalty_class(issuer_id, business.slug, face, base + (logo or "/static/icon-512.png"))],
        [loyalty_object(issuer_id, business.slug, row.serial_number, face, points)],
        base,
        now,
    )


def no_google() -> NotFound:
    return NotFound("this business offers no Google Wallet card", code="no_google_pass")
