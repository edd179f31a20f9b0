"""The wallet's second half, through the pages a member's phone gets: the catalog and redeeming
for a voucher with a QR, rating, donating, the history with reasons, the referral link, badges and
challenges, a copy of one's data and deleting the account. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import zxingcpp
from PIL import Image
from sqlalchemy import insert, select

from lealtad.comms.tables import push_subscriptions
from lealtad.kit.clock import naive_utc
from lealtad.ledger import adjustments
from lealtad.ledger.verify import verify
from lealtad.members.tables import members
from lealtad.tenancy.tables import audit_log
from tests.support import purchase_body, wallet_login

API = "/api/v1"


def grant(db, shop, member: int, points: int, clock, reason: str = "test") -> None:
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=points,
            reason=reason,
            actor="t",
            now=clock.now(),
        )


def reward(client, shop, slug: str = "coffee", cost: int = 100, **fields: Any) -> dict[str, Any]:
    body = {
        "slug": slug,
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": f"Café {slug}", "en": f"Coffee {slug}"},
        "cost": cost,
    } | fields
    answer = client.post(f"{API}/rewards", json=body, headers=shop.auth("manager"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def points(client, shop, member: int) -> int:
    answer = client.get(f"{API}/members/{member}/balance", headers=shop.auth())
    return int(answer.json()["points"])


def redeem(client, shop, csrf: str, reward_id: int, key: str = "k1", lang: str = "es"):
    """The confirmation page's form: the member has seen the question and said yes."""
    return client.post(
        f"/w/{shop.slug}/rewards/{reward_id}/redeem",
        data={"csrf": csrf, "key": key, "lang": lang, "confirmed": "yes"},
        follow_redirects=False,
    )


def voucher_code(answer) -> str:
    assert answer.status_code == 303, answer.text
    found = re.search(r"/vouchers/([A-Z0-9-]+)\?", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def svg_to_image(svg: str) -> Image.Image:
    """Draws segno's SVG (one path of horizontal unit strokes) as pixels, so the decoder reads
    what the page shows rather than a picture made apart from it."""
    # A viewBox in modules and no fixed size: the page scales it to its box.
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    assert "width=" not in svg.split(">")[0], "a fixed size would draw it off-centre"
    image = Image.new("L", (size, size), 255)
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x), int(x + float(a))):
                image.putpixel((column, int(y)), 0)
            x += float(a)
    return image.resize((size * 8, size * 8), Image.Resampling.NEAREST)


def test_every_wallet_page_sends_a_visitor_without_a_session_to_log_in(client, shop) -> None:
    for path in ("rewards", "vouchers", "vouchers/ABCDE-FGHJK", "history", "me", "me/delete"):
        answer = client.get(f"/w/{shop.slug}/{path}", follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/w/{shop.slug}/login"
    answer = client.post(f"/w/{shop.slug}/rewards/1/redeem", data={}, follow_redirects=False)
    assert answer.status_code == 303


def test_the_catalog_shows_what_the_member_can_afford_and_how_much_is_missing(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    cheap = reward(client, shop, "cheap", 100)
    dear = reward(client, shop, "dear", 500)
    reward(client, shop, "gone", 50, stock=0)
    grant(db, shop, member, 150, clock)
    wallet_login(client, db, shop, member)
    page = client.get(f"/w/{shop.slug}/rewards?lang=en")
    assert page.status_code == 200
    assert f'data-reward="{cheap["id"]}" data-affordable="yes"' in page.text
    assert f'data-reward="{dear["id"]}" data-affordable="no"' in page.text
    assert "350 points to go." in page.text
    assert "Coffee gone" not in page.text, "an out-of-stock reward is not offered"
    assert 'aria-current="page"' in page.text
    assert "/w/" + shop.slug + "/history" in page.text
    spanish = client.get(f"/w/{shop.slug}/rewards")
    assert "Te faltan 350 puntos." in spanish.text
    assert "Café dear" in spanish.text


def test_redeeming_gives_a_voucher_whose_qr_decodes_to_its_code(client, db, shop, clock) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=100, voucher_days=30)
    grant(db, shop, member, 150, clock)
    csrf = wallet_login(client, db, shop, member)
    code = voucher_code(redeem(client, shop, csrf, made["id"]))
    assert points(client, shop, member) == 50
    page = client.get(f"/w/{shop.slug}/vouchers/{code}?lang=en")
    assert page.status_code == 200
    assert f'<p class="code" data-voucher-code>{code}</p>' in page.text
    assert 'data-state="open"' in page.text
    assert "Ready to use" in page.text
    assert "Valid until" in page.text
    assert "1 Apr 2026" in page.text
    svg = re.search(r"<svg.*?</svg>", page.text, re.S).group(0)  # type: ignore[union-attr]
    assert zxingcpp.read_barcodes(svg_to_image(svg))[0].text == code
    listed = client.get(f"/w/{shop.slug}/vouchers?lang=en")
    assert f'data-voucher="{code}"' in listed.text
    assert 'data-group="open"' in listed.text


def test_a_double_tap_on_redeem_gives_one_voucher(client, db, shop, clock) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=100)
    grant(db, shop, member, 500, clock)
    csrf = wallet_login(client, db, shop, member)
    first = voucher_code(redeem(client, shop, csrf, made["id"], key="same"))
    second = voucher_code(redeem(client, shop, csrf, made["id"], key="same"))
    assert first == second
    assert points(client, shop, member) == 400


def test_without_enough_points_the_page_says_so_and_nothing_is_spent(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=100, stock=3)
    grant(db, shop, member, 60, clock)
    csrf = wallet_login(client, db, shop, member)
    answer = redeem(client, shop, csrf, made["id"])
    assert answer.status_code == 409
    assert "No tienes puntos suficientes" in answer.text
    assert points(client, shop, member) == 60
    vouchers = client.get(f"{API}/members/{member}/vouchers", headers=shop.auth()).json()
    assert vouchers == []
    assert client.get(f"{API}/rewards/{made['id']}", headers=shop.auth()).json()["stock"] == 3


def test_a_limit_reached_and_an_unknown_reward_are_explained_on_the_page(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=10, limit_per_member=1)
    grant(db, shop, member, 100, clock)
    csrf = wallet_login(client, db, shop, member)
    voucher_code(redeem(client, shop, csrf, made["id"], key="a"))
    again = redeem(client, shop, csrf, made["id"], key="b", lang="en")
    assert again.status_code == 409
    assert "You have reached the limit for this reward." in again.text
    missing = redeem(client, shop, csrf, 999_999, key="c", lang="en")
    assert missing.status_code == 404
    assert "There is no such reward." in missing.text
    assert points(client, shop, member) == 90


def test_a_member_rates_a_used_reward_once(client, db, shop, clock) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=10)
    grant(db, shop, member, 100, clock)
    csrf = wallet_login(client, db, shop, member)
    code = voucher_code(redeem(client, shop, csrf, made["id"]))
    assert "Rate this reward" not in client.get(f"/w/{shop.slug}/vouchers/{code}?lang=en").text
    used = client.post(f"{API}/vouchers/{code}/validate", json={}, headers=shop.auth("staff"))
    assert used.status_code == 200, used.text
    assert "Rate this reward" in client.get(f"/w/{shop.slug}/vouchers/{code}?lang=en").text
    form = {"csrf": csrf, "lang": "en", "stars": "4", "review": "Rich and hot"}
    rate = f"/w/{shop.slug}/vouchers/{code}/rate"
    answer = client.post(rate, data=form, follow_redirects=False)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert 'data-my-rating="4"' in page.text
    assert "Rich and hot" in page.text
    again = client.post(rate, data=form | {"stars": "1"})
    assert again.status_code == 409
    assert "You already rated this reward." in again.text
    bad = client.post(rate, data=form | {"stars": "9"})
    assert bad.status_code == 422
    shown = client.get(f"{API}/rewards/{made['id']}", headers=shop.auth()).json()
    assert (shown["rating_count"], shown["rating_average"]) == (1, 4.0)
    catalog = client.get(f"/w/{shop.slug}/rewards?lang=en").text
    assert "Rated 4 out of 5 by 1 members" in catalog


def test_a_member_donates_the_points_they_choose_to_a_cause(client, db, shop, clock) -> None:
    member = shop.members[0]
    body = {
        "name": {"es": "Banco de alimentos", "en": "Food bank"},
        "description": {"es": "Comidas para el barrio", "en": "Meals for the neighbourhood"},
    }
    cause = client.post(f"{API}/causes", json=body, headers=shop.auth()).json()
    grant(db, shop, member, 100, clock)
    csrf = wallet_login(client, db, shop, member)
    assert "Banco de alimentos" in client.get(f"/w/{shop.slug}/rewards").text
    form = {"csrf": csrf, "key": "d1", "lang": "en", "cause": str(cause["id"]), "points": "30"}
    answer = client.post(f"/w/{shop.slug}/donate", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert "Thank you! You gave 30 points." in client.get(answer.headers["location"]).text
    assert points(client, shop, member) == 70
    too_much = client.post(f"/w/{shop.slug}/donate", data=form | {"key": "d2", "points": "500"})
    assert too_much.status_code == 409
    assert "You do not have enough points for this yet." in too_much.text
    nonsense = client.post(f"/w/{shop.slug}/donate", data=form | {"key": "d3", "points": "-4"})
    assert nonsense.status_code == 422
    assert points(client, shop, member) == 70
    given = client.get(f"{API}/causes/{cause['id']}", headers=shop.auth()).json()
    assert given["total_points"] == 30


def test_the_history_lists_every_movement_with_its_reason_newest_first_in_pages(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 200, clock, reason="Welcome gift from the owner")
    bought = client.post(
        f"{API}/purchases", json=purchase_body(member_id=member, amount=1250), headers=shop.auth()
    )
    assert bought.status_code in (200, 201), bought.text
    made = reward(client, shop, cost=100)
    csrf = wallet_login(client, db, shop, member)
    voucher_code(redeem(client, shop, csrf, made["id"]))
    page = client.get(f"/w/{shop.slug}/history?lang=en")
    assert page.status_code == 200
    kinds = re.findall(r'data-kind="(\w+)"', page.text)
    assert kinds[0] == "redeem"
    assert "earn" in kinds
    assert kinds[-1] == "adjust"
    assert "Welcome gift from the owner" in page.text
    assert "+200 points" in page.text
    assert "−100 points" in page.text
    assert "Reward: Coffee coffee" in page.text
    assert f"Purchase {bought.json()['receipt_id']}" in page.text
    spanish = client.get(f"/w/{shop.slug}/history?lang=es").text
    assert "Premio: Café coffee" in spanish
    assert "Compra R-" in spanish
    assert "Adjustment" in page.text
    assert "Redeemed" in page.text
    for i in range(30):
        grant(db, shop, member, 1, clock, reason=f"tick {i}")
    first = client.get(f"/w/{shop.slug}/history?lang=en")
    assert first.text.count("data-entry=") == 25
    older = re.search(r'href="([^"]+)" data-older', first.text).group(1)  # type: ignore[union-attr]
    second = client.get(older.replace("&amp;", "&"))
    assert second.text.count("data-entry=") == 8
    assert "Welcome gift from the owner" in second.text
    assert "tick 29" in first.text
    assert "tick 29" not in second.text


def test_the_me_page_shares_the_referral_link_and_shows_badges_and_challenges(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    challenge = {
        "slug": "regular",
        "title": {"es": "Cliente habitual", "en": "Regular"},
        "metric": "purchases",
        "target": 2,
        "period": "month",
        "bonus_points": 50,
    }
    assert client.post(f"{API}/challenges", json=challenge, headers=shop.auth()).status_code == 201
    buy = purchase_body(member_id=member, amount=500)
    assert client.post(f"{API}/purchases", json=buy, headers=shop.auth()).status_code in (200, 201)
    wallet_login(client, db, shop, member)
    code = client.get(f"{API}/members/{member}", headers=shop.auth()).json()["referral_code"]
    page = client.get(f"/w/{shop.slug}/me?lang=en")
    assert page.status_code == 200
    assert f"/join/{shop.slug}?ref={code}" in page.text
    assert "data-share" in page.text
    assert "/static/wallet_share.js" in page.text
    assert "Regular" in page.text
    assert "1 of 2" in page.text
    assert "No badges yet." in page.text
    buy = purchase_body(member_id=member, amount=500)
    assert client.post(f"{API}/purchases", json=buy, headers=shop.auth()).status_code in (200, 201)
    page = client.get(f"/w/{shop.slug}/me?lang=en")
    assert "data-badge" in page.text
    assert "Done!" in page.text
    assert "Cliente habitual" in client.get(f"/w/{shop.slug}/me?lang=es").text
    assert client.get("/static/wallet_share.js").status_code == 200


def test_download_my_data_gives_every_part_of_the_members_record(client, db, shop, clock) -> None:
    member = shop.members[0]
    grant(db, shop, member, 300, clock, reason="Welcome gift")
    buy = purchase_body(member_id=member, amount=990)
    assert client.post(f"{API}/purchases", json=buy, headers=shop.auth()).status_code in (200, 201)
    made = reward(client, shop, cost=100)
    csrf = wallet_login(client, db, shop, member)
    code = voucher_code(redeem(client, shop, csrf, made["id"]))
    refused = client.post(f"/w/{shop.slug}/me/export", data={"csrf": "forged"})
    assert refused.status_code == 403
    answer = client.post(f"/w/{shop.slug}/me/export", data={"csrf": csrf})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"].startswith("attachment;")
    data = json.loads(answer.content)
    assert data["profile"]["name"] == "Member 0"
    assert data["profile"]["email"].startswith("m0@")
    assert "qr_token" not in data["profile"]
    assert set(data["consent"]) == {"email", "sms", "push", "whatsapp"}
    assert data["balances"]["points"] == 300 - 100 + 9
    assert any(e["reason"] == "Welcome gift" for e in data["ledger"])
    assert [p["receipt_id"] for p in data["purchases"]] == [buy["receipt_id"]]
    assert [v["code"] for v in data["vouchers"]] == [code]
    assert isinstance(data["messages"], list)
    with db.read() as conn:
        actions = conn.execute(
            select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.business_id == shop.id)
        ).all()
    assert ("member.export", f"member:{member}") in [tuple(a) for a in actions]


def test_deleting_the_account_pseudonymises_it_ends_the_session_and_keeps_the_ledger_whole(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 300, clock)
    made = reward(client, shop, cost=100)
    patch = {"tags": ["vip"], "birthday": "1990-05-01", "phone": "+34600111222"}
    assert client.patch(f"{API}/members/{member}", json=patch, headers=shop.auth()).is_success
    with db.transaction() as conn:
        conn.execute(
            insert(push_subscriptions).values(
                business_id=shop.id,
                member_id=member,
                endpoint="https://push.example/abc",
                p256dh="k",
                auth="a",
                active=True,
                failures=0,
                created_at=naive_utc(clock.now()),
            )
        )
    csrf = wallet_login(client, db, shop, member)
    voucher_code(redeem(client, shop, csrf, made["id"]))
    confirm = client.get(f"/w/{shop.slug}/me/delete?lang=en")
    assert confirm.status_code == 200
    assert "This cannot be undone." in confirm.text
    unticked = client.post(f"/w/{shop.slug}/me/delete", data={"csrf": csrf, "lang": "en"})
    assert unticked.status_code == 422
    forged = client.post(f"/w/{shop.slug}/me/delete", data={"csrf": "x", "confirm": "yes"})
    assert forged.status_code == 403
    done = client.post(
        f"/w/{shop.slug}/me/delete", data={"csrf": csrf, "confirm": "yes", "lang": "en"}
    )
    assert done.status_code == 200
    assert "Your account has been deleted." in done.text
    assert (
        'lealtad_member=""' in done.headers["set-cookie"]
        or "Max-Age=0" in done.headers["set-cookie"]
    )
    client.cookies.clear()
    wallet_login_refused = client.get(f"/w/{shop.slug}/rewards", follow_redirects=False)
    assert wallet_login_refused.status_code == 303
    with db.read() as conn:
        row = conn.execute(select(members).where(members.c.id == member)).one()
        subscriptions = conn.execute(
            select(push_subscriptions.c.active).where(push_subscriptions.c.member_id == member)
        ).all()
        audit = conn.execute(
            select(audit_log.c.action, audit_log.c.details).where(
                audit_log.c.business_id == shop.id, audit_log.c.action == "member.erase"
            )
        ).one()
        problems = verify(conn, shop.id)
    assert (row.name, row.email, row.phone, row.birthday) == (None, None, None, None)
    assert row.status == "erased"
    assert row.tags == []
    assert row.referral_code is None
    assert not any(c["granted"] for c in row.consent.values())
    assert [s.active for s in subscriptions] == [False]
    assert "m0@" not in json.dumps(audit.details)
    assert problems == []
    assert points(client, shop, member) == 200, "the ledger is not rewritten"


def test_every_wallet_form_needs_the_sessions_token(client, db, shop, clock) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=10)
    grant(db, shop, member, 100, clock)
    wallet_login(client, db, shop, member)
    answer = redeem(client, shop, "forged", made["id"])
    assert answer.status_code == 403
    assert "Este formulario ha caducado" in answer.text
    donate = client.post(f"/w/{shop.slug}/donate", data={"cause": "1", "points": "5"})
    assert donate.status_code == 403
    assert points(client, shop, member) == 100
    with db.read() as conn:
        assert conn.execute(select(members.c.status).where(members.c.id == member)).scalar() == (
            "active"
        )


def test_another_members_or_another_business_voucher_is_not_found(
    client, db, shop, other_shop, clock
) -> None:
    theirs = reward(client, other_shop, cost=10)
    grant(db, other_shop, other_shop.members[0], 100, clock)
    answer = client.post(
        f"{API}/members/{other_shop.members[0]}/redemptions",
        json={"reward_id": theirs["id"]},
        headers=other_shop.auth("staff"),
    )
    other_code = answer.json()["code"]
    ours = reward(client, shop, cost=10)
    grant(db, shop, shop.members[1], 100, clock)
    neighbour = client.post(
        f"{API}/members/{shop.members[1]}/redemptions",
        json={"reward_id": ours["id"]},
        headers=shop.auth("staff"),
    ).json()["code"]
    wallet_login(client, db, shop, shop.members[0])
    for code in (other_code, neighbour):
        page = client.get(f"/w/{shop.slug}/vouchers/{code}?lang=en")
        assert page.status_code == 404
        assert "There is no such voucher." in page.text
        assert code not in page.text
    assert client.get(f"/w/{other_shop.slug}/rewards", follow_redirects=False).status_code == 303


def test_vouchers_are_listed_as_open_used_and_expired(client, db, shop, clock) -> None:
    member = shop.members[0]
    made = reward(client, shop, cost=10, voucher_days=2)
    grant(db, shop, member, 100, clock)
    csrf = wallet_login(client, db, shop, member)
    used = voucher_code(redeem(client, shop, csrf, made["id"], key="1"))
    client.post(f"{API}/vouchers/{used}/validate", json={}, headers=shop.auth("staff"))
    old = voucher_code(redeem(client, shop, csrf, made["id"], key="2"))
    clock.at += timedelta(days=3)
    fresh = voucher_code(redeem(client, shop, csrf, made["id"], key="3"))
    page = client.get(f"/w/{shop.slug}/vouchers?lang=en").text
    sections = {
        name: page[page.index(f'data-group="{name}"') :] for name in ("open", "used", "expired")
    }
    assert sections["open"].index(fresh) < sections["open"].index('data-group="used"')
    assert used in sections["used"]
    assert used not in sections["expired"]
    assert old in sections["expired"]
    expired_page = client.get(f"/w/{shop.slug}/vouchers/{old}?lang=en")
    assert 'data-state="expired"' in expired_page.text
    assert "<svg" not in expired_page.text, "an expired voucher shows no code to scan"
