"""The history a member brings from the system a business moved from (`lealtad import members`):
when they enrolled, their tier and until when it holds, consent per channel with its date, and
the card number they carried. Read from the row (`split`) before the rest becomes the API's
MemberIn, and written (`apply`) once the member is enrolled, in the same savepoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.imports.balances import when
from lealtad.kit.clock import naive_utc
from lealtad.members import model as member_model
from lealtad.members import store as member_store
from lealtad.rules import service as rules
from lealtad.tiers import model as tier_model
from lealtad.tiers import store as tier_store

CHANNELS = member_model.CHANNELS
HISTORY_FIELDS = frozenset(
    {"enrolled_at", "tier", "tier_since", "tier_until", "previous_card_number"}
    | {f"consent_{c}" for c in CHANNELS}
    | {f"consent_{c}_at" for c in CHANNELS}
)
YES = frozenset({"yes", "y", "true", "1", "si", "sí", "s"})
NO = frozenset({"no", "n", "false", "0"})
MAX_CARD = 40


@dataclass(frozen=True)
class History:
    enrolled_at: datetime | None = None
    tier: str | None = None
    tier_since: datetime | None = None
    tier_until: datetime | None = None
    # channel: (granted, when)
    consent: dict[str, tuple[bool, datetime | None]] = field(default_factory=dict)
    previous_card_number: str | None = None


def split(fields: dict[str, Any], zone: ZoneInfo, now: datetime) -> tuple[dict[str, Any], History]:
    """The row without its history columns, and the history; ValueError with the reason."""
    rest = {k: v for k, v in fields.items() if k not in HISTORY_FIELDS}
    enrolled_at = _past(fields, "enrolled_at", zone, now)
    tier = _text(fields, "tier")
    tier_since = _past(fields, "tier_since", zone, now)
    tier_until = when(fields, "tier_until", zone)
    if tier is None and (tier_since or tier_until):
        raise ValueError("tier_since and tier_until need a tier / necesitan tier")
    if tier_until is not None and tier_until <= (tier_since or enrolled_at or now):
        raise ValueError(
            "tier_until is not after the tier's start / tier_until no es posterior al inicio"
        )
    consent: dict[str, tuple[bool, datetime | None]] = {}
    for channel in CHANNELS:
        name = f"consent_{channel}"
        at = _past(fields, f"{name}_at", zone, now)
        given = _text(fields, name)
        if given is None:
            if at is not None:
                raise ValueError(f"{name}_at needs {name} (yes or no) / {name}_at necesita {name}")
            continue
        if given.lower() not in YES | NO:
            raise ValueError(
                f"{name} must be yes or no, got {given[:20]!r} / {name} debe ser sí o no"
            )
        consent[channel] = (given.lower() in YES, at)
    card = _text(fields, "previous_card_number")
    if card is not None:
        # Kept in capitals and looked up so: an old card's letters are typed either way.
        card = member_model.normalise_card_number(card).upper()
        if not card or len(card) > MAX_CARD:
            raise ValueError(
                f"previous_card_number must be 1 to {MAX_CARD} characters / "
                f"previous_card_number debe tener de 1 a {MAX_CARD} caracteres"
            )
    history = History(enrolled_at, tier, tier_since, tier_until, consent, card)
    return rest, history


def check(conn: Connection, business_id: int, history: History, now: datetime) -> None:
    """What the database must agree with before the member is enrolled."""
    if history.previous_card_number is not None:
        _card_is_free(conn, business_id, history.previous_card_number)
    if history.tier is not None:
        _policy(conn, business_id, history.tier, now)


def apply(
    conn: Connection,
    business_id: int,
    member_id: int,
    history: History,
    *,
    zone: ZoneInfo,
    enrolled_at: datetime,
    now: datetime,
) -> None:
    if history.previous_card_number is not None:
        member_store.add_previous_card(
            conn, business_id, member_id, history.previous_card_number, naive_utc(now)
        )
    if history.consent:
        row = member_store.member(conn, business_id, member_id)
        consent = dict(row.consent or {})
        for channel, (granted, at) in history.consent.items():
            consent[channel] = {
                "granted": granted,
                "at": (at or enrolled_at).isoformat(),
                "source": "import",
            }
        member_store.update_member(conn, business_id, member_id, consent=consent)
    if history.tier is not None:
        policy = _policy(conn, business_id, history.tier, now)
        since = history.tier_since or enrolled_at
        # The tier holds for the program's window from when it was reached (plus its grace),
        # unless the previous system said until when; the review job takes it from there.
        until = history.tier_until or tier_model.held_until(policy, since, zone)
        tier_store.save(
            conn,
            business_id,
            member_id,
            tier_id=history.tier,
            since=naive_utc(since),
            held_until=naive_utc(until),
            # Kept apart as where the member starts: a replay of their history in date order
            # begins here (D75).
            opening_tier_id=history.tier,
            opening_since=naive_utc(since),
            opening_held_until=naive_utc(until),
        )


def _card_is_free(conn: Connection, business_id: int, number: str) -> None:
    owner = member_store.previous_card_owner(conn, business_id, number)
    if owner is None:
        current = member_store.member_by(conn, business_id, "card_number", number)
        owner = None if current is None else int(current.id)
    if owner is not None:
        raise Conflict(
            f"previous_card_number {number} already names member {owner} / ese número de "
            "tarjeta ya es de otro socio",
            code="duplicate_card_number",
        )


def _policy(conn: Connection, business_id: int, tier: str, now: datetime) -> Any:
    try:
        policy = rules.in_force(conn, business_id, now).definition.tiers
    except NotFound:
        policy = None
    if policy is None:
        raise Invalid(
            "the program has no tiers, so no tier can be given / el programa no tiene niveles",
            code="unknown_tier",
        )
    if tier_model.rank(policy, tier) < 0:
        known = ", ".join(t.id for t in policy.levels)
        raise Invalid(
            f"unknown tier {tier!r}; the program's tiers: {known} / nivel desconocido",
            code="unknown_tier",
        )
    return policy


def _past(fields: dict[str, Any], name: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    at = when(fields, name, zone)
    if at is not None and at > now:
        raise ValueError(f"{name} {fields[name]} is in the future / {name} está en el futuro")
    return at


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text[:200] or None
