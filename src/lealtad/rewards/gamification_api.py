"""JSON routes of gamification: challenges (manager and up writes them), a member's progress,
badges and streak, and the referral link a member shares with friends."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection

from lealtad.deps import AppSettings, CurrentPrincipal, Db, Manager, Now
from lealtad.errors import Conflict, NotFound
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.ids import IdPath
from lealtad.members import model as member_model
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.rewards import gamification, gamification_store
from lealtad.tenancy import service as tenancy

router = APIRouter(prefix="/api/v1", tags=["gamification"], responses=ERROR_RESPONSES)

SLUG = r"^[a-z0-9][a-z0-9_-]{0,39}$"
ChallengePeriod = Literal["week", "month", "year", "lifetime"]


class Title(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)


class ChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG)
    title: Title
    metric: str = Field(
        max_length=80,
        pattern=gamification.METRIC_PATTERN,
        description='"purchases", "visits", "spend" (minor units), "event:<name>" (the sum of '
        'the events\' values) or "streak_weeks" (consecutive weeks with a purchase)',
    )
    target: int = Field(ge=1, le=10**12)
    period: ChallengePeriod = Field(description="the target is reached within one such period")
    bonus_points: int = Field(default=0, ge=0, le=10**9)
    badge: str | None = Field(default=None, pattern=SLUG, description="defaults to the slug")
    active: bool = True


class ChallengePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    title: Title | None = None
    bonus_points: int | None = Field(default=None, ge=0, le=10**9)
    target: int | None = Field(default=None, ge=1, le=10**12)

    @model_validator(mode="after")
    def _no_nulls(self) -> ChallengePatch:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ChallengeOut(BaseModel):
    id: int
    slug: str
    title: dict[str, str]
    metric: str
    target: int
    period: str
    bonus_points: int
    badge: str
    active: bool
    created_at: datetime


class MemberChallengeOut(BaseModel):
    challenge_id: int
    slug: str
    title: dict[str, str]
    metric: str
    period: str
    period_key: str
    progress: Decimal
    target: int
    done: bool
    bonus_points: int
    badge: str


class BadgeOut(BaseModel):
    id: int
    badge: str
    challenge_id: int | None
    challenge: str | None
    title: dict[str, str] | None
    period_key: str
    earned_at: datetime


class StreakOut(BaseModel):
    weeks: int


class ReferralOut(BaseModel):
    code: str
    link: str


def _out(row: Any) -> ChallengeOut:
    return ChallengeOut(
        id=row.id,
        slug=row.slug,
        title=dict(row.title),
        metric=row.metric,
        target=row.target,
        period=row.period,
        bonus_points=row.bonus_points,
        badge=row.badge or row.slug,
        active=row.active,
        created_at=as_utc(row.created_at),
    )


def _challenge(conn: Connection, business_id: int, challenge_id: int) -> Any:
    row = gamification_store.challenge(conn, business_id, challenge_id)
    if row is None:
        raise NotFound(f"no challenge {challenge_id} in this business", code="challenge_not_found")
    return row


@router.post("/challenges", response_model=ChallengeOut, status_code=201)
def create_challenge(body: ChallengeIn, principal: Manager, db: Db, now: Now) -> ChallengeOut:
    """A challenge (manager role and up): reach `target` of `metric` within a `period` to earn
    the badge and `bonus_points`, once per period."""
    bid = principal.business_id
    with db.transaction() as conn:
        taken = gamification_store.challenge_by_slug(conn, bid, body.slug)
        if taken is not None:
            raise Conflict(
                f"a challenge {body.slug!r} already exists",
                code="duplicate_challenge",
                details={"challenge_id": taken.id},
            )
        challenge_id = gamification_store.insert_challenge(
            conn,
            business_id=bid,
            slug=body.slug,
            title=body.title.model_dump(),
            metric=body.metric,
            target=body.target,
            period=body.period,
            bonus_points=body.bonus_points,
            badge=body.badge,
            active=body.active,
            created_at=naive_utc(now),
        )
        tenancy.audit(
            conn, principal, "challenge.create", f"challenge:{challenge_id}", now, slug=body.slug
        )
        return _out(_challenge(conn, bid, challenge_id))


@router.get("/challenges", response_model=list[ChallengeOut])
def list_challenges(principal: CurrentPrincipal, db: Db) -> list[ChallengeOut]:
    with db.read() as conn:
        rows = gamification_store.challenges_of(conn, principal.business_id)
        return [_out(row) for row in rows]


@router.get("/challenges/{challenge_id}", response_model=ChallengeOut)
def get_challenge(challenge_id: IdPath, principal: CurrentPrincipal, db: Db) -> ChallengeOut:
    with db.read() as conn:
        return _out(_challenge(conn, principal.business_id, challenge_id))


@router.patch("/challenges/{challenge_id}", response_model=ChallengeOut)
def update_challenge(
    challenge_id: IdPath, body: ChallengePatch, principal: Manager, db: Db, now: Now
) -> ChallengeOut:
    """Switch a challenge on or off, retitle it, change its bonus or target (manager and up).
    Badges already earned stay."""
    bid = principal.business_id
    with db.transaction() as conn:
        _challenge(conn, bid, challenge_id)
        values = body.model_dump(exclude_unset=True)
        if values:
            gamification_store.update_challenge(conn, bid, challenge_id, **values)
            tenancy.audit(
                conn,
                principal,
                "challenge.update",
                f"challenge:{challenge_id}",
                now,
                changes=values,
            )
        return _out(_challenge(conn, bid, challenge_id))


@router.get("/members/{member_id}/challenges", response_model=list[MemberChallengeOut])
def member_challenges(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, now: Now
) -> list[MemberChallengeOut]:
    """Each active challenge with the member's progress in its current period."""
    bid = principal.business_id
    with db.read() as conn:
        members.get(conn, bid, member_id)
        tz = gamification.zone(conn, bid)
        out = []
        streak: Decimal | None = None
        for row in gamification.active_challenges(conn, bid):
            key = gamification.period_key(now, row.period, tz)
            if row.metric == "streak_weeks":
                if streak is None:
                    streak = Decimal(gamification.streak_weeks(conn, bid, member_id, now, tz))
                value = streak
            else:
                value = gamification.progress(conn, bid, member_id, row.metric, now, row.period, tz)
            out.append(
                MemberChallengeOut(
                    challenge_id=row.id,
                    slug=row.slug,
                    title=dict(row.title),
                    metric=row.metric,
                    period=row.period,
                    period_key=key,
                    progress=value,
                    target=row.target,
                    done=gamification.earned(conn, bid, member_id, row.id, key),
                    bonus_points=row.bonus_points,
                    badge=row.badge or row.slug,
                )
            )
        return out


@router.get("/members/{member_id}/badges", response_model=list[BadgeOut])
def member_badges(member_id: IdPath, principal: CurrentPrincipal, db: Db) -> list[BadgeOut]:
    """The badges the member has earned, oldest first."""
    bid = principal.business_id
    with db.read() as conn:
        members.get(conn, bid, member_id)
        rows = gamification_store.member_badges(conn, bid, member_id)
        return [
            BadgeOut(
                id=row.id,
                badge=row.badge,
                challenge_id=row.challenge_id,
                challenge=row.slug,
                title=dict(row.title) if row.title is not None else None,
                period_key=row.period_key,
                earned_at=as_utc(row.earned_at),
            )
            for row in rows
        ]


@router.get("/members/{member_id}/streak", response_model=StreakOut)
def member_streak(member_id: IdPath, principal: CurrentPrincipal, db: Db, now: Now) -> StreakOut:
    """Consecutive weeks (in the business's zone) with a purchase, up to this week or last."""
    bid = principal.business_id
    with db.read() as conn:
        members.get(conn, bid, member_id)
        tz = gamification.zone(conn, bid)
        return StreakOut(weeks=gamification.streak_weeks(conn, bid, member_id, now, tz))


@router.get("/members/{member_id}/referral", response_model=ReferralOut)
def member_referral(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, settings: AppSettings
) -> ReferralOut:
    """The member's referral code and the sign-up link to share; a friend who joins through it
    is recorded as referred by this member."""
    bid = principal.business_id
    with db.transaction() as conn:
        row = members.get(conn, bid, member_id)
        code = row.referral_code
        if code is None:
            # Members enrolled before referral codes existed get theirs the first time they ask.
            code = member_model.new_referral_code()
            while member_store.member_by(conn, bid, "referral_code", code) is not None:
                code = member_model.new_referral_code()
            member_store.update_member(conn, bid, member_id, referral_code=code)
        business = tenancy.get_business(conn, bid)
    link = f"{settings.public_base_url}/join/{business.slug}?ref={code}"
    return ReferralOut(code=code, link=link)
