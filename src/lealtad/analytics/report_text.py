"""A summary in words, in Spanish or English: the plain text the command line prints and the
e-mail (subject, text and HTML) the scheduled reports send, rendered like the members' e-mails
(lealtad.comms.render)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lealtad.comms.render import Rendered
from lealtad.kit.money import Money

if TYPE_CHECKING:
    from lealtad.analytics.reports import Figure, Summary

LANGUAGES = ("es", "en")
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "day": "Daily summary",
        "week": "Weekly summary",
        "month": "Monthly summary",
        "custom": "Summary",
        "compared": "compared with",
        "location": "Location",
        "enrolment_rate": "Enrolment rate",
        "goal": "goal",
        "purchases": "Purchases",
        "revenue": "Revenue",
        "member_share": "Revenue from members",
        "new_members": "New members",
        "active_30": "Members active in the last 30 days",
        "points_issued": "Points issued",
        "points_redeemed": "Points redeemed",
        "points_expired": "Points expired",
        "liability": "Outstanding liability",
        "unknown": "—",
        "no_value": "not known: set a value per point in the program",
        "points_note": "Points and liability are for the whole business.",
        "top_staff": "Top staff by enrolments",
        "top_rewards": "Most redeemed rewards",
        "none": "none in this period",
        "figure": "Figure",
        "this": "This period",
        "before": "Before",
        "change": "Change",
        "pp": "pp",
        "footer": "Sent by Lealtad to the addresses chosen in the console (Reports).",
    },
    "es": {
        "day": "Resumen diario",
        "week": "Resumen semanal",
        "month": "Resumen mensual",
        "custom": "Resumen",
        "compared": "comparado con",
        "location": "Local",
        "enrolment_rate": "Tasa de registro",
        "goal": "objetivo",
        "purchases": "Compras",
        "revenue": "Ingresos",
        "member_share": "Ingresos de socios",
        "new_members": "Socios nuevos",
        "active_30": "Socios activos en los últimos 30 días",
        "points_issued": "Puntos emitidos",
        "points_redeemed": "Puntos canjeados",
        "points_expired": "Puntos caducados",
        "liability": "Pasivo pendiente",
        "unknown": "—",
        "no_value": "desconocido: indica el valor de un punto en el programa",
        "points_note": "Los puntos y el pasivo son de todo el negocio.",
        "top_staff": "Personal con más altas",
        "top_rewards": "Recompensas más canjeadas",
        "none": "nada en este periodo",
        "figure": "Dato",
        "this": "Este periodo",
        "before": "Antes",
        "change": "Cambio",
        "pp": "p. p.",
        "footer": "Enviado por Lealtad a las direcciones elegidas en la consola (Informes).",
    },
}


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else "en"


def number(value: float, lang: str) -> str:
    return format_decimal(round(value, 1), locale=lang)


def money(minor: float, currency: str, lang: str) -> str:
    return format_currency(Money(int(minor), currency).major(), currency, locale=lang)


def percent(value: float, lang: str) -> str:
    return f"{number(value, lang)} %" if lang == "es" else f"{number(value, lang)}%"


def amount(value: float | None, unit: str, currency: str, lang: str) -> str:
    if value is None:
        return WORDS[lang]["unknown"]
    if unit == "percent":
        return percent(value, lang)
    if unit == "money":
        return money(value, currency, lang)
    return number(value, lang)


def change(figure: Figure, currency: str, lang: str) -> str:
    """ "+1.5 pp" for a rate; "+€15.00 · +50%" for an amount; empty when unknown."""
    delta = figure.change
    if delta is None:
        return ""
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    if figure.unit == "percent":
        return f"{sign}{number(abs(delta), lang)} {WORDS[lang]['pp']}"
    text = sign + amount(abs(delta), figure.unit, currency, lang)
    if figure.relative is not None and delta:
        text += f" · {'+' if figure.relative >= 0 else '−'}{percent(abs(figure.relative), lang)}"
    return text


def period_text(summary: Summary, start: date, end: date, lang: str) -> str:
    if summary.period == "month" and start.day == 1:
        return format_date(start, "LLLL y", locale=lang)
    first = format_date(start, "medium", locale=lang)
    return first if start == end else f"{first} – {format_date(end, 'medium', locale=lang)}"


def rows(summary: Summary, lang: str) -> list[dict[str, str]]:
    """Each figure: its label, value, the previous value and the change, as words."""
    lang, out = _lang(lang), []
    words = WORDS[lang]
    for figure in summary.figures.values():
        label = words[figure.key]
        value = amount(figure.value, figure.unit, summary.currency, lang)
        if figure.key == "enrolment_rate":
            label += f" ({words['goal']} {percent(summary.goal, lang)})"
        if figure.key == "liability" and figure.value is None:
            value = words["no_value"]
        out.append(
            {
                "key": figure.key,
                "label": label,
                "value": value,
                "previous": amount(figure.previous, figure.unit, summary.currency, lang),
                "change": change(figure, summary.currency, lang),
            }
        )
    return out


def _title(reward: dict[str, Any], lang: str) -> str:
    title = reward["title"]
    if isinstance(title, dict):
        return str(title.get(lang) or next(iter(title.values()), reward["slug"]))
    return str(title or reward["slug"])


def context(summary: Summary, lang: str) -> dict[str, Any]:
    lang = _lang(lang)
    words = WORDS[lang]
    heading = f"{words[summary.period]} · {summary.business}"
    return {
        "lang": lang,
        "words": words,
        "subject": f"{heading}: {period_text(summary, summary.start, summary.end, lang)}",
        "heading": heading,
        "period": period_text(summary, summary.start, summary.end, lang),
        "previous": period_text(summary, summary.previous_start, summary.previous_end, lang),
        "location": summary.location,
        "rows": rows(summary, lang),
        "staff": [(s["name"], number(s["enrolments"], lang)) for s in summary.top_staff],
        "rewards": [(_title(r, lang), number(r["redemptions"], lang)) for r in summary.top_rewards],
    }


def text(summary: Summary, lang: str) -> str:
    found = context(summary, lang)
    words = found["words"]
    lines = [found["heading"], f"{found['period']} ({words['compared']} {found['previous']})"]
    if found["location"]:
        lines.append(f"{words['location']}: {found['location']}")
    lines.append("")
    for row in found["rows"]:
        lines.append(
            f"{row['label']}: {row['value']}" + (f" ({row['change']})" if row["change"] else "")
        )
    if found["location"]:
        lines.append(words["points_note"])
    for key, items in (("top_staff", found["staff"]), ("top_rewards", found["rewards"])):
        lines += ["", f"{words[key]}:"]
        lines += [f"{i}. {name}: {n}" for i, (name, n) in enumerate(items, 1)] or [
            f"  {words['none']}"
        ]
    return "\n".join(lines)


def email(summary: Summary, lang: str) -> Rendered:
    found = context(summary, lang)
    body = text(summary, lang) + f"\n\n--\n{found['words']['footer']}"
    return Rendered(found["subject"], body, _env.get_template("report_email.html").render(found))
