"""How the rewards console words a reward: its kind, its cost and its dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import Connection

from lealtad.errors import NotFound
from lealtad.rewards.names import program_names
from lealtad.rules import service as programs
from lealtad.rules import store as rule_store
from lealtad.rules.names import ProgramNames
from lealtad.web.admin.program.fields import Translate
from lealtad.web.times import Times


def kind_labels(_: Translate) -> dict[str, str]:
    return {
        "discount_fixed": _("Discount of an amount"),
        "discount_percent": _("Percent discount"),
        "free_product": _("Free product"),
        "cashback_credit": _("Cashback credit"),
        "physical_gift": _("Gift sent by post"),
        "marketing_credit": _("Marketing credit"),
        "extended_warranty": _("Extended warranty"),
        "workshop_seat": _("Workshop seat"),
        "training_seat": _("Training seat"),
        "donation": _("Donation to a cause"),
    }


def cost_text(names: ProgramNames, cost: int, unit: str) -> str:
    """ "500 points", "10 stamps on the Coffee card", "1 full Coffee card"."""
    if unit.startswith("stamps."):
        return names.award(unit, cost)
    return names.quantity(unit, cost)


def cost_names(conn: Connection, business: Any, lang: str) -> ProgramNames:
    """The names costs are said with: the latest program's cards and the catalog's titles."""
    try:
        latest = rule_store.latest_version_number(conn, business.id)
        definition = programs.get_version(conn, business.id, latest).definition
    except NotFound:
        definition = None
    return program_names(conn, business, definition, lang)


def validity_text(
    _: Translate, valid_from: datetime | None, valid_until: datetime | None, times: Times
) -> str:
    start = times.moment(valid_from) if valid_from else ""
    end = times.moment(valid_until) if valid_until else ""
    if start and end:
        return _("from {start} to {end}").format(start=start, end=end)
    if start:
        return _("from {start} on").format(start=start)
    if end:
        return _("until {end}").format(end=end)
    return _("always")


def rating_text(_: Translate, lang: str, average: float | None, count: int) -> str:
    if not count or average is None:
        return _("no ratings yet")
    return _("{average} of 5 ({count} ratings)").format(
        average=format_decimal(average, format="0.#", locale=lang), count=count
    )
