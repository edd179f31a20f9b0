"""Bringing saved Google Wallet cards up to date when a balance changes: the worker finds the
passes handed to Google whose member's ledger moved, and PATCHes each loyalty object through the
Google Wallet REST API (walletobjects/v1/loyaltyObject/{id}) with an OAuth 2.0 access token got
for the service account (the JWT-bearer grant of Google's "Using OAuth 2.0 for Server to Server
Applications", scope wallet_object.issuer). A 404 means the member never saved the card: nothing
to update. Tests stand Google in with a local server."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx

from lealtad.db.engine import Database
from lealtad.ledger import service as ledger
from lealtad.members import store as members_store
from lealtad.passes import google, service, store

log = logging.getLogger("lealtad.passes")

TOKEN_URL = "https://oauth2.googleapis.com/token"
API_BASE = "https://walletobjects.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"


def access_token(
    client: httpx.Client, account: dict[str, str], token_url: str, now: datetime
) -> str | None:
    issued = int(now.timestamp())
    assertion = google.signed_jwt(
        account,
        {
            "iss": account["client_email"],
            "scope": SCOPE,
            "aud": token_url,
            "iat": issued,
            "exp": issued + 3600,
        },
    )
    try:
        answer = client.post(
            token_url,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
        token = answer.json().get("access_token") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        token = None
    return str(token) if token else None


def sync_changes(
    db: Database,
    secret: str,
    now: datetime,
    *,
    token_url: str = TOKEN_URL,
    api_base: str = API_BASE,
) -> dict[str, int]:
    counts = {"google_updated": 0, "google_update_failed": 0}
    with db.read() as conn:
        businesses = store.businesses_with_google(conn)
    with httpx.Client(timeout=10.0) as client:
        for business_id in businesses:
            found, bodies = _due(db, secret, business_id, now)
            if found is None or not bodies:
                continue
            token = access_token(client, found[1], token_url, now)
            if token is None:
                counts["google_update_failed"] += len(bodies)
                log.warning("no Google access token for business %s", business_id)
                continue
            # Outside any transaction: no database lock is held while Google answers.
            done = []
            for pass_id, body in bodies:
                try:
                    status = client.patch(
                        f"{api_base}/walletobjects/v1/loyaltyObject/{body['id']}",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                if status in (200, 404):
                    done.append(pass_id)
                    counts["google_updated"] += status == 200
                else:
                    counts["google_update_failed"] += 1
            with db.transaction() as conn:
                for pass_id in done:
                    store.google_synced(conn, pass_id, now)
    return counts


def _due(
    db: Database, secret: str, business_id: int, now: datetime
) -> tuple[tuple[str, dict[str, str]] | None, list[tuple[int, dict[str, Any]]]]:
    """The business's Google credentials and the loyalty objects to send, as they are now."""
    with db.read() as conn:
        found = google.credentials(conn, business_id)
        if found is None:
            return None, []
        business = service.business_of(conn, business_id)
        bodies = []
        for row in store.passes_to_sync(conn, business_id):
            member = members_store.member(conn, business_id, row.member_id)
            if member is None:
                continue
            face = service.card_face(conn, secret, business, member, now)
            points = ledger.balances(conn, business_id, member.id).get("points", 0)
            bodies.append(
                (
                    row.id,
                    google.loyalty_object(found[0], business.slug, row.serial_number, face, points),
                )
            )
    return found, bodies
