"""The QR poster per location: an A4 PDF whose code opens the sign-up page with the location
recorded on the member who joins from it; the bare code as a PNG for table cards."""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, ImageDraw

from tests.support import admin_login


def _draw_pdf_code(pdf: bytes) -> Image.Image:
    """Paints the poster's filled squares (`x y w h re`) onto an image, as a printer would."""
    squares = [
        tuple(float(n) for n in m)
        for m in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re", pdf)
    ]
    assert squares, "no code drawn in the PDF"
    image = Image.new("L", (595, 842), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in squares:
        draw.rectangle([x, 842 - y - h, x + w - 0.01, 842 - y - 0.01], fill=0)
    return image


def test_the_poster_pdf_opens_the_sign_up_page_of_its_location(client, shop) -> None:
    admin_login(client, shop)
    location = shop.locations[1]
    answer = client.get(f"/admin/locations/{location}/poster.pdf?in=es")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    pdf = answer.content
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    # The poster says what a customer gets, from the program in force (1 point per euro).
    assert "Únete y gana 1 punto por cada 1".encode("cp1252") in pdf
    url = zxingcpp.read_barcodes(_draw_pdf_code(pdf))[0].text
    assert url.endswith(f"/join/{shop.slug}?loc={location}")
    english = client.get(f"/admin/locations/{location}/poster.pdf?in=en").content
    assert "Join and earn 1 point per €1".encode("cp1252") in english


def test_joining_from_the_poster_records_the_location(client, shop) -> None:
    location = shop.locations[1]
    form_page = client.get(f"/join/{shop.slug}?loc={location}&lang=en")
    assert f'name="loc" value="{location}"' in form_page.text
    form = {
        "name": "Eva",
        "email": "eva@example.org",
        "accept_terms": "true",
        "lang": "en",
        "loc": str(location),
    }
    assert client.post(f"/join/{shop.slug}", data=form).status_code == 200
    member = client.get(
        "/api/v1/members/lookup", params={"email": "eva@example.org"}, headers=shop.auth()
    ).json()
    assert member["enrolled_location_id"] == location


def test_a_foreign_or_junk_location_is_dropped_from_the_form(client, shop, other_shop) -> None:
    for junk in (str(other_shop.locations[0]), "abc", "99999999999999999999"):
        page = client.get(f"/join/{shop.slug}?loc={junk}")
        assert page.status_code == 200
        assert 'name="loc"' not in page.text


def test_the_table_card_png_decodes_to_the_same_link(client, shop) -> None:
    admin_login(client, shop)
    png = client.get(f"/admin/locations/{shop.locations[0]}/poster.png").content
    url = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text
    assert url.endswith(f"/join/{shop.slug}?loc={shop.locations[0]}")


def test_another_business_location_has_no_poster(client, shop, other_shop) -> None:
    admin_login(client, shop)
    assert client.get(f"/admin/locations/{other_shop.locations[0]}/poster.pdf").status_code == 404


def test_an_out_of_range_location_id_is_a_4xx_not_a_crash(client, shop) -> None:
    admin_login(client, shop)
    for path in (
        "/admin/locations/99999999999999999999/poster.pdf",
        "/admin/locations/0/poster.png",
    ):
        assert 400 <= client.get(path).status_code < 500
