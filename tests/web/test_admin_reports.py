"""The report recipients screen: managers choose who gets the daily, weekly and monthly
summaries, addresses are checked, and a test sends the latest daily summary to oneself."""

from __future__ import annotations

from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from lealtad.analytics import preferences
from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.tenancy import store as tenancy_store
from tests.comms.conftest import Inbox, _free_port
from tests.support import Shop, admin_login, form_field


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_client(
    db: Database, settings: Settings, clock: FixedClock, inbox: tuple[Inbox, int]
) -> Iterator[TestClient]:
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_security": "none"}
    app = create_app(settings.model_copy(update=smtp), db=db, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def _recipients(db: Database, shop: Shop) -> dict[str, list[str]]:
    with db.read() as conn:
        return preferences.get(conn, shop.id).reports


def test_a_manager_chooses_the_recipients_of_each_report(client, shop, db) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/reports?lang=en")
    assert page.status_code == 200
    assert '<a href="/admin/reports" aria-current="page">Reports</a>' in page.text
    assert '<label for="weekly">Weekly summary</label>' in page.text
    form = {
        "daily": "Boss@Example.org, ana@example.org\nana@example.org",
        "weekly": "",
        "monthly": "accounts@example.org; boss@example.org",
        "csrf": csrf,
    }
    saved = client.post("/admin/reports", data=form, headers={"Accept-Language": "en"})
    assert saved.status_code == 200
    assert "The report recipients are saved." in saved.text
    assert _recipients(db, shop) == {
        "daily": ["boss@example.org", "ana@example.org"],
        "monthly": ["accounts@example.org", "boss@example.org"],
    }
    assert "boss@example.org\nana@example.org</textarea>" in saved.text
    with db.read() as conn:
        entry = tenancy_store.audit_entries(conn, shop.id, limit=1, before=None)[0]
    assert entry.action == "reports.recipients"
    assert entry.details["daily"] == {
        "before": [],
        "after": ["boss@example.org", "ana@example.org"],
    }


def test_a_wrong_address_is_named_on_the_page_in_spanish_and_nothing_is_saved(
    client, shop, db
) -> None:
    csrf = admin_login(client, shop)
    form = {"daily": "ana@example.org\nnot-an-address", "csrf": csrf}
    answer = client.post("/admin/reports", data=form, headers={"Accept-Language": "es"})
    assert answer.status_code == 422
    assert "Esto no es una dirección de correo: not-an-address" in answer.text
    assert "not-an-address</textarea>" in answer.text
    assert _recipients(db, shop) == {}


def test_without_the_form_token_nothing_is_saved(client, shop, db) -> None:
    admin_login(client, shop)
    answer = client.post("/admin/reports", data={"daily": "ana@example.org", "csrf": "nope"})
    assert answer.status_code == 403
    assert _recipients(db, shop) == {}


def test_counter_staff_cannot_open_the_reports_screen(client, shop) -> None:
    admin_login(client, shop, role="staff")
    answer = client.get("/admin/reports", follow_redirects=False)
    assert answer.status_code in (303, 403)


def test_the_test_button_sends_the_latest_daily_summary_to_oneself(
    mail_client, shop, db, inbox
) -> None:
    with db.transaction() as conn:
        tenancy_store.update_staff(conn, shop.id, shop.staff["manager"], locale="en")
    admin_login(mail_client, shop)
    csrf = form_field(mail_client.get("/admin/reports").text, "csrf")
    answer = mail_client.post("/admin/reports/test", data={"csrf": csrf})
    assert answer.status_code == 200
    me = shop.staff_emails["manager"]
    assert f"The latest daily summary was sent to {me}." in answer.text
    [mail] = inbox[0].mails
    assert mail["To"] == me
    # The clock says Monday 2 March 2026: yesterday was Sunday the 1st.
    assert str(make_header(decode_header(mail["Subject"]))).endswith(": Mar 1, 2026")
    with db.read() as conn:
        assert preferences.get(conn, shop.id).reports_sent == {}


def test_without_a_mail_server_the_test_says_so(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(
        "/admin/reports/test", data={"csrf": csrf}, headers={"Accept-Language": "es"}
    )
    assert answer.status_code == 409
    assert "El correo no está configurado en este servidor" in answer.text
