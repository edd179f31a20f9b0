"""What the ticket tests share: a location's signing key, receipt codes and VERI*FACTU invoice
addresses printed as real QR images (segno) and read back with a real decoder (zxing-cpp)."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import segno
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from lealtad.tickets import model
from tests.support import Shop

# The AEAT's QR address, as "Características del QR y especificaciones del servicio de cotejo o
# remisión de información por parte del receptor de la factura" v0.5.0 documents it: four
# parameters, UTF-8 and percent-encoded, fecha dd-mm-yyyy, importe with a decimal point.
VERIFACTU_URL = "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR"
TAX_ID = "B12345674"


def scanned(text: str) -> str:
    """Prints `text` as a QR image and reads it back as the camera would."""
    png = io.BytesIO()
    segno.make(text, error="m", micro=False).save(png, kind="png", scale=4, border=4)
    # A camera app reads QR codes only; reading every format, zxing now and then also found a
    # one-dimensional barcode in the QR's modules (seen once in CI).
    image = Image.open(io.BytesIO(png.getvalue()))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    return str(found[0].text)


def make_key(client: TestClient, shop: Shop, location: int | None = None) -> dict[str, Any]:
    where = location or shop.locations[0]
    made = client.post(f"/api/v1/locations/{where}/ticket-keys", headers=shop.auth("owner"))
    assert made.status_code == 201, made.text
    return dict(made.json())


def receipt(
    key: dict[str, Any],
    receipt_id: str,
    amount: int,
    issued_at: datetime,
    *,
    location: int | None = None,
    currency: str = "EUR",
) -> str:
    secret = base64.urlsafe_b64decode(key["secret"] + "=" * (-len(key["secret"]) % 4))
    return model.sign(
        secret,
        key_id=key["key_id"],
        location_id=location or key["location_id"],
        receipt_id=receipt_id,
        amount=amount,
        currency=currency,
        issued_at=issued_at,
    )


def invoice(nif: str, numserie: str, day: datetime, importe: str) -> str:
    query = {"nif": nif, "numserie": numserie, "fecha": day.strftime("%d-%m-%Y")}
    return f"{VERIFACTU_URL}?{urlencode(query | {'importe': importe})}"


def set_rules(client: TestClient, shop: Shop, **rules: Any) -> None:
    body = {"tax_id": TAX_ID, "max_age_days": 7, "member_daily_claims": 3} | rules
    saved = client.put("/api/v1/ticket-settings", json=body, headers=shop.auth("owner"))
    assert saved.status_code == 200, saved.text


def euros(value: str) -> Decimal:
    return Decimal(value)
