"""A business's SMS and WhatsApp settings: checked, stored (tokens encrypted, never shown
again) and described without their secrets. Shared by the JSON API and the console page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from lealtad.comms import addresses, channel_store, sms, whatsapp
from lealtad.comms.catalog import KINDS, POINTS_EARNED
from lealtad.errors import Invalid
from lealtad.kit.clock import as_utc, naive_utc

# The kinds a WhatsApp template may be named for: every message kind an event or the policy
# raises, and campaigns (sign-in codes go by e-mail only).
TEMPLATE_KINDS = (*(k.template for k in KINDS.values()), POINTS_EARNED.template, "campaign")
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta's rule for template names
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
NoNul = r"^[^\x00]*$"


class SmsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str = Field(default=sms.DEFAULT_BASE, max_length=300, pattern=NoNul)
    account_sid: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    sender: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^(\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11}|MG[0-9a-fA-F]{32})$",
        description="an E.164 number, an alphanumeric sender id (11 characters) or a service id",
    )
    country_code: str = Field(default="34", pattern=r"^[1-9][0-9]{0,3}$")
    auth_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=NoNul,
        description="needed the first time; left out, the stored one is kept",
    )


class WhatsAppIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str = Field(default=whatsapp.DEFAULT_BASE, max_length=300, pattern=NoNul)
    api_version: str = Field(default=whatsapp.DEFAULT_VERSION, pattern=r"^v[0-9]{1,3}\.[0-9]$")
    phone_number_id: str = Field(min_length=1, max_length=40, pattern=r"^[0-9]+$")
    country_code: str = Field(default="34", pattern=r"^[1-9][0-9]{0,3}$")
    access_token: str | None = Field(default=None, min_length=1, max_length=1000, pattern=NoNul)
    app_secret: str | None = Field(default=None, min_length=1, max_length=200, pattern=NoNul)
    verify_token: str | None = Field(default=None, min_length=8, max_length=200, pattern=NoNul)
    templates: dict[str, str] = Field(
        default_factory=dict,
        max_length=len(TEMPLATE_KINDS),
        description="message kind -> the business's approved template name",
    )
    languages: dict[str, str] = Field(
        default_factory=lambda: {"es": "es", "en": "en"},
        max_length=2,
        description="member's language -> the templates' language code (es, es_ES, en_US...)",
    )


class ChannelOut(BaseModel):
    channel: str
    enabled: bool
    base_url: str
    account: str
    sender: str
    api_version: str
    country_code: str
    templates: dict[str, str]
    languages: dict[str, str]
    secrets_set: list[str] = Field(description="which secrets are stored (never their values)")
    callback_paths: list[str]
    updated_at: datetime


def _check_base(url: str, allow_private: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid("the provider's URL must be an absolute https URL", code="invalid_base_url")
    if parts.scheme == "http" and not allow_private:
        raise Invalid("the provider's URL must be https", code="invalid_base_url")
    problem = None if allow_private else addresses.refusal(url, resolve=False)
    if problem:
        raise Invalid(
            f"the provider must be at a public address: {problem}", code="invalid_base_url"
        )
    return url.strip().rstrip("/")


def _secrets(before: Any, given: dict[str, str | None], needed: tuple[str, ...]) -> dict[str, str]:
    out = dict(before.secrets) if before is not None else {}
    out.update({k: v for k, v in given.items() if v})
    missing = [k for k in needed if not out.get(k)]
    if missing:
        raise Invalid(
            "the first settings need every secret",
            code="channel_secret_missing",
            details={"missing": missing},
        )
    return out


def save_sms(
    conn: Connection, business_id: int, data: SmsIn, now: datetime, *, allow_private: bool
) -> None:
    before = channel_store.config(conn, business_id, "sms")
    values = {
        "enabled": data.enabled,
        "base_url": _check_base(data.base_url, allow_private),
        "account": data.account_sid,
        "sender": data.sender,
        "api_version": sms.API_VERSION,
        "country_code": data.country_code,
        "secrets": _secrets(before, {"token": data.auth_token}, ("token",)),
        "templates": {},
        "updated_at": naive_utc(now),
    }
    channel_store.save(conn, business_id, "sms", values)


def save_whatsapp(
    conn: Connection, business_id: int, data: WhatsAppIn, now: datetime, *, allow_private: bool
) -> None:
    unknown = sorted(set(data.templates) - set(TEMPLATE_KINDS))
    bad = sorted(k for k, v in data.templates.items() if not _NAME.match(v))
    if unknown or bad:
        raise Invalid(
            "templates name known message kinds with WhatsApp template names (a-z, 0-9, _)",
            code="invalid_whatsapp_templates",
            details={"unknown_kinds": unknown, "bad_names": bad, "kinds": list(TEMPLATE_KINDS)},
        )
    if set(data.languages) - {"es", "en"} or not all(
        _LANGUAGE.match(v) for v in data.languages.values()
    ):
        raise Invalid(
            "languages map es and en to template language codes",
            code="invalid_whatsapp_languages",
        )
    before = channel_store.config(conn, business_id, "whatsapp")
    given = {
        "token": data.access_token,
        "app_secret": data.app_secret,
        "verify_token": data.verify_token,
    }
    values = {
        "enabled": data.enabled,
        "base_url": _check_base(data.base_url, allow_private),
        "account": data.phone_number_id,
        "sender": data.phone_number_id,
        "api_version": data.api_version,
        "country_code": data.country_code,
        "secrets": _secrets(before, given, ("token", "app_secret", "verify_token")),
        "templates": {"names": dict(data.templates), "languages": dict(data.languages)},
        "updated_at": naive_utc(now),
    }
    channel_store.save(conn, business_id, "whatsapp", values)


def describe(row: Any, slug: str) -> ChannelOut:
    templates = row.templates or {}
    if row.channel == "sms":
        paths = [
            f"/api/v1/public/{slug}/sms/status",
            f"/api/v1/public/{slug}/sms/inbound",
        ]
    else:
        paths = [f"/api/v1/public/{slug}/whatsapp"]
    return ChannelOut(
        channel=row.channel,
        enabled=row.enabled,
        base_url=row.base_url,
        account=row.account,
        sender=row.sender,
        api_version=row.api_version,
        country_code=row.country_code,
        templates=dict(templates.get("names", {})),
        languages=dict(templates.get("languages", {})),
        secrets_set=sorted(k for k, v in (row.secrets or {}).items() if v),
        callback_paths=paths,
        updated_at=as_utc(row.updated_at),
    )


def describe_all(conn: Connection, business_id: int, slug: str) -> list[ChannelOut]:
    found = channel_store.configs(conn, business_id)
    return [describe(found[c], slug) for c in channel_store.PHONE_CHANNELS if c in found]
