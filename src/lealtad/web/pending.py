"""The half-done staff login: the password was right and a two-step code (or setting two-step
up) is still to come. It lives in its own signed cookie for five minutes and never opens a
page by itself; only a good code turns it into a session."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from lealtad.config import Settings
from lealtad.tenancy.two_step import PENDING_SECONDS

COOKIE = "lealtad_two_step"


@dataclass(frozen=True)
class PendingLogin:
    business_id: int
    staff_id: int
    next: str
    lang: str
    # Names this login attempt: wrong codes are counted against it (tenancy.two_step).
    attempt: str
    csrf: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.effective_secret_key, salt="lealtad.session.two-step")


def start(response: Response, settings: Settings, staff: Any, next: str, lang: str) -> None:
    value = _serializer(settings).dumps(
        {
            "b": staff.business_id,
            "s": staff.id,
            "n": next,
            "l": lang,
            "a": secrets.token_urlsafe(12),
            "c": secrets.token_urlsafe(16),
        }
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=PENDING_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/admin",
    )


def read(request: Request, settings: Settings) -> PendingLogin | None:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=PENDING_SECONDS)
        return PendingLogin(
            int(data["b"]),
            int(data["s"]),
            str(data["n"]),
            str(data["l"]),
            str(data["a"]),
            str(data["c"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin")
