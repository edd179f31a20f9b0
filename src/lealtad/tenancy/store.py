"""All SQL of tenancy. Every query below the business itself takes the business id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from lealtad.tenancy.tables import api_keys, audit_log, businesses, locations, staff_users


def _insert(conn: Connection, table: Any, **values: Any) -> int:
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def insert_business(conn: Connection, **values: Any) -> int:
    return _insert(conn, businesses, **values)


# Built once: read on every purchase (see ledger.store).
_BUSINESS = select(businesses).where(businesses.c.id == bindparam("b"))


def business(conn: Connection, business_id: int) -> Any:
    return conn.execute(_BUSINESS, {"b": business_id}).first()


_CONFIG_VERSION = select(businesses.c.config_version).where(businesses.c.id == bindparam("b"))


def config_version(conn: Connection, business_id: int) -> int | None:
    """The stamp the triggers of migration 0019 renew on every change of the business's
    configuration; None for no such business."""
    found = conn.execute(_CONFIG_VERSION, {"b": business_id}).scalar()
    return None if found is None else int(found)


def business_by_slug(conn: Connection, slug: str) -> Any:
    return conn.execute(select(businesses).where(businesses.c.slug == slug)).first()


def all_businesses(conn: Connection) -> list[Any]:
    return list(conn.execute(select(businesses).order_by(businesses.c.id)))


def slug_taken(conn: Connection, slug: str) -> bool:
    return (
        conn.execute(select(businesses.c.id).where(businesses.c.slug == slug)).first() is not None
    )


def update_business(conn: Connection, business_id: int, **values: Any) -> None:
    conn.execute(update(businesses).where(businesses.c.id == business_id).values(**values))


def insert_location(conn: Connection, **values: Any) -> int:
    return _insert(conn, locations, **values)


def location(conn: Connection, business_id: int, location_id: int) -> Any:
    return conn.execute(
        select(locations).where(
            locations.c.business_id == business_id, locations.c.id == location_id
        )
    ).first()


def update_location(conn: Connection, business_id: int, location_id: int, **values: Any) -> None:
    conn.execute(
        update(locations)
        .where(locations.c.business_id == business_id, locations.c.id == location_id)
        .values(**values)
    )


def business_locations(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(locations).where(locations.c.business_id == business_id).order_by(locations.c.id)
        )
    )


def only_location_id(conn: Connection, business_id: int) -> int | None:
    """The business's location when it has exactly one (two rows at most are read)."""
    ids = conn.execute(
        select(locations.c.id).where(locations.c.business_id == business_id).limit(2)
    ).scalars()
    found = list(ids)
    return int(found[0]) if len(found) == 1 else None


def insert_staff(conn: Connection, **values: Any) -> int:
    return _insert(conn, staff_users, **values)


def staff(conn: Connection, business_id: int, staff_id: int) -> Any:
    return conn.execute(
        select(staff_users).where(
            staff_users.c.business_id == business_id, staff_users.c.id == staff_id
        )
    ).first()


def staff_by_email(conn: Connection, business_id: int, email: str) -> Any:
    return conn.execute(
        select(staff_users).where(
            staff_users.c.business_id == business_id, staff_users.c.email == email
        )
    ).first()


# A change to any of these is a change of who may act as this person: their sessions and
# tokens end with it (staff_users.session_version).
_CREDENTIALS = frozenset({"password_hash", "active", "totp_confirmed_at"})


def update_staff(conn: Connection, business_id: int, staff_id: int, **values: Any) -> None:
    if _CREDENTIALS.intersection(values):
        values["session_version"] = staff_users.c.session_version + 1
    conn.execute(
        update(staff_users)
        .where(staff_users.c.business_id == business_id, staff_users.c.id == staff_id)
        .values(**values)
    )


def end_staff_sessions(conn: Connection, business_id: int, staff_id: int) -> None:
    """Every console cookie and staff token of this person stops working."""
    update_staff(conn, business_id, staff_id, session_version=staff_users.c.session_version + 1)


def active_owner_count(conn: Connection, business_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                staff_users.c.business_id == business_id,
                staff_users.c.role == "owner",
                staff_users.c.active.is_(True),
            )
        ).scalar_one()
    )


def business_staff(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(staff_users)
            .where(staff_users.c.business_id == business_id)
            .order_by(staff_users.c.id)
        )
    )


def insert_api_key(conn: Connection, **values: Any) -> int:
    return _insert(conn, api_keys, **values)


def api_key_by_prefix(conn: Connection, prefix: str) -> Any:
    """The one look-up not scoped by business: the key itself is what names the business."""
    return conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()


# Asked on every request that presents a key this process has already checked
# (tenancy/key_cache.py): built once, and the same question as plain SQL for the driver.
_KEY_IN_FORCE = select(api_keys.c.id).where(
    api_keys.c.id == bindparam("k"), api_keys.c.revoked_at.is_(None)
)
KEY_IN_FORCE_SQL = "SELECT id FROM api_keys WHERE id = ? AND revoked_at IS NULL"
# The same question for several keys at once, on PostgreSQL's driver (tenancy/key_asker.py).
KEYS_IN_FORCE_PG_SQL = "SELECT id FROM api_keys WHERE id = ANY(%s) AND revoked_at IS NULL"


def api_key_in_force(conn: Connection, key_id: int) -> bool:
    return conn.execute(_KEY_IN_FORCE, {"k": key_id}).first() is not None


def api_key(conn: Connection, business_id: int, key_id: int) -> Any:
    return conn.execute(
        select(api_keys).where(api_keys.c.business_id == business_id, api_keys.c.id == key_id)
    ).first()


def business_api_keys(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(api_keys).where(api_keys.c.business_id == business_id).order_by(api_keys.c.id)
        )
    )


def revoke_api_key(conn: Connection, business_id: int, key_id: int, at: datetime) -> None:
    conn.execute(
        update(api_keys)
        .where(api_keys.c.business_id == business_id, api_keys.c.id == key_id)
        .values(revoked_at=at)
    )


def insert_audit(conn: Connection, **values: Any) -> None:
    conn.execute(insert(audit_log).values(**values))


def audit_entries(
    conn: Connection,
    business_id: int,
    limit: int,
    before: int | None,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Any]:
    """Newest first; `since` inclusive and `until` exclusive, naive UTC like the column."""
    query = select(audit_log).where(audit_log.c.business_id == business_id)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    if action:
        query = query.where(audit_log.c.action == action)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    return list(conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)))


def audit_actions(conn: Connection, business_id: int) -> list[str]:
    query = select(audit_log.c.action).where(audit_log.c.business_id == business_id).distinct()
    return sorted(str(action) for action in conn.execute(query).scalars())


def audit_by_actor(
    conn: Connection,
    business_id: int,
    actor: str,
    actions: tuple[str, ...],
    since: datetime | None,
    limit: int = 50,
) -> list[Any]:
    """One person's own entries of some kinds, newest first (two-step codes and their tries)."""
    query = select(audit_log).where(
        audit_log.c.business_id == business_id,
        audit_log.c.actor == actor,
        audit_log.c.action.in_(actions),
    )
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    return list(conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)))


def member_audit_details(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    """The id and details of every audit entry about one member (erasure scrubs them)."""
    return list(
        conn.execute(
            select(audit_log.c.id, audit_log.c.details).where(
                audit_log.c.business_id == business_id,
                audit_log.c.target == f"member:{member_id}",
            )
        ).all()
    )


def rewrite_audit_details(conn: Connection, entry_id: int, details: dict[str, Any]) -> None:
    conn.execute(update(audit_log).where(audit_log.c.id == entry_id).values(details=details))
