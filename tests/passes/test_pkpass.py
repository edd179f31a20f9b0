"""A member's Apple Wallet pass, through the pages: the owner uploads a certificate chain made in
the test (a local CA standing in for Apple's WWDR), the wallet offers the pass, and the
downloaded `.pkpass` holds a store card whose manifest digests every file and whose detached
PKCS#7 signature openssl verifies against that CA. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from lealtad.ledger import adjustments
from lealtad.members import model as members_model
from lealtad.passes.tables import pass_credentials
from lealtad.tenancy.tables import audit_log
from tests.passes.chain import PASS_TYPE_ID, TEAM_ID, make_chain, upload_apple
from tests.support import admin_login, wallet_login

CHAIN = make_chain()


def _grant(db, shop, member: int, points: int, clock) -> None:
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=points,
            reason="t",
            actor="t",
            now=clock.now(),
        )


def _owner_uploads(client, shop) -> None:
    csrf = admin_login(client, shop, "owner")
    answer = upload_apple(client, csrf, CHAIN)
    assert answer.status_code == 303, answer.text
    client.cookies.clear()


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_without_credentials_the_wallet_offers_no_pass_and_none_is_made(client, db, shop):
    wallet_login(client, db, shop, shop.members[0])
    page = client.get(f"/w/{shop.slug}?lang=en")
    assert page.status_code == 200
    assert "Add to Apple Wallet" not in page.text
    assert "card.pkpass" not in page.text
    answer = client.get(f"/w/{shop.slug}/card.pkpass", headers={"Accept": "text/html"})
    assert answer.status_code == 404
    assert "application/vnd.apple.pkpass" not in answer.headers["content-type"]


def test_the_pass_is_a_signed_store_card_with_every_file_digested(
    client, db, shop, clock, settings, tmp_path: Path
):
    _owner_uploads(client, shop)
    member = shop.members[0]
    _grant(db, shop, member, 120, clock)
    wallet_login(client, db, shop, member)
    page = client.get(f"/w/{shop.slug}?lang=en")
    assert "Add to Apple Wallet" in page.text
    assert client.get(f"/w/{shop.slug}?lang=es").text.count("Añadir a Apple Wallet") == 1

    answer = client.get(f"/w/{shop.slug}/card.pkpass")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.apple.pkpass"
    files = _unzip(answer.content)
    assert {
        "pass.json",
        "manifest.json",
        "signature",
        "icon.png",
        "icon@2x.png",
        "logo.png",
    } <= set(files)

    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name

    card = json.loads(files["pass.json"])
    assert card["formatVersion"] == 1
    assert card["passTypeIdentifier"] == PASS_TYPE_ID
    assert card["teamIdentifier"] == TEAM_ID
    assert card["organizationName"].startswith("Test café")
    assert len(card["authenticationToken"]) >= 16
    assert card["webServiceURL"].endswith("/passes/apple")
    assert card["backgroundColor"].startswith("rgb(")
    primary = card["storeCard"]["primaryFields"][0]
    assert primary["key"] == "balance"
    assert "120" in primary["value"]
    # The printed card's code: the counter reads it as any card QR.
    (barcode,) = card["barcodes"]
    assert barcode["format"] == "PKBarcodeFormatQR"
    found = members_model.read_qr_token(settings.effective_secret_key, barcode["message"])
    assert found is not None
    assert found[:2] == (shop.id, member)
    icon = Image.open(io.BytesIO(files["icon@2x.png"]))
    assert icon.size == (58, 58)

    for name in ("manifest.json", "signature"):
        (tmp_path / name).write_bytes(files[name])
    (tmp_path / "ca.pem").write_bytes(CHAIN.root_pem)
    verified = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signature"),
            "-content",
            str(tmp_path / "manifest.json"),
            "-CAfile",
            str(tmp_path / "ca.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr

    # A manifest changed after signing no longer verifies.
    (tmp_path / "manifest.json").write_bytes(files["manifest.json"].replace(b"{", b"{ ", 1))
    tampered = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signature"),
            "-content",
            str(tmp_path / "manifest.json"),
            "-CAfile",
            str(tmp_path / "ca.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tampered.returncode != 0


def test_a_pkcs12_export_with_its_password_is_accepted_and_the_key_kept_sealed(client, db, shop):
    csrf = admin_login(client, shop, "owner")
    answer = upload_apple(client, csrf, CHAIN, p12_password="s3cret-p12")
    assert answer.status_code == 303, answer.text
    page = client.get("/admin/settings/wallet-passes?lang=en")
    assert TEAM_ID in page.text
    assert PASS_TYPE_ID in page.text
    with db.engine.connect() as raw:
        stored = raw.exec_driver_sql(
            f"SELECT apple_private_key FROM pass_credentials WHERE business_id = {shop.id}"
        ).scalar_one()
    assert "PRIVATE KEY" not in stored
    with db.read() as conn:
        row = conn.execute(
            select(pass_credentials).where(pass_credentials.c.business_id == shop.id)
        ).one()
        assert "PRIVATE KEY" in row.apple_private_key
        assert conn.execute(
            select(audit_log.c.action).where(
                audit_log.c.business_id == shop.id, audit_log.c.action == "passes.apple_set"
            )
        ).first()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"team_id": "nope"}, "El Team ID son diez letras y cifras"),
        ({"pass_type_id": "com.example"}, "El Pass Type ID empieza por pass."),
        ({"p12_password": "wrong"}, "La contraseña no abre el certificado"),
    ],
)
def test_a_wrong_upload_is_refused_in_words_and_nothing_is_kept(client, db, shop, change, expected):
    csrf = admin_login(client, shop, "owner")
    if "p12_password" in change:
        # A .p12 made with one password, opened with another.
        import tests.passes.chain as chain_module

        class Other(chain_module.Chain):
            def p12(self, password: str) -> bytes:
                return CHAIN.p12("the-right-one")

        other = Other(**{f: getattr(CHAIN, f) for f in CHAIN.__dataclass_fields__})
        answer = upload_apple(client, csrf, other, p12_password="wrong")
    else:
        answer = upload_apple(client, csrf, CHAIN, **change)
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert expected in answer.text
    with db.read() as conn:
        assert (
            conn.execute(
                select(pass_credentials).where(pass_credentials.c.business_id == shop.id)
            ).first()
            is None
        )


def test_a_key_of_another_certificate_is_refused_in_words(client, db, shop):
    csrf = admin_login(client, shop, "owner")
    stranger = make_chain()
    answer = client.post(
        "/admin/settings/wallet-passes/apple",
        data={"csrf": csrf, "team_id": TEAM_ID, "pass_type_id": PASS_TYPE_ID},
        files={
            "certificate": ("pass.pem", io.BytesIO(CHAIN.pass_pem)),
            "private_key": ("pass.key", io.BytesIO(stranger.key_pem)),
            "wwdr": ("wwdr.cer", io.BytesIO(CHAIN.wwdr_der)),
        },
    )
    assert answer.status_code == 422
    assert "La clave privada no corresponde a ese certificado." in answer.text
    with db.read() as conn:
        assert (
            conn.execute(
                select(pass_credentials).where(pass_credentials.c.business_id == shop.id)
            ).first()
            is None
        )


def test_only_the_owner_sees_the_upload_page(client, db, shop):
    admin_login(client, shop, "manager")
    assert client.get("/admin/settings/wallet-passes").status_code == 403


def test_removing_the_credentials_hides_the_button(client, db, shop):
    _owner_uploads(client, shop)
    csrf = admin_login(client, shop, "owner")
    answer = client.post(
        "/admin/settings/wallet-passes/apple/remove", data={"csrf": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303
    client.cookies.clear()
    wallet_login(client, db, shop, shop.members[0])
    assert "card.pkpass" not in client.get(f"/w/{shop.slug}?lang=en").text
    assert client.get(f"/w/{shop.slug}/card.pkpass").status_code == 404
