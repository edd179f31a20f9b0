"""Members over HTTP: enrolment by staff, API key and self-service, profiles, look-up, cards."""

from __future__ import annotations

import io
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from tests.support import PASSWORD, Shop

MEMBERS = "/api/v1/members"


def staff_headers(client: TestClient, shop: Shop, role: str = "staff") -> dict[str, str]:
    staff = client.get(f"/api/v1/staff/{shop.staff[role]}", headers=shop.auth("manager")).json()
    resp = client.post(
        "/api/v1/auth/staff-token",
        json={"business": shop.slug, "email": staff["email"], "password": PASSWORD},
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def enrol(client: TestClient, shop: Shop, **body: Any) -> dict[str, Any]:
    resp = client.post(MEMBERS, json=body, headers=shop.auth("staff"))
    assert resp.status_code == 201, resp.text
    return resp.json()


def lookup(client: TestClient, shop: Shop, role: str = "staff", **params: str) -> Any:
    return client.get(f"{MEMBERS}/lookup", params=params, headers=shop.auth(role))


def luhn_valid(number: str) -> bool:
    """The Luhn check written out here, independent of the code under test."""
    digits = [int(d) for d in reversed(number)]
    doubled = [d * 2 - 9 if d * 2 > 9 else d * 2 for d in digits[1::2]]
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0


def assert_error(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_a_member_enrolled_by_a_logged_in_cashier_records_the_counter_the_cashier_and_store(
    client: TestClient, shop: Shop
) -> None:
    resp = client.post(MEMBERS, json={"name": "Ana"}, headers=staff_headers(client, shop))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["enrolment_channel"] == "counter"
    assert body["enrolled_by_staff_id"] == shop.staff["staff"]
    assert body["enrolled_location_id"] == shop.locations[0]
    assert body["status"] == "active"


def test_a_member_enrolled_with_an_api_key_records_the_api_channel_and_the_named_cashier(
    client: TestClient, shop: Shop
) -> None:
    plain = enrol(client, shop, name="Bea")
    assert plain["enrolment_channel"] == "api"
    assert plain["enrolled_by_staff_id"] is None
    named = enrol(
        client, shop, name="Cruz", staff_id=shop.staff["manager"], location_id=shop.locations[1]
    )
    assert named["enrolment_channel"] == "api"
    assert named["enrolled_by_staff_id"] == shop.staff["manager"]
    assert named["enrolled_location_id"] == shop.locations[1]


@pytest.mark.parametrize("field", ["staff_id", "location_id"])
def test_an_api_key_cannot_name_a_cashier_or_store_of_another_business(
    client: TestClient, shop: Shop, other_shop: Shop, field: str
) -> None:
    foreign = other_shop.staff["staff"] if field == "staff_id" else other_shop.locations[0]
    resp = client.post(MEMBERS, json={"name": "Dora", field: foreign}, headers=shop.auth("staff"))
    assert_error(resp, 404, f"{field.removesuffix('_id')}_not_found")


def test_self_service_sign_up_needs_the_terms_accepted_and_an_email(
    client: TestClient, shop: Shop
) -> None:
    url = f"/api/v1/public/{shop.slug}/members"
    refused = client.post(
        url, json={"name": "Eva", "email": "eva@x.example", "accept_terms": False}
    )
    assert_error(refused, 422, "terms_not_accepted")
    missing = client.post(url, json={"name": "Eva", "email": "eva@x.example"})
    assert_error(missing, 422, "invalid_request")
    no_contact = client.post(url, json={"name": "Eva", "accept_terms": True})
    assert_error(no_contact, 422, "email_required")
    # A phone alone cannot be proven online: the message says to join at the counter.
    phone_only = client.post(url, json={"name": "Eva", "phone": "600111222", "accept_terms": True})
    assert_error(phone_only, 422, "email_required")
    assert "counter" in phone_only.json()["error"]["message"]
    unknown = client.post(
        "/api/v1/public/no-such-shop/members",
        json={"name": "Eva", "email": "eva@x.example", "accept_terms": True},
    )
    assert_error(unknown, 404, "business_not_found")


def test_self_service_sign_up_records_the_self_channel_and_consent_per_channel(
    client: TestClient, shop: Shop, clock: Any
) -> None:
    resp = client.post(
        f"/api/v1/public/{shop.slug}/members",
        json={
            "name": "Flor",
            "email": "flor@x.example",
            "phone": "+34 600 111 222",
            "accept_terms": True,
            "consent": {"sms": True},
        },
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"status": "code_sent"}
    body = lookup(client, shop, "manager", email="flor@x.example").json()
    assert body["enrolment_channel"] == "self"
    assert body["enrolled_by_staff_id"] is None
    assert body["phone"] == "+34600111222"
    # The till sees enough to recognise it, not to copy it.
    assert lookup(client, shop, email="flor@x.example").json()["phone"] == "•••• 222"
    at = clock.now().isoformat()
    assert body["consent"] == {
        "email": {"granted": False, "at": at, "source": "self"},
        "sms": {"granted": True, "at": at, "source": "self"},
        "push": {"granted": False, "at": at, "source": "self"},
        "whatsapp": {"granted": False, "at": at, "source": "self"},
    }


def test_profile_fields_round_trip_normalised_and_a_patch_updates_them(
    client: TestClient, shop: Shop
) -> None:
    made = enrol(
        client,
        shop,
        name="  Gala Ruiz ",
        email="  Gala.Ruiz@Example.COM ",
        phone="(600) 222-333",
        birthday="1990-05-17",
        locale="en",
        tags=["VIP", "vip", "regular"],
        consent={"email": True},
    )
    fetched = client.get(f"{MEMBERS}/{made['id']}", headers=shop.auth("manager")).json()
    for body in (made, fetched):
        assert body["name"] == "Gala Ruiz"
        assert body["email"] == "gala.ruiz@example.com"
        assert body["phone"] == "600222333"
        assert body["birthday"] == "1990-05-17"
        assert body["locale"] == "en"
        assert body["tags"] == ["vip", "regular"]
        assert body["consent"]["email"]["granted"] is True
        assert body["consent"]["email"]["source"] == "api"
    patch = {
        "name": "Gala R.",
        "email": "gala@new.example",
        "phone": "0034 611 000 111",
        "birthday": None,
        "locale": "es",
        "tags": ["gold"],
        "consent": {"email": False, "push": True},
    }
    # Contact details are a manager's to change (staff: test_member_takeover.py).
    resp = client.patch(f"{MEMBERS}/{made['id']}", json=patch, headers=shop.auth("manager"))
    assert resp.status_code == 200, resp.text
    again = client.get(f"{MEMBERS}/{made['id']}", headers=shop.auth("manager")).json()
    assert again["name"] == "Gala R."
    assert again["email"] == "gala@new.example"
    assert again["phone"] == "+34611000111"
    assert again["birthday"] is None
    assert again["locale"] == "es"
    assert again["tags"] == ["gold"]
    assert again["consent"]["email"]["granted"] is False
    assert again["consent"]["email"]["source"] == "profile"
    assert again["consent"]["push"]["granted"] is True
    assert again["consent"]["sms"]["source"] == "api"


def test_a_duplicate_email_or_phone_in_the_same_business_is_a_409(
    client: TestClient, shop: Shop
) -> None:
    first = enrol(client, shop, name="Hugo", email="hugo@x.example", phone="600333444")
    second = enrol(client, shop, name="Iris", email="iris@x.example", phone="600333555")
    dup_email = client.post(MEMBERS, json={"email": "HUGO@x.example"}, headers=shop.auth("staff"))
    assert_error(dup_email, 409, "duplicate_email")
    assert dup_email.json()["error"]["details"] == {"member_id": first["id"]}
    dup_phone = client.post(MEMBERS, json={"phone": "600 333 444"}, headers=shop.auth("staff"))
    assert_error(dup_phone, 409, "duplicate_phone")
    url = f"{MEMBERS}/{second['id']}"
    assert_error(
        client.patch(url, json={"email": "hugo@x.example"}, headers=shop.auth("manager")),
        409,
        "duplicate_email",
    )
    assert_error(
        client.patch(url, json={"phone": "600-333-444"}, headers=shop.auth("manager")),
        409,
        "duplicate_phone",
    )
    # Sending the member's own address again changes nothing: staff may, too.
    same = client.patch(url, json={"email": "IRIS@x.example"}, headers=shop.auth("staff"))
    assert same.status_code == 200, same.text


def test_the_same_email_in_another_business_is_fine(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    enrol(client, shop, email="jon@x.example", phone="600444555")
    other = enrol(client, other_shop, email="jon@x.example", phone="600444555")
    assert other["email"] == "jon@x.example"


def test_a_member_is_found_by_card_number_qr_token_email_or_phone(
    client: TestClient, shop: Shop
) -> None:
    made = enrol(client, shop, name="Kai", email="kai@x.example", phone="+34 622 000 111")
    card = made["card_number"]
    for params in (
        {"card_number": card},
        {"card_number": f"{card[:4]} {card[4:8]}-{card[8:]}"},
        {"qr_token": made["qr_token"]},
        {"qr_token": made["qr_token"].lower()},
        {"email": "KAI@x.example"},
        {"phone": "+34622000111"},
    ):
        resp = lookup(client, shop, **params)
        assert resp.status_code == 200, (params, resp.text)
        assert resp.json()["id"] == made["id"]


def test_a_look_up_needs_exactly_one_identifier(client: TestClient, shop: Shop) -> None:
    assert_error(lookup(client, shop), 422, "member_reference")
    two = lookup(client, shop, email="m0@x.example", phone="600000000")
    assert_error(two, 422, "member_reference")


def test_an_unknown_foreign_or_tampered_identifier_is_not_found(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    mine = enrol(client, shop, name="Leo")
    theirs = enrol(client, other_shop, name="Mia")
    lt1, business, member, version, mac = mine["qr_token"].split("-")
    tampered = [
        f"{lt1}-{business}-{member}-{version}-{'A' if mac[0] != 'A' else 'B'}{mac[1:]}",
        f"{lt1}-{business}-{member}0-{version}-{mac}",
        f"{lt1}-{business}-{member}-{int(version) + 1}-{mac}",
        f"{lt1}-{business}-{member}-{version}-{mac[:-1]}É",
        f"{lt1}-{business}-{member}-{version}",
        "not a token",
    ]
    cases = [
        {"card_number": "0000000000"},
        {"email": "nobody@x.example"},
        {"phone": "699999999"},
        {"email": "not-an-email"},
        {"qr_token": theirs["qr_token"]},
        *({"qr_token": t} for t in tampered),
    ]
    for params in cases:
        assert_error(lookup(client, shop, **params), 404, "member_not_found")


def test_a_card_number_is_ten_digits_with_a_luhn_check_digit_and_unique(
    client: TestClient, shop: Shop
) -> None:
    assert luhn_valid("79927398713")  # the textbook example
    assert not luhn_valid("79927398710")
    cards = [enrol(client, shop, name=f"N{i}")["card_number"] for i in range(12)]
    for card in cards:
        assert len(card) == 10
        assert card.isdigit()
        assert luhn_valid(card)
    assert len(set(cards)) == len(cards)


def test_the_card_images_are_an_svg_and_a_png_whose_qr_code_finds_the_member(
    client: TestClient, shop: Shop
) -> None:
    made = enrol(client, shop, name="Olga")
    svg = client.get(f"{MEMBERS}/{made['id']}/card.svg", headers=shop.auth("staff"))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = client.get(f"{MEMBERS}/{made['id']}/card.png", headers=shop.auth("staff"))
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert len(decoded) == 1
    assert decoded[0].text == made["qr_token"]
    found = lookup(client, shop, qr_token=decoded[0].text)
    assert found.status_code == 200
    assert found.json()["id"] == made["id"]


def test_the_card_of_a_member_of_another_business_is_not_found(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    for kind in ("svg", "png"):
        resp = client.get(
            f"{MEMBERS}/{other_shop.members[0]}/card.{kind}", headers=shop.auth("staff")
        )
        assert_error(resp, 404, "member_not_found")


def test_public_sign_up_with_a_taken_email_does_not_reveal_the_member(client, shop) -> None:
    taken = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()["email"]
    body = {"name": "Eve", "email": taken, "accept_terms": True}
    response = client.post(f"/api/v1/public/{shop.slug}/members", json=body)
    assert response.status_code == 202
    assert response.json() == {"status": "code_sent"}
