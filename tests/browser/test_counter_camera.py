"""The counter's camera reads a member's card: Chromium's fake camera plays a video of the card's
QR and the counter's scanner (qr-camera.js, shared with the wallet's ticket scanner) fills the
scan box and finds the member, with no typing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lealtad.members.tables import members
from tests.browser.conftest import CHROMIUM_FLAGS, LiveServer, _chromium
from tests.browser.test_tickets_camera import camera_video
from tests.support import PASSWORD, make_shop


def test_the_counter_camera_reads_a_card_and_finds_the_member(
    live: LiveServer, browser: Any, tmp_path: Path
) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=1)
    with live.db.read() as conn:
        card = conn.execute(
            select(members.c.card_number).where(members.c.id == shop.members[0])
        ).scalar_one()
    video = camera_video(card, tmp_path / "card.y4m", scale=8)
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    camera: Any = browser.browser_type.launch(
        executable_path=_chromium(), headless=True, args=flags
    )
    try:
        context = camera.new_context(locale="es-ES", bypass_csp=True)
        context.grant_permissions(["camera"], origin=live.url)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live.url}/admin/login")
        page.get_by_label("Negocio").fill(shop.slug)
        page.get_by_label("Correo").fill(shop.staff_emails["staff"])
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Entrar").click()
        page.wait_for_url(f"{live.url}/**")
        page.goto(f"{live.url}/counter")
        page.get_by_role("button", name="Cámara").click()
        page.get_by_text("Member 0").first.wait_for()
        assert page.locator("#camera-box").is_hidden(), "the camera closes once it has read"
    finally:
        camera.close()
