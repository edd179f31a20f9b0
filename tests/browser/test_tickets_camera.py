"""The wallet's camera reads a printed receipt: Chromium's fake camera plays a video of the
receipt's QR (made with segno) and the wallet's own scanner (BarcodeDetector where the browser
has it, else the vendored jsQR) reads it and sends the claim, with no typing."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import segno
from PIL import Image

from lealtad.tickets import model
from tests.browser.conftest import CHROMIUM_FLAGS, LiveServer, _chromium
from tests.browser.test_tickets_browser import _member_page
from tests.support import make_shop

WIDTH, HEIGHT = 640, 480


def camera_video(text: str, path: Path, scale: int = 5) -> Path:
    """A few frames of a QR on white, as the Y4M (4:2:0) video Chromium's fake camera plays."""
    drawn = io.BytesIO()
    segno.make(text, error="m", micro=False).save(drawn, kind="png", scale=scale, border=4)
    code = Image.open(io.BytesIO(drawn.getvalue())).convert("L")
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return path


def test_the_wallet_camera_reads_a_printed_receipt_and_claims_it(
    live: LiveServer, browser: Any, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=1)
    api = httpx.Client(base_url=live.url, headers=shop.auth("owner"), timeout=30)
    key = api.post(f"/api/v1/locations/{shop.locations[0]}/ticket-keys").json()
    code = model.sign(
        base64.urlsafe_b64decode(key["secret"] + "="),
        key_id=key["key_id"],
        location_id=shop.locations[0],
        receipt_id="CAM-1",
        amount=990,
        currency="EUR",
        issued_at=now,
    )
    video = camera_video(f"{live.url}/w/{shop.slug}/tickets?t={code}", tmp_path / "qr.y4m")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    # A second Chromium of the session's Playwright, started with a camera that plays the video.
    camera: Any = browser.browser_type.launch(
        executable_path=_chromium(), headless=True, args=flags
    )
    try:
        wallet = _member_page(live, camera, shop, shop.members[0])
        wallet.context.grant_permissions(["camera"], origin=live.url)
        wallet.goto(f"{live.url}/w/{shop.slug}/tickets")
        wallet.get_by_role("button", name="Escanear con la cámara").click()
        said = wallet.locator('[data-outcome="accepted"]')
        said.wait_for()
        assert "has ganado 9 puntos" in said.inner_text()
    finally:
        camera.close()
    assert api.get(f"/api/v1/members/{shop.members[0]}").json()["balances"]["points"] == 9
