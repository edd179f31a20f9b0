"""In a real browser: the analytics page draws a chart for every figure from the data in the page,
each chart keeps its accessible name, and the page passes the accessibility audit."""

from __future__ import annotations

from datetime import UTC, datetime

from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.browser.conftest import LiveServer
from tests.browser.test_accessibility import _audit
from tests.support import PASSWORD, make_shop

DRAWN = """(id) => {
  const canvas = document.querySelector(`canvas[data-chart="${id}"]`);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


def test_the_analytics_page_draws_every_chart(live: LiveServer, page) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=2)
    with live.db.transaction() as conn:
        for n, member in enumerate([shop.members[0], None, shop.members[1]]):
            body = PurchaseIn(receipt_id=f"B{n}", amount=1500, currency="EUR", member_id=member)
            purchases.record(conn, shop.principal(), body, secret_key="s", now=now)
    page.goto(f"{live.url}/admin/analytics")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("heading", name="Analítica", level=1).wait_for()
    page.wait_for_function("window.lealtadCharts && Object.keys(window.lealtadCharts).length >= 9")
    drawn = page.evaluate("Object.keys(window.lealtadCharts)")
    assert {"enrolment", "members", "status", "tickets", "points", "retention"} <= set(drawn)
    page.wait_for_timeout(600)  # the charts' short entrance animation
    for chart in ("enrolment", "status", "retention"):
        assert page.evaluate(DRAWN, chart) > 500, f"{chart} has drawn nothing"
    enrolment = page.locator('canvas[data-chart="enrolment"]')
    assert "66,7" in (enrolment.get_attribute("aria-label") or "")
    # The figures behind a chart open from its summary
    page.locator("#chart-enrolment summary").click()
    assert page.locator("#chart-enrolment table").is_visible()
    assert _audit(page) == []
