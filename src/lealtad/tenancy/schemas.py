"""Tenancy I/O."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.clock import UtcDateTime
from lealtad.kit.ids import MAX_ID
from lealtad.tenancy.model import Role


class BusinessOut(BaseModel):
    id: int
    slug: str
    name: str
    currency: str
    timezone: str
    locale: str
    signup_url: str


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)


class LocationOut(BaseModel):
    id: int
    name: str
    timezone: str


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.staff
    password: str = Field(min_length=1, max_length=200)
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class StaffOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    location_id: int | None
    active: bool


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.staff
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: Role
    location_id: int | None
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="shown only in this answer; store it now")


class StaffLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business: str = Field(min_length=1, max_length=64, description="the business slug")
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=200)
    totp_code: str | None = Field(
        default=None,
        max_length=10,
        description="the six-digit code of the authenticator app, for staff with two-step "
        "verification or in a business that requires it",
    )


class StaffToken(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    staff: StaffOut


class AuditOut(BaseModel):
    id: int
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    at: UtcDateTime
