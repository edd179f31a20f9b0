"""Audit entries for the changes the `lealtad` command makes (channel cli, the operating-system
user as the actor), so that set-up done on the server is in the same log as the console's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from lealtad.tenancy import audit_context, service, store


def business_created(conn: Connection, business_id: int, now: datetime) -> None:
    """The business and its owner, each with its fields (the password never)."""
    audit_context.use_cli()
    actor = audit_context.cli_actor()
    business = service.get_business(conn, business_id)
    fields = {k: business._mapping[k] for k in ("name", "slug", "currency", "timezone", "locale")}
    service.audit_by(
        conn,
        business_id,
        actor,
        "business.create",
        f"business:{business_id}",
        now,
        **audit_context.created(fields),
    )
    for person in store.business_staff(conn, business_id):
        service.audit_by(
            conn,
            business_id,
            actor,
            "staff.create",
            f"staff:{person.id}",
            now,
        )


def api_key_created(conn: Connection, business_id: int, key_id: int, now: datetime) -> None:
    audit_context.use_cli()
    service.audit_by(
        conn, business_id, audit_context.cli_actor(), "api_key.create", f"api_key:{key_id}", now
    )
