"""The job that keeps passes current: for every pass held on a device whose member's ledger moved
since it was last looked at, what the pass shows is worked out again; if it changed, its update
time moves and every device holding it gets a push (apns.py). Run by the worker beside the
outbox delivery; idempotent, so two workers overlapping push at most twice."""

from __future__ import annotations

import logging
from datetime import datetime

from lealtad.db.engine import Database
from lealtad.members import store as members_store
from lealtad.passes import apns, service, store

log = logging.getLogger("lealtad.passes")


def push_changes(
    db: Database,
    secret: str,
    now: datetime,
    *,
    apns_url: str = apns.APNS_PRODUCTION,
    server_ca: str | None = None,
) -> dict[str, int]:
    counts = {"passes_changed": 0, "passes_pushed": 0, "passes_push_failed": 0}
    with db.read() as conn:
        businesses = store.businesses_with_apple(conn)
    for business_id in businesses:
        due: list[str] = []
        with db.transaction() as conn:
            apple = service.apple_credentials(conn, business_id)
            if apple is None:
                continue
            business = service.business_of(conn, business_id)
            for row in store.passes_to_check(conn, business_id):
                member = members_store.member(conn, business_id, row.member_id)
                if member is None:
                    continue
                face = service.card_face(conn, secret, business, member, now)
                if face.fingerprint() == row.fingerprint:
                    store.pass_checked(conn, row.id, now)
                    continue
                store.pass_changed(conn, row.id, face.fingerprint(), now)
                counts["passes_changed"] += 1
                due.extend(store.push_tokens(conn, row.id))
        # After the commit: a device asking at once must find the pass already changed.
        pushed = apns.send(
            apns_url,
            apple.pass_type_id,
            due,
            apple.certificate_pem,
            apple.private_key_pem,
            server_ca=server_ca,
        )
        counts["passes_pushed"] += pushed.sent
        counts["passes_push_failed"] += pushed.failed
        if pushed.gone:
            with db.transaction() as conn:
                store.forget_push_tokens(conn, business_id, pushed.gone)
        if due and pushed.protocol and pushed.protocol != "HTTP/2":
            log.warning("APNs pushes went out over %s; install h2 for HTTP/2", pushed.protocol)
    return counts
