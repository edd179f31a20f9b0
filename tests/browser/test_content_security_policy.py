"""In a real browser under the content security policy: the wallet (with its service worker), the
counter (htmx finding a member) and the analytics page (Chart.js drawing) work, and the browser
reports no policy violation and no console error on any of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.responses import Response

from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.web import sessions
from tests.browser.conftest import LiveServer, until
from tests.support import PASSWORD, make_shop

# Reported through the console so that a violation during any page of the visit is kept.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def _error(message: Any) -> bool:
    # Chromium's own /favicon.ico probe (the pages name their icons) is not a page's error.
    probe = message.location.get("url", "").endswith("/favicon.ico")
    return bool(message.type == "error" and not probe)


def _said(message: Any) -> str:
    return f"{message.text} at {message.location.get('url', '?')} on {message.page.url}"


def test_wallet_counter_and_charts_work_under_the_policy_with_no_violation(
    live: LiveServer, browser: Any
) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=2)
    with live.db.transaction() as conn:
        for n, member in enumerate([shop.members[0], None, shop.members[1]]):
            body = PurchaseIn(receipt_id=f"C{n}", amount=1500, currency="EUR", member_id=member)
            purchases.record(conn, shop.principal(), body, secret_key="s", now=now)
    token = httpx.get(f"{live.url}/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()[
        "qr_token"
    ]
    cookie = Response()
    sessions.start_member(cookie, live.settings, shop.id, shop.members[0], 1)
    value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]

    context = browser.new_context(locale="es-ES")
    context.add_init_script(REPORT_VIOLATIONS)
    context.add_cookies([{"name": sessions.MEMBER_COOKIE, "value": value, "url": live.url}])
    problems: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        # A first page of a fresh server on a loaded machine (a CI run beside other work) has
        # taken over 20 s to load; what this test checks is the policy, not the speed.
        page.set_default_navigation_timeout(60_000)
        page.on("console", lambda m: problems.append(_said(m)) if _error(m) else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

        # The wallet, and its service worker registered under worker-src 'self'.
        answer = page.goto(f"{live.url}/w/{shop.slug}")
        assert answer is not None
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        page.locator("[data-card-number]").first.wait_for()
        until(
            page,
            "navigator.serviceWorker.getRegistrations()"
            ".then(found => found.some(r => r.active !== null))",
        )

        # The counter: htmx posts the scan and swaps the member in.
        page.goto(f"{live.url}/admin/login")
        page.get_by_label("Negocio").fill(shop.slug)
        page.get_by_label("Correo").fill(shop.staff_emails["manager"])
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Entrar").click()
        page.wait_for_url(f"{live.url}/admin")
        page.goto(f"{live.url}/counter")
        page.evaluate("window.stillTheSamePage = true")
        scan = page.get_by_label(
            "Escanea la tarjeta o escribe un número de tarjeta, correo o teléfono"
        )
        scan.fill(token)
        scan.press("Enter")
        page.get_by_role("heading", name="Member 0").wait_for()
        assert page.evaluate("window.stillTheSamePage") is True  # htmx ran, no reload

        # The analytics page: Chart.js draws its charts.
        page.goto(f"{live.url}/admin/analytics")
        until(page, "window.lealtadCharts && Object.keys(window.lealtadCharts).length >= 9")
        page.wait_for_timeout(600)  # let late errors (animation frames, workers) arrive
    finally:
        context.close()
    assert problems == []
