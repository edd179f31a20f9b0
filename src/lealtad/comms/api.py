"""JSON routes of member messages: the delivery log, the business's sending policy, campaigns
and bounces reported by the mail provider."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lealtad.comms import campaigns, delivery_log, email, policy
from lealtad.deps import CurrentPrincipal, Db, Manager, Now
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.clock import as_utc
from lealtad.kit.ids import MAX_ID, IdPath, Limit
from lealtad.members import service as members
from lealtad.tenancy import service as tenancy

router = APIRouter(prefix="/api/v1", tags=["messages"], responses=ERROR_RESPONSES)
Clock = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class MessageOut(BaseModel):
    id: int
    channel: str
    category: str
    template: str
    locale: str
    status: str
    reason: str | None
    attempts: int
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marketing_per_week: int = Field(ge=0, le=50)
    quiet_start: str = Clock
    quiet_end: str = Clock
    points_earned_messages: bool = Field(
        default=False, description="tell members by e-mail what each purchase earned"
    )


@router.get("/members/{member_id}/messages", response_model=list[MessageOut])
def member_messages(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, limit: Limit = 50
) -> list[MessageOut]:
    """Every message to the member on every channel, newest first: sent, deferred, suppressed
    (and why), bounced, failed."""
    with db.read() as conn:
        members.get(conn, principal.business_id, member_id)
        rows = delivery_log.of_member(conn, principal.business_id, member_id, limit)
    return [
        MessageOut(
            id=r.id,
            channel=r.channel,
            category=r.category,
            template=r.template,
            locale=r.locale,
            status=r.status,
            reason=r.reason,
            attempts=r.attempts,
            created_at=as_utc(r.created_at),
            send_after=as_utc(r.send_after),
            sent_at=as_utc(r.sent_at) if r.sent_at else None,
        )
        for r in rows
    ]


class BounceIn(BaseModel):
    """A bounce the mail provider reported after accepting the message: name the address, or
    the message by its id (from the member's message log)."""

    model_config = ConfigDict(extra="forbid")

    # No NUL: SQLite would take it and PostgreSQL refuse it; refused alike on both.
    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^\x00]*$")
    message_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    reason: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00]*$")
    permanent: bool = Field(
        default=True, description="a temporary failure (mailbox full) changes nothing"
    )

    @model_validator(mode="after")
    def _one_reference(self) -> BounceIn:
        if (self.email is None) == (self.message_id is None):
            raise ValueError("name the bounce by exactly one of email or message_id")
        return self


class BounceOut(BaseModel):
    member_id: int
    message_id: int | None
    bounced: bool


@router.post("/messages/bounces", response_model=BounceOut)
def report_bounce(body: BounceIn, principal: Manager, db: Db, now: Now) -> BounceOut:
    """Marks the address bounced: no more e-mail to the member until the address changes.
    The latest e-mail sent to it (or the one named) shows as "bounced" in the log."""
    with db.transaction() as conn:
        if not body.permanent:
            member_id, message_id = email.locate(
                conn, principal.business_id, address=body.email, message_id=body.message_id
            )
            return BounceOut(member_id=member_id, message_id=message_id, bounced=False)
        member_id, message_id = email.report(
            conn,
            principal.business_id,
            address=body.email,
            message_id=body.message_id,
            reason=body.reason,
            now=now,
        )
        tenancy.audit(
            conn,
            principal,
            "messaging.bounce",
            f"member:{member_id}",
            now,
            message_id=message_id,
            reason=body.reason,
        )
    return BounceOut(member_id=member_id, message_id=message_id, bounced=True)


@router.get("/messaging-policy", response_model=PolicyIn)
def get_policy(principal: CurrentPrincipal, db: Db) -> PolicyIn:
    with db.read() as conn:
        found = policy.policy(conn, principal.business_id)
    keys = ("marketing_per_week", "quiet_start", "quiet_end", "points_earned_messages")
    return PolicyIn(**{k: found[k] for k in keys})


@router.put("/messaging-policy", response_model=PolicyIn)
def set_policy(body: PolicyIn, principal: Manager, db: Db, now: Now) -> PolicyIn:
    """How many marketing messages a member may get a week, and the quiet hours (local time)."""
    with db.transaction() as conn:
        policy.save(conn, principal.business_id, body.model_dump(), now)
        tenancy.audit(
            conn, principal, "messaging.policy", "messaging-policy", now, **body.model_dump()
        )
    return body


@router.post("/campaigns", response_model=campaigns.CampaignOut, status_code=201)
def create_campaign(
    body: campaigns.CampaignIn, principal: Manager, db: Db, now: Now
) -> campaigns.CampaignOut:
    """Schedule a message to members of some tiers or tags (all if none), in both languages.
    It goes out at `send_at` under the usual consent, cap and quiet-hours rules."""
    with db.transaction() as conn:
        campaign_id = campaigns.create(conn, principal.business_id, body, principal.actor, now)
        tenancy.audit(
            conn, principal, "campaign.create", f"campaign:{campaign_id}", now, name=body.name
        )
        return campaigns.get(conn, principal.business_id, campaign_id)


@router.get("/campaigns", response_model=list[campaigns.CampaignOut])
def list_campaigns(principal: Manager, db: Db) -> list[campaigns.CampaignOut]:
    with db.read() as conn:
        return campaigns.listing(conn, principal.business_id)


@router.get("/campaigns/{campaign_id}", response_model=campaigns.CampaignOut)
def campaign(campaign_id: IdPath, principal: Manager, db: Db) -> campaigns.CampaignOut:
    """The campaign with its delivery log: how many messages were sent, deferred, suppressed,
    unsubscribed or failed."""
    with db.read() as conn:
        return campaigns.get(conn, principal.business_id, campaign_id)


@router.post("/campaigns/{campaign_id}/cancel", response_model=campaigns.CampaignOut)
def cancel_campaign(
    campaign_id: IdPath, principal: Manager, db: Db, now: Now
) -> campaigns.CampaignOut:
    with db.transaction() as conn:
        before = campaigns.get(conn, principal.business_id, campaign_id)
        found = campaigns.cancel(conn, principal.business_id, campaign_id)
        tenancy.audit_change(
            conn, principal, "campaign.cancel", f"campaign:{campaign_id}", now, before, found
        )
        return found
