"""The admin console's members: search, filters, paging and CSV; the member page with its
explained ledger, tags, manual adjustments and card reissue."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

from lealtad.comms.dispatch import dispatch
from lealtad.ledger.verify import verify
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.rules.definition import ProgramDefinition, StampCard, Tier, TierPolicy
from lealtad.rules.earn_rule import EarnRule, PointsPerUnit, Stamps
from lealtad.tenancy import store as tenancy_store
from tests.support import admin_login, make_shop, purchase_body, refusal_code


def _enrol(db, shop, now, **fields) -> int:
    with db.transaction() as conn:
        return members.enrol(conn, shop.id, MemberIn(**fields), channel="api", now=now)


def _listed(page) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-member="(\d+)"', page.text)]


def _member(client, shop, member_id) -> dict:
    return client.get(f"/api/v1/members/{member_id}", headers=shop.auth()).json()


def _adjust(client, csrf, member_id, **form):
    data = {"csrf": csrf, "unit": "points", "key": "", "lang": "en"} | form
    return client.post(f"/admin/members/{member_id}/adjustments", data=data, follow_redirects=False)


def _program() -> ProgramDefinition:
    return ProgramDefinition(
        rules=[
            EarnRule(id="base", name="Points per euro", action=PointsPerUnit(rate=Decimal(1))),
            EarnRule(id="coffee", name="Coffee stamp", action=Stamps(card="coffee")),
        ],
        stamp_cards=[StampCard(id="coffee", name="Coffee card", stamps_required=10, reward="cup")],
        tiers=TierPolicy(
            metric="spend",
            levels=[
                Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
                Tier(id="gold", name="Gold", threshold=Decimal(10000)),
            ],
        ),
    )


def test_one_box_finds_a_member_by_name_email_phone_or_card_only_in_this_business(
    db, client, clock, shop, other_shop
) -> None:
    fields = {"name": "Lucía Pérez", "email": "lucia@example.org", "phone": "+34 600 111 222"}
    ours = _enrol(db, shop, clock.now(), **fields)
    theirs = _enrol(db, other_shop, clock.now(), **fields)
    card = _member(client, shop, ours)["card_number"]
    admin_login(client, shop)
    for q in ("lucía", "PÉREZ", "perez lucia", "LUCIA@example.org", "+34 600 111 222", card):
        found = _listed(client.get("/admin/members", params={"q": q}))
        assert ours in found, q
        assert theirs not in found, q
    # Personal data is encrypted and searched through blind indexes: exact values only (D28).
    for q in ("nobody-like-this", "PÉ", "lucia@example", "600 111"):
        assert _listed(client.get("/admin/members", params={"q": q})) == [], q


def test_filters_by_tier_and_by_tag_and_counts_what_matches(db, client, clock) -> None:
    shop = make_shop(db, clock.now(), program=_program(), members_count=3)
    gold, tagged, plain = shop.members
    spent = client.post(
        "/api/v1/purchases", json=purchase_body(member_id=gold, amount=15000), headers=shop.auth()
    )
    assert spent.json()["tier"] == "gold"
    client.patch(f"/api/v1/members/{tagged}", json={"tags": ["vip"]}, headers=shop.auth())
    client.patch(f"/api/v1/members/{plain}", json={"tags": ["vips", "vip_x"]}, headers=shop.auth())
    admin_login(client, shop)
    assert _listed(client.get("/admin/members", params={"tier": "gold"})) == [gold]
    assert set(_listed(client.get("/admin/members", params={"tier": "bronze"}))) == {tagged, plain}
    page = client.get("/admin/members", params={"tag": "vip", "lang": "en"})
    assert _listed(page) == [tagged]
    assert 'data-matching="1"' in page.text
    assert "1 of 3 members" in page.text
    assert _listed(client.get("/admin/members", params={"tag": "vip_x"})) == [plain]


def test_filters_by_enrolment_dates_location_and_status(db, client, clock, shop) -> None:
    early = clock.now() - timedelta(days=40)
    with db.transaction() as conn:
        old = members.enrol(conn, shop.id, MemberIn(name="Old"), channel="api", now=early)
        there = members.enrol(
            conn,
            shop.id,
            MemberIn(name="There"),
            channel="api",
            now=clock.now(),
            location_id=shop.locations[1],
        )
    admin_login(client, shop)
    day = (early.date() - timedelta(days=1)).isoformat()
    span = {"from": day, "to": early.date().isoformat()}
    assert _listed(client.get("/admin/members", params=span)) == [old]
    assert _listed(client.get("/admin/members", params={"location": shop.locations[1]})) == [there]
    assert len(_listed(client.get("/admin/members", params={"status": "active"}))) == 4
    bad = client.get("/admin/members", params={"from": "yesterday", "lang": "en"})
    assert bad.status_code == 422
    assert "YYYY-MM-DD" in bad.text
    assert len(_listed(bad)) == 4


def test_the_list_pages_with_a_cursor_and_sorts_by_points_and_last_visit(
    db, client, clock, shop
) -> None:
    with db.transaction() as conn:
        for i in range(53):
            members.enrol(
                conn, shop.id, MemberIn(name=f"Extra {i}"), channel="api", now=clock.now()
            )
    admin_login(client, shop)
    first = client.get("/admin/members", params={"lang": "en"})
    on_first = _listed(first)
    assert len(on_first) == 50
    after = re.search(r'href="([^"]+)" rel="next"', first.text).group(1)  # type: ignore[union-attr]
    second = client.get(after.replace("&amp;", "&"))
    on_second = _listed(second)
    assert len(on_second) == 5
    assert not set(on_first) & set(on_second)
    assert 'rel="next"' not in second.text
    assert "First page" in second.text
    rich, visitor = shop.members
    client.post("/api/v1/purchases", json=purchase_body(member_id=rich), headers=shop.auth())
    client.post(
        "/api/v1/purchases", json=purchase_body(member_id=rich, amount=5000), headers=shop.auth()
    )
    clock.at = clock.now() + timedelta(days=2)
    client.post("/api/v1/purchases", json=purchase_body(member_id=visitor), headers=shop.auth())
    assert _listed(client.get("/admin/members", params={"sort": "-points"}))[:2] == [rich, visitor]
    fewest = _listed(client.get("/admin/members", params={"sort": "points"}))
    assert not {rich, visitor} & set(fewest), "the first page holds the fewest points"
    by_visit = _listed(client.get("/admin/members", params={"sort": "-last_visit"}))
    assert by_visit[:2] == [visitor, rich]
    pages = []
    url = "/admin/members?sort=-last_visit"
    while url:
        page = client.get(url)
        pages += _listed(page)
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert len(pages) == len(set(pages)) == 55
    assert client.get("/admin/members", params={"after": "garbage"}).status_code == 200


def test_the_csv_export_holds_exactly_the_filtered_view_in_its_order(
    db, client, clock, shop, other_shop
) -> None:
    for member in shop.members:
        client.patch(f"/api/v1/members/{member}", json={"tags": ["vip"]}, headers=shop.auth())
    _enrol(db, shop, clock.now(), name='=HYPERLINK("x")', tags=["other"])
    _enrol(db, other_shop, clock.now(), name="Elsewhere", tags=["vip"])
    client.post(
        "/api/v1/purchases",
        json=purchase_body(member_id=shop.members[1], amount=4200),
        headers=shop.auth(),
    )
    admin_login(client, shop)
    params = {"tag": "vip", "sort": "-points"}
    page = client.get("/admin/members", params=params)
    answer = client.get("/admin/members.csv", params=params)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == _listed(page) == [shop.members[1], shop.members[0]]
    assert rows[0]["points"] == "42"
    assert rows[0]["tags"] == "vip"
    everyone = client.get("/admin/members.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in everyone, "a formula-like cell is defused for spreadsheets"
    assert "Elsewhere" not in everyone


def test_the_member_page_explains_an_award_by_its_rule_and_an_adjustment_by_its_reason_and_author(
    db, client, clock
) -> None:
    shop = make_shop(db, clock.now(), program=_program())
    member = shop.members[0]
    body = purchase_body(member_id=member, amount=2500, receipt_id="T-77")
    client.post("/api/v1/purchases", json=body, headers=shop.auth())
    csrf = admin_login(client, shop)
    done = _adjust(client, csrf, member, amount="-5", reason="Coffee spilt, points corrected")
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/admin/members/{member}?done=adjusted")
    page = client.get(done.headers["location"])
    assert page.status_code == 200
    ledger = page.text[page.text.index('id="ledger"') :]
    earn = ledger[ledger.index('data-kind="earn"') :]
    assert "Points per euro" in earn
    assert "Coffee stamp" in earn
    assert "Receipt T-77" in earn
    adjust = ledger[ledger.index('data-kind="adjust"') : ledger.index('data-kind="earn"')]
    assert "Coffee spilt, points corrected" in adjust
    assert "By manager" in adjust
    assert "-5</span> Points" in adjust
    assert "20 Points" in adjust, "the balance after the adjustment"
    assert "The adjustment is recorded." in page.text
    assert 'data-balance="points">20<' in page.text
    assert "1 of 10 stamps" in page.text
    assert "Bronze" in page.text
    assert "€25.00" in page.text
    with db.read() as conn:
        audit = tenancy_store.audit_entries(conn, shop.id, 10, None)
    entry = next(a for a in audit if a.action == "ledger.adjust")
    assert entry.actor == f"staff:{shop.staff['manager']}"
    assert entry.details["reason"] == "Coffee spilt, points corrected"


def test_an_adjustment_needs_a_reason_and_a_whole_amount(client, shop) -> None:
    csrf = admin_login(client, shop)
    member = shop.members[0]
    missing = _adjust(client, csrf, member, amount="10", reason="  ", lang="es")
    assert missing.status_code == 422
    assert "motivo" in missing.text
    fraction = _adjust(client, csrf, member, amount="1.5", reason="goodwill")
    assert fraction.status_code == 422
    assert "whole number of points" in fraction.text
    assert _member(client, shop, member)["balances"]["points"] == 0


def test_taking_more_than_the_balance_is_refused_with_a_message_and_the_ledger_stays_clean(
    db, client, shop
) -> None:
    csrf = admin_login(client, shop)
    member = shop.members[0]
    assert _adjust(client, csrf, member, amount="30", reason="welcome gift").status_code == 303
    refused = _adjust(client, csrf, member, amount="-31", reason="too much")
    assert refused.status_code == 409
    assert "the member has 30" in refused.text
    assert "below zero" in refused.text
    assert 'value="too much"' not in refused.text  # the reason goes in the textarea
    assert "too much</textarea>" in refused.text
    credit = _adjust(client, csrf, member, unit="cashback", amount="2,50", reason="late order")
    assert credit.status_code == 303
    assert _adjust(client, csrf, member, amount="-30", reason="reversed gift").status_code == 303
    balances = _member(client, shop, member)["balances"]
    assert balances["points"] == 0
    assert balances["cashback"] == 250
    page = client.get(f"/admin/members/{member}?lang=en")
    assert "€2.50" in page.text
    with db.read() as conn:
        assert verify(conn, shop.id) == []


def test_a_double_submitted_adjustment_is_recorded_once(client, shop) -> None:
    csrf = admin_login(client, shop)
    member = shop.members[0]
    for _ in range(2):
        sent = _adjust(client, csrf, member, amount="7", reason="double tap", key="form-1")
        assert sent.status_code == 303
    assert _member(client, shop, member)["balances"]["points"] == 7
    other = _adjust(client, csrf, member, amount="8", reason="double tap", key="form-1")
    assert other.status_code == 422
    assert "already sent" in other.text


def test_tags_are_added_and_removed_on_the_member_page(client, shop) -> None:
    csrf = admin_login(client, shop)
    member = shop.members[0]
    url = f"/admin/members/{member}/tags"
    added = client.post(url, data={"csrf": csrf, "tag": " VIP ", "action": "add"})
    assert added.status_code == 200
    assert 'data-tag="vip"' in added.text
    assert _member(client, shop, member)["tags"] == ["vip"]
    bad = client.post(url, data={"csrf": csrf, "tag": "<b>", "action": "add", "lang": "en"})
    assert bad.status_code == 422
    assert "A tag is 1 to 40" in bad.text
    removed = client.post(url, data={"csrf": csrf, "tag": "vip", "action": "remove"})
    assert 'data-tag="vip"' not in removed.text
    assert _member(client, shop, member)["tags"] == []


def test_a_member_of_another_business_is_a_404_and_cannot_be_changed(
    client, shop, other_shop
) -> None:
    csrf = admin_login(client, shop)
    theirs = other_shop.members[0]
    page = client.get(f"/admin/members/{theirs}?lang=en")
    assert page.status_code == 404
    assert "There is no such member." in page.text
    assert _adjust(client, csrf, theirs, amount="5", reason="sneaky").status_code == 404
    tags = {"csrf": csrf, "tag": "x", "action": "add"}
    assert client.post(f"/admin/members/{theirs}/tags", data=tags).status_code == 404
    reissue = {"csrf": csrf, "confirm": "true"}
    assert client.post(f"/admin/members/{theirs}/card/reissue", data=reissue).status_code == 404
    after = _member(client, other_shop, theirs)
    assert (after["balances"]["points"], after["tags"]) == (0, [])
    assert client.get("/admin/members/999999").status_code == 404


def test_staff_without_the_manager_role_get_a_403(client, shop) -> None:
    admin_login(client, shop, role="staff")
    member = shop.members[0]
    for url in ("/admin/members", "/admin/members.csv", f"/admin/members/{member}"):
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert refusal_code(answer) == "role_required"


def test_every_form_refuses_a_post_without_the_session_csrf_token(client, shop) -> None:
    admin_login(client, shop)
    member = shop.members[0]
    forms = {
        "adjustments": {"unit": "points", "amount": "5", "reason": "forged"},
        "tags": {"tag": "forged", "action": "add"},
        "card/reissue": {"confirm": "true"},
    }
    for path, data in forms.items():
        for token in ("", "not-the-token"):
            answer = client.post(f"/admin/members/{member}/{path}", data=data | {"csrf": token})
            assert answer.status_code == 403, path
            assert refusal_code(answer) == "csrf_token_invalid"
    after = _member(client, shop, member)
    assert (after["balances"]["points"], after["tags"]) == (0, [])


def test_reissuing_the_card_needs_a_confirmation_and_stops_the_old_code(client, shop) -> None:
    csrf = admin_login(client, shop)
    member = shop.members[0]
    old = _member(client, shop, member)
    url = f"/admin/members/{member}/card/reissue"
    unconfirmed = client.post(url, data={"csrf": csrf, "lang": "en"})
    assert unconfirmed.status_code == 422
    assert "Tick the box" in unconfirmed.text
    done = client.post(url, data={"csrf": csrf, "confirm": "true", "lang": "en"})
    assert done.status_code == 200
    assert "A new card is issued" in done.text
    assert old["card_number"] in done.text
    found = client.get(
        "/api/v1/members/lookup", params={"qr_token": old["qr_token"]}, headers=shop.auth()
    )
    assert found.status_code == 404


def test_the_member_pages_speak_spanish(client, shop) -> None:
    admin_login(client, shop)
    member = shop.members[0]
    listing = client.get("/admin/members?lang=es")
    assert "Buscar por nombre, correo, teléfono o número de tarjeta" in listing.text
    assert "Descargar" in listing.text
    page = client.get(f"/admin/members/{member}?lang=es")
    assert "Ajuste manual" in page.text
    assert "Motivo (obligatorio)" in page.text
    assert "Consentimiento" in page.text


def test_the_member_page_explains_a_refund_and_a_redemption_and_lists_vouchers_and_messages(
    db, client, clock, shop
) -> None:
    member = shop.members[0]
    auth = shop.auth()
    client.post(
        "/api/v1/purchases",
        json=purchase_body(member_id=member, amount=50000, receipt_id="T-9"),
        headers=auth,
    )
    refund = {"refund_id": "RF-1", "receipt_id": "T-9", "amount": 10000}
    assert client.post("/api/v1/refunds", json=refund, headers=auth).status_code == 201
    reward = {
        "slug": "mug",
        "kind": "free_product",
        "sku": "MUG",
        "title": {"es": "Taza de regalo", "en": "Free mug"},
        "cost_unit": "points",
        "cost": 300,
    }
    reward_id = client.post("/api/v1/rewards", json=reward, headers=auth).json()["id"]
    voucher = client.post(
        f"/api/v1/members/{member}/redemptions", json={"reward_id": reward_id}, headers=auth
    ).json()
    dispatch(db, clock.now(), business_id=shop.id)
    admin_login(client, shop)
    page = client.get(f"/admin/members/{member}?lang=en")
    ledger = page.text[page.text.index('id="ledger"') : page.text.index('id="purchases"')]
    refunded = ledger[ledger.index('data-kind="refund"') :]
    assert "Refund RF-1" in refunded
    assert "Receipt T-9" in refunded
    assert "-100</span> Points" in refunded
    assert "400 Points" in refunded, "500 earned, 100 taken back"
    redeemed = ledger[ledger.index('data-kind="redeem"') : ledger.index('data-kind="refund"')]
    assert "Reward: Free mug" in redeemed, "the memo names the reward by its title"
    assert "100 Points" in redeemed
    vouchers = page.text[page.text.index('id="vouchers"') :]
    assert f'data-voucher="{voucher["code"]}"' in vouchers
    assert "Free mug" in vouchers
    assert "€500.00" in page.text
    assert "€100.00" in page.text, "the refunded amount"
    assert "Ready to use" in vouchers
    sent = page.text[page.text.index('id="messages"') : page.text.index('id="card"')]
    assert "<td>Welcome</td>" in sent
    assert "<td>Voucher</td>" in sent


def test_the_ledger_pages_back_in_time_with_the_right_balance_after_each_entry(
    client, shop
) -> None:
    member = shop.members[0]
    for n in range(52):
        body = {"unit": "points", "amount": 1, "reason": f"stamp card fix {n}"}
        sent = client.post(f"/api/v1/members/{member}/adjustments", json=body, headers=shop.auth())
        assert sent.status_code == 201
    admin_login(client, shop)
    newest = client.get(f"/admin/members/{member}?lang=en")
    rows = re.findall(r'<tr data-entry="(\d+)"', newest.text)
    assert len(rows) == 50
    assert "52 Points" in newest.text
    older = re.search(r'href="([^"]+)" rel="next">Older entries', newest.text)
    assert older
    page = client.get(older.group(1).replace("&amp;", "&"))
    assert len(re.findall(r'<tr data-entry="(\d+)"', page.text)) == 2
    ledger = page.text[page.text.index('id="ledger"') : page.text.index('id="purchases"')]
    assert "stamp card fix 1<" in ledger
    assert "stamp card fix 0<" in ledger
    assert re.findall(r"<td>(\d+) Points</td>", ledger) == ["2", "1"]
    assert "Newest entries" in page.text
