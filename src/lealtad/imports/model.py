"""Reading an import file row by row and turning each row into the API's own input model, or
into the reason it cannot be one. Nothing here touches the database."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lealtad.imports import reading
from lealtad.kit.ids import MAX_ID
from lealtad.kit.money import MAX_MINOR
from lealtad.members.schemas import MemberIn
from lealtad.purchases.schemas import PurchaseIn

BATCH_SIZE = 500
# Purchases go set-wise (imports.batch): bigger batches spread each batch's queries (about
# the batch's members) thinner, but the peak memory is one batch's rows: 20k rows held ~45 MB
# more than 10k for little speed (docs/benchmarks.md, P2).
PURCHASE_BATCH_SIZE = 10_000
CSV_SUFFIXES = (".csv",)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
# Earning only: spending a member's cashback or points is not something to replay from a file.
PURCHASE_FIELDS = frozenset(
    {
        "receipt_id",
        "external_id",
        "amount",
        "currency",
        "member_id",
        "card_number",
        "location_id",
        "channel",
        "occurred_at",
        "items",
    }
)
MEMBER_FIELDS = frozenset(
    {"name", "email", "phone", "birthday", "locale", "tags", "time_zone", "location_id"}
    # The history from the previous system (imports/members_history.py).
    | {"enrolled_at", "tier", "tier_since", "tier_until", "previous_card_number"}
    | {f"consent_{c}" for c in ("email", "sms", "push")}
    | {f"consent_{c}_at" for c in ("email", "sms", "push")}
)
# Opening balances (imports/balances.py): a member named one way or more, and what they hold.
BALANCE_FIELDS = frozenset(
    {
        "member_id",
        "email",
        "card_number",
        "points",
        "earned_at",
        "expires_at",
        "stamps",
        "stamp_card",
        "cashback",
    }
    # The previous system's totals as of a date, shown apart and never counted (D68).
    | {"lifetime_spend", "lifetime_visits", "lifetime_points", "lifetime_as_of"}
)
FIELDS = {"purchases": PURCHASE_FIELDS, "members": MEMBER_FIELDS, "balances": BALANCE_FIELDS}
# A CSV header lacking one of each group names a file no row of which could load.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "purchases": [("receipt_id", "external_id"), ("amount",)],
    "members": [("email", "phone")],
    "balances": [
        ("member_id", "email", "card_number"),
        ("points", "stamps", "cashback", "lifetime_spend", "lifetime_visits", "lifetime_points"),
    ],
}
# Whole-number fields and the values the API takes for them: amounts in minor units up to ten
# thousand million euros, well inside a 64-bit column and the ledger's sums.
RANGES = {
    "amount": (0, MAX_MINOR),
    "member_id": (1, MAX_ID),
    "location_id": (1, MAX_ID),
    "points": (0, MAX_MINOR),
    "stamps": (0, MAX_MINOR),
    "cashback": (0, MAX_MINOR),
    "lifetime_spend": (0, MAX_MINOR),
    "lifetime_visits": (0, MAX_MINOR),
    "lifetime_points": (0, MAX_MINOR),
}
# Longer digit strings are out of every range, refused before int() reads them (its own limit,
# 4,300 digits, comes with a message about Python rather than the file).
MAX_DIGITS = 18
# The JSON fields that hold a list; every other one is a single value.
LIST_FIELDS = frozenset({"items", "tags"})


class FileProblem(Exception):
    """The file as a whole cannot be imported (unknown format, bad header): nothing is loaded."""


@dataclass(frozen=True)
class Row:
    """One data row: its first physical line in the file, its fields, the original text (or
    cells) to copy into the reject file, and its size in bytes (batches are bounded by it)."""

    line: int
    fields: dict[str, Any] | None
    error: str | None
    original: list[str]
    size: int = 0


@dataclass(frozen=True)
class PurchaseRow:
    data: PurchaseIn
    # Both given: the card is the lookup and the id must name the same member.
    expected_member_id: int | None


def digest(path: Path) -> tuple[str, int]:
    """(SHA-256 of the content, number of lines): names the file for resuming and sizes the bar."""
    sha, lines = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            lines += chunk.count(b"\n")
    return sha.hexdigest(), lines


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSON_LINES_SUFFIXES:
        return "jsonl"
    raise FileProblem(
        f"{path.name}: the file must end in .csv (with a header row) or .jsonl (one JSON "
        "object per line) / el fichero debe terminar en .csv (con cabecera) o .jsonl"
    )


def check_file(path: Path) -> None:
    """A regular file of a known format: a FIFO or a device named .csv would block the import
    or never end."""
    if not path.is_file():
        raise FileProblem(f"{path.name}: not a regular file / no es un fichero normal")
    file_format(path)


def header(path: Path, kind: str) -> list[str] | None:
    """The CSV header (checked against the known columns); None for JSON lines."""
    if file_format(path) != "csv":
        return None
    with path.open("rb") as f:
        first = next(reading.lines(f), None)
    if first is None:
        raise FileProblem(f"{path.name}: the file is empty / el fichero está vacío")
    if first.text is None:
        raise FileProblem(f"{path.name}: line 1 (the header row / la cabecera): {first.problem}")
    try:
        cells = next(csv.reader([first.text]), [])
    except csv.Error as exc:
        raise FileProblem(
            f"{path.name}: the header row cannot be read / la cabecera no se puede leer: {exc}"
        ) from None
    if not any(c.strip() for c in cells):
        raise FileProblem(f"{path.name}: the CSV file has no header row / falta la cabecera")
    names = [c.strip() for c in cells]
    _check_columns(path, kind, names)
    return names


def _check_columns(path: Path, kind: str, names: list[str]) -> None:
    unknown = sorted(set(names) - FIELDS[kind])
    if unknown:
        raise FileProblem(
            f"{path.name}: unknown column(s) / columnas desconocidas: {_some(unknown)}; known / "
            f"conocidas: {', '.join(sorted(FIELDS[kind]))}"
        )
    if len(set(names)) != len(names):
        raise FileProblem(
            f"{path.name}: a column is named twice in the header / una columna está repetida"
        )
    missing = [" or ".join(one_of) for one_of in REQUIRED[kind] if not set(one_of) & set(names)]
    if missing:
        raise FileProblem(f"{path.name}: missing column(s) / faltan columnas: {', '.join(missing)}")


def _some(names: list[str]) -> str:
    """Names for a message: the first ten, each cut short; a file may hold thousands."""
    shown = ", ".join(repr(n[:40] + "…" if len(n) > 40 else n) for n in names[:10])
    return shown + (f" (+{len(names) - 10})" if len(names) > 10 else "")


def rows(path: Path, kind: str) -> Iterator[Row]:
    """Every data row in file order, streamed; blank lines are skipped, not counted."""
    names = header(path, kind)
    if names is None:
        yield from _json_lines(path, kind)
        return
    with path.open("rb") as f:
        source = reading.lines(f)
        next(source, None)  # the header, read and checked above
        yield from _csv_rows(reading.csv_records(source), names)


def _csv_rows(records: Iterator[reading.Record], names: list[str]) -> Iterator[Row]:
    for record in records:
        if record.cells is None:
            yield Row(record.line, None, record.problem, [record.original], record.size)
            continue
        cells = record.cells
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            reason = (
                f"expected {len(names)} cells, found {len(cells)} / "
                f"se esperaban {len(names)} celdas, hay {len(cells)}"
            )
            yield Row(record.line, None, reason, cells, record.size)
            continue
        fields = {n: c.strip() for n, c in zip(names, cells, strict=True) if c.strip() != ""}
        yield Row(record.line, fields, None, cells, record.size)


def _json_lines(path: Path, kind: str) -> Iterator[Row]:
    with path.open("rb") as f:
        for line in reading.lines(f):
            if line.text is None:
                yield Row(line.number, None, line.problem, [line.preview], line.size)
                continue
            if not line.text.strip():
                continue
            original = [line.text.rstrip("\r\n")]
            try:
                fields = _json_object(line.text, kind)
            except ValueError as exc:
                yield Row(line.number, None, str(exc), original, line.size)
                continue
            yield Row(line.number, fields, None, original, line.size)


def _json_object(text: str, kind: str) -> dict[str, Any]:
    value = parse_json(text)
    if not isinstance(value, dict):
        raise ValueError("each line must be a JSON object / cada línea debe ser un objeto JSON")
    unknown = sorted(set(value) - FIELDS[kind])
    if unknown:
        raise ValueError(f"unknown field(s) / campos desconocidos: {_some(unknown)}")
    for name, field in value.items():
        if name not in LIST_FIELDS and isinstance(field, list | dict):
            raise ValueError(f"{name} must be a single value / {name} debe ser un valor simple")
    # Text from escapes (\u0000, a lone \ud800) that no database stores: refused here, as
    # the file's own bytes were checked by the reader.
    if "\\u" in text and not _storable(value):
        raise ValueError(
            "a NUL character or a broken \\u escape in a value / un carácter NUL o un escape "
            "\\u roto en un valor"
        )
    return {k: v for k, v in value.items() if v is not None}


def parse_json(text: str) -> Any:
    """json.loads with every failure as a ValueError (a deep nesting raises RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply / JSON anidado en exceso") from None
    except ValueError as exc:
        raise ValueError(f"not JSON / no es JSON: {exc}") from None


def _storable(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item or not _encodable(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# The edge's date refusals (kit/dates.py), said in Spanish too, as the rest of a rejects file is.
_SPANISH = {
    "date_out_of_range": "fecha fuera del intervalo de 1900 a 2199",
    "date_not_iso": "la fecha debe ser un texto ISO 8601",
}


def _problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "row"
        spanish = _SPANISH.get(error["type"])
        parts.append(f"{where}: {error['msg']}" + (f" / {spanish}" if spanish else ""))
    return "; ".join(parts)


def _whole_number(fields: dict[str, Any], name: str) -> None:
    """A whole number within its column's range, from a CSV cell or a JSON number."""
    value = fields.get(name)
    low, high = RANGES[name]
    out_of_range = (
        f"{name} must be between {low} and {high} / {name} debe estar entre {low} y {high}"
    )
    if isinstance(value, str):
        digits = value[1:] if value.startswith("-") else value
        # ASCII only: int() also reads other scripts' digits, which no till writes.
        if not (digits.isascii() and digits.isdigit()):
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise ValueError(
                f"{name} must be a whole number, got {shown!r} / {name} debe ser un número entero"
            )
        if len(digits) > MAX_DIGITS:
            raise ValueError(out_of_range)
        value = fields[name] = int(value)
    if isinstance(value, int) and not low <= value <= high:
        raise ValueError(out_of_range)


def purchase(fields: dict[str, Any], currency: str, location_id: int | None) -> PurchaseRow:
    """The row as the API's PurchaseIn; ValueError with the reason when it is not one."""
    data = dict(fields)
    if "external_id" in data:
        if "receipt_id" in data and data["receipt_id"] != data["external_id"]:
            raise ValueError(
                "receipt_id and external_id differ; give one of them / receipt_id y external_id "
                "no coinciden; indique uno solo"
            )
        data["receipt_id"] = data.pop("external_id")
    if "receipt_id" not in data:
        raise ValueError(
            "receipt_id (or external_id) is required: it makes the import repeatable / falta "
            "receipt_id (o external_id): evita duplicados al repetir la importación"
        )
    data["receipt_id"] = str(data["receipt_id"])
    # Amounts are minor units, as in the API: "12.50" would be a silent factor of 100.
    for name in ("amount", "member_id", "location_id"):
        _whole_number(data, name)
    if "amount" not in data:
        raise ValueError(
            "amount (in minor units, e.g. cents) is required / falta amount (en céntimos)"
        )
    if isinstance(data.get("items"), str):
        try:
            data["items"] = parse_json(data["items"])
        except ValueError as exc:
            raise ValueError(
                f"items must be a JSON list / items debe ser una lista JSON: {exc}"
            ) from None
    if "card_number" in data:
        data["card_number"] = str(data["card_number"])
    data.setdefault("currency", currency)
    if location_id is not None:
        data.setdefault("location_id", location_id)
    expected = None
    if data.get("card_number") and data.get("member_id"):
        expected = data.pop("member_id")
    try:
        return PurchaseRow(PurchaseIn.model_validate(data), expected)
    except ValidationError as exc:
        raise ValueError(_problem(exc)) from None


def member(fields: dict[str, Any]) -> MemberIn:
    """The row as the API's MemberIn; it must carry an e-mail or a phone, which is how a second
    import of the same file recognises the member instead of enrolling a twin."""
    data = dict(fields)
    if not data.get("email") and not data.get("phone"):
        raise ValueError(
            "an e-mail or a phone is required: it makes the import repeatable / falta un e-mail "
            "o un teléfono: evita duplicados al repetir la importación"
        )
    if isinstance(data.get("tags"), str):
        data["tags"] = [t.strip() for t in data["tags"].replace("|", ";").split(";") if t.strip()]
    try:
        _whole_number(data, "location_id")
        person = MemberIn.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_problem(exc)) from None
    return person
