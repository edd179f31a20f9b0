"""A business's logo and colour: what the owner may upload (images by their bytes, never SVG),
the public logo address and its caching, and the brand on the wallet, the join page, the
counter and the console, with a text colour that keeps AA contrast."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lealtad.branding import service as branding
from lealtad.branding.model import LIGHT_TEXT, contrast, text_on
from lealtad.tenancy.model import Role
from tests.support import admin_login, counter_login, wallet_login

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


def image(kind: str, size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (10, 125, 79)).save(out, format=kind)
    return out.getvalue()


def upload(client, csrf: str, data: bytes, name: str = "logo.png", colour: str = ""):
    return client.post(
        "/admin/settings/brand",
        data={"csrf": csrf, "colour": colour},
        files={"logo": (name, data, "image/png")},
    )


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_an_owner_uploads_a_logo_and_it_is_served_with_long_caching(client, shop, kind) -> None:
    client.headers["Accept-Language"] = "en"
    csrf = admin_login(client, shop, role="owner")
    saved = upload(client, csrf, image(kind), name="logo.bin", colour="#0A7D4F")
    assert saved.status_code == 200, saved.text
    assert "The brand is saved." in saved.text
    bare = client.get(f"/b/{shop.slug}/logo", follow_redirects=False)
    assert bare.status_code == 307
    where = bare.headers["location"]
    assert where.startswith(f"/b/{shop.slug}/logo/")
    logo = client.get(where)
    assert logo.status_code == 200
    assert logo.headers["content-type"] == f"image/{kind.lower()}"
    assert logo.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in logo.headers["cache-control"]
    assert logo.content == image(kind)
    again = client.get(where, headers={"If-None-Match": logo.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("data", "name", "english", "spanish"),
    [
        (SVG, "logo.png", "SVG logos are not accepted", "No se aceptan logotipos SVG"),
        (b"just some text", "logo.png", "is not a PNG, JPEG or WebP", "no es una imagen PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 310_000, "big.png", "at most 300 KB", "como máximo 300 KB"),
    ],
    ids=["svg", "not-an-image", "too-large"],
)
def test_a_refused_logo_answers_a_page_saying_why_in_both_languages(
    client, shop, db, data, name, english, spanish
) -> None:
    csrf = admin_login(client, shop, role="owner")
    client.headers["Accept-Language"] = "en"
    answer = upload(client, csrf, data, name=name)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert english in answer.text
    client.headers["Accept-Language"] = "es"
    answer = upload(client, csrf, data, name=name)
    assert spanish in answer.text
    with db.read() as conn:
        assert branding.logo(conn, shop.id) is None


def test_a_bad_colour_is_refused_and_a_manager_cannot_change_the_brand(client, shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    client.headers["Accept-Language"] = "en"
    refused = client.post("/admin/settings/brand", data={"csrf": csrf, "colour": "red"})
    assert refused.status_code == 422
    assert "The brand colour must be written like #5b3a29." in refused.text
    client.cookies.clear()
    csrf = admin_login(client, shop, role="manager")
    answer = client.post("/admin/settings/brand", data={"csrf": csrf, "colour": "#000000"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")


def test_an_unknown_logo_is_a_page_not_found(client, shop) -> None:
    assert client.get(f"/b/{shop.slug}/logo").status_code == 404
    assert client.get("/b/no-such-shop/logo/abc").status_code == 404


@pytest.fixture
def branded(db, shop, clock):
    with db.transaction() as conn:
        owner = shop.principal(Role.owner)
        branding.set_colour(conn, owner, "#ffd23f", clock.now())  # a light yellow
        hashed = branding.set_logo(conn, owner, image("PNG"), clock.now())
    return hashed


def test_the_join_page_and_the_wallet_wear_the_brand(client, db, shop, branded) -> None:
    join = client.get(f"/join/{shop.slug}?lang=en")
    assert 'data-brand="#ffd23f"' in join.text
    assert f"/b/{shop.slug}/logo/{branded}" in join.text
    # Text on a light colour is near-black, so the buttons keep AA contrast.
    assert "--brand-ink: #111111" in join.text
    wallet_login(client, db, shop, shop.members[0])
    wallet = client.get(f"/w/{shop.slug}?lang=en")
    assert 'data-brand="#ffd23f"' in wallet.text
    assert f"/b/{shop.slug}/logo/{branded}" in wallet.text


def test_the_counter_and_the_console_wear_the_brand(client, shop, branded) -> None:
    counter_login(client, shop)
    counter = client.get("/counter?lang=en")
    assert 'data-brand="#ffd23f"' in counter.text
    assert f"/b/{shop.slug}/logo/{branded}" in counter.text
    client.cookies.clear()
    admin_login(client, shop)
    console = client.get("/admin?lang=en")
    assert 'data-brand="#ffd23f"' in console.text


def test_a_business_without_a_brand_keeps_the_standard_look(client, shop) -> None:
    join = client.get(f"/join/{shop.slug}?lang=en")
    assert 'data-brand="#5b3a29"' in join.text
    assert "/logo/" not in join.text


@pytest.mark.parametrize(
    "colour", ["#000000", "#ffffff", "#5b3a29", "#ffd23f", "#777777", "#0a7d4f", "#3399ff"]
)
def test_the_text_colour_on_any_brand_colour_reads_at_aa(colour: str) -> None:
    assert contrast(colour, text_on(colour)) >= 4.5


def test_a_dark_colour_takes_white_text() -> None:
    assert text_on("#5b3a29") == LIGHT_TEXT


def test_a_manager_prints_the_branded_poster_page(client, shop, branded) -> None:
    admin_login(client, shop)
    page = client.get("/admin/poster?lang=en")
    assert page.status_code == 200
    assert "Join and earn 1 point per €1" in page.text
    assert 'data-brand="#ffd23f"' in page.text
    assert f"/b/{shop.slug}/logo/{branded}" in page.text
    assert f"/join/{shop.slug}?loc={shop.locations[0]}" in page.text
    for location in shop.locations:
        assert f"/admin/locations/{location}/poster.pdf" in page.text
    spanish = client.get("/admin/poster?lang=es")
    assert "Únete y gana 1 punto por cada 1" in spanish.text


def test_the_poster_pdf_draws_the_logo_and_the_code_still_reads(client, db, shop, clock) -> None:
    import re
    import zlib

    import zxingcpp

    from tests.web.test_posters import _draw_pdf_code

    out = io.BytesIO()
    Image.new("RGBA", (40, 20), (10, 125, 79, 128)).save(out, format="PNG")
    with db.transaction() as conn:
        branding.set_logo(conn, shop.principal(Role.owner), out.getvalue(), clock.now())
        branding.set_colour(conn, shop.principal(Role.owner), "#0a7d4f", clock.now())
    admin_login(client, shop)
    pdf = client.get(f"/admin/locations/{shop.locations[0]}/poster.pdf?in=en").content
    assert b"/XObject << /Logo 7 0 R >>" in pdf
    found = re.search(rb"/Width 40 /Height 20 .*?/Length (\d+) >>\nstream\n", pdf, re.S)
    assert found is not None
    start = found.end()
    pixels = zlib.decompress(pdf[start : start + int(found.group(1))])
    assert len(pixels) == 40 * 20 * 3
    assert pixels[:3] == bytes([132, 189, 166])  # half-transparent green on white paper
    assert b"0.039 0.490 0.310 rg" in pdf  # the band in the brand's colour
    url = zxingcpp.read_barcodes(_draw_pdf_code(pdf))[0].text
    assert url.endswith(f"/join/{shop.slug}?loc={shop.locations[0]}")


def test_a_webp_logo_stays_off_the_pdf(client, db, shop, clock) -> None:
    with db.transaction() as conn:
        branding.set_logo(conn, shop.principal(Role.owner), image("WEBP"), clock.now())
    admin_login(client, shop)
    pdf = client.get(f"/admin/locations/{shop.locations[0]}/poster.pdf").content
    assert pdf.startswith(b"%PDF-1.4")
    assert b"/XObject" not in pdf
