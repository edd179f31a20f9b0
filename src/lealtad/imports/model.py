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
)
FIELDS = {"purchases": PURCHASE_FIELDS, "members": MEMBER_FIELDS}


class FileProblem(Exception):
    """The file as a whole cannot be imported (unknown format, bad header): nothing is loaded."""


@dataclass(frozen=True)
class Row:
    """One data row: its first physical line in the file, its fields, and the original text
    (or cells) to copy into the reject file."""

    line: int
    fields: dict[str, Any] | None
    error: str | None
    original: list[str]


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
        "object per line)"
    )


def header(path: Path, kind: str) -> list[str] | None:
    """The CSV header (checked against the known columns); None for JSON lines."""
    if file_format(path) != "csv":
        return None
    with path.open(newline="", encoding="utf-8-sig") as f:
        first = next(csv.reader(f), None)
    if not first:
        raise FileProblem(f"{path.name}: the CSV file has no header row")
    names = [c.strip() for c in first]
    unknown = sorted(set(names) - FIELDS[kind])
    if unknown:
        raise FileProblem(
            f"{path.name}: unknown column(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(FIELDS[kind]))}"
        )
    if len(set(names)) != len(names):
        raise FileProblem(f"{path.name}: a column is named twice in the header")
    return names


def rows(path: Path, kind: str) -> Iterator[Row]:
    """Every data row in file order, streamed; blank lines are skipped, not counted."""
    names = header(path, kind)
    if names is None:
        yield from _json_lines(path, kind)
        return
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                yield Row(line, None, f"expected {len(names)} cells, found {len(cells)}", cells)
                continue
            fields = {n: c.strip() for n, c in zip(names, cells, strict=True) if c.strip() != ""}
            yield Row(line, fields, None, cells)


def _json_lines(path: Path, kind: str) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            original = [text.rstrip("\r\n")]
            try:
                value = json.loads(text)
            except ValueError as exc:
                yield Row(number, None, f"not JSON: {exc}", original)
                continue
            if not isinstance(value, dict):
                yield Row(number, None, "each line must be a JSON object", original)
                continue
            unknown = sorted(set(value) - FIELDS[kind])
            if unknown:
                yield Row(number, None, f"unknown field(s) {', '.join(unknown)}", original)
                continue
            yield Row(number, {k: v for k, v in value.items() if v is not None}, None, original)


def _problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "row"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _whole_number(fields: dict[str, Any], name: str) -> None:
    value = fields.get(name)
    if isinstance(value, str):
        if not value.lstrip("-").isdigit():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        fields[name] = int(value)


def purchase(fields: dict[str, Any], currency: str, location_id: int | None) -> PurchaseRow:
    """The row as the API's PurchaseIn; ValueError with the reason when it is not one."""
    data = dict(fields)
    if "external_id" in data:
        if "receipt_id" in data and data["receipt_id"] != data["external_id"]:
            raise ValueError("receipt_id and external_id differ; give one of them")
        data["receipt_id"] = data.pop("external_id")
    if "receipt_id" not in data:
        raise ValueError("receipt_id (or external_id) is required: it makes the import repeatable")
    data["receipt_id"] = str(data["receipt_id"])
    # Amounts are minor units, as in the API: "12.50" would be a silent factor of 100.
    for name in ("amount", "member_id", "location_id"):
        _whole_number(data, name)
    if "amount" not in data:
        raise ValueError("amount (in minor units, e.g. cents) is required")
    if isinstance(data.get("items"), str):
        try:
            data["items"] = json.loads(data["items"])
        except ValueError as exc:
            raise ValueError(f"items must be a JSON list: {exc}") from None
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
        raise ValueError("an e-mail or a phone is required: it makes the import repeatable")
    if isinstance(data.get("tags"), str):
        data["tags"] = [t.strip() for t in data["tags"].replace("|", ";").split(";") if t.strip()]
    try:
        _whole_number(data, "location_id")
        return MemberIn.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_problem(exc)) from None
