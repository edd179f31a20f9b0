"""Which wallets a business offers, read for the welcome e-mail's links (comms/wallet_links.py).
Only whether the credentials are there: the sealed keys are never read here."""

from __future__ import annotations

from sqlalchemy import Connection, select

from lealtad.passes.tables import pass_credentials


def wallets_offered(conn: Connection, business_id: int) -> tuple[bool, bool]:
    """(Apple, Google): Apple needs its certificate, key and intermediate, Google its issuer id
    and service account, as the wallet page's buttons do (passes/service.py, passes/google.py)."""
    c = pass_credentials.c
    row = conn.execute(
        select(
            (
                c.apple_certificate.is_not(None)
                & c.apple_private_key.is_not(None)
                & c.apple_wwdr.is_not(None)
            ).label("apple"),
            (c.google_issuer_id.is_not(None) & c.google_service_account.is_not(None)).label(
                "google"
            ),
        ).where(c.business_id == business_id)
    ).first()
    return (bool(row.apple), bool(row.google)) if row is not None else (False, False)
