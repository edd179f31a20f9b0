"""The wallet on a phone, in Chromium at 390 px: the coffee card's ten stamps sit in one row (or
two rows of five), the QR has a viewBox and sits centred in its card, and after one visit online
the card, the rewards and the history open offline, saying as of when, even the tabs the
member had not opened yet."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi.responses import Response

from lealtad.web import sessions
from tests.browser.conftest import LiveServer, until
from tests.support import make_shop, stamp_card_program

ROWS = """() => {
  const tops = [...document.querySelectorAll('.stamp-row li')].map(
    (li) => Math.round(li.getBoundingClientRect().top));
  const rights = [...document.querySelectorAll('.stamp-row li')].map(
    (li) => li.getBoundingClientRect().right);
  const rows = {};
  tops.forEach((top) => { rows[top] = (rows[top] || 0) + 1; });
  return {rows: Object.values(rows), widest: Math.max(...rights), width: innerWidth};
}"""
KEPT = """(paths) => caches.open('lealtad-wallet-pages-v1')
  .then((cache) => cache.keys())
  .then((keys) => paths.every((p) => keys.some((k) => new URL(k.url).pathname === p)))"""
QR = """() => {
  const svg = document.querySelector('[data-card-qr] svg');
  const box = svg.getBoundingClientRect();
  const card = document.querySelector('.card').getBoundingClientRect();
  return {viewBox: svg.getAttribute('viewBox'), width: svg.getAttribute('width'),
          left: box.left - card.left, right: card.right - box.right, size: box.width};
}"""


def test_a_phone_shows_ten_stamps_in_a_row_a_centred_qr_and_every_tab_offline(
    live: LiveServer, browser
) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=1, program=stamp_card_program())
    member = shop.members[0]
    with httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30) as api:
        for n in range(3):
            body = {"receipt_id": f"R-{n}", "amount": 450, "currency": "EUR", "member_id": member}
            assert api.post("/api/v1/purchases", json=body).status_code == 201
    cookie = Response()
    sessions.start_member(cookie, live.settings, shop.id, member, 1)
    value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    context = browser.new_context(locale="es-ES", viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": sessions.MEMBER_COOKIE, "value": value, "url": live.url}])
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        wallet = f"{live.url}/w/{shop.slug}"
        page.goto(wallet)
        stamps = page.evaluate(ROWS)
        assert stamps["rows"] in ([10], [5, 5]), stamps
        assert stamps["widest"] <= stamps["width"], stamps
        qr = page.evaluate(QR)
        assert qr["viewBox"], qr
        assert qr["width"] is None, qr
        assert abs(qr["left"] - qr["right"]) <= 2, qr
        assert qr["size"] >= 200, qr
        number = page.locator("[data-card-number]").first.inner_text()

        # Once the worker controls the card, it keeps it and fetches the rewards and history
        # tabs too: the member never opened them, and they open offline all the same.
        until(
            page,
            "navigator.serviceWorker.getRegistrations()"
            ".then(found => found.some(r => r.active !== null))",
        )
        page.reload()
        until(page, "navigator.serviceWorker.controller !== null")
        assert page.locator("[data-as-of]").is_hidden()
        until(page, KEPT, [f"/w/{shop.slug}/rewards", f"/w/{shop.slug}/history"])

        context.set_offline(True)
        for tab, heading in (("/history", "Tu historial"), ("/rewards", "Premios para ti")):
            page.goto(wallet + tab)
            page.get_by_role("heading", name=heading).wait_for()
            note = page.locator("[data-as-of]")
            note.wait_for(state="visible")
            assert note.inner_text().startswith("Sin conexión: así estaba tu tarjeta el ")
        page.goto(wallet)
        assert page.locator("[data-card-number]").first.inner_text() == number
        assert page.locator("[data-as-of]").is_visible()
        page.locator("[data-offline]").wait_for(state="visible")
        assert "número de tarjeta" in page.locator("[data-offline]").inner_text()
    finally:
        context.close()
