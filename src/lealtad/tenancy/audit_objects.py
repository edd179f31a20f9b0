"""The fields a creation entry records for the tenancy objects (staff, API keys, locations),
read back from the row just written, so every way of creating one (API, console, CLI) logs the
same whole object. Secrets are not among them: no password hash, key hash or TOTP secret."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from lealtad.tenancy import store

FIELDS = {
    "staff": ("email", "name", "role", "location_id", "active"),
    "api_key": ("name", "prefix", "role", "location_id"),
    "location": ("name", "timezone"),
}
CREATIONS = {f"{kind}.create" for kind in FIELDS}


def created_fields(conn: Connection, business_id: int, target: str) -> dict[str, Any]:
    kind, _, raw = target.partition(":")
    if kind not in FIELDS or not raw.isdigit():
        return {}
    read = {"staff": store.staff, "api_key": store.api_key, "location": store.location}[kind]
    row = read(conn, business_id, int(raw))
    if row is None:
        return {}
    return {field: {"before": None, "after": getattr(row, field)} for field in FIELDS[kind]}
