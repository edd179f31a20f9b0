"""Every table view of the analytics console and API downloads as CSV through this one helper, so
the files read the same: a header row, ISO dates, plain numbers, no byte-order mark."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import Response

from lealtad.kit.csvsafe import safe_cell

Columns = Sequence[tuple[str, str]]
_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def cell(value: Any) -> str:
    """One value as text: dates in ISO 8601, numbers without thousands separators, nothing for
    None; text goes through the shared `safe_cell`, as in every other export, so a formula gets
    a leading apostrophe and a phone number or a negative number does not."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(round(value, 6))
    return safe_cell(value)


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)


def csv_text(columns: Columns, rows: Iterable[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(header) for _key, header in columns])
    for row in rows:
        writer.writerow([cell(_get(row, key)) for key, _header in columns])
    return buffer.getvalue()


def csv_response(filename: str, columns: Columns, rows: Iterable[Any]) -> Response:
    """`columns` are (key, header) pairs; `rows` are mappings or objects with those keys as
    attributes. The file is UTF-8 without a byte-order mark."""
    safe = "".join(ch if ch in _SAFE_NAME else "-" for ch in filename) or "export.csv"
    if not safe.endswith(".csv"):
        safe += ".csv"
    return Response(
        csv_text(columns, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
