"""Saved Google Wallet cards follow the balance: after a member's ledger moves, the worker's sync
gets an access token with the service account's signed assertion (the JWT-bearer grant) and
PATCHes the member's loyalty object. Google is stood in for by a local server that checks the
assertion with the account's public key and the bearer token on the PATCH; an object nobody
saved (404) is left alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from lealtad.passes import google_sync
from tests.passes.helpers import grant
from tests.passes.test_google import ACCOUNT, KEY, _upload
from tests.support import admin_login, wallet_login

TOKEN = "ya29.test-access-token"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class GoogleStandIn:
    def __init__(self) -> None:
        self.assertions: list[dict] = []
        self.patches: dict[str, dict] = {}
        self.saved: set[str] = set()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def do_POST(self) -> None:
                form = parse_qs(self._body().decode())
                head, claims, signature = form["assertion"][0].split(".")
                KEY.public_key().verify(
                    _unb64(signature),
                    f"{head}.{claims}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
                assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
                stand_in.assertions.append(json.loads(_unb64(claims)))
                self._answer(
                    200, {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"}
                )

            def do_PATCH(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"error": {"code": 401}})
                    return
                object_id = self.path.rsplit("/", 1)[-1]
                body = json.loads(self._body())
                if object_id not in stand_in.saved:
                    self._answer(404, {"error": {"code": 404}})
                    return
                stand_in.patches[object_id] = body
                self._answer(200, body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def google_stand_in() -> Iterator[GoogleStandIn]:
    stand_in = GoogleStandIn()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def _object_id(client, shop) -> str:
    link = client.get(f"/w/{shop.slug}/google-wallet", follow_redirects=False).headers["location"]
    claims = json.loads(_unb64(link.rsplit("/", 1)[-1].split(".")[1]))
    return str(claims["payload"]["loyaltyObjects"][0]["id"])


def test_a_saved_card_is_patched_with_the_new_balance(
    client, db, shop, clock, settings, google_stand_in
):
    csrf = admin_login(client, shop, "owner")
    assert _upload(client, csrf, ACCOUNT).status_code == 303
    client.cookies.clear()
    saver, other = shop.members[0], shop.members[1]
    wallet_login(client, db, shop, saver)
    saved_id = _object_id(client, shop)
    client.cookies.clear()
    wallet_login(client, db, shop, other)
    _object_id(client, shop)  # a link made, but never saved at Google
    google_stand_in.saved.add(saved_id)
    secret = settings.effective_secret_key

    def sync():
        return google_sync.sync_changes(
            db,
            secret,
            clock.now(),
            token_url=f"{google_stand_in.url}/token",
            api_base=google_stand_in.url,
        )

    assert sync() == {"google_updated": 0, "google_update_failed": 0}
    clock.at += timedelta(minutes=2)
    grant(db, shop, saver, 55, clock.now())
    grant(db, shop, other, 5, clock.now())
    assert sync() == {"google_updated": 1, "google_update_failed": 0}
    patched = google_stand_in.patches[saved_id]
    assert patched["loyaltyPoints"]["balance"] == {"int": 55}
    assert patched["accountId"]
    (claims,) = google_stand_in.assertions
    assert claims["iss"] == ACCOUNT["client_email"]
    assert claims["scope"] == google_sync.SCOPE
    assert claims["aud"] == f"{google_stand_in.url}/token"
    # Nothing moved since: nothing is sent again.
    clock.at += timedelta(minutes=1)
    assert sync() == {"google_updated": 0, "google_update_failed": 0}
    assert len(google_stand_in.assertions) == 1
