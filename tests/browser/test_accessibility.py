"""Every screen passes an automated accessibility audit (axe-core, WCAG 2 A and AA rules) with
no serious or critical finding: labels, names, contrast, landmarks, valid ARIA. Each screen is
audited in Spanish; the wording differs in English, the structure does not. The guided set-up's
steps are audited as the owner walks them (test_setup_browser.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.kit.clock import FixedClock
from tests.browser.conftest import LiveServer
from tests.web.language_world import build
from tests.web.test_language_sweep import MID_SIGN_IN, NOW, _fill, page_routes

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
# Parts the wallet swaps into its own page every few seconds (htmx), audited within that page.
FRAGMENTS = {"/w/{slug}/balance", "/w/{slug}/card"}


def _audit(page: Any) -> list[str]:
    page.add_script_tag(content=AXE)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});
            return result.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.help + ' -> ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(' | '));
        }"""
    )
    return list(found)


def _contexts(browser: Any, live: LiveServer, business: Any) -> dict[str, Any]:
    """A browser context per reader: the member on a phone, staff at a desk, no one; each with
    the cookie the language sweep's world signed for them."""
    made = {
        "member": browser.new_context(locale="es-ES", viewport=PHONE, bypass_csp=True),
        "staff": browser.new_context(locale="es-ES", viewport=DESK, bypass_csp=True),
        "anyone": browser.new_context(locale="es-ES", viewport=PHONE, bypass_csp=True),
    }
    for reader, cookie in (("member", business.member_cookie), ("staff", business.staff_cookie)):
        name, _, value = cookie.partition("=")
        made[reader].add_cookies([{"name": name, "value": value, "url": live.url}])
    return made


def _reader(path: str) -> str:
    if path.startswith(("/admin", "/counter")) and not path.startswith("/admin/login"):
        return "staff"
    if path.startswith("/w/") and not path.endswith("/login"):
        return "member"
    return "anyone"


def test_every_page_of_the_three_surfaces_passes_an_accessibility_audit(
    live: LiveServer, browser
) -> None:
    """Every page route of the wallet, the counter and the console (read from the app, as the
    language sweep reads them, so a new page is audited without being named here), filled with
    a furnished demo business's real ids, in Spanish; the wallet on a phone, the rest on a
    desk. The pages only reachable mid-sign-in are read with that half-done sign-in."""
    app = create_app(live.settings, db=live.db, clock=FixedClock(NOW))
    with TestClient(app) as client:
        business = build(client, live.db, live.settings, FixedClock(NOW), "coffee-stamps")
    routes = [*(r for r in page_routes(app) if r not in FRAGMENTS), f"/join/{business.slug}-x"]
    contexts = _contexts(browser, live, business)
    problems: dict[str, list[str]] = {}
    try:
        pages = {reader: context.new_page() for reader, context in contexts.items()}
        for route in routes:
            path = _fill(route, business.values) if "{" in route else route
            if path in MID_SIGN_IN:
                continue
            page = pages[_reader(path)]
            page.goto(f"{live.url}{path}?lang=es")
            problems[path] = _audit(page)
        for path, cookie in business.pending_cookies.items():
            context = browser.new_context(locale="es-ES", viewport=DESK, bypass_csp=True)
            name, _, value = cookie.partition("=")
            context.add_cookies([{"name": name, "value": value, "url": live.url}])
            page = context.new_page()
            page.goto(f"{live.url}{path}?lang=es")
            problems[path] = _audit(page)
            context.close()
    finally:
        for context in contexts.values():
            context.close()
    print(f"{len(problems)} pages audited")
    assert len(problems) > 40, "too few pages audited: is the route table read?"
    failing = {path: found for path, found in problems.items() if found}
    assert failing == {}, "accessibility problems:\n" + "\n".join(
        f"{path}: {item}" for path, found in failing.items() for item in found
    )


def test_the_audit_does_find_a_missing_label(browser) -> None:
    # The control: a form field without a label must be reported, or the audit proves nothing.
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.set_content('<html lang="en"><title>x</title><main><input type="text"></main></html>')
        assert any(item.startswith("label:") for item in _audit(page))
    finally:
        context.close()
