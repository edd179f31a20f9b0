"""Security headers: every kind of answer (public page, wallet, counter, admin console, JSON API,
errors, static files) carries the content security policy and the other headers; nothing but the
static files may be cached; HSTS and Secure cookies come with an https base URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.security.headers import CONTENT_SECURITY_POLICY
from lealtad.web import sessions
from tests.conftest import SECRET
from tests.support import PASSWORD, Shop, admin_login, make_shop, wallet_login

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _app(db: Database, clock: FixedClock, tmp_path: Path, base_url: str = "") -> TestClient:
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        base_url=base_url,
    )
    return TestClient(create_app(settings, db=db, clock=clock), base_url=base_url or "http://t")


@pytest.fixture
def web(sqlite_db: Database, clock: FixedClock, tmp_path: Path) -> Iterator[TestClient]:
    with _app(sqlite_db, clock, tmp_path) as client:
        yield client


@pytest.fixture
def one_shop(sqlite_db: Database, clock: FixedClock) -> Shop:
    return make_shop(sqlite_db, clock.now(), members_count=1)


def _check(answer, *, cacheable: bool = False) -> None:
    headers = answer.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, answer.url
    for name, value in COMMON.items():
        assert headers[name] == value, (answer.url, name)
    assert "camera=(self)" in headers["permissions-policy"]
    if cacheable:
        assert "no-store" not in headers.get("cache-control", "")
    else:
        assert headers["cache-control"] == "no-store", answer.url
    assert "strict-transport-security" not in headers  # plain http base URL


def test_the_policy_allows_only_own_scripts_and_forbids_framing_plugins_and_base_changes() -> None:
    parts = dict(p.split(" ", 1) for p in CONTENT_SECURITY_POLICY.split("; "))
    assert parts["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert parts["object-src"] == "'none'"
    assert parts["base-uri"] == "'none'"
    assert parts["frame-ancestors"] == "'none'"
    assert parts["form-action"] == "'self'"
    assert parts["connect-src"] == "'self'"
    assert parts["img-src"] == "'self' data:"


def test_public_pages_and_errors_carry_the_headers(web: TestClient, one_shop: Shop) -> None:
    for path in ("/", f"/join/{one_shop.slug}", f"/w/{one_shop.slug}/login", "/admin/login"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        _check(answer)
    _check(web.get("/no-such-page"))
    _check(web.get("/healthz"))


def test_the_wallet_its_service_worker_and_the_static_files(
    web: TestClient, sqlite_db: Database, one_shop: Shop
) -> None:
    wallet_login(web, sqlite_db, one_shop, one_shop.members[0])
    for path in (f"/w/{one_shop.slug}", f"/w/{one_shop.slug}/card", f"/w/{one_shop.slug}/me"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        _check(answer)
    worker = web.get(f"/w/{one_shop.slug}/sw.js")
    assert worker.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # The worker's own header wins: revalidated each time, so an update reaches members.
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == f"/w/{one_shop.slug}"
    _check(web.get("/static/vendor/htmx.min.js"), cacheable=True)


def test_the_counter_and_admin_pages_are_never_cached(web: TestClient, one_shop: Shop) -> None:
    admin_login(web, one_shop, role="manager")
    for path in ("/admin", "/admin/analytics", "/admin/members", "/counter", "/admin/audit"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        _check(answer)
    _check(web.get("/admin/members.csv"))


def test_api_answers_with_personal_data_are_never_cached(web: TestClient, one_shop: Shop) -> None:
    answer = web.get(f"/api/v1/members/{one_shop.members[0]}", headers=one_shop.auth())
    assert answer.status_code == 200
    _check(answer)
    _check(web.get("/api/v1/members", headers={"Authorization": "Bearer lk_wrong"}))
    _check(web.get("/openapi.json"))


def test_the_api_docs_pages_get_their_own_policy_for_the_swagger_and_redoc_bundles(
    web: TestClient,
) -> None:
    for path in ("/docs", "/redoc"):
        answer = web.get(path)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"


def test_session_cookies_are_httponly_samesite_lax_and_not_secure_over_plain_http(
    web: TestClient, one_shop: Shop
) -> None:
    form = {"business": one_shop.slug, "email": one_shop.staff_emails["manager"]}
    answer = web.post("/admin/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.STAFF_COOKIE}=")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags  # a plain-http install would otherwise never keep the cookie


def test_behind_https_cookies_are_secure_and_hsts_is_sent(
    sqlite_db: Database, clock: FixedClock, tmp_path: Path, one_shop: Shop
) -> None:
    with _app(sqlite_db, clock, tmp_path, base_url="https://loyal.example") as web:
        form = {"business": one_shop.slug, "email": one_shop.staff_emails["manager"]}
        answer = web.post(
            "/admin/login", data={**form, "password": PASSWORD}, follow_redirects=False
        )
        assert answer.status_code == 303
        flags = [part.strip().lower() for part in answer.headers["set-cookie"].split(";")]
        assert {"httponly", "samesite=lax", "secure"} <= set(flags)
        assert "max-age=31536000" in answer.headers["strict-transport-security"]
        member = web.get(f"/w/{one_shop.slug}/login")
        assert "strict-transport-security" in member.headers

        # The wallet's member cookie gets the same flags.
        from fastapi.responses import Response

        cookie = Response()
        sessions.start_member(cookie, web.app.state.settings, one_shop.id, 1, 1)  # type: ignore[attr-defined]
        flags = [part.strip().lower() for part in cookie.headers["set-cookie"].split(";")]
        assert {"httponly", "samesite=lax", "secure"} <= set(flags)
