"""How the rewards console words a reward: its kind, its cost and its dates."""

from __future__ import annotations

from datetime import datetime

from babel.numbers import format_decimal

from lealtad.web.admin_program_fields import Translate
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


def cost_text(_: Translate, cost: int, unit: str) -> str:
    if unit == "points":
        return _("{n} points").format(n=cost)
    if unit.startswith("stamps."):
        return _("{n} stamp(s) on {card}").format(n=cost, card=unit.removeprefix("stamps."))
    return _("{n} × reward {reward}").format(n=cost, reward=unit.removeprefix("reward."))


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
