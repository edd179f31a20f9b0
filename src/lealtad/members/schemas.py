"""Member I/O."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lealtad.kit.clock import UtcDateTime
from lealtad.kit.ids import MAX_ID

Locale = Literal["es", "en"]


@cache
def _zones() -> frozenset[str]:
    # "localtime" names whatever zone the server is in, not a place a member lives.
    return frozenset(available_timezones() - {"localtime"})


def _time_zone(value: str | None) -> str | None:
    if value is not None and value not in _zones():
        raise ValueError(f"{value!r} is not an IANA time zone (like Europe/Madrid)")
    return value


TimeZone = Annotated[
    str | None,
    Field(max_length=64, description="IANA zone, for quiet hours"),
    AfterValidator(_time_zone),
]


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: bool = False
    sms: bool = False
    push: bool = False


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    birthday: date | None = None
    locale: Locale | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    consent: Consent = Field(default_factory=Consent)
    time_zone: TimeZone = None
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    referral_code: str | None = Field(default=None, max_length=16, description="a friend's code")
    staff_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="who enrolled the member"
    )


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    birthday: date | None = None
    locale: Locale | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    consent: Consent | None = None
    time_zone: TimeZone = None


class SignupIn(BaseModel):
    """The self-service form: few fields, consent and acceptance of the program terms."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    locale: Locale | None = None
    accept_terms: bool
    consent: Consent = Field(default_factory=Consent)
    referral_code: str | None = Field(default=None, max_length=16, description="a friend's code")
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ConsentOut(BaseModel):
    granted: bool
    at: str | None = None
    source: str | None = None


class MemberOut(BaseModel):
    id: int
    card_number: str
    qr_token: str
    name: str | None
    email: str | None
    phone: str | None
    birthday: date | None
    locale: str
    time_zone: str | None = None
    email_bounced_at: UtcDateTime | None = Field(
        default=None, description="e-mail stops until the address changes"
    )
    tags: list[str]
    consent: dict[str, ConsentOut]
    enrolment_channel: str
    enrolled_by_staff_id: int | None
    enrolled_location_id: int | None
    enrolled_at: UtcDateTime
    status: str
    referral_code: str | None
    referred_by_member_id: int | None
    tier: str | None
    balances: dict[str, int]
