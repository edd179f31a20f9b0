"""A business's configuration as the purchase path reads it: from the per-process cache of its
config version (kit/process_cache.py, D64) while a unit of work has pinned that version, from the
database otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import NotFound
from lealtad.kit import process_cache
from lealtad.tenancy import store


@contextmanager
def pinned(conn: Connection, business_id: int) -> Iterator[None]:
    """One read of the business's config version; below it, the business, its locations, its
    program versions and its active challenges come from the cache of that version. The block
    must not change any of them (a purchase, a preview). Inside a block already pinned for
    this business (a batch of purchases pinned once by its writer) nothing is read again."""
    if process_cache.pinned(conn, business_id) is not None:
        yield
        return
    version = store.config_version(conn, business_id)
    if version is None:  # no such business: the lookups below say so, uncached
        yield
        return
    with process_cache.pin(
        conn, business_id, version, lambda: store.config_version(conn, business_id)
    ):
        yield


def business(conn: Connection, business_id: int) -> Any:
    row = process_cache.part(
        conn, business_id, "business", lambda: store.business(conn, business_id)
    )
    if row is None:
        raise NotFound("no such business", code="business_not_found")
    return row


def _locations(conn: Connection, business_id: int) -> dict[int, Any]:
    return process_cache.part(
        conn,
        business_id,
        "locations",
        lambda: {row.id: row for row in store.business_locations(conn, business_id)},
    )


def location(conn: Connection, business_id: int, location_id: int) -> Any:
    if process_cache.pinned(conn, business_id) is None:
        row = store.location(conn, business_id, location_id)
    else:
        row = _locations(conn, business_id).get(location_id)
    if row is None:
        raise NotFound(f"no location {location_id} in this business", code="location_not_found")
    return row


def only_location_id(conn: Connection, business_id: int) -> int | None:
    """The business's location when it has exactly one."""
    if process_cache.pinned(conn, business_id) is None:
        return store.only_location_id(conn, business_id)
    found = _locations(conn, business_id)
    return next(iter(found)) if len(found) == 1 else None
