"""The "save to Google Wallet" link, as Google's "Google Wallet API JWT" reference describes it:
the owner uploads a service-account key file (made in the test, in the shape Google Cloud
exports), the wallet offers the button, and the link's JWT verifies with the account's public
key (RS256) and carries iss, aud "google", typ "savetowallet", origins, a loyalty class and the
member's loyalty object (accountId, loyaltyPoints balance, QR barcode). On SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import io
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from lealtad.members import model as members_model
from lealtad.passes.tables import pass_credentials
from tests.passes.helpers import grant
from tests.support import admin_login, wallet_login

ISSUER = "3388000000012345678"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ACCOUNT = {
    "type": "service_account",
    "project_id": "test-cafe",
    "private_key_id": "0123456789abcdef",
    "private_key": KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode(),
    "client_email": "wallet@test-cafe.iam.gserviceaccount.com",
    "client_id": "1234567890",
    "token_uri": "https://oauth2.googleapis.com/token",
}


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _upload(client, csrf: str, account: dict | bytes, issuer: str = ISSUER):
    data = account if isinstance(account, bytes) else json.dumps(account).encode()
    return client.post(
        "/admin/settings/wallet-passes/google",
        data={"csrf": csrf, "issuer_id": issuer},
        files={"service_account": ("key.json", io.BytesIO(data), "application/json")},
        follow_redirects=False,
    )


def test_the_save_link_is_a_jwt_signed_with_the_service_account_carrying_the_member(
    client, db, shop, clock, settings
):
    wallet_login(client, db, shop, shop.members[0])
    assert "google-wallet" not in client.get(f"/w/{shop.slug}?lang=en").text
    assert client.get(f"/w/{shop.slug}/google-wallet").status_code == 404
    client.cookies.clear()

    csrf = admin_login(client, shop, "owner")
    assert _upload(client, csrf, ACCOUNT).status_code == 303
    page = client.get("/admin/settings/wallet-passes")
    assert ACCOUNT["client_email"] in page.text
    client.cookies.clear()

    member = shop.members[0]
    grant(db, shop, member, 75, clock.now())
    wallet_login(client, db, shop, member)
    wallet = client.get(f"/w/{shop.slug}?lang=es")
    assert "Guardar en Google Wallet" in wallet.text
    answer = client.get(f"/w/{shop.slug}/google-wallet", follow_redirects=False)
    assert answer.status_code == 303
    link = answer.headers["location"]
    assert link.startswith("https://pay.google.com/gp/v/save/")
    token = link.removeprefix("https://pay.google.com/gp/v/save/")

    header_b64, claims_b64, signature_b64 = token.split(".")
    KEY.public_key().verify(
        _unb64(signature_b64),
        f"{header_b64}.{claims_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    with pytest.raises(InvalidSignature):
        KEY.public_key().verify(
            _unb64(signature_b64),
            f"{header_b64}.{claims_b64}x".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    header = json.loads(_unb64(header_b64))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": ACCOUNT["private_key_id"]}
    claims = json.loads(_unb64(claims_b64))
    assert claims["iss"] == ACCOUNT["client_email"]
    assert claims["aud"] == "google"
    assert claims["typ"] == "savetowallet"
    assert claims["iat"] == int(clock.now().timestamp())
    assert claims["origins"] == [settings.public_base_url.rstrip("/")]
    (loyalty_class,) = claims["payload"]["loyaltyClasses"]
    (loyalty_object,) = claims["payload"]["loyaltyObjects"]
    assert loyalty_class["id"] == f"{ISSUER}.{shop.slug}-loyalty"
    assert loyalty_class["issuerName"].startswith("Test café")
    assert loyalty_object["classId"] == loyalty_class["id"]
    assert loyalty_object["id"].startswith(f"{ISSUER}.")
    assert loyalty_object["state"] == "ACTIVE"
    assert loyalty_object["loyaltyPoints"]["balance"] == {"int": 75}
    barcode = loyalty_object["barcode"]
    assert barcode["type"] == "QR_CODE"
    found = members_model.read_qr_token(settings.effective_secret_key, barcode["value"])
    assert found is not None
    assert found[:2] == (shop.id, member)
    assert loyalty_object["accountId"] == barcode["alternateText"]


@pytest.mark.parametrize(
    ("upload", "issuer", "expected"),
    [
        (b"not json", ISSUER, "no es una clave de cuenta de servicio"),
        ({**ACCOUNT, "type": "authorized_user"}, ISSUER, "no es una clave de cuenta de servicio"),
        ({**ACCOUNT, "private_key": "nope"}, ISSUER, "no es una clave de cuenta de servicio"),
        (ACCOUNT, "issuer-one", "El ID de emisor es el número"),
    ],
)
def test_a_wrong_service_account_or_issuer_is_refused_and_nothing_kept(
    client, db, shop, upload, issuer, expected
):
    csrf = admin_login(client, shop, "owner")
    answer = _upload(client, csrf, upload, issuer)
    assert answer.status_code == 422
    assert expected in answer.text
    with db.read() as conn:
        row = conn.execute(
            select(pass_credentials).where(pass_credentials.c.business_id == shop.id)
        ).first()
    assert row is None


def test_removing_the_google_credentials_hides_the_button(client, db, shop):
    csrf = admin_login(client, shop, "owner")
    assert _upload(client, csrf, ACCOUNT).status_code == 303
    removed = client.post(
        "/admin/settings/wallet-passes/google/remove", data={"csrf": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    client.cookies.clear()
    wallet_login(client, db, shop, shop.members[0])
    assert "google-wallet" not in client.get(f"/w/{shop.slug}?lang=en").text
