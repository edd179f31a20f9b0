"""A staff member changes their own password: the current password and, with two-step on, a
code, so that a stolen session or token alone cannot lock its owner out. The change ends every
other session and token of that person (tenancy.store.update_staff moves the session version);
the caller renews its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Invalid, Unauthorized
from lealtad.tenancy import store, two_step
from lealtad.tenancy.model import Principal
from lealtad.tenancy.passwords import MIN_LENGTH, check_password, hash_password
from lealtad.tenancy.service import audit, get_staff

CHANGED = "staff.password_change"


def new_password_problem(current: str, new: str, repeated: str) -> Invalid | None:
    """What is wrong with the new password as typed, before anything is checked."""
    if len(new) < MIN_LENGTH:
        return Invalid(f"a password needs at least {MIN_LENGTH} characters", code="weak_password")
    if new != repeated:
        return Invalid("the two new passwords are not the same", code="password_mismatch")
    if new == current:
        return Invalid("the new password is the current one", code="password_unchanged")
    return None


def change(
    conn: Connection,
    principal: Principal,
    *,
    current: str,
    new: str,
    totp_code: str | None,
    now: datetime,
    attempt: str,
) -> tuple[Any, Unauthorized | None]:
    """(the person's row after the change, None), or (the row as it was, the refusal). A
    refusal is returned, not raised, because a wrong two-step code is recorded and that record
    must commit (tenancy.two_step.check_code). `attempt` names this try for the code's limit."""
    assert principal.staff_id is not None
    staff = get_staff(conn, principal.business_id, principal.staff_id)
    if not check_password(staff.password_hash, current):
        return staff, Unauthorized("the current password is wrong", code="invalid_credentials")
    if two_step.is_on(staff):
        if not totp_code:
            refusal = Unauthorized(
                "send the code of your authenticator app too", code="two_step_code_required"
            )
            return staff, refusal
        outcome = two_step.check_code(conn, principal, totp_code.strip(), now, attempt=attempt)
        if outcome is not two_step.Check.ok:
            refusal = Unauthorized(
                "that code is wrong, already used, or too many wrong codes were sent",
                code="two_step_code_refused",
            )
            return staff, refusal
    store.update_staff(
        conn, principal.business_id, principal.staff_id, password_hash=hash_password(new)
    )
    # Shown in the log as "(changed)": the audit never holds a secret.
    audit(conn, principal, CHANGED, f"staff:{principal.staff_id}", now, password="(changed)")
    return store.staff(conn, principal.business_id, principal.staff_id), None


def change_guarded(
    db: Any,
    guard_for: Callable[[str], Any],
    principal: Principal,
    *,
    current: str,
    new: str,
    repeated: str,
    totp_code: str | None,
    now: datetime,
) -> Any:
    """`change` behind the staff login's attempt limit (a stolen session guessing the current
    password is held like a login): `guard_for(email)` is the caller's
    `security.limits.staff_attempt` for this person. Returns the person's row after the change;
    raises the refusal otherwise."""
    problem = new_password_problem(current, new, repeated)
    if problem is not None:
        raise problem
    assert principal.staff_id is not None
    with db.read() as conn:
        email = get_staff(conn, principal.business_id, principal.staff_id).email
    guard = guard_for(email)
    guard.claim()
    try:
        with db.transaction() as conn:
            staff, refusal = change(
                conn,
                principal,
                current=current,
                new=new,
                totp_code=totp_code,
                now=now,
                attempt="password-change",
            )
    except BaseException:
        guard.released()
        raise
    if refusal is None:
        guard.succeeded()
        return staff
    if refusal.code == "invalid_credentials":
        guard.failed()
    else:
        guard.released()
    raise refusal
