"""Browser sessions for the wallet (members) and the admin console (staff): signed cookies, and a
CSRF token per session for every form that changes something."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from lealtad.config import Settings
from lealtad.deps import AppSettings, Db
from lealtad.errors import Forbidden
from lealtad.members import store as member_store
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy import two_step
from lealtad.tenancy.model import Principal, Role

MEMBER_COOKIE = "lealtad_member"
STAFF_COOKIE = "lealtad_staff"
MEMBER_DAYS = 90
STAFF_HOURS = 12


class LoginRequired(Exception):
    """Answered with a redirect to the login page (see `install`)."""

    def __init__(self, login_url: str) -> None:
        super().__init__(login_url)
        self.login_url = login_url


@dataclass(frozen=True)
class MemberSession:
    business_id: int
    member_id: int
    csrf: str


@dataclass(frozen=True)
class StaffSession:
    business_id: int
    staff_id: int
    role: Role
    name: str
    csrf: str
    location_id: int | None = None

    @property
    def principal(self) -> Principal:
        """The same principal an API call by this person would have, for the shared services."""
        return Principal(
            business_id=self.business_id,
            role=self.role,
            location_id=self.location_id,
            staff_id=self.staff_id,
        )


def _serializer(settings: Settings, kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.effective_secret_key, salt=f"lealtad.session.{kind}")


def _set(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/",
    )


def _new_csrf() -> str:
    return secrets.token_urlsafe(16)


def start_member(
    response: Response, settings: Settings, business_id: int, member_id: int, card_version: int
) -> None:
    value = _serializer(settings, "member").dumps(
        {"b": business_id, "m": member_id, "v": card_version, "c": _new_csrf()}
    )
    _set(response, settings, MEMBER_COOKIE, value, MEMBER_DAYS * 86400)


def start_staff(
    response: Response,
    settings: Settings,
    staff: Any,
    *,
    two_step: bool = False,
    csrf: str | None = None,
) -> None:
    """A session for the staff row `staff`, read after any change to it (its session version is
    in the cookie). `two_step`: this session passed a TOTP code, so it stays valid if the
    business starts requiring two-step; one opened with the password alone does not. `csrf`
    keeps the form token of a session being renewed, so the forms already on screen still work."""
    token = csrf or _new_csrf()
    data = {
        "b": staff.business_id,
        "s": staff.id,
        "v": staff.session_version,
        "c": token,
        "t": 1 if two_step else 0,
    }
    value = _serializer(settings, "staff").dumps(data)
    _set(response, settings, STAFF_COOKIE, value, STAFF_HOURS * 3600)


def end(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/")


def _read(request: Request, settings: Settings, kind: str, name: str, hours: int) -> Any:
    raw = request.cookies.get(name)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _serializer(settings, kind).loads(raw, max_age=hours * 3600)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def member_session(
    request: Request, db: Any, settings: Settings, slug: str
) -> MemberSession | None:
    """The signed-in member of the business at `slug`, if the cookie names one whose card has
    not been reissued since (reissuing ends every session)."""
    data = _read(request, settings, "member", MEMBER_COOKIE, MEMBER_DAYS * 24)
    if data is None:
        return None
    try:
        business_id, member_id, version = int(data["b"]), int(data["m"]), int(data["v"])
        csrf = str(data["c"])
    except (KeyError, TypeError, ValueError):
        return None
    with db.read() as conn:
        business = tenancy_store.business(conn, business_id)
        member = member_store.member(conn, business_id, member_id)
    if business is None or business.slug != slug or member is None:
        return None
    if member.card_version != version or member.status != "active":
        return None
    return MemberSession(business_id, member_id, csrf)


def _staff(request: Request, db: Db, settings: AppSettings) -> StaffSession:
    data = _read(request, settings, "staff", STAFF_COOKIE, STAFF_HOURS)
    next_url = request.url.path
    login = LoginRequired(f"/admin/login?next={next_url}")
    if data is None:
        raise login
    try:
        business_id, staff_id, csrf = int(data["b"]), int(data["s"]), str(data["c"])
        version = int(data["v"])
    except (KeyError, TypeError, ValueError):
        raise login from None
    with db.read() as conn:
        staff = tenancy_store.staff(conn, business_id, staff_id)
        business = tenancy_store.business(conn, business_id)
    if staff is None or not staff.active or business is None:
        raise login
    # Logged out, a new password, two-step changed, disabled and enabled again: a copy of an
    # older cookie is dead (the row is read on every request anyway, so no cache to wait for).
    if staff.session_version != version:
        raise login
    # Turning on "require two-step", or two-step for oneself, ends sessions opened without it.
    if two_step.code_needed(business, staff) and not data.get("t"):
        raise login
    return StaffSession(
        business_id,
        staff_id,
        Role(staff.role),
        staff.name or staff.email,
        csrf,
        staff.location_id,
    )


CurrentStaff = Annotated[StaffSession, Depends(_staff)]


def _manager(staff: CurrentStaff) -> StaffSession:
    if not staff.role.allows(Role.manager):
        raise Forbidden("the admin console is for managers and owners", code="role_required")
    return staff


# The admin console; staff without the manager role work at the counter.
CurrentManager = Annotated[StaffSession, Depends(_manager)]


def require_csrf(expected: str, presented: str) -> None:
    """Every form that changes something carries the session's token; a page on another site
    cannot read it, so it cannot forge the POST."""
    if not presented or not hmac.compare_digest(expected, presented):
        raise Forbidden(
            "this form has expired; reload the page and try again", code="csrf_token_invalid"
        )


def install(app: FastAPI) -> None:
    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(exc.login_url, status_code=303)

    app.add_exception_handler(LoginRequired, to_login)
