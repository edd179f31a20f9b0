"""Every page of the console, the counter and the wallet, and every e-mail, in Spanish and in
English, for a lived-in business of each template: no sentence of the other language, no catalog
message left untranslated, no id, slug, dotted key, JSON path or Python value, and numbers in the
page's language (tests/web/language_checks.py says how each is told).

The pages are the app's own GET page routes (those left out of the OpenAPI schema), so a page
added later is swept without touching this file; each page's links to other pages with a query
(the program editor's parts, a message's preview, a filter) are followed once per kind of link."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from lealtad.analytics import report_text, reports
from lealtad.api import create_app
from lealtad.comms import messages as outbox_messages
from lealtad.comms import preview
from lealtad.comms.render import render
from lealtad.comms.tables import messages
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.kit.clock import FixedClock
from lealtad.members import store as member_store
from lealtad.rules.templates import TEMPLATES
from lealtad.tenancy import store as tenancy_store
from tests.conftest import KEYS, SECRET
from tests.pg import PostgresServer
from tests.security.routes import PATH_PARAM, api_operations
from tests.web.language_checks import Sweep, plain_texts, visible_texts
from tests.web.language_world import Business, build

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
LANGUAGES = ("es", "en")
# Routes that are not a page a person reads, each with its reason.
NOT_PAGES = {
    "/metrics": "operators' metrics, not a page",
    "/healthz": "a health probe",
    "/readyz": "a readiness probe",
    # Only sends the owner to the step they are at; the steps are read as the owner walks them
    # (tests/web/test_language_setup.py), since a step ahead of the owner sends them back.
    "/admin/setup": "a redirect to the set-up's current step",
    # Wallet passes (passes/): a file for Apple Wallet, a redirect to Google's save page, and
    # Apple's pass web service, which devices call (tests/passes).
    "/w/{slug}/card.pkpass": "an Apple Wallet pass file",
    "/w/{slug}/google-wallet": "a redirect to Google Wallet",
    "/passes/apple/v1/devices/{device}/registrations/{pass_type}": "Apple's pass web service",
    "/passes/apple/v1/passes/{pass_type}/{serial}": "Apple's pass web service",
}
# The guided set-up's steps, read step by step in tests/web/test_language_setup.py.
SET_UP_STEPS = "/admin/setup/"
# The business's logo: an image.
LOGO = re.compile(r"^/b/[^/]+/logo")
# Downloads: a file, an image or a script, not a page (their texts come from the same helpers).
DOWNLOAD = re.compile(r"\.(csv|json|pdf|png|js|webmanifest)$")
# Pages that only open in the middle of a sign-in (the password was right, the second step is
# due): read with that half-done sign-in. Every other page is read as its surface's person
# (staff, the member, or no one); a page that sends that person elsewhere is a failure, since
# the sweep would not have read it.
MID_SIGN_IN = {"/admin/login/code", "/admin/login/setup"}
MOST_FOLLOWED_LINKS = 80


def page_routes(app: Any) -> list[str]:
    return sorted(
        {
            op.path
            for op in api_operations(app)
            if op.method == "GET"
            and not op.path.startswith("/api/")
            and not op.route.include_in_schema
            and op.path not in NOT_PAGES
            and not op.path.startswith(SET_UP_STEPS)
            and not LOGO.match(op.path)
            and not DOWNLOAD.search(op.path)
        }
    )


class Visitor:
    def __init__(self, client: TestClient, business: Business, routes: list[str]) -> None:
        self.client = client
        self.business = business
        self.routes = [(r, re.compile("^" + PATH_PARAM.sub("[^/]+", r) + "$")) for r in routes]
        self.sweep = Sweep(own_words=business.own_words, ids=business.ids)
        # (language, route, query shape) of the links followed.
        self.seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        self.visited: list[str] = []
        self.problems: list[str] = []

    def _headers(self, path: str) -> dict[str, str]:
        b = self.business
        if path in MID_SIGN_IN:
            return {"Cookie": b.pending_cookies[path]}
        if path.startswith(("/admin", "/counter")) and not path.startswith("/admin/login"):
            return {"Cookie": b.staff_cookie}
        if path.startswith("/w/") and not path.endswith("/login"):
            return {"Cookie": b.member_cookie}
        return {}

    def route_of(self, path: str) -> str | None:
        return next((r for r, pattern in self.routes if pattern.match(path)), None)

    def visit(self, url: str, lang: str, *, follow: bool) -> None:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "lang"]
        address = f"{parts.path}?{urlencode([*query, ('lang', lang)])}"
        self.client.cookies.clear()
        headers = self._headers(parts.path) | {"Accept-Language": lang}
        answer = self.client.get(address, headers=headers, follow_redirects=False)
        where = f"{self.business.template} {address}"
        self.visited.append(address)
        if answer.status_code >= 500 or answer.status_code in (301, 302, 303, 307, 404):
            self.problems.append(f"{where}: status {answer.status_code}")
            return
        self.sweep.check(where, lang, visible_texts(answer.text))
        if follow:
            self._follow(answer.text, lang)

    def _follow(self, html: str, lang: str) -> None:
        """Links to pages with a query, once per route and set of query names and words
        (numbers and ids count as one): a filter, a part of the editor, a message's preview."""
        for href in re.findall(r'href="(/[^"#]*)"', html):
            href = href.replace("&amp;", "&")
            parts = urlsplit(href)
            route = self.route_of(parts.path)
            if route is None or not parts.query or DOWNLOAD.search(parts.path):
                continue
            shape = tuple(
                sorted(
                    (k, v if v.isalpha() else "*") for k, v in parse_qsl(parts.query) if k != "lang"
                )
            )
            followed = sum(1 for seen in self.seen if seen[0] == lang)
            if (lang, route, shape) in self.seen or followed >= MOST_FOLLOWED_LINKS:
                continue
            self.seen.add((lang, route, shape))
            self.visit(href, lang, follow=False)


def _counter_answers(visitor: Visitor) -> int:
    """What the counter answers to the day's work, which is no GET page: a sale from the product
    buttons (what it earned, a full card), the redemption question, a voucher used."""
    b, client = visitor.business, visitor.client
    member = f"/counter/members/{b.member_id}"
    csrf = f"sweep-{b.id}"
    answers = 0
    for lang in LANGUAGES:
        client.cookies.clear()
        headers = {"Cookie": b.staff_cookie, "Accept-Language": lang}
        page = client.get(f"{member}?lang={lang}", headers=headers).text
        products = re.findall(r'name="product" value="(\d+)"', page)
        key = re.search(r'name="key" value="([^"]+)"', page)
        sale = {"csrf": csrf, "lang": lang, "key": key.group(1) if key else f"sweep-{lang}"}
        # Enough of the first product to fill a card; no buttons: an amount as typed.
        sale |= {"product": products, "count": ["11"] + ["0"] * (len(products) - 1)}
        sale |= {} if products else {"amount": "250"}
        # The redemption form's own key (a form key is issued with the page).
        reward = re.search(
            r'name="key" value="([^"]+)">\s*<input type="hidden" name="reward_id" value="(\d+)"',
            page[page.find('id="redeem-h"') :],
        )
        posts = [(f"{member}/purchases", sale)]
        if reward:
            asked = {
                "reward_id": reward.group(2),
                "key": reward.group(1),
                "csrf": csrf,
                "lang": lang,
            }
            posts.append((f"{member}/redemptions", asked))
        code = b.values["code"] if lang == "en" else "NOPE-NOPE"
        posts.append(("/counter/vouchers/validate", {"code": code, "csrf": csrf, "lang": lang}))
        for path, form in posts:
            client.cookies.clear()
            answer = client.post(path, data=form, headers=headers)
            where = f"{b.template} POST {path} [{lang}]"
            if answer.status_code >= 500:
                visitor.problems.append(f"{where}: status {answer.status_code}")
                continue
            visitor.sweep.check(where, lang, visible_texts(answer.text))
            answers += 1
    return answers


def _fill(route: str, values: dict[str, Any]) -> str:
    return PATH_PARAM.sub(lambda m: str(values[m.group(1)]), route)


def _emails(db: Database, settings: Settings, business: Business, sweep: Sweep) -> int:
    """Every e-mail template through the console's preview (the member's real figures), every
    message the business actually queued rendered as the sender renders it, in both languages,
    and the owner's report e-mail."""
    count = 0
    base = settings.public_base_url
    with db.read() as conn:
        shop = tenancy_store.business(conn, business.id)
        member = member_store.member(conn, business.id, business.member_id)
        for template in preview.templates():
            for lang in LANGUAGES:
                mail = preview.preview(conn, shop, member, template, lang, NOW, base)
                _check_mail(sweep, f"{business.template} e-mail {template} (preview)", lang, mail)
                count += 1
        queued = conn.execute(messages.select().where(messages.c.business_id == business.id)).all()
        one_of_each = {row.template: row for row in queued if row.channel == "email"}
        for template, row in sorted(one_of_each.items()):
            owner = member_store.member(conn, business.id, row.member_id)
            for lang in LANGUAGES:
                as_sent = SimpleNamespace(**(row._asdict() | {"locale": lang}))
                context = outbox_messages._context(conn, as_sent, owner, shop, NOW)
                context["wallet_url"] = f"{base}/w/{shop.slug}"
                mail = render(template, lang, context, f"{base}/u/x")
                _check_mail(sweep, f"{business.template} e-mail {template} (queued)", lang, mail)
                count += 1
        for period in ("day", "week", "month"):
            summary = reports.latest(conn, business.id, period, NOW)
            for lang in LANGUAGES:
                mail = report_text.email(summary, lang)
                _check_mail(sweep, f"{business.template} report e-mail {period}", lang, mail)
                count += 1
    return count


def _check_mail(sweep: Sweep, where: str, lang: str, mail: Any) -> None:
    sweep.check(f"{where} subject", lang, [(mail.subject, None)])
    sweep.check(f"{where} text", lang, plain_texts(mail.text))
    sweep.check(f"{where} html", lang, visible_texts(mail.html))


@pytest.fixture(scope="module")
def sweep_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path_factory.mktemp("sweep-data"),
        log_level="warning",
        # A mail server that is not there: queued messages fail and the log shows why.
        smtp_host="127.0.0.1",
        smtp_port=9,
        smtp_security="none",
    )


@pytest.fixture(scope="module")
def sweep_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("sweep") / "lealtad.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}", keys=KEYS)
    yield db
    db.dispose()


def sweep_business(db: Database, settings: Settings, template: str) -> tuple[list[str], int]:
    clock = FixedClock(NOW)
    app = create_app(settings, db=db, clock=clock)
    started = time.monotonic()
    with TestClient(app) as client:
        business = build(client, db, settings, clock, template)
        built = time.monotonic() - started
        routes = page_routes(app)
        visitor = Visitor(client, business, routes)
        for route in routes:
            for lang in LANGUAGES:
                visitor.visit(_fill(route, business.values), lang, follow=True)
        emails = _emails(db, settings, business, visitor.sweep)
        answers = _counter_answers(visitor)
    took = time.monotonic() - started
    print(
        f"\n{template}: built in {built:.1f} s; {len(visitor.visited)} pages, {answers} counter "
        f"answers and {emails} e-mails checked in {took - built:.1f} s; "
        f"{len(visitor.sweep.findings)} findings"
    )
    return [*visitor.problems, *map(str, visitor.sweep.findings)], len(visitor.visited)


@pytest.fixture(scope="module")
def sweep_postgres(postgres_server: PostgresServer | None, postgres_url: str) -> Iterator[Database]:
    """A database of its own, so the demo's fixed address cannot meet another test's."""
    url = postgres_url if postgres_server is None else postgres_server.create_database("sweep")
    db = Database(url, keys=KEYS)
    upgrade(db)
    yield db
    db.dispose()


def _assert_clean(found: list[str], pages: int) -> None:
    assert pages > 40, "the sweep found too few pages: is the route table read?"
    unique = sorted(set(found))
    assert unique == [], f"{len(unique)} problems:\n" + "\n".join(unique)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_page_and_email_speaks_the_pages_language(
    template: str, sweep_db: Database, sweep_settings: Settings
) -> None:
    _assert_clean(*sweep_business(sweep_db, sweep_settings, template))


@pytest.mark.postgres
def test_every_page_and_email_speaks_the_pages_language_on_postgresql(
    sweep_postgres: Database, sweep_settings: Settings
) -> None:
    _assert_clean(*sweep_business(sweep_postgres, sweep_settings, "coffee-stamps"))
