"""Browsers a staff member signed in from before: a signed cookie naming the accounts that
signed in on it. A staff login from such a browser counts against that browser alone, not
against the account as a whole, so an attacker failing on the owner's account from anywhere else
cannot lock the owner out of the console (the account-wide lock, limits_model.ACCOUNT_ANYWHERE,
only holds back browsers the account never used).

The cookie proves a past sign-in, not the password: the password is still checked, and the
browser keeps its own limit of five tries."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_COOKIE = "lealtad_device"
DAYS = 180
# A shared counter tablet sees several people sign in; the oldest names drop off past this.
MAX_ACCOUNTS = 10


def _serializer(settings: Any) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.effective_secret_key, salt="lealtad.device")


def _account(business_id: int, email: str) -> str:
    text = f"{business_id}:{email.strip().lower()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _read(request: Any, settings: Any) -> tuple[str, list[str]] | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=DAYS * 86400)
        nonce, accounts = str(data["n"]), [str(each) for each in data["a"]]
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return nonce, accounts


def known(request: Any, settings: Any, business_id: int, email: str) -> str | None:
    """The browser's own id when this account signed in on it before, else None."""
    device = _read(request, settings)
    if device is None or _account(business_id, email) not in device[1]:
        return None
    return device[0]


def remember(response: Any, request: Any, settings: Any, business_id: int, email: str) -> None:
    """After a right password: this browser is now one the account signed in from."""
    nonce, accounts = _read(request, settings) or (secrets.token_urlsafe(16), [])
    account = _account(business_id, email)
    others = [each for each in accounts if each != account]
    accounts = [*others[-(MAX_ACCOUNTS - 1) :], account]
    value = _serializer(settings).dumps({"n": nonce, "a": accounts})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/admin/login",
    )
