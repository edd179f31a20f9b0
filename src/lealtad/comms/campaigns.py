"""Campaigns: a message the business writes in both languages for members of some tiers, tags or
segments (or all), sent at a set time through the same rules as every marketing message."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection

from lealtad.analytics import segments as member_segments
from lealtad.analytics import uplift
from lealtad.comms import campaigns_store as store
from lealtad.comms.channel_store import PHONE_CHANNELS, enabled
from lealtad.comms.messages import channels_for
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.dates import IsoDateTime
from lealtad.kit.ids import MAX_ID
from lealtad.surveys import links
from lealtad.surveys import model as survey_model
from lealtad.surveys import store as survey_store


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: str = Field(min_length=1, max_length=5000)
    en: str = Field(min_length=1, max_length=5000)


Channel = Literal["email", "push", "sms", "whatsapp"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    subject: Texts
    body: Texts
    tiers: list[str] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)
    segments: list[str] = Field(
        default_factory=list,
        max_length=50,
        description='RFM segments of the last refresh ("at_risk", "lost"...) or experiment arms '
        '("exp:<slug>:<arm>"); a member in any of them is reached',
    )
    send_at: IsoDateTime | None = Field(default=None, description="now if omitted")
    survey_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="an open survey: each member's e-mail carries their own link to answer it",
    )
    channels: list[Channel] = Field(
        default_factory=list,
        max_length=4,
        description="e-mail, web push, SMS, WhatsApp (the last two once the business has switched "
        "them on) or several; empty: every channel the member can be reached on",
    )

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, values: list[str]) -> list[str]:
        unknown = [
            v for v in values if v not in member_segments.RFM_SEGMENTS and not _ARM.fullmatch(v)
        ]
        if unknown:
            raise ValueError(f"unknown segments: {', '.join(unknown)}")
        return list(dict.fromkeys(values))

    @field_validator("channels")
    @classmethod
    def _once_each(cls, values: list[Channel]) -> list[Channel]:
        return list(dict.fromkeys(values))


# An experiment arm's segment, as analytics.segments.experiment_segment writes it.
_ARM = re.compile(r"^exp:([a-z0-9][a-z0-9_-]{0,39}):([a-z0-9][a-z0-9_-]{0,31})$")


class CampaignOut(BaseModel):
    id: int
    name: str
    subject: dict[str, str]
    body: dict[str, str]
    tiers: list[str]
    tags: list[str]
    send_at: datetime
    status: str
    recipients: int
    delivery: dict[str, int]
    survey_id: int | None = None
    segments: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    unsubscribed_after: int = Field(
        default=0, description="members who unsubscribed with the link in this campaign's message"
    )


# The campaigns table has no survey column (schema 0007 did not add one), so the survey rides in
# the body JSON beside the two texts; `get` keeps it out of the body it shows. So do the segments
# and the channels.
SURVEY_KEY = "survey_id"
SEGMENTS_KEY = "segments"
CHANNELS_KEY = "channels"


def _texts(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in (SURVEY_KEY, SEGMENTS_KEY, CHANNELS_KEY)}


def _check_survey(conn: Connection, business_id: int, survey_id: int, send_at: datetime) -> None:
    survey = survey_store.survey(conn, business_id, survey_id)
    if survey is None:
        raise NotFound(f"no survey {survey_id} in this business", code="survey_not_found")
    state = survey_model.availability(
        survey.status, survey.opens_at, survey.closes_at, naive_utc(send_at)
    )
    if state != "open":
        raise Conflict(
            "the survey must be open when the campaign goes out",
            code="survey_closed",
            details={"availability": state},
        )


def _check_channels(conn: Connection, business_id: int, channels: list[Channel]) -> None:
    """A campaign for SMS or WhatsApp alone needs the business's provider for it switched on;
    otherwise it would reach nobody and say nothing."""
    off = [c for c in channels if c in PHONE_CHANNELS and c not in enabled(conn, business_id)]
    if off:
        raise Invalid(
            f"{', '.join(off)} is not switched on for this business",
            code="channel_not_set_up",
            details={"channels": off},
        )


def create(conn: Connection, business_id: int, data: CampaignIn, actor: str, now: datetime) -> int:
    try:
        send_at = as_utc(data.send_at) if data.send_at else as_utc(now)
    except OverflowError as exc:
        raise Invalid("send_at is out of range", code="send_at_out_of_range") from exc
    body: dict[str, Any] = data.body.model_dump()
    if data.survey_id is not None:
        _check_survey(conn, business_id, data.survey_id, send_at)
        body[SURVEY_KEY] = data.survey_id
    if data.segments:
        body[SEGMENTS_KEY] = data.segments
    if data.channels:
        _check_channels(conn, business_id, data.channels)
        body[CHANNELS_KEY] = data.channels
    return store.insert_campaign(
        conn,
        business_id=business_id,
        name=data.name.strip(),
        subject=data.subject.model_dump(),
        body=body,
        tiers=data.tiers,
        tags=[t.lower() for t in data.tags],
        send_at=naive_utc(send_at),
        status="scheduled",
        recipients=0,
        created_by=actor,
        created_at=naive_utc(now),
    )


def get(conn: Connection, business_id: int, campaign_id: int) -> CampaignOut:
    row = store.campaign(conn, business_id, campaign_id)
    if row is None:
        raise NotFound(f"no campaign {campaign_id} in this business", code="campaign_not_found")
    delivery = store.delivery_counts(conn, business_id, campaign_id)
    return CampaignOut(
        id=row.id,
        name=row.name,
        subject=row.subject,
        body=_texts(row.body),
        tiers=row.tiers,
        tags=row.tags,
        send_at=as_utc(row.send_at),
        status=row.status,
        recipients=row.recipients,
        delivery={str(k): int(v) for k, v in delivery.items()},
        survey_id=row.body.get(SURVEY_KEY),
        segments=row.body.get(SEGMENTS_KEY, []),
        channels=row.body.get(CHANNELS_KEY, []),
        unsubscribed_after=store.unsubscribed_after(conn, business_id, campaign_id),
    )


def listing(conn: Connection, business_id: int) -> list[CampaignOut]:
    return [get(conn, business_id, i) for i in store.campaign_ids(conn, business_id)]


def cancel(conn: Connection, business_id: int, campaign_id: int) -> CampaignOut:
    found = get(conn, business_id, campaign_id)
    if found.status != "scheduled":
        raise Conflict(f"this campaign is {found.status}", code="campaign_not_scheduled")
    store.set_cancelled(conn, business_id, campaign_id)
    return get(conn, business_id, campaign_id)


def audience_size(conn: Connection, business_id: int, data: CampaignIn, now: datetime) -> int:
    """How many active members the campaign would reach if it went out now, before consent,
    caps and quiet hours (which are decided per message when it is sent)."""
    tags = [t.lower() for t in data.tags]
    return len(_audience(conn, business_id, data.tiers, tags, data.segments, now))


def _audience(
    conn: Connection,
    business_id: int,
    tiers: list[str],
    tags: list[str],
    segments: list[str],
    now: datetime,
) -> list[Any]:
    wanted = set(segments)
    # Experiment arms as analytics.segments.of_member sees them: arms of experiments running now.
    running = dict(member_segments.running_experiments(conn, business_id, now)) if wanted else {}
    arms = [
        (slug, arm, running[slug])
        for slug, arm in (m.groups() for m in map(_ARM.fullmatch, wanted) if m)
        if slug in running
    ]
    chosen = []
    for member in store.active_members_with_segment(conn, business_id):
        if tiers and member.tier_id not in tiers:
            continue
        if tags and not set(tags) & set(member.tags):
            continue
        if wanted and not _in_segments(member, wanted, arms):
            continue
        chosen.append(member)
    return chosen


def _in_segments(member: Any, wanted: set[str], arms: list[tuple[str, str, Any]]) -> bool:
    if member.segment in wanted:
        return True
    return any(uplift.assign(slug, member.id, weights) == arm for slug, arm, weights in arms)


def _open_survey(conn: Connection, business_id: int, row: Any, now: datetime) -> int | None:
    """The campaign's survey when it still takes answers; a survey closed since the campaign was
    written is left out rather than linked to a "closed" page."""
    survey_id = row.body.get(SURVEY_KEY)
    survey = survey_store.survey(conn, business_id, survey_id) if survey_id else None
    if survey is None:
        return None
    state = survey_model.availability(
        survey.status, survey.opens_at, survey.closes_at, naive_utc(now)
    )
    return int(survey_id) if state == "open" else None


def _survey_context(
    survey_id: int | None, business_id: int, member_id: int, secret_key: str, base_url: str
) -> dict[str, str]:
    if survey_id is None or not secret_key:
        return {}
    token = links.link_token(secret_key, business_id, member_id, survey_id)
    # The token is kept even without a base URL, so the URL can still be made when sending.
    context = {"survey_token": token}
    if base_url:
        context["survey_url"] = links.url(base_url, token)
    return context


def release_due(
    conn: Connection,
    business_id: int,
    now: datetime,
    *,
    secret_key: str = "",
    base_url: str = "",
) -> int:
    """Queues the messages of every campaign whose time has come; returns how many. A campaign
    with a survey gives each member their own signed link (`secret_key`, `base_url`)."""
    due = store.lock_due(conn, business_id, now)
    queued = 0
    for row in due:
        audience = _audience(
            conn, business_id, row.tiers, row.tags, row.body.get(SEGMENTS_KEY, []), now
        )
        survey_id = _open_survey(conn, business_id, row, now)
        body = _texts(row.body)
        only = set(row.body.get(CHANNELS_KEY, []))
        reached = 0
        for member in audience:
            found = channels_for(conn, business_id, member.id, member.consent)
            chosen = [c for c in found if not only or c in only]
            reached += bool(chosen)
            for channel in chosen:
                context = {
                    "subject": row.subject,
                    "body": body,
                    **_survey_context(survey_id, business_id, member.id, secret_key, base_url),
                }
                store.queue_campaign_message(
                    conn, business_id, member.id, channel, member.locale, context, row.id, now
                )
        store.set_sent(conn, row.id, reached)
        queued += reached
    return queued
