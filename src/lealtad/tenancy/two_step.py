"""Two-step verification for staff logins: a TOTP code (RFC 6238: 30-second steps, 6 digits)
from an authenticator app after the password. A code is accepted one step early or late, for
clocks that drift, and only once: a code seen over a shoulder cannot be replayed.

The last step used and the wrong tries are read back from the audit log, where every two-step
event is written anyway, so that no session or process has to remember them."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pyotp
from sqlalchemy import Connection

from lealtad.errors import Conflict, Forbidden
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.tenancy import store
from lealtad.tenancy.model import Principal, Role
from lealtad.tenancy.service import audit, get_staff

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
MAX_WRONG_CODES = 5
# How long the half-done login (password right, code still to come) stays open.
PENDING_SECONDS = 300

TURNED_ON = "staff.two_step_on"
LOGGED_IN = "staff.two_step_login"
WRONG_CODE = "staff.two_step_failed"
RESET = "staff.two_step_reset"


class Check(StrEnum):
    ok = "ok"
    wrong = "wrong"
    used = "used"
    too_many = "too_many"


def new_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, account: str, business_name: str) -> str:
    # A colon separates issuer and account in the label; keep it out of both.
    issuer = f"Lealtad {business_name}".replace(":", " ")
    return pyotp.TOTP(secret).provisioning_uri(name=account.replace(":", " "), issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code belongs to, within one step either side of now, else None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(as_utc(now).timestamp()) // STEP_SECONDS
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def is_on(staff: Any) -> bool:
    return staff.totp_secret is not None and staff.totp_confirmed_at is not None


def code_needed(business: Any, staff: Any) -> bool:
    """After the password: a code if the person has two-step on or the business requires it
    (then, without it yet, they set it up before going any further)."""
    return is_on(staff) or bool(business.two_step_required)


def principal_of(staff: Any) -> Principal:
    return Principal(
        business_id=staff.business_id,
        role=Role(staff.role),
        location_id=staff.location_id,
        staff_id=staff.id,
    )


def secret_for_setup(conn: Connection, business_id: int, staff_id: int) -> str:
    """The secret being set up, kept unconfirmed until a first code proves the app has it; the
    same one on every reload, so the QR on screen does not change under the camera."""
    staff = get_staff(conn, business_id, staff_id)
    if is_on(staff):
        raise Conflict("two-step verification is already on", code="two_step_already_on")
    if staff.totp_secret:
        return str(staff.totp_secret)
    secret = new_secret()
    store.update_staff(conn, business_id, staff_id, totp_secret=secret)
    return secret


def _last_step(conn: Connection, principal: Principal) -> int | None:
    rows = store.audit_by_actor(
        conn, principal.business_id, principal.actor, (TURNED_ON, LOGGED_IN), None, limit=1
    )
    step = rows[0].details.get("step") if rows else None
    return int(step) if isinstance(step, int) else None


def wrong_tries(conn: Connection, principal: Principal, attempt: str, now: datetime) -> int:
    since = naive_utc(now - timedelta(seconds=PENDING_SECONDS))
    rows = store.audit_by_actor(
        conn, principal.business_id, principal.actor, (WRONG_CODE,), since, limit=500
    )
    return sum(1 for row in rows if row.details.get("attempt") == attempt)


def check_code(
    conn: Connection,
    principal: Principal,
    code: str,
    now: datetime,
    *,
    attempt: str,
    setting_up: bool = False,
) -> Check:
    """Checks a code for a login (or, `setting_up`, the first code that turns two-step on).
    Returns the outcome rather than raising, because a wrong try is recorded and must commit.
    `attempt` names one login attempt: after MAX_WRONG_CODES wrong codes it is spent."""
    assert principal.staff_id is not None
    target = f"staff:{principal.staff_id}"
    tries = wrong_tries(conn, principal, attempt, now)
    if tries >= MAX_WRONG_CODES:
        return Check.too_many
    staff = get_staff(conn, principal.business_id, principal.staff_id)
    ready = staff.totp_secret is not None and (setting_up or is_on(staff))
    step = matching_step(staff.totp_secret, code, now) if ready else None
    last = _last_step(conn, principal)
    if step is not None and (last is None or step > last):
        if setting_up:
            store.update_staff(
                conn, principal.business_id, principal.staff_id, totp_confirmed_at=naive_utc(now)
            )
        audit(conn, principal, TURNED_ON if setting_up else LOGGED_IN, target, now, step=step)
        return Check.ok
    outcome = Check.wrong if step is None else Check.used
    audit(conn, principal, WRONG_CODE, target, now, attempt=attempt, reason=outcome.value)
    return Check.too_many if tries + 1 >= MAX_WRONG_CODES else outcome


def reset(conn: Connection, principal: Principal, staff_id: int, now: datetime) -> None:
    """An owner turns off someone's two-step (a lost phone); they set it up again, and must at
    their next login if the business requires it."""
    if principal.role is not Role.owner:
        raise Forbidden("only an owner resets two-step verification", code="role_required")
    staff = get_staff(conn, principal.business_id, staff_id)
    if staff.totp_secret is None and staff.totp_confirmed_at is None:
        return
    store.update_staff(
        conn, principal.business_id, staff_id, totp_secret=None, totp_confirmed_at=None
    )
    audit(conn, principal, RESET, f"staff:{staff_id}", now, was_on=is_on(staff))
