"""Signing in: turning what a request presents (an API key, a staff e-mail and password, a
staff token) into the Principal it acts as, or refusing it. Kept apart from tenancy's use cases
(service.py), which create and change businesses, staff and keys: this is the question every
request asks, and it needs the token signing and two-step checks that those do not."""

from __future__ import annotations

import hmac
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Connection

from lealtad.errors import Unauthorized
from lealtad.tenancy import store
from lealtad.tenancy.model import Principal, Role, hash_secret, parse_api_key
from lealtad.tenancy.passwords import check_password
from lealtad.tenancy.two_step import code_needed


def principal_from_api_key(conn: Connection, presented: str) -> Principal:
    parsed = parse_api_key(presented)
    row = store.api_key_by_prefix(conn, parsed[0]) if parsed else None
    if (
        parsed is None
        or row is None
        or row.revoked_at is not None
        or not hmac.compare_digest(row.secret_hash, hash_secret(parsed[1]))
    ):
        raise Unauthorized("the API key is not valid", code="invalid_api_key")
    return Principal(
        business_id=row.business_id,
        role=Role(row.role),
        location_id=row.location_id,
        api_key_id=row.id,
    )


def _token_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="lealtad.staff-token")


def staff_login(
    conn: Connection, secret_key: str, *, business_slug: str, email: str, password: str
) -> tuple[str, Any]:
    business = store.business_by_slug(conn, business_slug)
    staff = store.staff_by_email(conn, business.id, email.strip().lower()) if business else None
    ok = check_password(staff.password_hash if staff else None, password)
    if not ok or staff is None or not staff.active:
        raise Unauthorized("wrong business, e-mail or password", code="invalid_credentials")
    return staff_token(secret_key, staff, two_step=False), staff


def staff_token(secret_key: str, staff: Any, *, two_step: bool) -> str:
    """`two_step`: a code was checked for this token, so it stays valid when a code becomes
    needed (the business starts requiring it, or the person turns it on); one made with the
    password alone then stops working, like a console session (web/sessions.py)."""
    data = {
        "b": staff.business_id,
        "s": staff.id,
        "v": staff.session_version,
        "t": 1 if two_step else 0,
    }
    return _token_serializer(secret_key).dumps(data)


def principal_from_staff_token(
    conn: Connection, secret_key: str, token: str, max_age_seconds: int
) -> Principal:
    try:
        data = _token_serializer(secret_key).loads(token, max_age=max_age_seconds)
        staff = store.staff(conn, int(data["b"]), int(data["s"]))
        version = int(data["v"])
    except SignatureExpired as exc:
        raise Unauthorized("the session has expired; log in again", code="token_expired") from exc
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("the token is not valid", code="invalid_token") from exc
    if staff is None or not staff.active:
        raise Unauthorized("the token is not valid", code="invalid_token")
    if staff.session_version != version:
        # Ended by a logout, a new password, a two-step change or a manager (session_version).
        raise Unauthorized("the token has been ended; log in again", code="token_revoked")
    business = store.business(conn, staff.business_id)
    if code_needed(business, staff) and not data.get("t"):
        raise Unauthorized(
            "two-step verification is now needed: ask for a new token with totp_code",
            code="two_step_code_required",
        )
    return Principal(
        business_id=staff.business_id,
        role=Role(staff.role),
        location_id=staff.location_id,
        staff_id=staff.id,
    )
