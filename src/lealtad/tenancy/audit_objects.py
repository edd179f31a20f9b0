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


# What a member's audit entries may hold that names or reaches the person.
PERSONAL = frozenset({"name", "email", "phone", "birthday", "time_zone", "tags", "address"})
ERASED = "(erased)"


def forget_member(conn: Connection, business_id: int, member_id: int) -> int:
    """On erasure, the member's old names, addresses and birthday go from the audit log too
    (the entry and which fields changed stay): otherwise the log would keep what erasure removed.
    Returns how many entries were rewritten."""
    changed = 0
    for row in store.member_audit_details(conn, business_id, member_id):
        details = row.details if isinstance(row.details, dict) else {}
        scrubbed = {
            key: _erase(value) if key in PERSONAL else value for key, value in details.items()
        }
        if scrubbed != details:
            store.rewrite_audit_details(conn, row.id, scrubbed)
            changed += 1
    return changed


def _erase(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"before", "after"}:
        return {"before": ERASED, "after": ERASED}
    return ERASED
