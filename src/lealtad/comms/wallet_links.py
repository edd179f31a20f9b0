"""The wallet card links of the welcome e-mail: "Add to Apple Wallet" and "Save to Google
Wallet", shown only where the business has set that wallet up (D76).

A link carries a signed, expiring token naming the business, the member and the card's version,
so it opens the member's pass without a login session (the e-mail is read on the phone, where
the member may never have signed in), stops working after LINK_DAYS, and dies with the card when
it is reissued, as the wallet's sessions do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from lealtad.comms import wallet_links_store

# Long enough for a welcome e-mail read late; short enough that an old forwarded mail is dead.
LINK_DAYS = 30
TOKEN_PARAM = "t"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="lealtad.wallet-card-link")


def token(secret: str, business_id: int, member_id: int, card_version: int, now: datetime) -> str:
    # The end of validity is signed in, by the application's clock (tests move it).
    until = int((now + timedelta(days=LINK_DAYS)).timestamp())
    return str(_serializer(secret).dumps([business_id, member_id, card_version, until]))


def read(secret: str, value: str, now: datetime) -> tuple[int, int, int] | None:
    """(business id, member id, card version) of a link still in date; None for a forged,
    mangled or expired one (the caller then asks the member to sign in)."""
    try:
        business_id, member_id, version, until = _serializer(secret).loads(value)
        if now.timestamp() >= int(until):
            return None
        return int(business_id), int(member_id), int(version)
    except (BadSignature, ValueError, TypeError):
        return None


def links(
    conn: Connection, secret: str, base_url: str, business: Any, member: Any, now: datetime
) -> dict[str, str]:
    """`apple_wallet_url` and `google_wallet_url` for the wallets the business offers; nothing
    for one it has not set up."""
    apple, google = wallet_links_store.wallets_offered(conn, business.id)
    if not (apple or google):
        return {}
    value = token(secret, business.id, member.id, member.card_version, now)
    return _urls(base_url, business.slug, apple, google, value)


def preview_links(conn: Connection, base_url: str, business: Any) -> dict[str, str]:
    """The links as the console's preview shows them: where they go, with no member's token (one
    followed from the preview asks to sign in, as the preview's unsubscribe link does nothing)."""
    apple, google = wallet_links_store.wallets_offered(conn, business.id)
    return _urls(base_url, business.slug, apple, google, "preview")


def _urls(base_url: str, slug: str, apple: bool, google: bool, value: str) -> dict[str, str]:
    wallet = f"{base_url.rstrip('/')}/w/{slug}"
    found = {}
    if apple:
        found["apple_wallet_url"] = f"{wallet}/card.pkpass?{TOKEN_PARAM}={value}"
    if google:
        found["google_wallet_url"] = f"{wallet}/google-wallet?{TOKEN_PARAM}={value}"
    return found
