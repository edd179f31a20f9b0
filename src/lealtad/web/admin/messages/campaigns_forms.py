"""The campaign composer's form: who gets it (tiers, segments, experiment arms, tags), the message
in Spanish and English, the channel, a survey to link and when it goes, read from the posted
fields into the API's own CampaignIn; errors named by the field's label."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from lealtad.analytics import segments
from lealtad.comms import campaigns, channel_store, policy
from lealtad.errors import NotFound
from lealtad.kit.clock import as_utc
from lealtad.rules import service as rules
from lealtad.rules.names import name_in
from lealtad.surveys import service as surveys
from lealtad.web.admin.program.fields import (
    FieldError,
    Fields,
    Translate,
    explain,
    parse_local,
)
from lealtad.web.segment_labels import segment_names

Values = dict[str, list[str]]
DEFAULTS: Values = {"channel": ["all"], "when": ["now"]}
CHANNELS = {
    "all": [],
    "email": ["email"],
    "push": ["push"],
    "sms": ["sms"],
    "whatsapp": ["whatsapp"],
}
# The form's fields by the path pydantic gives an error, and the other way round.
FIELDS = {
    "name": "name",
    "subject.es": "subject_es",
    "subject.en": "subject_en",
    "body.es": "body_es",
    "body.en": "body_en",
    "tiers": "tier",
    "tags": "tags",
    "segments": "segment",
    "channels": "channel",
    "survey_id": "survey",
    "send_at": "send_at",
}


def labels(_: Translate) -> dict[str, str]:
    return {
        "name": _("Name (for you, members do not see it)"),
        "subject_es": _("Subject in Spanish"),
        "subject_en": _("Subject in English"),
        "body_es": _("Message in Spanish"),
        "body_en": _("Message in English"),
        "tier": _("Tiers"),
        "tags": _("Tags"),
        "segment": _("Segments and experiment groups"),
        "channel": _("Channel"),
        "survey": _("Survey to link"),
        "send_at": _("Date and time"),
    }


@dataclass
class Choices:
    """What the audience and survey fields offer, from the program, the last refresh, the
    running experiments and the open surveys."""

    tiers: list[tuple[str, str]] = field(default_factory=list)
    segments: list[tuple[str, str]] = field(default_factory=list)
    arms: list[tuple[str, str]] = field(default_factory=list)
    surveys: list[tuple[str, str]] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)
    # SMS and WhatsApp, as the business has switched them on.
    phone_channels: list[str] = field(default_factory=list)


def choices(conn: Connection, business_id: int, lang: str, now: datetime, _: Translate) -> Choices:
    try:
        program = rules.in_force(conn, business_id, now).definition
        tiers = [(t.id, name_in(t, lang)) for t in program.tiers.levels] if program.tiers else []
    except NotFound:
        tiers = []
    names = segment_names(_)
    arms = [
        (
            segments.experiment_segment(slug, arm),
            _("Experiment %(slug)s: %(arm)s") % {"slug": slug, "arm": arm},
        )
        for slug, weights in segments.running_experiments(conn, business_id, now)
        for arm, _weight in weights
    ]
    open_surveys = [
        (str(s.id), s.title.get(lang) or s.name)
        for s in surveys.listing(conn, business_id, now)
        if s.availability == "open"
    ]
    return Choices(
        tiers=tiers,
        segments=[(code, names[code]) for code in segments.RFM_SEGMENTS],
        arms=arms,
        surveys=open_surveys,
        policy=policy.policy(conn, business_id),
        phone_channels=channel_store.enabled(conn, business_id),
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def read(
    f: Fields, zone: str, now: datetime, _: Translate
) -> tuple[campaigns.CampaignIn | None, list[FieldError]]:
    """The campaign the form describes, or the reasons it is not one yet."""
    errors: list[FieldError] = []
    send_at = None
    if f.get("when") == "later":
        send_at = parse_local(f.get("send_at"), zone)
        if send_at is None:
            errors.append(("send_at", _("Choose the day and time it goes out.")))
        elif send_at <= as_utc(now):
            errors.append(("send_at", _("Choose a time in the future, or send it now.")))
    survey = f.get("survey")
    if survey and not survey.isdigit():
        errors.append(("survey", _("Choose one of the surveys offered.")))
        survey = ""
    data = {
        "name": f.get("name"),
        "subject": {"es": f.get("subject_es"), "en": f.get("subject_en")},
        "body": {"es": f.raw("body_es").strip(), "en": f.raw("body_en").strip()},
        "tiers": f.all("tier"),
        "tags": _split(f.get("tags")),
        "segments": f.all("segment"),
        "channels": CHANNELS.get(f.get("channel"), ["unknown"]),
        "survey_id": int(survey) if survey else None,
        "send_at": send_at.isoformat() if send_at else None,
    }
    try:
        found = campaigns.CampaignIn.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
            errors.append((FIELDS.get(path, path), explain(error, _)))
        return None, errors
    return (None, errors) if errors else (found, errors)
