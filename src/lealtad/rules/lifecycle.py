"""Triggers that are not purchases: enrolment and referral sign-up, a completed profile, events
sent through the API (surveys, reviews, training hours, custom), birthdays and anniversaries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.errors import Invalid
from lealtad.rules.actions import property_problem
from lealtad.rules.apply import Outcome, apply, context_for
from lealtad.rules.facts import Facts
from lealtad.rules.service import in_force
from lealtad.tenancy import store as tenancy_store


def _zone(conn: Connection, business_id: int) -> ZoneInfo:
    business = tenancy_store.business(conn, business_id)
    return ZoneInfo(business.timezone)


def fire(
    conn: Connection,
    business_id: int,
    member: Any,
    trigger: str,
    *,
    at: datetime,
    now: datetime,
    actor: str,
    value: Decimal = Decimal(0),
    event: str | None = None,
    referral_stage: Literal["signup", "first_purchase", "purchase"] | None = None,
    referrer_id: int | None = None,
    properties: Mapping[str, object] | None = None,
) -> Outcome:
    facts = Facts(
        trigger=trigger,
        occurred_at=at,
        tz=_zone(conn, business_id),
        value=value,
        event=event,
        properties=properties,
        referral_stage=referral_stage,
    )
    at = facts.occurred_at
    program = in_force(conn, business_id, at)
    if properties:
        problem = property_problem(program.definition.rules, trigger, event, properties)
        if problem is not None:
            raise Invalid(problem, code="invalid_event_property")
    context = context_for(conn, business_id, member, None, at=at, program=program)
    return apply(
        conn,
        business_id,
        context,
        facts,
        now=now,
        actor=actor,
        referrer_id=referrer_id,
        memo=event or trigger,
        program=program,
    )


def on_enrolment(
    conn: Connection, business_id: int, member: Any, now: datetime, actor: str
) -> list[Outcome]:
    """The welcome rules, and the referral rules when a friend brought the member in."""
    outcomes = [fire(conn, business_id, member, "enrolment", at=now, now=now, actor=actor)]
    if member.referred_by_member_id:
        outcomes.append(
            fire(
                conn,
                business_id,
                member,
                "referral",
                at=now,
                now=now,
                actor=actor,
                referral_stage="signup",
                referrer_id=member.referred_by_member_id,
            )
        )
    return outcomes


PROFILE_FIELDS = ("name", "email", "phone", "birthday")


def profile_complete(member: Any) -> bool:
    return all(getattr(member, f) for f in PROFILE_FIELDS)
