"""A member's pass as a device holds it: its serial number and authentication token, read from
the `.pkpass` the wallet hands out."""

from __future__ import annotations

import io
import json
import zipfile

from lealtad.ledger import adjustments
from tests.passes.chain import Chain, upload_apple
from tests.support import admin_login, wallet_login

SERVICE = "/passes/apple/v1"


def owner_uploads(client, shop, chain: Chain) -> None:
    csrf = admin_login(client, shop, "owner")
    answer = upload_apple(client, csrf, chain)
    assert answer.status_code == 303, answer.text
    client.cookies.clear()


def downloaded_pass(client, db, shop, member: int) -> dict:
    wallet_login(client, db, shop, member)
    answer = client.get(f"/w/{shop.slug}/card.pkpass")
    assert answer.status_code == 200, answer.text
    client.cookies.clear()
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        return dict(json.loads(archive.read("pass.json")))


def grant(db, shop, member: int, points: int, now) -> None:
    with db.transaction() as conn:
        adjustments.adjust(
            conn, shop.id, member, unit="points", amount=points, reason="t", actor="t", now=now
        )


def registration_path(card: dict, device: str) -> str:
    return (
        f"{SERVICE}/devices/{device}/registrations/"
        f"{card['passTypeIdentifier']}/{card['serialNumber']}"
    )


def auth(card: dict) -> dict[str, str]:
    return {"Authorization": f"ApplePass {card['authenticationToken']}"}
