"""Quiet hours are the member's night: a member who gave a time zone is reached by their own
clock, the others by the business's (Europe/Madrid in the test shop)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from lealtad.comms.tables import messages as messages_table
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from tests.api.test_bad_input import assert_error
from tests.comms.test_email import to, work
from tests.support import Shop


def enrol(db: Database, shop: Shop, clock: FixedClock, address: str, zone: str | None) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(
                name="Ana", email=address, locale="es", consent=Consent(email=True), time_zone=zone
            ),
            channel="api",
            now=clock.now(),
        )


def welcome(db: Database, member: int) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(messages_table).where(messages_table.c.member_id == member)
        ).one()


def test_22_30_in_madrid_is_quiet_for_a_madrid_member_but_not_for_one_in_mexico_city(
    db, shop, clock, mail_settings, inbox
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Madrid, 15:30 in Mexico City
    madrid = enrol(db, shop, clock, "madrid@example.org", None)
    mexico = enrol(db, shop, clock, "cdmx@example.org", "America/Mexico_City")
    work(db, mail_settings, clock, shop)
    assert to(box, "madrid@example.org") == []
    assert len(to(box, "cdmx@example.org")) == 1
    held = welcome(db, madrid)
    assert (held.status, held.reason) == ("queued", "quiet hours")
    assert held.send_after == datetime(2026, 3, 3, 8, 0), "09:00 in Madrid"
    assert welcome(db, mexico).status == "sent"


def test_a_morning_in_madrid_is_still_night_in_mexico_city_and_waits_for_its_morning(
    db, shop, clock, mail_settings, inbox
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 10:30 in Madrid, 03:30 in Mexico City
    madrid = enrol(db, shop, clock, "madrid@example.org", "Europe/Madrid")
    mexico = enrol(db, shop, clock, "cdmx@example.org", "America/Mexico_City")
    work(db, mail_settings, clock, shop)
    assert welcome(db, madrid).status == "sent"
    assert welcome(db, mexico).send_after == datetime(2026, 3, 2, 15, 0), "09:00 in Mexico City"
    clock.at = datetime(2026, 3, 2, 15, 1, tzinfo=UTC)
    work(db, mail_settings, clock, shop)
    assert len(to(box, "cdmx@example.org")) == 1
    assert welcome(db, mexico).sent_at == naive_utc(clock.now())


def test_a_member_time_zone_is_kept_over_the_api(client, shop) -> None:
    created = client.post(
        "/api/v1/members",
        json={"name": "Ana", "time_zone": "America/Mexico_City"},
        headers=shop.auth(),
    )
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["time_zone"] == "America/Mexico_City"
    url = f"/api/v1/members/{member['id']}"
    moved = client.patch(url, json={"time_zone": "Asia/Tokyo"}, headers=shop.auth())
    assert moved.status_code == 200, moved.text
    assert client.get(url, headers=shop.auth()).json()["time_zone"] == "Asia/Tokyo"
    client.patch(url, json={"name": "Ana B."}, headers=shop.auth())
    assert client.get(url, headers=shop.auth()).json()["time_zone"] == "Asia/Tokyo"
    client.patch(url, json={"time_zone": None}, headers=shop.auth())
    assert client.get(url, headers=shop.auth()).json()["time_zone"] is None


@pytest.mark.parametrize(
    "zone",
    ["Mars/Olympus_Mons", "Europe", "europe/madrid", "localtime", "", "../etc/passwd", 5, "x" * 80],
)
def test_a_time_zone_that_is_not_an_iana_zone_is_a_422(client, shop, zone: Any) -> None:
    created = client.post(
        "/api/v1/members", json={"name": "Ana", "time_zone": zone}, headers=shop.auth()
    )
    assert_error(created, 422)
    patched = client.patch(
        f"/api/v1/members/{shop.members[0]}", json={"time_zone": zone}, headers=shop.auth()
    )
    assert_error(patched, 422)
