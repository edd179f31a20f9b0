"""Regenerates docs/screenshots/: the join page and the wallet (phone), the counter screen and
the owner's home (tablet), the console and the guided set-up (desktop), in Spanish and English,
from the demo coffee shop in a throwaway database.

    uv run python scripts/screenshots.py [--out docs/screenshots]

Needs Chromium (Debian's `chromium`), as the browser tests do."""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi.responses import Response
from playwright.sync_api import Page, sync_playwright

from lealtad.analytics import refresh
from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.demo import PASSWORD, seed
from lealtad.security.fields import keys_for_settings
from lealtad.web import sessions

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 900}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _staff_login(page: Page, base: str, slug: str, email: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("#business", slug)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("form[action='/admin/login'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lealtad-shots-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        env="test",
        data_dir=work,
        secret_key=secrets.token_urlsafe(40),
        base_url=base,
        log_level="warning",
    )
    db = Database(f"sqlite:///{work / 'lealtad.db'}", keys=keys_for_settings(settings))
    upgrade(db)
    info = seed(db, datetime.now(UTC))
    with db.transaction() as conn:
        # The customers page shows the nightly scoring; run it once for the pictures.
        refresh.refresh(conn, info.business_id, datetime.now(UTC))
    member = info.member_ids[0]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db=db), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    cookie = Response()
    sessions.start_member(cookie, settings, info.business_id, member, 1)
    member_cookie = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            for lang, locale in (("es", "es-ES"), ("en", "en-GB")):
                phone = browser.new_context(locale=locale, viewport=PHONE)
                phone.add_cookies(
                    [{"name": sessions.MEMBER_COOKIE, "value": member_cookie, "url": base}]
                )
                page = phone.new_page()
                page.goto(f"{base}/join/{info.slug}?lang={lang}")
                page.screenshot(path=out / f"join-{lang}.png", full_page=True)
                page.goto(f"{base}/w/{info.slug}?lang={lang}")
                page.screenshot(path=out / f"wallet-{lang}.png", full_page=True)
                page.goto(f"{base}/w/{info.slug}/rewards?lang={lang}")
                page.screenshot(path=out / f"wallet-rewards-{lang}.png", full_page=True)
                phone.close()

                tablet = browser.new_context(locale=locale, viewport=TABLET)
                page = tablet.new_page()
                _staff_login(page, base, info.slug, "counter1@demo-cafe.example")
                page.goto(f"{base}/counter/members/{member}?lang={lang}")
                page.screenshot(path=out / f"counter-{lang}.png", full_page=True)
                tablet.close()
                tablet = browser.new_context(locale=locale, viewport=TABLET)
                page = tablet.new_page()
                _staff_login(page, base, info.slug, "owner@demo-cafe.example")
                page.goto(f"{base}/admin?lang={lang}")
                page.screenshot(path=out / f"admin-home-tablet-{lang}.png", full_page=True)
                tablet.close()

                desktop = browser.new_context(locale=locale, viewport=DESKTOP)
                page = desktop.new_page()
                _staff_login(page, base, info.slug, "owner@demo-cafe.example")
                for name, path in (
                    ("admin-home", "/admin"),
                    ("admin-program", "/admin/program"),
                    ("admin-products", "/admin/products"),
                    ("admin-member", f"/admin/members/{member}"),
                    ("admin-campaign-new", "/admin/campaigns/new"),
                    ("admin-messages", "/admin/messages"),
                    ("admin-analytics", "/admin/analytics"),
                    ("admin-customers", "/admin/customers"),
                    ("admin-poster", "/admin/poster"),
                ):
                    page.goto(f"{base}{path}?lang={lang}")
                    page.screenshot(path=out / f"{name}-{lang}.png", full_page=True)
                # The guided set-up's first two steps: the business, then the program's choice.
                page.goto(f"{base}/admin/setup/business?lang={lang}")
                page.screenshot(path=out / f"admin-setup-business-{lang}.png", full_page=True)
                page.locator("main form button[type=submit]").last.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=out / f"admin-setup-program-{lang}.png", full_page=True)
                desktop.close()
            browser.close()
    finally:
        server.should_exit = True
        db.dispose()
        shutil.rmtree(work, ignore_errors=True)
    for path in sorted(out.glob("*.png")):
        print(path)


if __name__ == "__main__":
    main()
