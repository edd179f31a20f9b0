"""`lealtad business create` leaves a business to be set up in the browser: it prints the set-up
address on the public base URL and the owner's login, nothing earns yet, and the owner's first
sign-in lands on the set-up."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import app_on, lealtad, migrated, rows  # noqa: F401  (a fixture)


def test_business_create_prints_the_set_up_address_and_the_owners_login(
    migrated: Path,  # noqa: F811
) -> None:
    run = lealtad(
        migrated,
        *("business", "create", "Café Aurora", "--owner-email", "Owner@Aurora.example"),
        *("--owner-password", "longenoughpw", "--slug", "aurora"),
    )
    assert run.code == 0, run
    assert "http://127.0.0.1:8000/admin/setup" in run.out, run
    assert "aurora" in run.out
    assert "owner@aurora.example" in run.out
    assert rows(migrated, "SELECT step, finished_at FROM business_setups") == [("business", None)]
    with app_on(migrated) as client:
        form = {"business": "aurora", "email": "owner@aurora.example", "password": "longenoughpw"}
        answer = client.post("/admin/login", data=form, follow_redirects=False)
        assert answer.headers["location"].startswith("/admin/setup?lang=")
    # Nothing earns until the program goes live at the end of the set-up.
    (definition,) = rows(migrated, "SELECT definition FROM program_versions")[0]
    assert json.loads(str(definition))["rules"] == []
