"""Member I/O."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lealtad.kit.clock import UtcDateTime
from lealtad.kit.dates import IsoDate
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
    whatsapp: bool = False


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    birthday: IsoDate | None = None
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
    birthday: IsoDate | None = None
    locale: Locale | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    consent: Consent | None = None
    time_zone: TimeZone = None


class SignupIn(BaseModel):
    """The self-service form: few fields, consent and acceptance of the program terms. The
    e-mail is needed (422 email_required without one): the code that opens the card is sent
    there. To join with a phone number only, members enrol at the counter."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(
        default=None, max_length=320, description="needed: the sign-in code is sent there"
    )
    phone: str | None = Field(
        default=None,
        max_length=32,
        description="optional; left out if another member already has it (add it later)",
    )
    locale: Locale | None = None
    accept_terms: bool
    consent: Consent = Field(default_factory=Consent)
    referral_code: str | None = Field(default=None, max_length=16, description="a friend's code")
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ConsentOut(BaseModel):
    granted: bool
    at: str | None = None
    source: str | None = None


class PreviousSystemOut(BaseModel):
    """The previous system's totals for the member as of a day (`lealtad import balances`,
    lifetime_* columns; the latest import run's). Shown only: Lealtad's visits, spend, tiers,
    dashboards and value models count dated purchases alone."""

    as_of: date = Field(description="the day of the business's calendar the totals were taken")
    visits: int | None = None
    spend: int | None = Field(default=None, description="minor units of the business's currency")
    points: int | None = Field(default=None, description="points earned in the previous system")
    import_run_id: int


class MemberOut(BaseModel):
    id: int
    card_number: str
    qr_token: str
    name: str | None
    email: str | None = Field(description="masked (n•••@example.org) for staff-role callers")
    phone: str | None = Field(description="masked (•••• 789) for staff-role callers")
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
    previous_system: PreviousSystemOut | None = Field(
        default=None,
        description="lifetime figures brought from the previous system; not part of any figure "
        "Lealtad computes",
    )


class SignupAccepted(BaseModel):
    """The same answer whether or not the address already belongs to a member."""

    status: Literal["code_sent"] = Field(
        default="code_sent",
        description="a six-digit code is on its way to the e-mail given (a welcome for a new "
        "member; for an address that is already a member's, a code to open their card); "
        "the member types it at /w/{business}/login to open the wallet",
    )


class MemberAtCounter(BaseModel):
    """A member as the counter shows them: who they are and what they hold, no contact
    details. What a staff-role key or token gets when it searches the members."""

    id: int
    card_number: str
    name: str | None
    status: str
    tier: str | None
    balances: dict[str, int]


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None,
        max_length=500,
        description="How the request came (e.g. 'e-mail of 3 March, ticket 41'); kept in the "
        "audit log, so write no personal details here",
    )


class ExportedBusiness(BaseModel):
    name: str
    slug: str


class MemberDataExport(BaseModel):
    """Everything the program holds about one member: the same document the member downloads
    from the wallet. Lists are complete (not paged); times are UTC with their offset."""

    format: str = Field(description="lealtad.member-data/1")
    exported_at: str = Field(description="UTC, ISO 8601 with offset")
    business: ExportedBusiness
    profile: dict[str, Any] = Field(
        description="the member as GET /members/{id} gives it, without the card's QR token "
        "(a credential), balances and consent (given apart)"
    )
    consent: dict[str, Any] = Field(description="per channel: granted, at, source")
    balances: dict[str, int]
    previous_system: list[dict[str, Any]] = Field(
        default_factory=list,
        description="lifetime figures from the previous system, per import run, the latest first",
    )
    ledger: list[dict[str, Any]] = Field(description="every journal entry, newest first")
    purchases: list[dict[str, Any]]
    vouchers: list[dict[str, Any]]
    donations: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    surveys: list[dict[str, Any]] = Field(
        description="the member's survey answers (survey id and title, answers, channel), "
        "oldest first"
    )
    messages: list[dict[str, Any]] = Field(description="every message sent or held, newest first")
