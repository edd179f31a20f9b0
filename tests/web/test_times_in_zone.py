"""Times on the pages are the business's wall-clock time, labelled with its zone in the console:
a shop in Auckland whose rows were all written at 10:30 UTC (23:30 there, NZDT) never shows
10:30. One shop, its rows made through the API and the services, then every page that shows
one of them, in both languages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lealtad.comms.dispatch import dispatch
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role
from tests.support import Shop, admin_login, purchase_body, wallet_login
from tests.surveys.conftest import GOOD, survey_body

ZONE = "Pacific/Auckland"
LOCAL = {"en": "2 Mar 2026, 23:30", "es": "2 mar 2026, 23:30"}
UTC_CLOCK = "10:30"  # the clock fixture's instant, 2026-03-02 10:30 UTC


def _move_to_auckland(db: Database, shop: Shop, clock: FixedClock) -> None:
    with db.transaction() as conn:
        business = tenancy.get_business(conn, shop.id)
        tenancy.update_business(
            conn,
            Principal(shop.id, Role.owner, staff_id=shop.staff["owner"]),
            clock.now(),
            name=business.name,
            locale=business.locale,
            timezone=ZONE,
            two_step_required=False,
        )


def test_every_page_shows_the_shops_own_time_and_the_console_names_its_zone(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    _move_to_auckland(db, shop, clock)
    auth = shop.auth()
    member = client.post(
        "/api/v1/members",
        headers=auth,
        json={"name": "Aroha", "email": "aroha@example.org", "consent": {"email": True}},
    ).json()["id"]
    bought = client.post("/api/v1/purchases", headers=auth, json=purchase_body(member_id=member))
    assert bought.status_code == 201, bought.text
    dispatch(db, clock.now(), business_id=shop.id)  # the welcome, in the message log
    survey = client.post("/api/v1/surveys", headers=auth, json=survey_body()).json()
    answered = client.post(
        f"/api/v1/surveys/{survey['id']}/responses",
        headers=auth,
        json={"member_id": member, "answers": GOOD},
    )
    assert answered.status_code == 201, answered.text

    admin_login(client, shop, role="owner")
    console = {
        "message log": "/admin/messages",
        "API keys": "/admin/settings/api-keys",
        "survey comments": f"/admin/surveys/{survey['id']}",
        "audit log": "/admin/audit",
        "member": f"/admin/members/{member}",
    }
    for lang, local in LOCAL.items():
        for page, path in console.items():
            text = client.get(path, params={"lang": lang}).text
            assert local in text, (page, lang)
            assert f"({ZONE})" in text, (page, lang)
            assert UTC_CLOCK not in text, (page, lang)

    wallet_login(client, db, shop, member)
    for lang, local in LOCAL.items():
        history = client.get(f"/w/{shop.slug}/history", params={"lang": lang}).text
        assert local in history, lang
        assert UTC_CLOCK not in history, lang
