"""Use cases of Apple Wallet passes: the owner's credentials, a member's signed `.pkpass`, and what
the pass web service answers a device. Never commits; the caller's transaction does."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_currency
from sqlalchemy import Connection

from lealtad.branding import service as branding
from lealtad.comms import personal
from lealtad.errors import LealtadError, NotFound, Unauthorized
from lealtad.kit.catalog import gettext
from lealtad.kit.clock import as_utc
from lealtad.kit.money import Money
from lealtad.ledger import service as ledger
from lealtad.members import model as members_model
from lealtad.members import store as members_store
from lealtad.passes import images, model, signing, store
from lealtad.passes.model import CardFace, Field
from lealtad.rules import service as programs
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal
from lealtad.tiers import service as tiers

# A member's pass on more devices than this (a phone, a watch, a tablet and spares) is a flood.
MAX_DEVICES_PER_PASS = 10


class TooManyDevices(LealtadError):
    http_status = 429
    code = "too_many_devices"


@dataclass(frozen=True)
class AppleCredentials:
    team_id: str
    pass_type_id: str
    certificate_pem: str
    private_key_pem: str
    wwdr_pem: str


def apple_credentials(conn: Connection, business_id: int) -> AppleCredentials | None:
    """The business's Apple set-up, or None: without it no Apple button shows."""
    row = store.credentials(conn, business_id)
    if row is None or not (row.apple_certificate and row.apple_private_key and row.apple_wwdr):
        return None
    return AppleCredentials(
        row.apple_team_id,
        row.apple_pass_type_id,
        row.apple_certificate,
        row.apple_private_key,
        row.apple_wwdr,
    )


def save_apple(
    conn: Connection,
    principal: Principal,
    team_id: str,
    pass_type_id: str,
    certificate: signing.PassCertificate,
    wwdr_pem: str,
    now: datetime,
) -> None:
    store.save_credentials(
        conn,
        principal.business_id,
        now,
        apple_team_id=team_id,
        apple_pass_type_id=pass_type_id,
        apple_certificate=certificate.certificate_pem,
        apple_private_key=certificate.private_key_pem,
        apple_wwdr=wwdr_pem,
    )
    tenancy.audit(
        conn,
        principal,
        "passes.apple_set",
        f"business:{principal.business_id}",
        now,
        team_id=team_id,
        pass_type_id=pass_type_id,
    )


def remove_apple(conn: Connection, principal: Principal, now: datetime) -> None:
    store.save_credentials(
        conn,
        principal.business_id,
        now,
        apple_team_id=None,
        apple_pass_type_id=None,
        apple_certificate=None,
        apple_private_key=None,
        apple_wwdr=None,
    )
    tenancy.audit(conn, principal, "passes.apple_removed", f"business:{principal.business_id}", now)


def card_face(conn: Connection, secret: str, business: Any, member: Any, now: datetime) -> CardFace:
    """Balance up front; each stamp card, the tier and any cashback beside it; the card number
    and the name behind; in the member's language and the business's colours."""
    lang = member.locale or business.locale
    _ = gettext(lang)
    held = ledger.balances(conn, business.id, member.id)
    names = personal.names_now(conn, business, lang, now)
    try:
        definition = programs.in_force(conn, business.id, now).definition
    except LealtadError:
        definition = None
    secondary = [
        Field(
            f"stamps-{card.id}",
            names.card(card.id),
            names.have_of(
                min(held.get(f"stamps.{card.id}", 0), card.stamps_required), card.stamps_required
            ),
        )
        for card in (definition.stamp_cards if definition else ())
    ]
    tier = names.tier(tiers.current(conn, business.id, member.id))
    if tier:
        secondary.append(Field("tier", _("Tier"), tier))
    if held.get("cashback"):
        amount = Money(held["cashback"], business.currency).major()
        secondary.append(
            Field(
                "cashback", _("Cashback"), format_currency(amount, business.currency, locale=lang)
            )
        )
    brand = branding.brand(conn, business)
    return CardFace(
        organization=business.name,
        description=_("Loyalty card"),
        member_name=member.name or "",
        card_number=member.card_number,
        # The printed card's code: a pass cannot rotate every minute as the wallet page does.
        barcode=members_model.qr_token(secret, business.id, member.id, member.card_version),
        colour=brand.colour,
        ink=brand.ink,
        primary=Field("balance", _("Balance"), names.amount("points", held.get("points", 0))),
        secondary=tuple(secondary),
        back=(
            Field("card", _("Card number"), member.card_number),
            Field("member", _("Member"), member.name or ""),
        ),
    )


def ensure_pass(
    conn: Connection, business_id: int, member_id: int, face: CardFace, now: datetime
) -> Any:
    """The member's pass row, made on first download; its fingerprint and `updated_at` follow
    what it shows, so that a device asking with If-Modified-Since gets the change."""
    row = store.pass_of_member(conn, business_id, member_id)
    if row is None:
        store.add_pass(conn, business_id, member_id, secrets.token_hex(16), face.fingerprint(), now)
    elif row.fingerprint != face.fingerprint():
        store.pass_changed(conn, row.id, face.fingerprint(), now)
    else:
        return row
    return store.pass_of_member(conn, business_id, member_id)


def build(
    conn: Connection,
    secret: str,
    base_url: str,
    business: Any,
    member: Any,
    apple: AppleCredentials,
    now: datetime,
) -> tuple[bytes, datetime]:
    """The signed `.pkpass` of a member, and when what it shows last changed."""
    face = card_face(conn, secret, business, member, now)
    row = ensure_pass(conn, business.id, member.id, face, now)
    logo = branding.logo(conn, business.id)
    png = logo[0] if logo is not None and logo[1] == "image/png" else None
    document = model.pass_json(
        face,
        pass_type_id=apple.pass_type_id,
        team_id=apple.team_id,
        serial_number=row.serial_number,
        token=model.authentication_token(secret, row.serial_number, member.card_version),
        web_service_url=f"{base_url.rstrip('/')}/passes/apple",
    )
    files = {"pass.json": json.dumps(document, ensure_ascii=False, indent=1).encode()}
    files |= images.pass_images(business.name, face.colour, face.ink, png)
    manifest = model.manifest(files)
    signature = signing.sign_manifest(
        manifest, apple.certificate_pem, apple.private_key_pem, apple.wwdr_pem
    )
    return model.bundle(files, manifest, signature), as_utc(row.updated_at)


@dataclass(frozen=True)
class HeldPass:
    """A pass a device proved it holds (its authentication token)."""

    row: Any
    member: Any
    apple: AppleCredentials


def refused() -> Unauthorized:
    return Unauthorized("no pass with this serial number and token", code="pass_unauthorized")


def authenticate(
    conn: Connection, secret: str, pass_type_id: str, serial: str, token: str | None
) -> HeldPass:
    """401 for anything but the right token of a pass of this type: an unknown serial, another
    business's pass type and a wrong token all look the same to the caller."""
    row = store.pass_by_serial(conn, serial) if token and len(serial) <= 40 else None
    if row is None:
        raise refused()
    apple = apple_credentials(conn, row.business_id)
    member = members_store.member(conn, row.business_id, row.member_id)
    if apple is None or apple.pass_type_id != pass_type_id or member is None:
        raise refused()
    expected = model.authentication_token(secret, row.serial_number, member.card_version)
    if token is None or not secrets.compare_digest(expected, token):
        raise refused()
    return HeldPass(row, member, apple)


def register_device(
    conn: Connection, held: HeldPass, device: str, push_token: str, now: datetime
) -> bool:
    """True for a new registration (201), False for one the device had (200, its push token
    refreshed). A pass on too many devices refuses the next one."""
    found = store.registration(conn, held.row.id, device)
    if found is not None:
        if found.push_token != push_token:
            store.new_push_token(conn, found.id, push_token)
        return False
    if store.devices_of(conn, held.row.id) >= MAX_DEVICES_PER_PASS:
        raise TooManyDevices(
            f"this pass is registered on {MAX_DEVICES_PER_PASS} devices already",
            details={"retry_after": 3600},
        )
    store.register(conn, held.row.business_id, held.row.id, device, push_token, now)
    return True


def unregister_device(conn: Connection, held: HeldPass, device: str) -> None:
    store.unregister(conn, held.row.id, device)


def updated_serials(
    conn: Connection, device: str, pass_type_id: str, since: str | None
) -> tuple[list[str], str] | None:
    """Serial numbers of the device's passes of this type changed after `since`, and the tag to
    ask with next time; None when there are none (204)."""
    rows = store.serials_for_device(conn, device, pass_type_id, model.read_tag(since))
    if not rows:
        return None
    latest = max(as_utc(row.updated_at) for row in rows)
    return [row.serial_number for row in rows], model.update_tag(latest)


def member_or_404(conn: Connection, business_id: int, member_id: int) -> Any:
    member = members_store.member(conn, business_id, member_id)
    if member is None:
        raise NotFound("no such member", code="member_not_found")
    return member


def business_of(conn: Connection, business_id: int) -> Any:
    business = tenancy_store.business(conn, business_id)
    if business is None:
        raise NotFound("no such business", code="business_not_found")
    return business


def no_apple() -> NotFound:
    return NotFound("this business offers no Apple Wallet pass", code="no_apple_pass")
