"""In a real browser: a member opens the wallet with the code that arrives by e-mail, answers a
survey there and earns its bonus once; the manager sees the answer in the admin results."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import EarnRule, FixedPoints, PointsPerUnit
from lealtad.surveys.tables import surveys
from tests.browser.conftest import LiveServer
from tests.comms.test_email import text_of
from tests.support import PASSWORD, make_shop


def _program_with_survey_bonus() -> ProgramDefinition:
    return ProgramDefinition(
        rules=[
            EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1))),
            EarnRule(
                id="survey",
                name="Survey bonus",
                trigger="survey_answered",
                action=FixedPoints(points=50),
            ),
        ]
    )


def _code(live: LiveServer, address: str) -> str:
    # The server sends the code after answering, so the page can be there before the mail.
    deadline = time.monotonic() + 10
    while not [m for m in live.inbox.mails if m["To"] == address]:
        assert time.monotonic() < deadline, "the login code e-mail never arrived"
        time.sleep(0.05)
    mail = [m for m in live.inbox.mails if m["To"] == address][-1]
    found = re.search(r"\b(\d{6})\b", text_of(mail))
    assert found, "no six-digit code in the e-mail"
    return found.group(1)


def test_a_member_logs_in_by_code_answers_a_survey_and_the_manager_sees_it(
    live: LiveServer, page
) -> None:
    shop = make_shop(
        live.db, datetime.now(UTC), members_count=1, program=_program_with_survey_bonus()
    )
    api = httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30)
    address = api.get(f"/api/v1/members/{shop.members[0]}").json()["email"]
    survey = {
        "name": "Servicio",
        "title": {"es": "¿Qué tal te atendimos?", "en": "How did we do?"},
        "questions": [
            {
                "id": "nps",
                "kind": "nps",
                "text": {"es": "¿Nos recomendarías?", "en": "Would you recommend us?"},
                "required": True,
            },
            {
                "id": "comment",
                "kind": "text",
                "text": {"es": "¿Algo más?", "en": "Anything else?"},
                "required": False,
            },
        ],
        "status": "open",
        "in_wallet": True,
    }
    created = api.post("/api/v1/surveys", json=survey)
    assert created.status_code == 201, created.text
    survey_id = created.json()["id"]

    page.goto(f"{live.url}/w/{shop.slug}/login")
    page.get_by_label("Tu correo").fill(address)
    page.get_by_role("button", name="Envíame un código").click()
    page.get_by_label("Código de seis cifras").fill(_code(live, address))
    page.get_by_role("button", name="Abrir mi tarjeta").click()
    page.get_by_role("heading", name="Tu saldo").wait_for()

    page.get_by_role("link", name="¿Qué tal te atendimos?").click()
    page.get_by_label("9", exact=True).check()
    page.get_by_label("¿Algo más?").fill("El café, buenísimo")
    page.get_by_role("button", name=re.compile("Enviar")).click()
    page.get_by_text("50").first.wait_for()

    balance = api.get(f"/api/v1/members/{shop.members[0]}/balance").json()
    assert balance["points"] == 50
    page.goto(f"{live.url}/w/{shop.slug}")
    assert page.get_by_role("link", name="¿Qué tal te atendimos?").count() == 0

    admin = page.context.browser.new_context(locale="en-GB").new_page()
    admin.goto(f"{live.url}/admin/surveys/{survey_id}")
    admin.get_by_label("Business").fill(shop.slug)
    admin.get_by_label("E-mail").fill(shop.staff_emails["manager"])
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_text("El café, buenísimo").wait_for()
    assert "100" in admin.locator("[data-nps-score]").inner_text()
    with live.db.read() as conn:
        assert conn.execute(surveys.select().where(surveys.c.id == survey_id)).one()
