"""The CSV drop's console page through the app (both databases): a manager uploads a till's
export, it loads through the importer once however many times it is uploaded, rejected rows are
listed with their reasons and downloadable, and a file that cannot be imported is said in words
on a page (never JSON, never a 500). CSRF and roles as the other console forms."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.imports import store as import_store
from lealtad.imports.model import digest
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.purchases.tables import purchases
from tests.support import Shop, admin_login

PAGE = "/admin/settings/connectors/files"


def card_of(client: TestClient, shop: Shop, member_id: int) -> str:
    owner = {"X-API-Key": shop.keys["owner"]}
    answer = client.get(f"/api/v1/members/{member_id}", headers=owner)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["card_number"])


def points(client: TestClient, shop: Shop, member_id: int) -> int:
    owner = {"X-API-Key": shop.keys["owner"]}
    answer = client.get(f"/api/v1/members/{member_id}", headers=owner)
    return int(answer.json()["balances"].get("points", 0))


def upload(
    client: TestClient, csrf: str, name: str, data: bytes, language: str = "es", **form: str
) -> tuple[int, str, str]:
    """(status, final address, page) of an upload, redirects followed."""
    answer = client.post(
        PAGE,
        data={"csrf": csrf, **form},
        files={"till_file": (name, data, "text/csv")},
        headers={"Accept-Language": language},
    )
    return answer.status_code, str(answer.url), answer.text


def digest_of(data: bytes) -> tuple[str, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_bytes(data)
        return digest(path)


def export(card: str) -> bytes:
    return (
        "receipt_id,amount,card_number,occurred_at\n"
        f"TPV-1,1250,{card},2026-03-01T09:00:00Z\n"
        f"TPV-2,800,{card},2026-03-01T10:00:00Z\n"
        "TPV-3,12.50,,2026-03-01T11:00:00Z\n"
        f"TPV-4,300,,2026-03-01T12:00:00Z\n"
    ).encode()


def test_an_upload_loads_once_lists_its_rejects_and_offers_them(
    client: TestClient, shop: Shop
) -> None:
    csrf = admin_login(client, shop, "manager")
    card = card_of(client, shop, shop.members[0])
    status, url, page = upload(client, csrf, "ventas 1.csv", export(card))
    assert status == 200, page
    assert "?file=" in url
    assert 'data-result="with_rejects"' in page
    assert 'data-count="loaded">3<' in page
    assert 'data-count="rejected">1<' in page
    assert "amount must be a whole number" in page
    assert points(client, shop, shop.members[0]) == 20

    # The same file again: nothing loads twice, every row is already there but the bad one.
    status, url, page = upload(client, csrf, "ventas 1.csv", export(card))
    assert status == 200, page
    assert 'data-count="loaded">0<' in page
    assert 'data-count="already">3<' in page
    assert points(client, shop, shop.members[0]) == 20

    file_id = url.split("file=")[1].split("#")[0]
    download = client.get(f"{PAGE}/{file_id}/rejects.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="ventas-1.csv.rejects.csv"' in download.headers["content-disposition"]
    [row] = list(csv.DictReader(io.StringIO(download.text)))
    assert (row["line"], row["receipt_id"], row["amount"]) == ("4", "TPV-3", "12.50")

    history = client.get(f"{PAGE}?lang=en").text
    assert history.count("<tr data-file=") == 2
    assert "Loaded, with rows rejected" in history
    spanish = client.get(f"{PAGE}?file={file_id}&lang=es").text
    assert "Ficheros de caja" in spanish
    assert "Filas rechazadas" in spanish
    assert "Ya estaban" in spanish


def test_a_clean_file_loads_and_names_its_location(
    client: TestClient, shop: Shop, db: Database
) -> None:
    csrf = admin_login(client, shop, "manager")
    data = b"receipt_id,amount\nLOC-1,500\nLOC-2,700\n"
    status, _url, page = upload(client, csrf, "tienda2.csv", data, location=str(shop.locations[1]))
    assert status == 200, page
    assert 'data-result="loaded"' in page
    assert "data-download" not in page
    with db.read() as conn:
        where = conn.execute(
            select(purchases.c.receipt_id, purchases.c.location_id).where(
                purchases.c.business_id == shop.id
            )
        ).all()
    assert sorted(where) == [("LOC-1", shop.locations[1]), ("LOC-2", shop.locations[1])]


def test_files_that_cannot_be_imported_are_said_in_words(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop, "manager")
    cases = {
        # name, content: a sentence of the page (English) for each
        ("ventas.xlsx", b"PK\x03\x04 a zip"): "That is not a CSV file",
        ("ventas.csv", b"PK\x03\x04\x14\x00 a zip"): "That is a spreadsheet (Excel)",
        ("ventas.csv", "receipt_id,amount\n".encode("utf-16")): "The file is not UTF-8 text",
        ("ventas.csv", b"n\xfamero,importe\n1,2\n"): "The file is not UTF-8 text",
        ("ventas.csv", b"receipt_id;amount\nA;100\n"): "separated by semicolons",
        ("ventas.csv", b"ticket,total\nA,100\n"): "Unknown columns: ticket, total.",
        ("ventas.csv", b"receipt_id,receipt_id\nA,B\n"): "cannot be read",
        ("ventas.csv", b""): "The file is empty.",
    }
    for (name, data), said in cases.items():
        status, _url, page = upload(client, csrf, name, data, "en")
        assert status == 422, (name, data, page)
        assert page.startswith("<!doctype html>")
        assert said in page, (name, data)
    english = client.get(f"{PAGE}?lang=en").text
    assert english.count('data-outcome="refused"') == len(cases)
    # A refused file's own page says why, in the page's language.
    last = english.split('<tr data-file="')[1].split('"')[0]
    spanish = client.get(f"{PAGE}?file={last}&lang=es").text
    assert 'data-result="refused"' in spanish
    assert "El fichero está vacío." in spanish
    assert "No se cargó nada de este fichero." in spanish
    for location in ("99999999999999999999", "abc", str(10**9)):
        status, _url, page = upload(
            client, csrf, "v.csv", b"receipt_id,amount\nL-1,1\n", "en", location=location
        )
        assert status in (404, 422), (location, page)
        assert "Choose one of the business" in page
    none = client.post(PAGE, data={"csrf": csrf}, files={"till_file": ("", b"", "text/csv")})
    assert none.status_code == 422
    assert none.headers["content-type"].startswith("text/html")


def test_a_file_too_large_for_the_form_is_refused_with_a_page(
    client: TestClient, shop: Shop
) -> None:
    csrf = admin_login(client, shop, "manager")
    big = b"receipt_id,amount\n" + b"X-1,100\n" * 140_000
    status, _url, page = upload(client, csrf, "big.csv", big)
    assert status == 413
    assert "<html" in page.lower()
    assert "lealtad connectors watch" in page


def test_csrf_and_roles(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop, "manager")
    wrong = client.post(
        PAGE, data={"csrf": "nope"}, files={"till_file": ("a.csv", b"receipt_id,amount\n")}
    )
    assert wrong.status_code == 403
    assert wrong.headers["content-type"].startswith("text/html")
    assert client.get(f"{PAGE}/999999/rejects.csv").status_code == 404
    assert client.get(f"{PAGE}?file=99999999999999999999").status_code == 422
    assert csrf
    staff = TestClient(client.app)
    admin_login(staff, shop, "staff")
    assert staff.get(PAGE, follow_redirects=False).status_code in (303, 403)


def test_another_business_sees_none_of_the_files(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    csrf = admin_login(client, shop, "manager")
    status, url, _page = upload(client, csrf, "mine.csv", b"receipt_id,amount\nM-1,100\nM-2,x\n")
    assert status == 200
    file_id = url.split("file=")[1].split("#")[0]
    other = TestClient(client.app)
    admin_login(other, other_shop, "manager")
    assert other.get(f"{PAGE}/{file_id}/rejects.csv").status_code == 404
    page = other.get(f"{PAGE}?file={file_id}").text
    assert "mine.csv" not in page


def test_an_excel_csv_utf8_export_with_bom_and_crlf_loads(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop, "manager")
    data = "\ufeffreceipt_id,amount,occurred_at\r\nXL-1,990,2026-03-01T09:00:00+01:00\r\n"
    status, _url, page = upload(client, csrf, "Ventas.CSV", data.encode("utf-8"))
    assert status == 200, page
    assert 'data-result="loaded"' in page
    assert 'data-count="loaded">1<' in page


def test_a_file_still_importing_is_not_imported_again_beside_it(
    client: TestClient, shop: Shop, db: Database, clock: FixedClock
) -> None:
    """A second click on the button while the first upload still imports: the page says so
    rather than running the same rows twice at once."""
    data = b"receipt_id,amount\nBUSY-1,100\n"
    sha256, _lines = digest_of(data)
    with db.transaction() as conn:
        import_store.start_run(conn, shop.id, "purchases", "x.csv", sha256, naive_utc(clock.now()))
    csrf = admin_login(client, shop, "manager")
    status, _url, page = upload(client, csrf, "x.csv", data, "en")
    assert status == 422
    assert "This file is being imported right now." in page
