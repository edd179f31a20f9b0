"""The ticket readers without a database: the reference a till follows (docs/tickets.md) makes
codes the reader accepts; any text is read or refused with a code, never a crash."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lealtad.tickets import model
from lealtad.tickets.model import Refusal

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tickets.md"
KEY = bytes(range(32))
SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"


def test_the_documented_reference_for_a_till_makes_codes_the_reader_accepts() -> None:
    snippet = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert snippet is not None
    space: dict[str, Any] = {}
    exec(snippet.group(1), space)
    code = space["receipt_code"]("abcd2345", SECRET, 7, "Caja 1 · nº 42", 1250, "EUR")
    ticket = model.read_signed(code)
    model.check_mac(ticket, KEY)
    assert (ticket.key_id, ticket.location_id, ticket.receipt_id) == (
        "abcd2345",
        7,
        "Caja 1 · nº 42",
    )
    assert (ticket.amount, ticket.currency) == (1250, "EUR")
    with pytest.raises(Refusal) as refused:
        model.check_mac(ticket, bytes(32))
    assert refused.value.code == "ticket_bad_signature"


def test_a_code_is_found_in_a_wallet_link_and_signed_the_same_whatever_the_link() -> None:
    code = model.sign(
        KEY,
        key_id="abcd",
        location_id=1,
        receipt_id="R",
        amount=1,
        currency="EUR",
        issued_at=datetime(2026, 12, 7, tzinfo=UTC),
    )
    assert model.code_in(f"  https://x.example/w/shop/tickets?lang=es&t={code}\n") == code
    assert model.read_signed(code).issued_at == datetime(2026, 12, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"k": "abcd", "l": 1, "r": "R", "a": True, "c": "EUR", "t": 1}, "boolean amount"),
        ({"k": "abcd", "l": 1, "r": "R", "a": -1, "c": "EUR", "t": 1}, "negative amount"),
        ({"k": "ABCD", "l": 1, "r": "R", "a": 1, "c": "EUR", "t": 1}, "upper-case key id"),
        ({"k": "abcd", "l": 0, "r": "R", "a": 1, "c": "EUR", "t": 1}, "location 0"),
        ({"k": "abcd", "l": 1, "r": "", "a": 1, "c": "EUR", "t": 1}, "empty receipt"),
        ({"k": "abcd", "l": 1, "r": "R\x00", "a": 1, "c": "EUR", "t": 1}, "NUL in receipt"),
        ({"k": "abcd", "l": 1, "r": "R", "a": 1, "c": "eur", "t": 1}, "lower-case currency"),
        ({"k": "abcd", "l": 1, "r": "R", "a": 1, "c": "EUR", "t": 10**12}, "year 33658"),
        ({"k": "abcd", "l": 1, "r": "R", "a": 1.5, "c": "EUR", "t": 1}, "fractional amount"),
    ],
)
def test_a_payload_with_a_wrong_field_is_unreadable(payload: dict[str, Any], field: str) -> None:
    import base64
    import json

    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(Refusal) as refused:
        model.read_signed(f"LT1.{body}.AAAA")
    assert refused.value.code == "ticket_unreadable", field


def test_an_invoice_address_gives_its_four_fields() -> None:
    url = (
        "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR"
        "?nif=b12345674&numserie=12345678%26G33&fecha=01-01-2024&importe=241.4"
    )
    invoice = model.read_verifactu(url)
    assert invoice == model.InvoiceTicket(
        "B12345674", "12345678&G33", date(2024, 1, 1), Decimal("241.4")
    )
    assert model.minor_units(invoice.amount, 2) == 24140
    assert not model.is_verifactu(
        "https://www2.agenciatributaria.gob.es.evil.example/wlpl/TIKE-CONT/ValidarQR"
    )
    assert not model.is_verifactu("http://[::1")


@pytest.mark.parametrize(
    ("written", "kept"),
    [("B-1234567-4", "B12345674"), ("es b12345674", "B12345674"), ("12345678z", "12345678Z")],
)
def test_a_tax_id_is_kept_as_the_aeat_writes_it(written: str, kept: str) -> None:
    assert model.normal_tax_id(written) == kept


@given(st.text(max_size=700))
def test_any_text_is_read_or_refused_with_a_code(text: str) -> None:
    for reader in (model.read_signed, model.read_verifactu):
        said = "read"
        try:
            reader(text)
        except Refusal as refusal:
            said = refusal.code
        assert said in ("read", "ticket_unreadable")


@given(st.binary(max_size=300), st.binary(max_size=60))
def test_any_payload_bytes_are_read_or_refused_with_a_code(payload: bytes, mac: bytes) -> None:
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    said = "read"
    try:
        model.read_signed(f"LT1.{b64(payload)}.{b64(mac)}")
    except Refusal as refusal:
        said = refusal.code
    assert said in ("read", "ticket_unreadable")
