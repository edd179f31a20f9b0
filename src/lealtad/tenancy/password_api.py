"""A staff member changes their own password through the API, with a staff token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from lealtad.deps import AppSettings, CurrentPrincipal, Db, Now
from lealtad.errors import Forbidden
from lealtad.http import ERROR_RESPONSES
from lealtad.security import limits, limits_api
from lealtad.tenancy import own_password, sign_in, two_step
from lealtad.tenancy.api import staff_out
from lealtad.tenancy.schemas import StaffToken

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)
    totp_code: str | None = Field(
        default=None,
        max_length=10,
        description="the authenticator app's code, needed when two-step verification is on",
    )


@router.post(
    "/auth/password", response_model=StaffToken, tags=["auth"], responses=limits_api.LIMITED
)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
) -> StaffToken:
    """Change the password of the staff member whose token calls (not an API key). Every other
    session and token of that person ends, this one included: the answer carries a new token.
    Wrong current passwords count like failed logins (429)."""
    if principal.staff_id is None:
        raise Forbidden("only a staff member's own token changes their password", code="staff_only")
    staff = own_password.change_guarded(
        db,
        lambda email: limits.staff_attempt(
            db, request, settings, principal.business_id, email, now
        ),
        principal,
        current=body.current_password,
        new=body.new_password,
        repeated=body.new_password,
        totp_code=body.totp_code,
        now=now,
    )
    # With two-step on, a code was checked for this change: the new token carries it.
    token = sign_in.staff_token(
        settings.effective_secret_key, staff, two_step=two_step.is_on(staff)
    )
    return StaffToken(
        token=token, expires_in=settings.staff_token_hours * 3600, staff=staff_out(staff)
    )
