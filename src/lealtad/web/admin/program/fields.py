"""Reading the console's editing forms (the program editor's and the rewards editor's): the posted
fields, amounts typed in currency units, local dates and times, and validation errors named by
the path of the field they are about, in the page's language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import ValidationError

from lealtad.errors import Invalid
from lealtad.kit.dates import in_zone

# A whole program as JSON (500 rules at most) fits well within this; a bigger form is not ours.
MAX_FORM_BYTES = 1_000_000
MAX_FIELDS = 3000
Translate = Callable[[str], str]
FieldError = tuple[str, str]


class Fields:
    """The posted form: every value of every name, as text."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.values.setdefault(name, []).append(value)

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0].strip() if found else default

    def raw(self, name: str) -> str:
        found = self.values.get(name)
        return found[0] if found else ""

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.values.get(name, []) if v.strip()]

    def on(self, name: str) -> bool:
        return self.get(name) not in ("", "0", "false", "off")


async def _read_form(request: Request) -> Fields:
    # Read with a limit rather than through request.form(), which has none for url-encoded bodies.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Invalid("this form is too large", code="form_too_large", http_status=413)
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError as exc:
        raise Invalid("this form has too many fields", code="form_too_large") from exc
    return Fields(pairs)


PostedForm = Annotated[Fields, Depends(_read_form)]


def decimal_text(value: str) -> str:
    """A number as typed in either language ("10,50" or "1.234,5" or "1,234.5") in plain form."""
    text = value.replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        text = text.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in text:
        text = text.replace(",", ".")
    return text


def parse_decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(decimal_text(value))
    except InvalidOperation:
        return None
    # 1e-99999999 is a number, but written out in full it would be 100 MB of zeros.
    return number if number.is_finite() and abs(number.adjusted()) <= 40 else None


def parse_money(value: str, exponent: int) -> int | None:
    """An amount typed in currency units ("12,50") as minor units (1250); None if it is not
    one: negative, too precise or too large."""
    number = parse_decimal(value)
    if number is None or number < 0 or number > Decimal(10) ** 12:
        return None
    minor = number.scaleb(exponent)
    if minor != minor.to_integral_value():
        return None
    return int(minor)


def money_text(minor: int | None, exponent: int) -> str:
    """Minor units as the plain number a form field shows (1250 -> "12.50")."""
    if minor is None:
        return ""
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def local_datetime(day: str, clock: str, zone: str) -> datetime | None:
    """A local date and time (HTML date and time inputs) in `zone`, as UTC."""
    try:
        local = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock or "00:00"))
    except ValueError:
        return None
    try:
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except OverflowError:
        return None


def parse_local(value: str, zone: str) -> datetime | None:
    """A datetime-local input ("2025-03-01T09:30") in `zone`, as UTC."""
    day, _sep, clock = value.partition("T")
    return local_datetime(day, clock[:8], zone)


def local_text(value: datetime | None, zone: str) -> str:
    """A UTC datetime (aware or naive) as a datetime-local input value in `zone`."""
    if value is None:
        return ""
    # isoformat, not strftime: a year before 1000 keeps its four digits (glibc drops them).
    return in_zone(value, ZoneInfo(zone)).isoformat(timespec="minutes")[:16]


def slugify(text: str, taken: Iterable[str] = ()) -> str:
    """An id in the program's pattern made from a name, unique among `taken`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:32] or "item"
    used = set(taken)
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    return slug


def path_of(loc: Iterable[int | str], document: Any) -> str:
    """A validation error's location as a dotted path, list entries named by their id when they
    have one (rules.weekend-bonus.action.factor), the way the change log names them."""
    parts: list[str] = []
    node = document
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
            named = isinstance(node, dict) and isinstance(node.get("id"), str) and node["id"]
            parts.append(str(node["id"]) if named else f"#{step + 1}")
            continue
        if isinstance(node, dict) and step not in node and node.get("type") == step:
            continue  # a union's tag (action.multiplier.factor): not a field of the document
        parts.append(str(step))
        node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts)


def _messages(_: Translate) -> dict[str, str]:
    number = _("must be a number")
    when = _("is not a valid date or time")
    kind = _("has the wrong kind of value")
    return {
        "missing": _("is required"),
        "greater_than": _("must be greater than {gt}"),
        "greater_than_equal": _("must be at least {ge}"),
        "less_than": _("must be less than {lt}"),
        "less_than_equal": _("must be at most {le}"),
        "string_too_short": _("is too short"),
        "string_too_long": _("is too long (at most {max_length} characters)"),
        "too_long": _("has too many entries (at most {max_length})"),
        "too_short": _("needs at least {min_length} entries"),
        "string_pattern_mismatch": _("has characters that are not allowed here"),
        "extra_forbidden": _("is not a field of this part"),
        "literal_error": _("must be one of {expected}"),
        "enum": _("must be one of {expected}"),
        "union_tag_invalid": _("has an unknown type; expected one of {expected_tags}"),
        "union_tag_not_found": _("needs a type"),
        "decimal_max_places": _("has too many decimal places (at most {decimal_places})"),
        "decimal_max_digits": _("has too many digits"),
        "decimal_whole_digits": _("has too many digits"),
        "int_parsing": number,
        "int_type": number,
        "int_from_float": _("must be a whole number"),
        "decimal_parsing": number,
        "decimal_type": number,
        "float_parsing": number,
        "bool_parsing": _("must be yes or no"),
        "bool_type": _("must be yes or no"),
        "datetime_parsing": when,
        "datetime_from_date_parsing": when,
        "datetime_type": when,
        "date_parsing": when,
        "date_from_datetime_parsing": when,
        "time_parsing": when,
        "date_not_iso": when,
        "date_out_of_range": _("must be between {earliest} and {latest}"),
        "json_too_deep": _("is nested deeper than the limit of {max_depth} levels"),
        "json_too_large": _("is larger than the limit of {max_bytes} bytes of JSON"),
        "url_parsing": _("is not a valid web address"),
        "list_type": kind,
        "dict_type": kind,
        "model_type": kind,
        "model_attributes_type": kind,
        "string_type": kind,
    }


def explain(error: Any, _: Translate) -> str:
    """One pydantic error in the page's language. A rule of our own (a model validator) keeps its
    wording, translated when the catalog knows it."""
    if error["type"] == "value_error":
        detail = str(error.get("ctx", {}).get("error", error["msg"]))
        return _(detail)
    template = _messages(_).get(error["type"])
    if template is None:
        return str(error["msg"])
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return str(error["msg"])


def validation_errors(
    exc: ValidationError, document: Any, _: Translate, whole: str = ""
) -> list[FieldError]:
    """Each error as (path, reason); an error about the document as a whole is named `whole`."""
    out = []
    for error in exc.errors(include_url=False):
        where = path_of(error["loc"], document) or whole or _("the whole definition")
        out.append((where, explain(error, _)))
    return out
