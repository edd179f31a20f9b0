"""Every screen passes an automated accessibility audit (axe-core, WCAG 2 A and AA rules) with
no serious or critical finding: labels, names, contrast, landmarks, valid ARIA. Each screen is
audited in Spanish; the wording differs in English, the structure does not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi.responses import Response

from lealtad.web import sessions
from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()


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


def test_the_member_staff_and_admin_screens_pass_an_accessibility_audit(
    live: LiveServer, browser
) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=1)
    member = shop.members[0]
    api = httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30)
    reward = {"slug": "mug", "kind": "free_product", "sku": "MUG", "cost": 5}
    reward["title"] = {"es": "Taza", "en": "Mug"}
    assert api.post("/api/v1/rewards", json=reward).status_code == 201
    cookie = Response()
    sessions.start_member(cookie, live.settings, shop.id, member, 1)
    value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]

    # bypass_csp: axe is injected as an inline script (the policy is tested on its own).
    phone = browser.new_context(
        locale="es-ES", viewport={"width": 390, "height": 844}, bypass_csp=True
    )
    desk = browser.new_context(
        locale="es-ES", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    problems: dict[str, list[str]] = {}
    try:
        page = phone.new_page()
        for path in (f"/join/{shop.slug}", f"/w/{shop.slug}/login"):
            page.goto(live.url + path)
            problems[path] = _audit(page)
        phone.add_cookies([{"name": sessions.MEMBER_COOKIE, "value": value, "url": live.url}])
        for path in (
            f"/w/{shop.slug}",
            f"/w/{shop.slug}/rewards",
            f"/w/{shop.slug}/history",
            f"/w/{shop.slug}/me",
        ):
            page.goto(live.url + path)
            problems[path] = _audit(page)

        page = desk.new_page()
        page.goto(f"{live.url}/admin/login")
        problems["/admin/login"] = _audit(page)
        page.fill("#business", shop.slug)
        page.fill("#email", shop.staff_emails["owner"])
        page.fill("#password", PASSWORD)
        page.locator("form[action='/admin/login'] button[type=submit]").click()
        page.wait_for_url(f"{live.url}/admin")
        for path in (
            "/admin",
            "/admin/members",
            f"/admin/members/{member}",
            "/admin/program",
            "/admin/program/changes",
            "/admin/rewards",
            "/admin/messages",
            "/admin/messages/preview",
            "/admin/campaigns",
            "/admin/campaigns/new",
            "/admin/surveys",
            "/admin/surveys/new",
            "/admin/settings",
            "/admin/audit",
            "/admin/two-step",
            "/admin/analytics",
            "/admin/customers",
            "/admin/experiments",
            "/admin/reports",
            "/counter",
            f"/counter/members/{member}",
        ):
            page.goto(live.url + path)
            problems[path] = _audit(page)
    finally:
        phone.close()
        desk.close()
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
