"""Personal-data requests handled by the back office (issue 8): a manager hands over a copy of a
member's data (the wallet's JSON document) and erases a member through the API, audited; staff
are refused and another business's member does not exist. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from lealtad.ledger import adjustments
from lealtad.ledger.verify import verify
from lealtad.members import login, pin
from lealtad.security import limits
from lealtad.security.limits_tables import attempt_limits, card_pins
from lealtad.tenancy.tables import audit_log
from tests.support import counter_login, purchase_body, wallet_login

API = "/api/v1"
PROFILE = {
    "name": "Rocío Ferrer",
    "email": "rocio.ferrer@example.org",
    "phone": "+34 655 010 203",
    "birthday": "1988-02-29",
    "tags": ["vip", "brunch"],
    "time_zone": "Atlantic/Canary",
    "consent": {"email": True, "sms": False, "push": False},
}


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _member_with_history(client, db, shop, clock) -> tuple[int, dict[str, Any]]:
    """A member with a bit of everything the export holds: profile and consent, a gift, a
    purchase and its partial refund, a voucher, a donation, a rating and a message."""
    manager = shop.auth()
    member = _ok(client.post(f"{API}/members", json=PROFILE, headers=manager), 201)["id"]
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=500,
            reason="Welcome gift",
            actor="t",
            now=clock.now(),
        )
    buy = purchase_body(member_id=member, amount=2400)
    _ok(client.post(f"{API}/purchases", json=buy, headers=manager), 201)
    refund = {"refund_id": "RF-1", "receipt_id": buy["receipt_id"], "amount": 400}
    _ok(client.post(f"{API}/refunds", json=refund, headers=manager), 201)
    made = {
        "slug": "latte",
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": "Café con leche", "en": "Latte"},
        "cost": 100,
    }
    reward = _ok(client.post(f"{API}/rewards", json=made, headers=manager), 201)
    redeemed = {"reward_id": reward["id"]}
    voucher = _ok(
        client.post(f"{API}/members/{member}/redemptions", json=redeemed, headers=manager), 201
    )
    rating = {"reward_id": reward["id"], "stars": 5, "text": "muy rico"}
    _ok(client.post(f"{API}/members/{member}/ratings", json=rating, headers=manager), 201)
    cause = {
        "name": {"es": "Banco de alimentos", "en": "Food bank"},
        "description": {"es": "Comidas", "en": "Meals"},
    }
    cause_id = _ok(client.post(f"{API}/causes", json=cause, headers=manager), 201)["id"]
    given = {"cause_id": cause_id, "points": 30}
    _ok(client.post(f"{API}/members/{member}/donations", json=given, headers=manager), 201)
    with db.transaction() as conn:
        assert login.request_code(conn, shop.id, PROFILE["email"], "k", clock.now()) is not None
    return member, {"receipt": buy["receipt_id"], "voucher": voucher["code"]}


def _audit(db, shop, action: str) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(audit_log).where(
                    audit_log.c.business_id == shop.id, audit_log.c.action == action
                )
            )
        )


def test_the_back_office_export_is_the_wallets_document_with_every_part_of_the_record(
    client, db, shop, clock
) -> None:
    member, made = _member_with_history(client, db, shop, clock)
    answer = client.get(f"{API}/members/{member}/data-export", headers=shop.auth())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"].startswith("attachment;")
    data = answer.json()
    profile = data["profile"]
    assert data["format"] == "lealtad.member-data/1"
    assert (profile["name"], profile["email"], profile["phone"]) == (
        "Rocío Ferrer",
        "rocio.ferrer@example.org",
        "+34655010203",
    )
    assert (profile["birthday"], profile["time_zone"]) == ("1988-02-29", "Atlantic/Canary")
    assert sorted(profile["tags"]) == ["brunch", "vip"]
    assert "qr_token" not in profile
    assert data["consent"]["email"]["granted"] is True
    assert data["balances"]["points"] == 500 + 20 - 100 - 30
    reasons = {entry["kind"]: entry for entry in data["ledger"]}
    assert {"adjust", "earn", "refund", "redeem", "donate"} <= set(reasons)
    assert any(entry["reason"] == "Welcome gift" for entry in data["ledger"])
    [bought] = data["purchases"]
    assert (bought["receipt_id"], bought["refunded_amount"]) == (made["receipt"], 400)
    assert [v["code"] for v in data["vouchers"]] == [made["voucher"]]
    assert [d["points"] for d in data["donations"]] == [30]
    assert [(r["stars"], r["text"]) for r in data["ratings"]] == [(5, "muy rico")]
    assert [m["template"] for m in data["messages"]] == ["login_code"]
    # The wallet's download is the same document.
    csrf = wallet_login(client, db, shop, member)
    wallet = json.loads(client.post(f"/w/{shop.slug}/me/export", data={"csrf": csrf}).content)
    assert wallet | {"exported_at": ""} == data | {"exported_at": ""}
    [entry] = [e for e in _audit(db, shop, "member.export") if e.actor.startswith("api_key:")]
    assert (entry.target, entry.channel) == (f"member:{member}", "api")
    assert entry.ip


def test_erasure_keeps_balances_and_ledger_and_removes_the_pin_and_the_members_counters(
    client, db, shop, clock
) -> None:
    member, _made = _member_with_history(client, db, shop, clock)
    before = _ok(client.get(f"{API}/members/{member}/balance", headers=shop.auth()))
    now = clock.now()
    with db.transaction() as conn:
        pin.set_pin(conn, shop.id, member, "4821", now)
    card_key = limits.account_key("card", shop.id, member)
    code_key = limits.account_key("member", PROFILE["email"])
    other_key = limits.account_key("member", "someone.else@example.org")
    for kind, key in (
        (limits.CARD_PIN, card_key),
        (limits.MEMBER_CODE, code_key),
        (limits.MEMBER_CODE, other_key),
    ):
        limits.Attempt(db, shop.id, kind, (key, "ip:192.0.2.7"), now).claim()

    body = {"reason": "asked by e-mail, ticket 41"}
    erased = _ok(client.post(f"{API}/members/{member}/erasure", json=body, headers=shop.auth()))
    assert erased["status"] == "erased"
    assert erased["id"] == member
    cleared = ("name", "email", "phone", "birthday", "time_zone", "referral_code")
    assert all(erased[field] is None for field in cleared)
    assert erased["tags"] == []
    assert not any(c["granted"] for c in erased["consent"].values())
    after = _ok(client.get(f"{API}/members/{member}/balance", headers=shop.auth()))
    assert after == before
    with db.read() as conn:
        assert verify(conn, shop.id) == []
        assert not conn.execute(select(card_pins).where(card_pins.c.member_id == member)).all()
        keys = set(
            conn.execute(
                select(attempt_limits.c.key).where(attempt_limits.c.business_id == shop.id)
            ).scalars()
        )
    assert card_key not in keys
    assert code_key not in keys
    # Another address's counter and the counters per client address name no member: kept.
    assert {other_key, "ip:192.0.2.7"} <= keys
    [entry] = _audit(db, shop, "member.erase")
    assert (entry.target, entry.channel) == (f"member:{member}", "api")
    assert entry.actor.startswith("api_key:")
    assert entry.ip
    assert entry.details["reason"] == "asked by e-mail, ticket 41"
    assert entry.details["card_pin_removed"] is True
    written = json.dumps(entry.details, ensure_ascii=False)
    for value in ("Rocío", "rocio.ferrer", "655", "1988", "vip", "Canary"):
        assert value not in written, value
    # The export afterwards: the same books, nobody's name.
    data = _ok(client.get(f"{API}/members/{member}/data-export", headers=shop.auth()))
    assert data["profile"]["name"] is None
    assert data["profile"]["status"] == "erased"
    assert (
        data["balances"]
        == _ok(client.get(f"{API}/members/{member}", headers=shop.auth()))["balances"]
    )
    assert "Rocío" not in json.dumps(data, ensure_ascii=False)


def test_erasing_twice_answers_the_same_pseudonymised_member_and_audits_once(
    client, db, shop
) -> None:
    member = shop.members[0]
    url = f"{API}/members/{member}/erasure"
    first = _ok(client.post(url, headers=shop.auth("owner")))
    second = _ok(client.post(url, json={}, headers=shop.auth("owner")))
    assert first == second
    assert first["status"] == "erased"
    assert len(_audit(db, shop, "member.erase")) == 1


def test_staff_are_refused_with_a_403_and_another_business_gets_a_404(
    client, db, shop, other_shop
) -> None:
    ours, theirs = shop.members[0], other_shop.members[0]
    for method, path in (("GET", "data-export"), ("POST", "erasure")):
        refused = client.request(method, f"{API}/members/{ours}/{path}", headers=shop.auth("staff"))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "role_required"
        missing = client.request(method, f"{API}/members/{theirs}/{path}", headers=shop.auth())
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "member_not_found"
    for business, member in ((shop, ours), (other_shop, theirs)):
        still = _ok(client.get(f"{API}/members/{member}", headers=business.auth()))
        assert (still["status"], still["name"]) == ("active", "Member 0")
    assert not _audit(db, shop, "member.erase")
    assert not _audit(db, shop, "member.export")
    long_reason = {"reason": "x" * 501}
    too_long = client.post(f"{API}/members/{ours}/erasure", json=long_reason, headers=shop.auth())
    assert too_long.status_code == 422


def test_openapi_documents_the_export_document_and_the_errors_of_both_routes(
    sqlite_db, settings, clock
) -> None:
    # The document does not depend on the database: built once, on SQLite.
    from fastapi.testclient import TestClient

    from lealtad.api import create_app

    with TestClient(create_app(settings, db=sqlite_db, clock=clock)) as client:
        spec = client.get("/openapi.json").json()
    export = spec["paths"]["/api/v1/members/{member_id}/data-export"]["get"]["responses"]
    erase = spec["paths"]["/api/v1/members/{member_id}/erasure"]["post"]
    assert export["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MemberDataExport"
    )
    assert erase["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MemberOut"
    )
    for responses in (export, erase["responses"]):
        assert "role_required" in responses["403"]["description"]
        assert "member_not_found" in responses["404"]["description"]
        assert {"401", "422"} <= set(responses)
    fields = spec["components"]["schemas"]["MemberDataExport"]["properties"]
    assert {"profile", "consent", "balances", "ledger", "purchases", "vouchers"} <= set(fields)
    assert {"donations", "ratings", "messages"} <= set(fields)


def test_an_erased_members_card_is_dead_it_names_nobody_and_neither_earns_nor_spends(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    manager = shop.auth()
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=500,
            reason="gift",
            actor="t",
            now=clock.now(),
        )
    card = _ok(client.get(f"{API}/members/{member}", headers=manager))
    reward = {
        "slug": "latte",
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": "Café con leche", "en": "Latte"},
        "cost": 100,
    }
    reward_id = _ok(client.post(f"{API}/rewards", json=reward, headers=manager), 201)["id"]
    cause = {"name": {"es": "Banco", "en": "Bank"}, "description": {"es": "C", "en": "M"}}
    cause_id = _ok(client.post(f"{API}/causes", json=cause, headers=manager), 201)["id"]
    _ok(client.post(f"{API}/members/{member}/erasure", headers=manager))
    before = _ok(client.get(f"{API}/members/{member}/balance", headers=manager))

    # Found by nothing that was on the card: as if it had never been issued.
    for query in ({"card_number": card["card_number"]}, {"qr_token": card["qr_token"]}):
        missing = client.get(f"{API}/members/lookup", params=query, headers=manager)
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "member_not_found"
    by_card = client.post(
        f"{API}/purchases",
        json=purchase_body(card_number=card["card_number"], amount=5000),
        headers=manager,
    )
    assert by_card.status_code == 404, by_card.text
    assert by_card.json()["error"]["code"] == "member_not_found"
    # Named by id, the member is there, but erased: said so, and nothing is written.
    refusals = (
        client.post(
            f"{API}/purchases", json=purchase_body(member_id=member, amount=5000), headers=manager
        ),
        client.post(
            f"{API}/members/{member}/redemptions", json={"reward_id": reward_id}, headers=manager
        ),
        client.post(
            f"{API}/members/{member}/donations",
            json={"cause_id": cause_id, "points": 10},
            headers=manager,
        ),
    )
    for refused in refusals:
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "member_erased"
    assert _ok(client.get(f"{API}/members/{member}/balance", headers=manager)) == before
    assert before["points"] == 500
    with db.read() as conn:
        assert verify(conn, shop.id) == []

    # At the counter, the card number finds nobody.
    csrf = counter_login(client, shop)
    page = client.post("/counter/find", data={"q": card["card_number"], "csrf": csrf, "lang": "en"})
    assert page.status_code == 404, page.text
    assert "No member or voucher matches" in page.text
    sale = {"amount": "12.00", "key": "k" * 32, "csrf": csrf, "lang": "es"}
    refused = client.post(f"/counter/members/{member}/purchases", data=sale)
    assert refused.status_code == 409, refused.text
    assert "su tarjeta ya no acumula ni gasta puntos" in refused.text


def test_erasure_removes_what_the_member_wrote_in_surveys_and_keeps_their_scores(
    client, db, shop, clock
) -> None:
    from lealtad.surveys import service as surveys
    from lealtad.surveys.schemas import SurveyIn
    from tests.surveys.conftest import GOOD, survey_body

    member = shop.members[0]
    with db.transaction() as conn:
        survey_id = surveys.create(
            conn, shop.id, SurveyIn.model_validate(survey_body()), "test", clock.now()
        )
        written = {**GOOD, "comment": "Soy Rocío, llamadme al 655 010 203"}
        surveys.answer(conn, shop.id, survey_id, member, written, "api", clock.now())
    # The copy of the member's data holds what they wrote; after erasure it does not.
    before = _ok(client.get(f"{API}/members/{member}/data-export", headers=shop.auth()))
    [given] = before["surveys"]
    assert (given["survey_id"], given["answers"]) == (survey_id, written)
    assert given["title"]["es"]
    _ok(client.post(f"{API}/members/{member}/erasure", headers=shop.auth()))
    after = _ok(client.get(f"{API}/members/{member}/data-export", headers=shop.auth()))
    numbers = {key: value for key, value in GOOD.items() if key != "comment"}
    assert after["surveys"][0]["answers"] == numbers
    assert "llamadme" not in json.dumps(after, ensure_ascii=False)
    with db.read() as conn:
        results = surveys.results(conn, shop.id, survey_id)
    [comment] = [q for q in results.questions if q.id == "comment"]
    assert not comment.comments
    assert results.responses == 1
    assert results.nps is not None
    assert results.nps.answered == 1
    [entry] = _audit(db, shop, "member.erase")
    assert entry.details["survey_comments_removed"] == 1
