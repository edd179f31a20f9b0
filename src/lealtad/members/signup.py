"""Self-service sign-up: the poster's /join form and POST /api/v1/public/{business}/members.
Anyone may call it, so it must not tell who is a member, and it proves the e-mail (decisions
D48). A new address is enrolled and sent a welcome with a one-time code; an address that is
already a member's enrols nobody and is sent a code to open the card it has. Both get the same
answer, and the code is the wallet's own (members/login.py), so entering it opens the wallet.
A phone given along that already belongs to someone is dropped rather than refused, which
would tell whose it is; the member can have it added later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from lealtad.comms.catalog import JOIN_CODE, MEMBER_AGAIN_CODE
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.errors import Invalid, NotFound
from lealtad.members import login, model, pii, service, store
from lealtad.members.schemas import Consent, Locale, MemberIn
from lealtad.security import limits
from lealtad.security.crypto import FieldKeys
from lealtad.security.fields import keys_of
from lealtad.tenancy import service as tenancy

# Every sign-up counts, per address asked for and per client address, as the wallet's code
# requests do: each one sends an e-mail, so nobody may use the form to flood a member's inbox.
SIGNUP = "member_signup"


@dataclass(frozen=True)
class Signup:
    name: str
    email: str
    phone: str | None
    locale: Locale | None
    consent: Consent
    referral_code: str | None
    location_id: int | None


@dataclass(frozen=True)
class Sent:
    message_id: int | None
    # The code itself, only where it cannot be e-mailed (a development install without a mail
    # server, login.shown_on_page), for the demo's code page.
    shown_code: str | None = None


def prepare(
    *,
    name: str,
    email: str | None,
    phone: str | None,
    accept_terms: bool,
    locale: Locale | None,
    consent: Consent,
    referral_code: str | None,
    location_id: int | None,
) -> Signup:
    """The sign-up as asked, checked and normalised; Invalid with a code each form explains."""
    if not name.strip():
        raise Invalid("give your name to join", code="name_required")
    if not (email or "").strip():
        if (phone or "").strip():
            raise Invalid(
                "online sign-up needs an e-mail address, where the code to open the card is "
                "sent; to join with a phone number only, ask at the counter",
                code="email_required",
            )
        raise Invalid("give an e-mail address to join", code="email_required")
    normal = model.normalise_email(email or "")
    if normal is None:
        raise Invalid(f"{email!r} is not an e-mail address", code="invalid_email")
    phone_normal = None
    if (phone or "").strip():
        phone_normal = model.normalise_phone(phone or "")
        if phone_normal is None:
            raise Invalid(f"{phone!r} is not a phone number", code="invalid_phone")
    if not accept_terms:
        raise Invalid("the program terms must be accepted to join", code="terms_not_accepted")
    return Signup(
        name=name.strip(),
        email=normal,
        phone=phone_normal,
        locale=locale,
        consent=consent,
        referral_code=(referral_code or "").strip().upper() or None,
        location_id=location_id,
    )


def count(
    db: Database, request: Any, settings: Settings, business_id: int, email: str, now: datetime
) -> None:
    """Raises TooManyAttempts when the address or the client has asked too often; else counts
    this request. The address is keyed by its blind index, never written down."""
    account = counter_key(keys_of(db.engine.dialect), business_id, email)
    asking = limits.attempt(db, request, settings, business_id, SIGNUP, account, now)
    # Claimed and kept: every sign-up counts, whatever it turns out to be.
    asking.claim()


def counter_key(keys: FieldKeys, business_id: int, email: str) -> str:
    """The sign-up counter's key for an address: from its keyed blind index, so that the
    counters table holds nothing a dictionary of addresses could be matched against."""
    return limits.account_key(SIGNUP, business_id, pii.email_index(keys, business_id, email))


def join(db: Database, settings: Settings, business: Any, form: Signup, now: datetime) -> Sent:
    """Enrols a new address, or not an existing one, and queues the code's message either way
    (the caller sends it after answering: comms.login_codes.deliver_code)."""
    for retry in (False, True):
        try:
            with db.transaction() as conn:
                message_id = _join(conn, settings, business.id, form, now)
                shown = None
                if message_id is not None and login.shown_on_page(settings):
                    shown = login.pending_code(conn, business.id, message_id)
            return Sent(message_id, shown)
        except IntegrityError:
            # The same address joining twice at the same instant: the second finds the first.
            if retry:
                raise
    raise AssertionError("unreachable")


def _join(
    conn: Connection, settings: Settings, business_id: int, form: Signup, now: datetime
) -> int | None:
    _check_references(conn, business_id, form)
    secret = settings.effective_secret_key
    if store.member_by(conn, business_id, "email", form.email) is not None:
        return login.request_code(
            conn, business_id, form.email, secret, now, kind=MEMBER_AGAIN_CODE
        )
    phone = form.phone
    if phone is not None and store.member_by(conn, business_id, "phone", phone) is not None:
        phone = None
    data = MemberIn(
        name=form.name,
        email=form.email,
        phone=phone,
        locale=form.locale,
        consent=form.consent,
        referral_code=form.referral_code,
    )
    service.enrol(conn, business_id, data, channel="self", location_id=form.location_id, now=now)
    return login.request_code(conn, business_id, form.email, secret, now, kind=JOIN_CODE)


def _check_references(conn: Connection, business_id: int, form: Signup) -> None:
    """A wrong referral code or location is refused before the address is looked at, so that
    it is refused alike for a new and an existing member."""
    if form.location_id is not None:
        tenancy.get_location(conn, business_id, form.location_id)
    code = form.referral_code
    if code is not None and store.member_by(conn, business_id, "referral_code", code) is None:
        raise NotFound(
            "no member of this business has that referral code", code="referral_not_found"
        )
