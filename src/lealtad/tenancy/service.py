"""Use cases of tenancy: businesses, locations, staff, API keys, the audit log. Checking what a
request presents to sign in (keys, passwords, staff tokens) is in sign_in.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Conflict, Forbidden, Invalid, NotFound
from lealtad.kit.clock import naive_utc
from lealtad.kit.money import is_known_currency
from lealtad.rules import store as programs
from lealtad.rules.definition import ProgramDefinition
from lealtad.tenancy import audit_context, audit_objects, store
from lealtad.tenancy.model import (
    LOCALES,
    SLUG,
    Principal,
    Role,
    is_timezone,
    new_api_key,
    slugify,
)
from lealtad.tenancy.passwords import MIN_LENGTH, hash_password


def _check_timezone(name: str) -> None:
    if not is_timezone(name):
        raise Invalid(f"unknown time zone {name!r}", code="unknown_timezone")


def create_business(
    conn: Connection,
    *,
    name: str,
    currency: str,
    timezone: str,
    locale: str,
    now: datetime,
    program: ProgramDefinition,
    slug: str | None = None,
    program_from: datetime | None = None,
) -> int:
    """A business and its program's first version, in force from `program_from` (default
    `now`; earlier for a business that brings its history). There is no default program: the
    caller chooses one (the set-up's empty program earns nothing until the owner picks one); a
    made-up rate would earn silently where nobody chose it."""
    name = name.strip()
    if not name:
        raise Invalid("a business needs a name", code="invalid_name")
    currency = currency.upper()
    if not is_known_currency(currency):
        raise Invalid(f"unknown currency {currency!r}", code="unknown_currency")
    _check_timezone(timezone)
    if locale not in LOCALES:
        raise Invalid(f"locale must be one of {', '.join(LOCALES)}", code="unknown_locale")
    if slug is None:
        base = slugify(name)
        slug, n = base, 1
        while store.slug_taken(conn, slug):
            n += 1
            slug = f"{base[:58]}-{n}"
    elif not SLUG.match(slug):
        raise Invalid("a slug is lowercase letters, digits and dashes", code="invalid_slug")
    elif store.slug_taken(conn, slug):
        raise Conflict(f"the slug {slug!r} is taken", code="slug_taken")
    business_id = store.insert_business(
        conn,
        slug=slug,
        name=name,
        currency=currency,
        timezone=timezone,
        locale=locale,
        created_at=naive_utc(now),
    )
    programs.first_version(
        conn, business_id, program, now, author="system", effective_from=program_from
    )
    return business_id


def get_business(conn: Connection, business_id: int) -> Any:
    row = store.business(conn, business_id)
    if row is None:
        raise NotFound("no such business", code="business_not_found")
    return row


def create_location(
    conn: Connection, business_id: int, *, name: str, timezone: str | None, now: datetime
) -> int:
    business = get_business(conn, business_id)
    timezone = timezone or business.timezone
    _check_timezone(timezone)
    return store.insert_location(
        conn,
        business_id=business_id,
        name=name.strip(),
        timezone=timezone,
        created_at=naive_utc(now),
    )


def update_business(
    conn: Connection,
    principal: Principal,
    now: datetime,
    *,
    name: str,
    locale: str,
    timezone: str,
    two_step_required: bool,
) -> dict[str, Any]:
    """The owner's settings; returns and audits what changed, before and after."""
    if principal.role is not Role.owner:
        raise Forbidden("only an owner changes the business settings", code="role_required")
    name = name.strip()
    if not name:
        raise Invalid("a business needs a name", code="invalid_name")
    if locale not in LOCALES:
        raise Invalid(f"locale must be one of {', '.join(LOCALES)}", code="unknown_locale")
    _check_timezone(timezone)
    before = get_business(conn, principal.business_id)._mapping
    wanted = {
        "name": name,
        "locale": locale,
        "timezone": timezone,
        "two_step_required": two_step_required,
    }
    changes = {
        key: {"before": before[key], "after": value}
        for key, value in wanted.items()
        if before[key] != value
    }
    if changes:
        store.update_business(conn, principal.business_id, **{key: wanted[key] for key in changes})
        audit(
            conn, principal, "business.update", f"business:{principal.business_id}", now, **changes
        )
    return changes


def update_location(
    conn: Connection,
    principal: Principal,
    location_id: int,
    *,
    name: str,
    timezone: str,
    now: datetime,
) -> dict[str, Any]:
    name = name.strip()
    if not name:
        raise Invalid("a location needs a name", code="invalid_name")
    _check_timezone(timezone)
    before = get_location(conn, principal.business_id, location_id)._mapping
    wanted = {"name": name, "timezone": timezone}
    changes = {
        key: {"before": before[key], "after": value}
        for key, value in wanted.items()
        if before[key] != value
    }
    if changes:
        store.update_location(
            conn, principal.business_id, location_id, **{key: wanted[key] for key in changes}
        )
        audit(conn, principal, "location.update", f"location:{location_id}", now, **changes)
    return changes


def get_location(conn: Connection, business_id: int, location_id: int) -> Any:
    row = store.location(conn, business_id, location_id)
    if row is None:
        raise NotFound(f"no location {location_id} in this business", code="location_not_found")
    return row


def create_staff(
    conn: Connection,
    business_id: int,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    location_id: int | None,
    now: datetime,
) -> int:
    email = email.strip().lower()
    if len(password) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters", code="weak_password")
    if location_id is not None:
        get_location(conn, business_id, location_id)
    if store.staff_by_email(conn, business_id, email) is not None:
        raise Conflict(f"{email} already has a staff account here", code="duplicate_staff")
    return store.insert_staff(
        conn,
        business_id=business_id,
        email=email,
        name=name.strip(),
        role=role.value,
        location_id=location_id,
        password_hash=hash_password(password),
        active=True,
        created_at=naive_utc(now),
    )


def get_staff(conn: Connection, business_id: int, staff_id: int) -> Any:
    row = store.staff(conn, business_id, staff_id)
    if row is None:
        raise NotFound(f"no staff member {staff_id} in this business", code="staff_not_found")
    return row


def _may_change(
    conn: Connection, principal: Principal, staff_id: int, new_role: Role | None = None
) -> Any:
    """The account someone is about to change, if they may: managers and owners only, owner
    accounts by owners only, never one's own, and never the last active owner."""
    if not principal.role.allows(Role.manager):
        raise Forbidden("this needs the manager role or higher", code="role_required")
    target = get_staff(conn, principal.business_id, staff_id)
    if Role.owner in (target.role, new_role) and principal.role is not Role.owner:
        raise Forbidden("only an owner changes an owner's account", code="role_required")
    if principal.staff_id == staff_id:
        raise Forbidden("you cannot change your own account's role or status", code="own_account")
    return target


def _keep_an_owner(conn: Connection, business_id: int, target: Any) -> None:
    owner = target.role == Role.owner.value and target.active
    if owner and store.active_owner_count(conn, business_id) <= 1:
        raise Conflict("a business keeps at least one active owner", code="last_owner")


def change_staff_role(
    conn: Connection, principal: Principal, staff_id: int, role: Role, now: datetime
) -> None:
    target = _may_change(conn, principal, staff_id, role)
    if target.role == role.value:
        return
    if role is not Role.owner:
        _keep_an_owner(conn, principal.business_id, target)
    store.update_staff(conn, principal.business_id, staff_id, role=role.value)
    change = {"before": target.role, "after": role.value}
    audit(conn, principal, "staff.role", f"staff:{staff_id}", now, role=change)


def set_staff_active(
    conn: Connection, principal: Principal, staff_id: int, active: bool, now: datetime
) -> None:
    target = _may_change(conn, principal, staff_id)
    if bool(target.active) == active:
        return
    if not active:
        _keep_an_owner(conn, principal.business_id, target)
    store.update_staff(conn, principal.business_id, staff_id, active=active)
    action = "staff.reactivate" if active else "staff.deactivate"
    audit(conn, principal, action, f"staff:{staff_id}", now)


def set_staff_locale(
    conn: Connection, principal: Principal, locale: str | None, now: datetime
) -> None:
    """One's own console language; None follows the browser."""
    if principal.staff_id is None:
        raise Forbidden("only a staff login has a language of its own", code="role_required")
    if locale is not None and locale not in LOCALES:
        raise Invalid(f"locale must be one of {', '.join(LOCALES)}", code="unknown_locale")
    before = get_staff(conn, principal.business_id, principal.staff_id).locale
    if before != locale:
        store.update_staff(conn, principal.business_id, principal.staff_id, locale=locale)
        change = {"before": before, "after": locale}
        audit(conn, principal, "staff.locale", f"staff:{principal.staff_id}", now, locale=change)


def create_api_key(
    conn: Connection,
    business_id: int,
    *,
    name: str,
    role: Role,
    location_id: int | None,
    now: datetime,
) -> tuple[int, str]:
    """Returns the id and the full key; only its hash is stored, so it is shown once."""
    if location_id is not None:
        get_location(conn, business_id, location_id)
    key, prefix, secret_hash = new_api_key()
    key_id = store.insert_api_key(
        conn,
        business_id=business_id,
        name=name.strip() or "API key",
        prefix=prefix,
        secret_hash=secret_hash,
        role=role.value,
        location_id=location_id,
        created_at=naive_utc(now),
    )
    return key_id, key


def revoke_api_key(conn: Connection, principal: Principal, key_id: int, now: datetime) -> None:
    row = store.api_key(conn, principal.business_id, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id} in this business", code="api_key_not_found")
    if row.revoked_at is None:
        store.revoke_api_key(conn, principal.business_id, key_id, naive_utc(now))
        forget_api_keys()
        audit(conn, principal, "api_key.revoke", f"api_key:{key_id}", now)


def forget_api_keys() -> None:
    """After a revocation in this process: not needed for safety (every use of a remembered
    key asks its row, tenancy/key_cache.py), but a revoked key's entry need not wait to go."""
    from lealtad.tenancy import key_cache  # imports this module's store only, kept lazy

    key_cache.forget_all()


def audit(
    conn: Connection, principal: Principal, action: str, target: str, now: datetime, **details: Any
) -> None:
    audit_by(conn, principal.business_id, principal.actor, action, target, now, **details)


def audit_by(
    conn: Connection,
    business_id: int,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    **details: Any,
) -> None:
    """An entry for an actor that is no principal (the CLI's operating-system user)."""
    if action in audit_objects.CREATIONS:
        # The whole new object as stored, whichever route (API, console, CLI) made it.
        details = details | audit_objects.created_fields(conn, business_id, target)
    store.insert_audit(
        conn,
        business_id=business_id,
        actor=actor,
        action=action,
        target=target,
        details=audit_context.redact(details),
        at=naive_utc(now),
        **audit_context.columns(),
    )


def audit_change(
    conn: Connection,
    principal: Principal,
    action: str,
    target: str,
    now: datetime,
    before: Any,
    after: Any,
) -> dict[str, Any]:
    """Audits an update as {field: {"before", "after"}} over the whole object (a pydantic model
    or a mapping), only the fields that changed; nothing when nothing changed."""
    changes = audit_context.diff(audit_context.dump(before), audit_context.dump(after))
    if changes:
        audit(conn, principal, action, target, now, **changes)
    return changes


def audit_created(
    conn: Connection, principal: Principal, action: str, target: str, now: datetime, new: Any
) -> None:
    """Audits a creation with every field of the new object, each as before None, after value."""
    audit(conn, principal, action, target, now, **audit_context.created(audit_context.dump(new)))
