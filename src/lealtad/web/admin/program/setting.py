"""What every program page needs about the business, read once: its language, its currency's
words (the Describer), its locations and who its staff are, for the change log's authors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.rewards.names import reward_titles
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin.program.fields import Translate
from lealtad.web.admin.program.text import Describer
from lealtad.web.i18n import pick_language, translator
from lealtad.web.times import Times


@dataclass
class Setting:
    """What every program page needs about the business, read once."""

    business: Any
    lang: str
    describer: Describer
    locations: list[Any]
    staff_names: dict[str, str]

    @property
    def _(self) -> Translate:
        return self.describer._


def setting_for(conn: Connection, bid: int, lang: str | None, accept: str | None) -> Setting:
    business = tenancy_store.business(conn, bid)
    language = pick_language(lang, accept, business.locale)
    locations = tenancy_store.business_locations(conn, bid)
    names = {f"staff:{s.id}": s.name or s.email for s in tenancy_store.business_staff(conn, bid)}
    describer = Describer(
        translator(language),
        language,
        business.currency,
        {loc.id: loc.name for loc in locations},
        reward_titles(conn, bid),
    )
    return Setting(business, language, describer, locations, names)


def author(setting: Setting, actor: str) -> str:
    if actor in setting.staff_names:
        return setting.staff_names[actor]
    if actor.startswith("api_key:"):
        return setting._("API key {id}").format(id=actor.removeprefix("api_key:"))
    return setting._("the system") if actor == "system" else actor


def when(setting: Setting, value: datetime) -> str:
    return Times(setting.business.timezone, setting.lang).labelled(value)


def version_info(setting: Setting, row: Any) -> dict[str, Any]:
    return {
        "number": row.version,
        "author": author(setting, row.author),
        # The first version's reason is written by the system, in English; people's are kept.
        "reason": setting._("program created") if row.reason == "program created" else row.reason,
        "effective": when(setting, row.effective_from),
        "created": when(setting, row.created_at),
        "superseded_by": row.superseded_by,
    }
