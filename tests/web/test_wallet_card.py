"""The wallet's card screen: a rotating QR the counter accepts, stamps drawn as stamps, the tier
and the way to the next one, balances that refresh by themselves, and an installable app."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import segno
import zxingcpp
from fastapi.responses import Response
from PIL import Image

from lealtad.rules.definition import ProgramDefinition, StampCard, Tier, TierPolicy
from lealtad.rules.earn_rule import EarnRule, PointsPerUnit, Stamps
from lealtad.web import sessions
from tests.support import make_shop


def log_in(client, shop, member_id: int) -> None:
    """A wallet session as the login code would give, without the e-mail round trip."""
    answer = Response()
    sessions.start_member(answer, client.app.state.settings, shop.id, member_id, 1)
    cookie = answer.headers["set-cookie"].split(";")[0]
    name, value = cookie.split("=", 1)
    client.cookies.set(name, value)


def _program() -> ProgramDefinition:
    return ProgramDefinition(
        rules=[
            EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1))),
            EarnRule(id="coffee", name="Coffee stamp", action=Stamps(card="coffee", stamps=1)),
        ],
        stamp_cards=[
            StampCard(id="coffee", name="Coffee card", stamps_required=10, reward="free-coffee")
        ],
        tiers=TierPolicy(
            metric="visits",
            levels=[
                Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
                Tier(id="silver", name="Silver", threshold=Decimal(5)),
            ],
        ),
    )


def test_the_card_shows_a_rotating_code_that_the_counter_accepts(db, client, clock) -> None:
    shop = make_shop(db, clock.now(), program=_program())
    member = shop.members[0]
    log_in(client, shop, member)
    page = client.get(f"/w/{shop.slug}/card")
    assert page.status_code == 200
    token = re.search(r'data-token="(LT2-[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    png = io.BytesIO()
    segno.make(token, error="m").save(png, kind="png", scale=6)
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))[0].text == token
    found = client.get("/api/v1/members/lookup", params={"qr_token": token}, headers=shop.auth())
    assert found.json()["id"] == member
    clock.at = clock.now() + timedelta(minutes=5)
    later = client.get(f"/w/{shop.slug}/card").text
    assert token not in later, "the code must change as the minutes pass"
    stale = client.get("/api/v1/members/lookup", params={"qr_token": token}, headers=shop.auth())
    assert stale.json()["error"]["code"] == "card_token_expired"


def test_stamps_tier_progress_and_balance_refresh_after_a_purchase(db, client, clock) -> None:
    shop = make_shop(db, clock.now(), program=_program())
    member = shop.members[0]
    log_in(client, shop, member)
    before = client.get(f"/w/{shop.slug}/balance?lang=en").text
    assert 'data-stamp-card="coffee"' in before
    assert "0 of 10 stamps" in before
    for n in range(3):
        body = {"receipt_id": f"R-card-{n}", "amount": 1000, "currency": "EUR", "member_id": member}
        assert client.post("/api/v1/purchases", json=body, headers=shop.auth()).status_code == 201
    after = client.get(f"/w/{shop.slug}/balance?lang=en").text
    assert "3 of 10 stamps" in after
    assert after.count('class="on"') == 3
    assert re.search(r'data-balance="points".*?<dd>30</dd>', after, re.S)
    assert "On the way to Silver: 3 of 5" in after
    spanish = client.get(f"/w/{shop.slug}/balance?lang=es").text
    assert "3 de 10 sellos" in spanish
    assert "Camino a Silver: 3 de 5" in spanish


def test_the_fragments_need_the_members_session(db, client, clock, shop) -> None:
    assert client.get(f"/w/{shop.slug}/card").status_code == 401
    assert client.get(f"/w/{shop.slug}/balance").status_code == 401


def test_the_wallet_is_an_installable_web_app(client, shop) -> None:
    manifest = client.get(f"/w/{shop.slug}/manifest.webmanifest?lang=en").json()
    assert manifest["start_url"] == f"/w/{shop.slug}"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    worker = client.get(f"/w/{shop.slug}/sw.js")
    assert worker.status_code == 200
    assert "caches.match" in worker.text, "the service worker must keep the card for offline use"
