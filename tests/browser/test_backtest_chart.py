"""In a real browser, under the pages' content security policy: a manager runs the back-test of
the value models from /admin/customers on the CDNOW sample (the method's own data set, see
tests/analytics/test_models_published.py), and the page draws the tracking chart of cumulative
repeat visits, actual against the models, from the data it carries.

With LEALTAD_SCREENSHOT_DIR set, the page is also saved there as customers-backtest.png (the
picture in docs/screenshots/ comes from this test)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lealtad.kit.clock import FixedClock
from tests.analytics.test_models_published import import_cdnow
from tests.browser.conftest import LiveServer, until
from tests.browser.test_accessibility import _audit
from tests.support import PASSWORD

PAINTED = """() => {
  const canvas = document.getElementById("chart-tracking");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


def test_the_backtest_runs_from_the_customers_page_and_draws_the_tracking_chart(
    live: LiveServer, browser: Any
) -> None:
    shop = import_cdnow(
        live.db, FixedClock(datetime(2026, 3, 2, 10, 30, tzinfo=UTC)), with_staff=True
    )
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    try:
        page.goto(f"{live.url}/admin/login?lang=en")
        page.fill("#business", shop.slug)
        page.fill("#email", shop.staff_emails["manager"])
        page.fill("#password", PASSWORD)
        page.locator("form[action='/admin/login'] button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        page.goto(f"{live.url}/admin/customers?lang=en")
        page.fill("input[name=calibration_end]", "1997-09-30")
        page.fill("input[name=holdout_end]", "1998-06-30")
        page.get_by_role("button", name="Run the back-test").click()
        page.get_by_text("The back-test has been run.").wait_for()
        until(page, "() => !!(window.lealtadCharts && window.lealtadCharts.tracking)")
        lines = page.evaluate(
            "() => window.lealtadCharts.tracking.data.datasets.map(d => d.data.length)"
        )
        assert lines == [78, 78, 78]  # 39 calibration and 39 holdout weeks, three lines
        assert page.evaluate(PAINTED) > 2000
        assert page.locator("[data-total=actual] td").inner_text() == "1,882"
        assert refused == []
        folder = os.environ.get("LEALTAD_SCREENSHOT_DIR")
        if folder:
            page.screenshot(path=str(Path(folder) / "customers-backtest.png"), full_page=True)
        # The accessibility audit injects its script, which the policy refuses: a second
        # context with the same session, the policy bypassed.
        audited = browser.new_context(locale="en-GB", bypass_csp=True)
        audited.add_cookies(context.cookies())
        other = audited.new_page()
        other.goto(f"{live.url}/admin/customers?lang=en")
        assert _audit(other) == []
        audited.close()
    finally:
        context.close()
