"""The guided set-up speaks the page's language: each step is read in Spanish and English as the
owner of a new business reaches it, for every template (the numbers step differs by template),
with the language sweep's checks (tests/web/language_checks.py): no sentence of the other
language, no ids, slugs or machine numbers. The steps cannot be read out of order (a step ahead
of the owner sends them back), which is why the general sweep leaves them to this walk."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from lealtad.onboarding import service as onboarding
from lealtad.rules.templates import TEMPLATES
from lealtad.tenancy.tables import staff_users as staff
from tests.support import admin_login, make_shop
from tests.web.language_checks import Sweep, visible_texts

NAME, PLACE, PERSON = "Café Aurora", "Terraza", "Lucía Pérez"


def _read(client: Any, sweep: Sweep, path: str, template: str) -> None:
    for lang in ("es", "en"):
        answer = client.get(f"{path}?lang={lang}", follow_redirects=False)
        assert answer.status_code == 200, f"{template} {path} ({lang}): {answer.status_code}"
        sweep.check(f"{template} {path}", lang, visible_texts(answer.text))


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_step_of_the_set_up_speaks_the_page_s_language(
    client, db, clock, template: str
) -> None:
    shop = make_shop(db, clock.now(), program=onboarding.empty_program(NAME), members_count=0)
    with db.transaction() as conn:
        onboarding.begin(conn, shop.id, clock.now())
        # The fixture names its staff by their role ("staff"): names a person would type.
        for role, name in (("manager", "Marta Ruiz"), ("staff", "Pablo Gil")):
            conn.execute(
                update(staff)
                .where(staff.c.business_id == shop.id, staff.c.name == role)
                .values(name=name)
            )
    csrf = admin_login(client, shop, role="owner")
    own = [NAME, PLACE, PERSON, "Marta Ruiz", "Pablo Gil", shop.slug, *shop.staff_emails.values()]
    sweep = Sweep(own_words=own)
    business = {"name": NAME, "currency": "EUR", "timezone": "Europe/Madrid", "locale": "es"}
    steps = [
        ("/admin/setup/business", "/admin/setup/business", business),
        ("/admin/setup/program", "/admin/setup/program", {"template": template}),
        ("/admin/setup/numbers", "/admin/setup/numbers", {}),
        ("/admin/setup/places", "/admin/setup/places/location", {"name": PLACE}),
    ]
    for page, form, values in steps:
        _read(client, sweep, page, template)
        answer = client.post(form, data={"csrf": csrf, **values})
        assert answer.status_code in (200, 201), answer.text[:500]
    invited = {"name": PERSON, "email": "lucia@aurora.example", "role": "staff"}
    answer = client.post("/admin/setup/places/staff", data={"csrf": csrf, **invited})
    assert answer.status_code in (200, 201), answer.text[:500]
    _read(client, sweep, "/admin/setup/places", template)
    client.post("/admin/setup/places", data={"csrf": csrf})
    _read(client, sweep, "/admin/setup/review", template)
    assert client.post("/admin/setup/live", data={"csrf": csrf}).status_code == 200
    _read(client, sweep, "/admin/setup/done", template)
    _read(client, sweep, "/admin/poster", template)
    found = sorted({str(f) for f in sweep.findings})
    assert found == [], f"{len(found)} problems:\n" + "\n".join(found)
