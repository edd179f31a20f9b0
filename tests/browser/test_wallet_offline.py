"""The wallet is an installable web app whose card opens without a connection: after one visit
online, the service worker serves the card page offline, with the card number to say aloud."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import Response

from lealtad.web import sessions
from tests.browser.conftest import LiveServer
from tests.support import make_shop


def test_the_card_opens_offline_after_one_visit(live: LiveServer, browser) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=1)
    cookie = Response()
    sessions.start_member(cookie, live.settings, shop.id, shop.members[0], 1)
    value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": sessions.MEMBER_COOKIE, "value": value, "url": live.url}])
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{live.url}/w/{shop.slug}")
        number = page.locator("[data-card-number]").first.inner_text()
        # Once the worker is active and controls the page, a visit stores the card for later.
        page.wait_for_function(
            "navigator.serviceWorker.getRegistrations()"
            ".then(found => found.some(r => r.active !== null))"
        )
        page.reload()
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        page.reload()
        context.set_offline(True)
        page.reload()
        assert page.locator("[data-card-number]").first.inner_text() == number
        page.locator("[data-offline]").wait_for(state="visible")
        assert "say your card number" in page.locator("[data-offline]").inner_text()
    finally:
        context.close()
