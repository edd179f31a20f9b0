"""The wallet and the counter as a café's customers and staff meet them: a QR that scales in its
box, a stamps-only card with no points box and ten stamps in a row, the tier a member's visits
already reach, a tier announced by its name, a question before any redemption spends anything,
and every wallet page carrying its own time for when it is shown offline. On SQLite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.rules.definition import ProgramDefinition, Tier, TierPolicy
from tests.support import (
    Shop,
    counter_login,
    form_field,
    make_shop,
    stamp_card_program,
    wallet_login,
)

API = "/api/v1"
TIERS = TierPolicy(
    metric="visits",
    levels=[
        Tier(id="regular", name="Habitual", threshold=Decimal(0)),
        Tier(id="vip", name="VIP", threshold=Decimal(20)),
    ],
)


@pytest.fixture
def client(sqlite_db: Database, settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=sqlite_db, clock=clock)) as test_client:
        yield test_client


def _cafe(db: Database, clock: FixedClock, program: ProgramDefinition | None = None) -> Shop:
    return make_shop(db, clock.now(), program=program or stamp_card_program())


def _visits(client: TestClient, shop: Shop, member: int, count: int) -> None:
    for n in range(count):
        body = {"receipt_id": f"R-{member}-{n}", "amount": 450, "currency": "EUR"}
        answer = client.post(
            f"{API}/purchases", json=body | {"member_id": member}, headers=shop.auth()
        )
        assert answer.status_code == 201, answer.text


def _cup(client: TestClient, shop: Shop, cost: int = 5) -> int:
    body = {
        "slug": "free-cup",
        "kind": "free_product",
        "sku": "CUP",
        "title": {"es": "Café gratis", "en": "Free coffee"},
        "cost": cost,
        "cost_unit": "stamps.coffee",
    }
    answer = client.post(f"{API}/rewards", json=body, headers=shop.auth())
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _stamps(client: TestClient, shop: Shop, member: int) -> int:
    answer = client.get(f"{API}/members/{member}/balance", headers=shop.auth()).json()
    return int(answer["stamps"].get("coffee", 0))


def test_the_wallet_qr_has_a_view_box_and_no_fixed_size_so_it_fills_its_box_centred(
    client, sqlite_db, clock
) -> None:
    shop = _cafe(sqlite_db, clock)
    wallet_login(client, sqlite_db, shop, shop.members[0])
    for path in ("", "/card"):
        page = client.get(f"/w/{shop.slug}{path}").text
        svg = re.search(r"<svg[^>]*>", page).group(0)  # type: ignore[union-attr]
        assert re.search(r'viewBox="0 0 (\d+) \1"', svg), svg
        assert "width=" not in svg
        assert "height=" not in svg


def test_a_stamps_only_card_shows_no_points_box_and_its_ten_stamps_in_one_row(
    client, sqlite_db, clock
) -> None:
    shop = _cafe(sqlite_db, clock)
    member = shop.members[0]
    _visits(client, shop, member, 3)
    wallet_login(client, sqlite_db, shop, member)
    page = client.get(f"/w/{shop.slug}?lang=es").text
    assert 'data-balance="points"' not in page
    assert "Puntos" not in page
    assert 'data-balance="cashback"' not in page
    assert 'data-per-row="10"' in page
    assert page.count('<li class="on">') == 3
    assert "3 de 10 sellos" in page


def test_a_member_with_visits_is_in_the_lowest_tier_that_starts_at_zero(
    client, sqlite_db, clock
) -> None:
    shop = _cafe(sqlite_db, clock)
    member = shop.members[0]
    _visits(client, shop, member, 10)
    # Tiers added to the running program: no purchase has stored a tier for the member yet.
    definition = stamp_card_program().as_json() | {"tiers": TIERS.model_dump(mode="json")}
    changed = client.put(
        f"{API}/program",
        json={"definition": definition, "reason": "tiers"},
        headers=shop.auth("owner"),
    )
    assert changed.status_code == 200, changed.text
    wallet_login(client, sqlite_db, shop, member)
    page = client.get(f"/w/{shop.slug}?lang=es").text
    assert "Nivel: <strong>Habitual</strong>" in page
    assert "todavía ninguno" not in page
    assert "Camino a VIP: 10 de 20" in page
    counter_login(client, shop)
    panel = client.get(f"/counter/members/{member}?lang=es").text
    assert '<strong class="tier">Habitual</strong>' in panel


def test_the_counter_announces_a_new_tier_by_its_name(client, sqlite_db, clock) -> None:
    from_first_visit = TierPolicy(
        metric="visits", levels=[Tier(id="regular", name="Habitual", threshold=Decimal(1))]
    )
    program = stamp_card_program().model_copy(update={"tiers": from_first_visit})
    shop = _cafe(sqlite_db, clock, program)
    member = shop.members[0]
    csrf = counter_login(client, shop)
    page = client.get(f"/counter/members/{member}?lang=es").text
    data = {"amount": "4,50", "key": form_field(page, "key"), "csrf": csrf, "lang": "es"}
    answer = client.post(f"/counter/members/{member}/purchases", data=data)
    assert answer.status_code in (200, 201), answer.text
    assert "Nuevo nivel: <strong>Habitual</strong>" in answer.text
    assert ">regular<" not in answer.text


def test_one_tap_on_redeem_in_the_wallet_asks_first_and_spends_nothing(
    client, sqlite_db, clock
) -> None:
    shop = _cafe(sqlite_db, clock)
    member = shop.members[0]
    cup = _cup(client, shop)
    _visits(client, shop, member, 6)
    csrf = wallet_login(client, sqlite_db, shop, member)
    catalog = client.get(f"/w/{shop.slug}/rewards?lang=es").text
    link = f'href="/w/{shop.slug}/rewards/{cup}/redeem?lang=es"'
    assert link in catalog, "Redeem is a link to the question, not a form that spends"
    question = client.get(f"/w/{shop.slug}/rewards/{cup}/redeem?lang=es")
    assert question.status_code == 200
    assert "¿Canjear Café gratis por 5 sellos?" in question.text
    assert 'name="confirmed" value="yes"' in question.text
    assert f'href="/w/{shop.slug}/rewards?lang=es" data-cancel' in question.text
    # A form sent without the answer (an old page, a cached copy) asks again.
    unasked = {"csrf": csrf, "key": "k-unasked", "lang": "es"}
    again = client.post(f"/w/{shop.slug}/rewards/{cup}/redeem", data=unasked)
    assert "¿Canjear Café gratis por 5 sellos?" in again.text
    assert _stamps(client, shop, member) == 6
    confirmed = {"csrf": csrf, "key": form_field(question.text, "key"), "lang": "es"}
    done = client.post(
        f"/w/{shop.slug}/rewards/{cup}/redeem",
        data=confirmed | {"confirmed": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "/vouchers/" in done.headers["location"]
    assert _stamps(client, shop, member) == 1


def test_the_counter_asks_before_redeeming_and_a_second_tap_spends_once(
    client, sqlite_db, clock
) -> None:
    shop = _cafe(sqlite_db, clock)
    member = shop.members[0]
    cup = _cup(client, shop)
    _visits(client, shop, member, 6)
    csrf = counter_login(client, shop)
    page = client.get(f"/counter/members/{member}?lang=es").text
    key = re.search(  # type: ignore[union-attr]
        r'name="key" value="([^"]+)">\s*<input type="hidden" name="reward_id"', page
    ).group(1)
    first = {"reward_id": str(cup), "key": key, "csrf": csrf, "lang": "es"}
    asked = client.post(f"/counter/members/{member}/redemptions", data=first)
    assert asked.status_code == 200
    assert "¿Canjear Café gratis por 5 sellos" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert f'hx-get="/counter/members/{member}?lang=es" data-cancel' in asked.text
    assert _stamps(client, shop, member) == 6
    confirmed = first | {"confirmed": "yes"}
    done = client.post(f"/counter/members/{member}/redemptions", data=confirmed)
    assert done.status_code == 201
    twice = client.post(f"/counter/members/{member}/redemptions", data=confirmed)
    assert twice.status_code == 201
    assert _stamps(client, shop, member) == 1


def test_every_wallet_page_carries_its_time_for_when_it_is_shown_offline(
    client, sqlite_db, clock
) -> None:
    shop = _cafe(sqlite_db, clock)
    wallet_login(client, sqlite_db, shop, shop.members[0])
    for path in ("", "/rewards", "/history", "/vouchers", "/me"):
        page = client.get(f"/w/{shop.slug}{path}?lang=en").text
        note = re.search(r"<p [^>]*data-as-of hidden>([^<]*)</p>", page)
        assert note, path
        # The clock's 10:30 UTC in the business's zone (Madrid).
        assert "as of 2 Mar 2026, 11:30" in note.group(1), note.group(1)
        assert f'data-wallet="/w/{shop.slug}"' in page
        assert f'src="/w/{shop.slug}/wallet.js"' in page
