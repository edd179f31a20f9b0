"""Use cases of branding: read a business's brand, set its colour and logo (owners only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.branding import store
from lealtad.branding.model import (
    Brand,
    NotAColour,
    NotALogo,
    brand_of,
    logo_hash,
    logo_type,
    parse_colour,
)
from lealtad.branding.promise import promise
from lealtad.errors import Forbidden, Invalid, LealtadError
from lealtad.kit.clock import naive_utc
from lealtad.rules.definition import ProgramDefinition
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role


def brand(conn: Connection, business: Any) -> Brand:
    """`business` is the business's row (name and slug are read from it)."""
    found = store.look(conn, business.id)
    colour = found.colour if found is not None else None
    hashed = found.logo_hash if found is not None else None
    return brand_of(business.name, business.slug, colour, hashed)


def logo(conn: Connection, business_id: int) -> tuple[bytes, str, str] | None:
    """(image, type, hash), or None when the business has no logo."""
    found = store.logo(conn, business_id)
    if found is None or found.logo is None:
        return None
    return bytes(found.logo), str(found.logo_type), str(found.logo_hash)


def _owner(principal: Principal) -> None:
    if principal.role is not Role.owner:
        raise Forbidden("only an owner changes the brand", code="role_required")


def set_colour(conn: Connection, principal: Principal, value: str, now: datetime) -> bool:
    """An empty value goes back to the default look. True when something changed."""
    _owner(principal)
    colour: str | None = None
    if value.strip():
        try:
            colour = parse_colour(value)
        except NotAColour:
            raise Invalid("a colour is written #rrggbb", code="invalid_colour") from None
    before = store.look(conn, principal.business_id)
    if (before.colour if before is not None else None) == colour:
        return False
    store.save(conn, principal.business_id, naive_utc(now), colour=colour)
    tenancy.audit(
        conn,
        principal,
        "brand.colour",
        f"business:{principal.business_id}",
        now,
        colour={"before": before.colour if before is not None else None, "after": colour},
    )
    return True


def set_logo(conn: Connection, principal: Principal, data: bytes, now: datetime) -> str:
    """Stores the logo; returns its hash. Refuses anything but a PNG, JPEG or WebP image."""
    _owner(principal)
    try:
        kind = logo_type(data)
    except NotALogo as exc:
        raise Invalid(f"not a logo: {exc.reason}", code=f"logo_{exc.reason}") from None
    hashed = logo_hash(data)
    store.save(
        conn, principal.business_id, naive_utc(now), logo=data, logo_type=kind, logo_hash=hashed
    )
    tenancy.audit(
        conn,
        principal,
        "brand.logo",
        f"business:{principal.business_id}",
        now,
        logo={"after": f"{kind} {len(data)} bytes"},
    )
    return hashed


def remove_logo(conn: Connection, principal: Principal, now: datetime) -> None:
    _owner(principal)
    store.save(
        conn, principal.business_id, naive_utc(now), logo=None, logo_type=None, logo_hash=None
    )
    tenancy.audit(
        conn, principal, "brand.logo", f"business:{principal.business_id}", now, logo=None
    )


def poster_lines(conn: Connection, business: Any, lang: str, now: datetime) -> list[str]:
    """What the poster promises, from the program in force and the catalog's titles."""
    from lealtad.rewards.names import program_names
    from lealtad.rules import service as programs

    try:
        definition = programs.in_force(conn, business.id, now).definition
    except LealtadError:
        definition = ProgramDefinition()
    return promise(definition, program_names(conn, business, definition, lang))


def mail_header(conn: Connection, business: Any, base_url: str) -> dict[str, str]:
    """What an e-mail's header shows: the name on the brand's colour, the logo by its
    absolute address (a mail reader has no page to be relative to)."""
    found = brand(conn, business)
    return {
        "name": found.name,
        "colour": found.colour,
        "ink": found.ink,
        "logo_url": found.logo_url(base_url) or "",
    }
