"""Enrolment, profiles, look-up and cards."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.analytics import rollups
from lealtad.comms.outbox import emit
from lealtad.errors import Conflict, Invalid, LealtadError, NotFound
from lealtad.kit.clock import naive_utc
from lealtad.ledger import service as ledger
from lealtad.members import contact, model, previous_store, store
from lealtad.members.schemas import Consent, MemberIn, MemberOut, MemberPatch, PreviousSystemOut
from lealtad.rules import lifecycle
from lealtad.tenancy import service as tenancy
from lealtad.tiers import service as tiers


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    email = model.normalise_email(value)
    if email is None:
        raise Invalid(f"{value!r} is not an e-mail address", code="invalid_email")
    return email


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    phone = model.normalise_phone(value)
    if phone is None:
        raise Invalid(f"{value!r} is not a phone number", code="invalid_phone")
    return phone


def _tags(values: list[str]) -> list[str]:
    tags = []
    for value in values:
        tag = model.normalise_tag(value)
        if tag is None:
            raise Invalid(f"{value!r} is not a valid tag", code="invalid_tag")
        if tag not in tags:
            tags.append(tag)
    return tags


def _consent(consent: Consent, source: str, now: datetime, before: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Each channel keeps when and how its consent was last given or withdrawn."""
    out = dict(before or {})
    for channel in model.CHANNELS:
        granted = bool(getattr(consent, channel))
        if before is None or out.get(channel, {}).get("granted") != granted:
            out[channel] = {"granted": granted, "at": now.isoformat(), "source": source}
    return out


def _unique(
    conn: Connection, business_id: int, member_id: int | None, email: str | None, phone: str | None
) -> None:
    for column, value in (("email", email), ("phone", phone)):
        if value is None:
            continue
        found = store.member_by(conn, business_id, column, value)
        if found is not None and found.id != member_id:
            raise Conflict(
                f"another member of this business already has this {column}",
                code=f"duplicate_{column}",
                details={"member_id": found.id},
            )


def enrol(
    conn: Connection,
    business_id: int,
    data: MemberIn,
    *,
    channel: str,
    now: datetime,
    staff_id: int | None = None,
    location_id: int | None = None,
) -> int:
    business = tenancy.get_business(conn, business_id)
    if location_id is not None:
        tenancy.get_location(conn, business_id, location_id)
    if staff_id is not None:
        tenancy.get_staff(conn, business_id, staff_id)
    email, phone = _email(data.email), _phone(data.phone)
    _unique(conn, business_id, None, email, phone)
    card = model.new_card_number()
    while store.card_number_taken(conn, business_id, card):
        card = model.new_card_number()
    code = model.new_referral_code()
    while store.member_by(conn, business_id, "referral_code", code) is not None:
        code = model.new_referral_code()
    referrer = None
    if data.referral_code:
        referrer = store.member_by(
            conn, business_id, "referral_code", data.referral_code.strip().upper()
        )
        if referrer is None:
            raise NotFound(
                "no member of this business has that referral code", code="referral_not_found"
            )
    member_id = store.insert_member(
        conn,
        business_id=business_id,
        card_number=card,
        card_version=1,
        name=(data.name or "").strip() or None,
        email=email,
        phone=phone,
        birthday=data.birthday,
        locale=data.locale or business.locale,
        time_zone=data.time_zone,
        tags=_tags(data.tags),
        consent=_consent(data.consent, channel, now),
        enrolment_channel=channel,
        enrolled_by_staff_id=staff_id,
        enrolled_location_id=location_id,
        enrolled_at=naive_utc(now),
        status=model.ACTIVE,
        referral_code=code,
        referred_by_member_id=referrer.id if referrer else None,
    )
    ledger.open_member_accounts(conn, business_id, member_id, now)
    rollups.on_enrolment(
        conn,
        business_id,
        member_id,
        enrolled_at=now,
        location_id=location_id,
        staff_id=staff_id,
    )
    actor = f"staff:{staff_id}" if staff_id else channel
    emit(
        conn,
        business_id,
        "member.enrolled",
        {
            "member_id": member_id,
            "channel": channel,
            "location_id": location_id,
            "staff_id": staff_id,
        },
        now,
    )
    lifecycle.on_enrolment(conn, business_id, get(conn, business_id, member_id), now, actor)
    _maybe_profile_completed(conn, business_id, member_id, now, actor)
    return member_id


def _maybe_profile_completed(
    conn: Connection, business_id: int, member_id: int, now: datetime, actor: str
) -> None:
    """The first time every profile field is filled in, the profile_completed rules run."""
    row = get(conn, business_id, member_id)
    if row.profile_completed_at is None and lifecycle.profile_complete(row):
        store.update_member(conn, business_id, member_id, profile_completed_at=naive_utc(now))
        lifecycle.fire(conn, business_id, row, "profile_completed", at=now, now=now, actor=actor)


def get(conn: Connection, business_id: int, member_id: int) -> Any:
    row = store.member(conn, business_id, member_id)
    if row is None:
        raise NotFound(f"no member {member_id} in this business", code="member_not_found")
    return row


def lock(conn: Connection, business_id: int, member_id: int) -> None:
    """Holds the member's row until commit (PostgreSQL; SQLite's write transaction already does)."""
    store.lock_member(conn, business_id, member_id)


def lock_active(conn: Connection, business_id: int, member: Any, *, by_id: bool) -> None:
    """Holds the row of `member` (found earlier in this transaction) until commit, and refuses
    them if an erasure committed in between (PostgreSQL, read committed: the first read does
    not hold the row). Refused as `find` would refuse them now: 409 member_erased when named
    by id, 404 member_not_found when named by card or code, which then name nobody."""
    status = store.lock_member(conn, business_id, member.id)
    # None: SQLite, where nothing could come in between (members are never deleted).
    if status is None or status == model.ACTIVE:
        return
    raise no_longer_active(member.id, by_id=by_id)


def no_longer_active(member_id: int, *, by_id: bool) -> LealtadError:
    """The refusal of a member erased (or deactivated) after they were looked up, as the look-up
    would refuse them now: 409 member_erased when named by id, 404 member_not_found when named
    by card or code, which then name nobody."""
    if by_id:
        return erased(member_id)
    return NotFound("no member of this business matches", code="member_not_found")


def find(
    conn: Connection,
    business_id: int,
    secret_key: str,
    *,
    member_id: int | None = None,
    card_number: str | None = None,
    qr_token: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> Any:
    """The member named by exactly one identifier; 404 when nothing in this business matches.
    `qr_token` is a card's static code (LT1) or the wallet's rotating one (LT2), which needs
    `now` and is refused with its own code once it has run out."""
    given = [v for v in (member_id, card_number, qr_token, email, phone) if v is not None]
    if len(given) != 1:
        raise Invalid(
            "name the member by exactly one of member_id, card_number, qr_token, email, phone",
            code="member_reference",
        )
    row = None
    if member_id is not None:
        row = store.member(conn, business_id, member_id)
    elif card_number is not None:
        number = model.normalise_card_number(card_number)
        row = store.member_by(conn, business_id, "card_number", number)
        if row is None and number:
            # The card from the system the business moved from (`lealtad import members`): a
            # second read only when no current card matches, never on the usual path.
            row = store.member_by_previous_card(conn, business_id, number.upper())
    elif qr_token is not None:
        read = read_card_code(secret_key, qr_token, now)
        if read is not None and read[0] == business_id:
            row = store.member(conn, business_id, read[1])
            if row is not None and row.card_version != read[2]:
                row = None
    elif email is not None:
        normal = model.normalise_email(email)
        row = store.member_by(conn, business_id, "email", normal) if normal else None
    elif phone is not None:
        normal = model.normalise_phone(phone)
        row = store.member_by(conn, business_id, "phone", normal) if normal else None
    if row is not None and row.status != model.ACTIVE:
        if member_id is None:
            # An erased member's card, QR code and old contact details are dead: they name
            # nobody, as if never issued, and leak nothing about whom they once named.
            row = None
        else:
            require_active(row)
    if row is None:
        raise NotFound("no member of this business matches", code="member_not_found")
    return row


def require_active(row: Any) -> None:
    """Refuses earning and spending for a member who is no longer active (erased): the ledger
    keeps their history, but nothing new is written to it for them."""
    if row.status != model.ACTIVE:
        raise erased(row.id)


def erased(member_id: int) -> Conflict:
    """The refusal of a member who is no longer active, named by id (the API's 409)."""
    return Conflict(
        "this member's data was erased: they can no longer earn or spend",
        code="member_erased",
        details={"member_id": member_id},
    )


def read_card_code(
    secret_key: str, value: str, now: datetime | None
) -> tuple[int, int, int] | None:
    if not value.strip().upper().startswith("LT2-"):
        return model.read_qr_token(secret_key, value)
    try:
        return model.read_rotating_token(secret_key, value, (now or datetime.now(UTC)).timestamp())
    except model.StaleCardToken:
        raise Invalid(
            "this card code has expired: ask the member to refresh the card on their phone, "
            "or type the card number",
            code="card_token_expired",
        ) from None


def update(
    conn: Connection,
    business_id: int,
    member_id: int,
    patch: MemberPatch,
    now: datetime,
    *,
    may_change_contact: bool = False,
) -> None:
    """Changes the fields the patch sets. A change of e-mail or phone must be allowed by the
    caller (a manager or owner, members/contact.py) and tells the member at their old address."""
    row = get(conn, business_id, member_id)
    values: dict[str, Any] = {}
    fields = patch.model_fields_set
    given = {field: getattr(patch, field) for field in contact.FIELDS if field in fields}
    if contact.touched(row, given) and not may_change_contact:
        raise contact.refused()
    if "email" in fields:
        values["email"] = _email(patch.email)
        if values["email"] != row.email:
            # A bounce concerns the address, not the member: a new one gets e-mail again.
            values["email_bounced_at"] = None
    if "phone" in fields:
        values["phone"] = _phone(patch.phone)
    _unique(conn, business_id, member_id, values.get("email"), values.get("phone"))
    if "name" in fields:
        values["name"] = (patch.name or "").strip() or None
    if "birthday" in fields:
        values["birthday"] = patch.birthday
    if "locale" in fields and patch.locale is not None:
        values["locale"] = patch.locale
    if "time_zone" in fields:
        values["time_zone"] = patch.time_zone
    if "tags" in fields and patch.tags is not None:
        values["tags"] = _tags(patch.tags)
    if "consent" in fields and patch.consent is not None:
        values["consent"] = _consent(patch.consent, "profile", now, row.consent)
    if values:
        store.update_member(conn, business_id, member_id, **values)
        _maybe_profile_completed(conn, business_id, member_id, now, "profile")
    changed = {f: values[f] for f in contact.FIELDS if f in values and values[f] != getattr(row, f)}
    if changed:
        contact.notify(conn, business_id, row, changed, now)


def out(conn: Connection, row: Any, secret_key: str) -> MemberOut:
    bid, member_id = row.business_id, row.id
    tier = tiers.current(conn, bid, member_id)
    held = ledger.balances(conn, bid, member_id)
    before = previous_store.latest(conn, bid, member_id)
    return _out(row, secret_key, tier, held, before)


def out_many(conn: Connection, rows: list[Any], secret_key: str) -> list[MemberOut]:
    """`out` for a page of members, with three reads for all of them (not three each)."""
    if not rows:
        return []
    bid = rows[0].business_id
    ids = [int(r.id) for r in rows]
    tier = tiers.current_of(conn, bid, ids)
    held = ledger.balances_of(conn, bid, ids)
    before = previous_store.latest_of(conn, bid, ids)
    return [_out(r, secret_key, tier[r.id], held[r.id], before.get(r.id)) for r in rows]


def _out(
    row: Any,
    secret_key: str,
    tier: str | None,
    held: dict[str, int],
    before: previous_store.PreviousFigures | None,
) -> MemberOut:
    return MemberOut(
        id=row.id,
        card_number=row.card_number,
        qr_token=model.qr_token(secret_key, row.business_id, row.id, row.card_version),
        name=row.name,
        email=row.email,
        phone=row.phone,
        birthday=row.birthday,
        locale=row.locale,
        time_zone=row.time_zone,
        email_bounced_at=row.email_bounced_at,
        tags=list(row.tags),
        consent=row.consent,
        enrolment_channel=row.enrolment_channel,
        enrolled_by_staff_id=row.enrolled_by_staff_id,
        enrolled_location_id=row.enrolled_location_id,
        enrolled_at=row.enrolled_at,
        status=row.status,
        referral_code=row.referral_code,
        referred_by_member_id=row.referred_by_member_id,
        tier=tier,
        balances=held,
        previous_system=None if before is None else PreviousSystemOut(**dataclasses.asdict(before)),
    )


def previous_system(conn: Connection, business_id: int, member_id: int) -> PreviousSystemOut | None:
    found = previous_store.latest(conn, business_id, member_id)
    return None if found is None else PreviousSystemOut(**dataclasses.asdict(found))
