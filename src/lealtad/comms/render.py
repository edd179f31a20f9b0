"""Rendering a message from its template: subject, plain text and HTML, in the member's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from lealtad.comms.catalog import (
    CAMPAIGN,
    CONTACT_CHANGED,
    JOIN_CODE,
    KINDS,
    LOGIN_CODE,
    MEMBER_AGAIN_CODE,
    POINTS_EARNED,
    Kind,
)
from lealtad.kit.catalog import gettext

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)
# Day first in both languages, as the pages write them (web/times.py).
_DAY_LOCALES = {"es": "es_ES", "en": "en_GB"}


@pass_context
def _day(context: Context, value: str | date | None) -> str:
    """A date the event carries ("2026-03-16") as the member reads it: "16 de marzo de 2026"."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    lang = str(context.get("lang") or "en")
    return str(format_date(day, "long", locale=_DAY_LOCALES.get(lang, "en_GB")))


_env.filters["day"] = _day

# "Add to Apple Wallet: https://..." is one paragraph of the plain text; in HTML its label is the
# link. Any other address in a paragraph becomes a link as it stands.
_LABELLED = re.compile(r"^([^\n:]{1,80}): (https?://\S+)$")
_ADDRESS = re.compile(r"https?://[^\s<>\"']+")


def _linked(paragraph: str) -> Markup:
    labelled = _LABELLED.match(paragraph)
    if labelled:
        label, address = labelled.groups()
        return Markup('<a href="{}">{}</a>').format(address, label)
    parts: list[Markup] = []
    at = 0
    for found in _ADDRESS.finditer(paragraph):
        parts.append(escape(paragraph[at : found.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(found.group(0)))
        at = found.end()
    parts.append(escape(paragraph[at:]))
    return Markup("").join(parts)


_env.filters["linked"] = _linked


@pass_context
def _say(context: Context, message: str, **values: Any) -> str:
    """A sentence of a message in the member's language, through the catalog like the pages:
    English msgids with %(name)s places, filled after translating."""
    text = gettext(str(context.get("lang") or "en"))(message)
    return text % values if values else text


_env.globals["_"] = _say
_plain = Environment(undefined=StrictUndefined, autoescape=False)  # noqa: S701  (plain-text subject)


@dataclass(frozen=True)
class Notification:
    title: str
    body: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# Kinds not raised by an outbox event: written by a campaign, a policy, a login, a sign-up or a
# change of contact details.
OTHER_KINDS = (POINTS_EARNED, CAMPAIGN, LOGIN_CODE, JOIN_CODE, MEMBER_AGAIN_CODE, CONTACT_CHANGED)
_OTHER_KINDS = {k.template: k for k in OTHER_KINDS}


def kind_of(template: str) -> Kind:
    if template in _OTHER_KINDS:
        return _OTHER_KINDS[template]
    return next(k for k in KINDS.values() if k.template == template)


def render(
    template: str, lang: str, context: dict[str, Any], unsubscribe_url: str | None
) -> Rendered:
    lang = lang if lang in ("es", "en") else "en"
    values = {**context, "lang": lang}
    subject = _plain.from_string(kind_of(template).subject[lang]).render(values).strip()
    text = _env.get_template(f"{template}.txt").render(values).strip()
    if unsubscribe_url:
        footer = "Darse de baja" if lang == "es" else "Unsubscribe"
        text += f"\n\n--\n{footer}: {unsubscribe_url}"
    paragraphs = [
        p.strip()
        for p in _env.get_template(f"{template}.txt").render(values).split("\n\n")
        if p.strip()
    ]
    html = _env.get_template("layout.html").render(
        lang=lang,
        subject=subject,
        paragraphs=paragraphs,
        unsubscribe_url=unsubscribe_url,
        # The business's name, colour and logo (branding.service.mail_header), when known.
        brand=context.get("brand"),
    )
    return Rendered(subject, text, html)


def _salutation(paragraph: str) -> bool:
    # "Hola Ana:" / "Hi Ana," opens every e-mail; on a lock screen it would be the whole message.
    return "\n" not in paragraph and len(paragraph) <= 60 and paragraph.endswith((":", ","))


def notification(template: str, lang: str, context: dict[str, Any]) -> Notification:
    """A push notification: the subject as title, the first paragraph of the text as body
    (the one after the salutation, when the text opens with one)."""
    lang = lang if lang in ("es", "en") else "en"
    values = {**context, "lang": lang}
    subject = _plain.from_string(kind_of(template).subject[lang]).render(values).strip()
    paragraphs = [
        p.strip()
        for p in _env.get_template(f"{template}.txt").render(values).split("\n\n")
        if p.strip()
    ]
    if len(paragraphs) > 1 and _salutation(paragraphs[0]):
        paragraphs = paragraphs[1:]
    return Notification(subject, " ".join(paragraphs[0].split()) if paragraphs else "")
