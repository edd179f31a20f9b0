"""All SQL of wallet passes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, select, update

from lealtad.kit.clock import naive_utc
from lealtad.ledger.tables import entries
from lealtad.passes.tables import pass_credentials, pass_registrations, wallet_passes


def credentials(conn: Connection, business_id: int) -> Any:
    return conn.execute(
        select(pass_credentials).where(pass_credentials.c.business_id == business_id)
    ).first()


def save_credentials(conn: Connection, business_id: int, now: datetime, **values: Any) -> None:
    at = naive_utc(now)
    done = conn.execute(
        update(pass_credentials)
        .where(pass_credentials.c.business_id == business_id)
        .values(updated_at=at, **values)
    )
    if done.rowcount == 0:
        conn.execute(
            insert(pass_credentials).values(business_id=business_id, updated_at=at, **values)
        )


def pass_of_member(conn: Connection, business_id: int, member_id: int) -> Any:
    return conn.execute(
        select(wallet_passes).where(
            wallet_passes.c.business_id == business_id, wallet_passes.c.member_id == member_id
        )
    ).first()


def pass_by_serial(conn: Connection, serial_number: str) -> Any:
    return conn.execute(
        select(wallet_passes).where(wallet_passes.c.serial_number == serial_number)
    ).first()


def add_pass(
    conn: Connection, business_id: int, member_id: int, serial: str, fingerprint: str, now: datetime
) -> None:
    at = naive_utc(now)
    conn.execute(
        insert(wallet_passes).values(
            business_id=business_id,
            member_id=member_id,
            serial_number=serial,
            fingerprint=fingerprint,
            updated_at=at,
            checked_at=at,
            created_at=at,
        )
    )


def pass_changed(conn: Connection, pass_id: int, fingerprint: str, now: datetime) -> None:
    at = naive_utc(now)
    conn.execute(
        update(wallet_passes)
        .where(wallet_passes.c.id == pass_id)
        .values(fingerprint=fingerprint, updated_at=at, checked_at=at)
    )


def pass_checked(conn: Connection, pass_id: int, now: datetime) -> None:
    conn.execute(
        update(wallet_passes).where(wallet_passes.c.id == pass_id).values(checked_at=naive_utc(now))
    )


def registration(conn: Connection, pass_id: int, device: str) -> Any:
    return conn.execute(
        select(pass_registrations).where(
            pass_registrations.c.pass_id == pass_id,
            pass_registrations.c.device_library_id == device,
        )
    ).first()


def devices_of(conn: Connection, pass_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(pass_registrations)
            .where(pass_registrations.c.pass_id == pass_id)
        ).scalar_one()
    )


def register(
    conn: Connection, business_id: int, pass_id: int, device: str, push_token: str, now: datetime
) -> None:
    conn.execute(
        insert(pass_registrations).values(
            business_id=business_id,
            pass_id=pass_id,
            device_library_id=device,
            push_token=push_token,
            created_at=naive_utc(now),
        )
    )


def new_push_token(conn: Connection, registration_id: int, push_token: str) -> None:
    conn.execute(
        update(pass_registrations)
        .where(pass_registrations.c.id == registration_id)
        .values(push_token=push_token)
    )


def unregister(conn: Connection, pass_id: int, device: str) -> None:
    conn.execute(
        delete(pass_registrations).where(
            pass_registrations.c.pass_id == pass_id,
            pass_registrations.c.device_library_id == device,
        )
    )


def forget_push_tokens(conn: Connection, business_id: int, tokens: list[str]) -> None:
    """APNs said these devices no longer take the pass's pushes (410)."""
    if tokens:
        conn.execute(
            delete(pass_registrations).where(
                pass_registrations.c.business_id == business_id,
                pass_registrations.c.push_token.in_(tokens),
            )
        )


def serials_for_device(
    conn: Connection, device: str, pass_type_id: str, since: datetime | None
) -> list[Any]:
    """The device's passes of this pass type (one business's), changed after `since`."""
    query = (
        select(wallet_passes.c.serial_number, wallet_passes.c.updated_at)
        .join(pass_registrations, pass_registrations.c.pass_id == wallet_passes.c.id)
        .join(pass_credentials, pass_credentials.c.business_id == wallet_passes.c.business_id)
        .where(
            pass_registrations.c.device_library_id == device,
            pass_credentials.c.apple_pass_type_id == pass_type_id,
        )
        .order_by(wallet_passes.c.serial_number)
    )
    if since is not None:
        query = query.where(wallet_passes.c.updated_at > naive_utc(since))
    return list(conn.execute(query).all())


def passes_to_check(conn: Connection, business_id: int) -> list[Any]:
    """Passes held by at least one device whose member's ledger moved since they were checked."""
    registered = exists().where(pass_registrations.c.pass_id == wallet_passes.c.id)
    moved = exists().where(
        and_(
            entries.c.business_id == wallet_passes.c.business_id,
            entries.c.member_id == wallet_passes.c.member_id,
            entries.c.recorded_at > wallet_passes.c.checked_at,
        )
    )
    return list(
        conn.execute(
            select(wallet_passes).where(
                wallet_passes.c.business_id == business_id, registered, moved
            )
        ).all()
    )


def push_tokens(conn: Connection, pass_id: int) -> list[str]:
    return list(
        conn.execute(
            select(pass_registrations.c.push_token).where(pass_registrations.c.pass_id == pass_id)
        ).scalars()
    )


def businesses_with_apple(conn: Connection) -> list[int]:
    return list(
        conn.execute(
            select(pass_credentials.c.business_id).where(
                pass_credentials.c.apple_certificate.is_not(None)
            )
        ).scalars()
    )


def google_synced(conn: Connection, pass_id: int, now: datetime) -> None:
    conn.execute(
        update(wallet_passes)
        .where(wallet_passes.c.id == pass_id)
        .values(google_synced_at=naive_utc(now))
    )


def passes_to_sync(conn: Connection, business_id: int) -> list[Any]:
    """Passes handed to Google (a save link was made) whose member's ledger moved since."""
    moved = exists().where(
        and_(
            entries.c.business_id == wallet_passes.c.business_id,
            entries.c.member_id == wallet_passes.c.member_id,
            entries.c.recorded_at > wallet_passes.c.google_synced_at,
        )
    )
    return list(
        conn.execute(
            select(wallet_passes).where(
                wallet_passes.c.business_id == business_id,
                wallet_passes.c.google_synced_at.is_not(None),
                moved,
            )
        ).all()
    )


def businesses_with_google(conn: Connection) -> list[int]:
    return list(
        conn.execute(
            select(pass_credentials.c.business_id).where(
                pass_credentials.c.google_issuer_id.is_not(None)
            )
        ).scalars()
    )
