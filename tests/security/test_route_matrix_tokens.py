"""A staff bearer token follows two-step verification like a console session does: one made
with the password alone stops working once a code is needed (the business starts requiring
two-step, or the person turns it on); one made with a code keeps working."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from lealtad.tenancy import store as tenancy_store
from tests.support import PASSWORD
from tests.web.test_two_step import _turn_on

TOKEN = "/api/v1/auth/staff-token"


def _token(client, shop, role: str, code: str | None = None) -> dict[str, str]:
    body = {"business": shop.slug, "email": shop.staff_emails[role], "password": PASSWORD}
    answer = client.post(TOKEN, json=body | ({"totp_code": code} if code else {}))
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_password_only_token_stops_working_when_the_business_starts_requiring_two_step(
    client, shop, db
) -> None:
    headers = _token(client, shop, "staff")
    assert client.get("/api/v1/business", headers=headers).status_code == 200
    with db.transaction() as conn:
        tenancy_store.update_business(conn, shop.id, two_step_required=True)
    answer = client.get("/api/v1/business", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "two_step_code_required"


def test_turning_two_step_on_ends_the_old_tokens_and_a_token_made_with_a_code_works(
    client, shop, clock, db
) -> None:
    client.headers["Accept-Language"] = "en"  # _turn_on reads the English page
    old = _token(client, shop, "manager")
    secret = _turn_on(client, shop, clock)
    client.cookies.clear()
    assert client.get("/api/v1/business", headers=old).status_code == 401
    clock.at = clock.now() + timedelta(seconds=60)  # past the step the set-up used
    new = _token(client, shop, "manager", pyotp.TOTP(secret).at(clock.now()))
    with db.transaction() as conn:
        tenancy_store.update_business(conn, shop.id, two_step_required=True)
    assert client.get("/api/v1/business", headers=new).status_code == 200
