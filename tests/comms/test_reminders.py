"""Reminders from the daily job, with an injected clock: points about to expire, and win-back
after 30, 60 and 90 days away; each told once, in the member's language, by e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from lealtad.comms.tables import comms_policies
from lealtad.events.jobs import run_daily
from lealtad.kit.clock import naive_utc
from lealtad.ledger import adjustments
from tests.comms.test_email import enrol, to, work
from tests.conftest import SECRET
from tests.support import purchase_body


def _generous_policy(db, shop, now) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as conn:
        conn.execute(
            insert(comms_policies).values(
                business_id=shop.id,
                marketing_per_week=50,
                quiet_start="23:00",
                quiet_end="06:00",
                points_earned_messages=False,
                updated_at=naive_utc(now),
            )
        )


def daily(db, shop, clock) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET)


def test_members_hear_once_that_points_expire_within_a_week(
    db, shop, clock, mail_settings, inbox
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    _generous_policy(db, shop, clock.now())
    member = enrol(db, shop, clock, "ana@example.org", "es")
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=120,
            reason="gift",
            actor="t",
            now=clock.now(),
            expires_at=clock.now() + timedelta(days=10),
        )
    daily(db, shop, clock)
    work(db, mail_settings, clock, shop)
    assert [m["Subject"] for m in to(box, "ana@example.org")] == [
        m["Subject"] for m in to(box, "ana@example.org") if "Bienvenido" in m["Subject"]
    ], "no reminder ten days ahead"
    clock.at += timedelta(days=4)  # six days before the expiry
    daily(db, shop, clock)
    daily(db, shop, clock)
    work(db, mail_settings, clock, shop)
    reminders = [m for m in to(box, "ana@example.org") if "caducan" in m["Subject"]]
    assert len(reminders) == 1
    assert "120 de tus puntos" in reminders[0].get_payload()[0].get_payload(decode=True).decode()


def test_win_back_goes_out_at_30_60_and_90_days_away_once_each(
    db, shop, clock, mail_settings, inbox, client
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    _generous_policy(db, shop, clock.now())
    member = enrol(db, shop, clock, "bob@example.org", "en")
    response = client.post(
        "/api/v1/purchases", json=purchase_body(member_id=member), headers=shop.auth()
    )
    assert response.status_code == 201
    for days in (10, 31, 32, 61, 91, 120):
        clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC) + timedelta(days=days)
        daily(db, shop, clock)
        work(db, mail_settings, clock, shop)
    missed = [m["Subject"] for m in to(box, "bob@example.org") if "We miss you" in m["Subject"]]
    assert len(missed) == 3
    client.post("/api/v1/purchases", json=purchase_body(member_id=member), headers=shop.auth())
    clock.at += timedelta(days=31)
    daily(db, shop, clock)
    work(db, mail_settings, clock, shop)
    assert len([m for m in to(box, "bob@example.org") if "We miss you" in m["Subject"]]) == 4, (
        "a new absence after a visit starts over"
    )


def test_members_hear_what_a_purchase_earned_only_where_the_business_opts_in(
    db, shop, clock, mail_settings, inbox, client
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    _generous_policy(db, shop, clock.now())
    member = enrol(db, shop, clock, "ana@example.org", "en")
    client.post(
        "/api/v1/purchases", json=purchase_body(member_id=member, amount=1500), headers=shop.auth()
    )
    work(db, mail_settings, clock, shop)
    assert not [m for m in to(box, "ana@example.org") if "You earned" in m["Subject"]]
    policy = {
        "marketing_per_week": 50,
        "quiet_start": "23:00",
        "quiet_end": "06:00",
        "points_earned_messages": True,
    }
    assert (
        client.put("/api/v1/messaging-policy", json=policy, headers=shop.auth()).status_code == 200
    )
    client.post(
        "/api/v1/purchases", json=purchase_body(member_id=member, amount=2500), headers=shop.auth()
    )
    work(db, mail_settings, clock, shop)
    earned = [m["Subject"] for m in to(box, "ana@example.org") if "You earned" in m["Subject"]]
    assert earned == [next(s for s in earned if "25 points" in s)]


def test_a_monthly_summary_goes_once_a_month_to_members_who_came_lately(
    db, shop, clock, mail_settings, inbox, client
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 20, 11, 0, tzinfo=UTC)
    _generous_policy(db, shop, clock.now())
    member = enrol(db, shop, clock, "ana@example.org", "es")
    client.post("/api/v1/purchases", json=purchase_body(member_id=member), headers=shop.auth())
    for day in (
        datetime(2026, 3, 25, 11, tzinfo=UTC),
        datetime(2026, 4, 1, 11, tzinfo=UTC),
        datetime(2026, 4, 2, 11, tzinfo=UTC),
    ):
        clock.at = day
        daily(db, shop, clock)
        work(db, mail_settings, clock, shop)
    summaries = [m for m in to(box, "ana@example.org") if m["Subject"].startswith("Tu mes")]
    assert len(summaries) == 1


def test_a_win_back_rule_gives_its_bonus_once_per_absence(db, shop, clock, client) -> None:
    definition = {
        "rules": [
            {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": "1"}},
            {
                "id": "come-back",
                "name": "Come back",
                "trigger": "custom",
                "event": "member.win_back",
                "action": {"type": "fixed_points", "points": 100},
                "caps": [{"period": "lifetime", "max_units": 100}],
            },
        ]
    }
    assert (
        client.put(
            "/api/v1/program",
            json={"definition": definition, "reason": "win-back"},
            headers=shop.auth(),
        ).status_code
        == 200
    )
    member = shop.members[0]
    client.post(
        "/api/v1/purchases", json=purchase_body(member_id=member, amount=1000), headers=shop.auth()
    )
    start = clock.now()
    for days in (31, 32, 61):
        clock.at = start + timedelta(days=days)
        daily(db, shop, clock)
    balance = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth()).json()
    # 10 from the purchase, 100 from the first win-back; the lifetime cap stops the 60-day one.
    assert balance["points"] == 110
