"""Scheduled summaries: the figures of a small hand-built business checked literally, and the
daily, weekly and monthly e-mails sent once each through a real SMTP server, in each reader's
language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.header import decode_header, make_header
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from lealtad.analytics import preferences, reports
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.events.jobs import run_daily
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger.maturity import settle
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import points_per_currency_unit
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from tests.comms.conftest import Inbox, _free_port
from tests.conftest import SECRET
from tests.support import Shop, make_shop

SAT, SUN = datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_security": "none"}
    )


def build_business(db: Database) -> Shop:
    """In Madrid (UTC+1). Saturday 28 Feb: A joins and buys €10, someone anonymous buys €20.
    Sunday 1 Mar: B and C join; A buys €30, B €5, someone anonymous €15; A redeems a cup for
    20 points; 8 points given to C expire that evening. A point is worth 5 cents."""
    base = points_per_currency_unit(Decimal(1))
    program = base.model_copy(
        update={"points": base.points.model_copy(update={"value_per_point": Decimal(5)})}
    )
    shop = make_shop(db, SAT - timedelta(days=8), members_count=0, program=program)
    loc = shop.locations[0]
    till = Principal(shop.id, Role.staff, loc, staff_id=shop.staff["staff"])
    receipts = iter(range(1, 100))

    def enrol(conn: object, at: datetime, by: str) -> int:
        return members.enrol(
            conn,  # type: ignore[arg-type]
            shop.id,
            MemberIn(),
            channel="counter",
            now=at,
            location_id=loc,
            staff_id=shop.staff[by],
        )

    def buy(conn: object, at: datetime, amount: int, member: int | None) -> None:
        body = PurchaseIn(
            receipt_id=f"R{next(receipts)}", amount=amount, currency="EUR", member_id=member
        )
        purchases.record(conn, till, body, secret_key="s", now=at)  # type: ignore[arg-type]

    with db.transaction() as conn:
        cup = rewards.create(
            conn,
            shop.id,
            RewardIn(slug="cup", kind="physical_gift", title={"es": "Taza", "en": "Cup"}, cost=20),
            SAT,
        )
        a = enrol(conn, SAT + timedelta(hours=10), "staff")
        buy(conn, SAT + timedelta(hours=10, minutes=5), 1000, a)
        buy(conn, SAT + timedelta(hours=11), 2000, None)
        b = enrol(conn, SUN + timedelta(hours=9), "manager")
        c = enrol(conn, SUN + timedelta(hours=9, minutes=1), "staff")
        buy(conn, SUN + timedelta(hours=10), 3000, a)
        buy(conn, SUN + timedelta(hours=10, minutes=5), 500, b)
        buy(conn, SUN + timedelta(hours=11), 1500, None)
        redemption.redeem(conn, till, a, cup, SUN + timedelta(hours=12))
        adjustments.adjust(
            conn,
            shop.id,
            c,
            unit="points",
            amount=8,
            reason="welcome",
            actor="test",
            now=SUN + timedelta(hours=9, minutes=30),
            expires_at=SUN + timedelta(hours=20),
        )
        settle(conn, shop.id, SUN + timedelta(hours=21))
    shop.members = [a, b, c]
    return shop


def test_the_daily_summary_sets_sunday_against_saturday_figure_by_figure(
    db: Database, clock: FixedClock
) -> None:
    shop = build_business(db)
    with db.read() as conn:
        summary = reports.latest(conn, shop.id, "day", clock.now())
    assert (summary.start, summary.end) == (date(2026, 3, 1), date(2026, 3, 1))
    assert (summary.previous_start, summary.previous_end) == (date(2026, 2, 28), date(2026, 2, 28))
    got = {k: (f.value, f.previous, f.change, f.relative) for k, f in summary.figures.items()}
    assert got == {
        # 2 of 3 purchases by members against 1 of 2; the change in percentage points.
        "enrolment_rate": (66.7, 50.0, 16.7, None),
        "purchases": (3.0, 2.0, 1.0, 50.0),
        "revenue": (5000.0, 3000.0, 2000.0, 66.7),
        # €35 of €50 from members against €10 of €30.
        "member_share": (70.0, 33.3, 36.7, None),
        "new_members": (2.0, 1.0, 1.0, 100.0),
        # A and B bought in the 30 days to Sunday; only A in the 30 days to Saturday.
        "active_30": (2.0, 1.0, 1.0, 100.0),
        "points_issued": (35.0, 10.0, 25.0, 250.0),
        "points_redeemed": (20.0, 0.0, 20.0, None),
        "points_expired": (8.0, 0.0, 8.0, None),
        # 40 - 20 + 5 + 8 - 8 = 25 points at 5 cents; 10 points on Saturday.
        "liability": (125.0, 50.0, 75.0, 150.0),
    }
    assert summary.goal == 60
    # staff enrolled C on Sunday and recorded the purchases; manager enrolled B.
    assert [(s["name"], s["enrolments"]) for s in summary.top_staff] == [
        ("staff", 1),
        ("manager", 1),
    ]
    assert [(r["slug"], r["redemptions"]) for r in summary.top_rewards] == [("cup", 1)]


def test_the_summary_reads_the_same_in_spanish_and_english(db: Database, clock: FixedClock) -> None:
    shop = build_business(db)
    with db.read() as conn:
        summary = reports.latest(conn, shop.id, "day", clock.now())
        name = tenancy_store.business(conn, shop.id).name
    assert reports.report_text.text(summary, "es") == "\n".join(
        [
            f"Resumen diario · {name}",
            "1 mar 2026 (comparado con 28 feb 2026)",
            "",
            "Tasa de registro (objetivo 60 %): 66,7 % (+16,7 p. p.)",
            "Compras: 3 (+1 · +50 %)",
            "Ingresos: 50,00\xa0€ (+20,00\xa0€ · +66,7 %)",
            "Ingresos de socios: 70 % (+36,7 p. p.)",
            "Socios nuevos: 2 (+1 · +100 %)",
            "Socios activos en los últimos 30 días: 2 (+1 · +100 %)",
            "Puntos emitidos: 35 (+25 · +250 %)",
            "Puntos canjeados: 20 (+20)",
            "Puntos caducados: 8 (+8)",
            "Pasivo pendiente: 1,25\xa0€ (+0,75\xa0€ · +150 %)",
            "",
            "Personal con más altas:",
            "1. staff: 1",
            "2. manager: 1",
            "",
            "Recompensas más canjeadas:",
            "1. Taza: 1",
        ]
    )
    english = reports.report_text.text(summary, "en")
    assert english.splitlines()[:5] == [
        f"Daily summary · {name}",
        "Mar 1, 2026 (compared with Feb 28, 2026)",
        "",
        "Enrolment rate (goal 60%): 66.7% (+16.7 pp)",
        "Purchases: 3 (+1 · +50%)",
    ]
    assert "Revenue: €50.00 (+€20.00 · +66.7%)" in english
    assert "1. Cup: 1" in english


def test_periods_are_the_last_complete_day_iso_week_and_calendar_month() -> None:
    monday, first = date(2026, 3, 2), date(2026, 3, 1)
    assert reports.latest_complete("day", monday) == (first, first)
    assert reports.latest_complete("week", monday) == (date(2026, 2, 23), first)
    assert reports.latest_complete("week", date(2026, 3, 8)) == (date(2026, 2, 23), first)
    assert reports.latest_complete("month", first) == (date(2026, 2, 1), date(2026, 2, 28))
    assert reports.previous("month", date(2026, 3, 1), date(2026, 3, 31)) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )
    assert reports.previous("week", date(2026, 2, 23), first) == (
        date(2026, 2, 16),
        date(2026, 2, 22),
    )
    assert reports.previous("custom", date(2026, 2, 10), date(2026, 2, 19)) == (
        date(2026, 1, 31),
        date(2026, 2, 9),
    )


def _recipients(db: Database, shop: Shop, **by_frequency: list[str]) -> None:
    with db.transaction() as conn:
        prefs = preferences.get(conn, shop.id)
        prefs.reports = dict(by_frequency)
        preferences.save(conn, shop.id, prefs)
        # The manager reads Spanish, the owner English; the business speaks Spanish.
        tenancy_store.update_staff(conn, shop.id, shop.staff["manager"], locale="es")
        tenancy_store.update_staff(conn, shop.id, shop.staff["owner"], locale="en")


def _jobs(db: Database, shop: Shop, at: datetime, settings: Settings) -> None:
    with db.transaction() as conn:
        run_daily(conn, shop.id, at, SECRET, settings=settings)


def _mail(box: Inbox, to: str) -> Message:
    found = [m for m in box.mails if m["To"] == to]
    assert len(found) == 1, [m["To"] for m in box.mails]
    return found[0]


def _subject(mail: Message) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _body(mail: Message, kind: str) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == f"text/{kind}")
    return str(part.get_payload(decode=True).decode()).replace("\r\n", "\n")  # type: ignore[union-attr]


def test_the_daily_report_goes_once_to_each_reader_in_their_language(
    db: Database, clock: FixedClock, mail_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    shop = build_business(db)
    manager, owner = shop.staff_emails["manager"], shop.staff_emails["owner"]
    _recipients(db, shop, daily=[manager, owner, "accounts@example.org"])
    with db.read() as conn:
        name = tenancy_store.business(conn, shop.id).name
        assert reports.due_reports(conn, shop.id, clock.now()) == [
            ("daily", date(2026, 3, 1), date(2026, 3, 1))
        ]
    _jobs(db, shop, clock.now(), mail_settings)
    _jobs(db, shop, clock.now() + timedelta(hours=6), mail_settings)
    box = inbox[0]
    assert len(box.mails) == 3
    spanish, english = _mail(box, manager), _mail(box, owner)
    assert _subject(spanish) == f"Resumen diario · {name}: 1 mar 2026"
    assert _subject(english) == f"Daily summary · {name}: Mar 1, 2026"
    assert "Compras: 3 (+1 · +50 %)" in _body(spanish, "plain")
    assert "Purchases: 3 (+1 · +50%)" in _body(english, "plain")
    html = _body(english, "html")
    assert '<th scope="row"' in html
    assert "Revenue from members" in html
    assert "List-Unsubscribe" not in english
    # Not a staff member: the business's language.
    assert _subject(_mail(box, "accounts@example.org")).startswith("Resumen diario")
    with db.read() as conn:
        assert preferences.get(conn, shop.id).reports_sent == {"daily": "2026-03-01"}
        assert reports.due_reports(conn, shop.id, clock.now()) == []
    # The next day has its own report.
    _jobs(db, shop, clock.now() + timedelta(days=1), mail_settings)
    assert len(box.mails) == 6


def test_the_weekly_report_on_monday_covers_monday_to_sunday(
    db: Database, clock: FixedClock, mail_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    shop = build_business(db)
    owner = shop.staff_emails["owner"]
    _recipients(db, shop, weekly=[owner])
    _jobs(db, shop, clock.now(), mail_settings)  # Monday 2 March
    _jobs(db, shop, clock.now() + timedelta(days=1), mail_settings)
    mail = _mail(inbox[0], owner)
    assert _subject(mail).endswith(": Feb 23, 2026 – Mar 1, 2026")
    text = _body(mail, "plain")
    assert "Feb 23, 2026 – Mar 1, 2026 (compared with Feb 16, 2026 – Feb 22, 2026)" in text
    # The whole week against an empty one: no rate to compare with.
    assert "Purchases: 5 (+5)" in text
    assert "Enrolment rate (goal 60%): 60%\n" in text
    assert "Revenue: €80.00 (+€80.00)" in text
    with db.read() as conn:
        assert preferences.get(conn, shop.id).reports_sent == {"weekly": "2026-02-23"}


def test_the_monthly_report_on_the_first_covers_the_month_before(
    db: Database, clock: FixedClock, mail_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    shop = build_business(db)
    manager = shop.staff_emails["manager"]
    _recipients(db, shop, monthly=[manager], daily=[])
    first = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)  # 08:00 in Madrid on Sunday 1 March
    _jobs(db, shop, first, mail_settings)
    _jobs(db, shop, first + timedelta(hours=12), mail_settings)
    _jobs(db, shop, clock.now(), mail_settings)
    mail = _mail(inbox[0], manager)
    assert _subject(mail).endswith(": febrero 2026")
    text = _body(mail, "plain")
    assert "febrero 2026 (comparado con enero 2026)" in text
    assert "Compras: 2 (+2)" in text
    assert "Puntos emitidos: 10 (+10)" in text


def test_without_an_smtp_server_reports_wait_and_a_failed_send_is_tried_again(
    db: Database, clock: FixedClock, settings: Settings, mail_settings: Settings
) -> None:
    shop = build_business(db)
    _recipients(db, shop, daily=[shop.staff_emails["owner"]])
    _jobs(db, shop, clock.now(), settings)  # no SMTP host set
    refused = mail_settings.model_copy(update={"smtp_port": _free_port()})
    _jobs(db, shop, clock.now(), refused)  # nobody listening
    with db.read() as conn:
        assert preferences.get(conn, shop.id).reports_sent == {}
        assert len(reports.due_reports(conn, shop.id, clock.now())) == 1


def test_the_daily_jobs_refresh_the_scores_once_a_day(
    db: Database, clock: FixedClock, settings: Settings
) -> None:
    from lealtad.analytics.refresh import snapshot

    shop = build_business(db)

    def scored_at() -> datetime | None:
        with db.read() as conn:
            found = snapshot(conn, shop.id, "rfm")
        return None if found is None else found[0].replace(tzinfo=UTC)

    _jobs(db, shop, clock.now(), settings)
    _jobs(db, shop, clock.now() + timedelta(hours=3), settings)
    assert scored_at() == clock.now()
    _jobs(db, shop, clock.now() + timedelta(days=1), settings)
    assert scored_at() == clock.now() + timedelta(days=1)
