"""The printable QR poster per location: an A4 PDF (and the bare code as a PNG for table cards)
that opens the business's sign-up page with the location recorded on the new member."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from lealtad.branding import service as branding
from lealtad.branding.pdf_logo import PdfImage, pdf_image
from lealtad.config import Settings
from lealtad.deps import AppSettings, Db, Now
from lealtad.kit.ids import IdPath
from lealtad.members.cards import qr_svg
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)

A4 = (595, 842)  # points
MARGIN = 60
QR_SIZE = 300


def signup_url(base_url: str, slug: str, location_id: int) -> str:
    return f"{base_url}/join/{slug}?loc={location_id}"


def _pdf_text(value: str) -> bytes:
    # The standard fonts speak WinAnsi (cp1252), which covers Spanish; anything else is dropped
    # rather than drawn as garbage.
    raw = value.encode("cp1252", errors="replace").replace(b"?", b"?")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _qr_path(url: str, left: float, bottom: float, size: float) -> bytes:
    """The code as filled squares, so it prints sharp at any size."""
    import segno  # only for posters: a worker serving the API never draws a code (P6)

    matrix = segno.make(url, error="m").matrix
    count = len(matrix) + 8  # a quiet zone of four modules each side
    module = size / count
    ops = [b"0 0 0 rg"]
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                x = left + (col_index + 4) * module
                y = bottom + size - (row_index + 5) * module
                ops.append(f"{x:.2f} {y:.2f} {module:.2f} {module:.2f} re".encode())
    ops.append(b"f")
    return b"\n".join(ops)


def _rgb(colour: str) -> str:
    return " ".join(f"{int(colour[i : i + 2], 16) / 255:.3f}" for i in (1, 3, 5))


def poster_pdf(
    business: str,
    location: str,
    url: str,
    lines: list[str],
    colour: str = "#ffffff",
    ink: str = "#000000",
    logo: PdfImage | None = None,
) -> bytes:
    """The brand's colour as a band across the top with the name on it in the colour that reads
    there (branding.model.text_on), the promise below, the code in the middle."""
    width, height = A4
    qr_left = (width - QR_SIZE) / 2
    qr_bottom = 250
    band = f"{_rgb(colour)} rg 0 {height - 150} {width} 150 re f".encode()
    text = [
        band,
        f"BT {_rgb(ink)} rg /F2 30 Tf".encode(),
        f"{MARGIN} {height - 110} Td".encode(),
        _pdf_text(business) + b" Tj",
        b"/F1 16 Tf 0 -28 Td",
        _pdf_text(location) + b" Tj",
        b"0 0 0 rg /F2 20 Tf 0 -62 Td",
        _pdf_text(lines[0]) + b" Tj",
        b"/F1 16 Tf 0 -26 Td",
        _pdf_text(lines[1]) + b" Tj",
        b"ET",
        b"BT 0 0 0 rg /F1 14 Tf",
        f"{MARGIN} {qr_bottom - 40} Td".encode(),
        _pdf_text(lines[2]) + b" Tj",
        b"0 -22 Td /F1 11 Tf",
        _pdf_text(url) + b" Tj",
        b"ET",
    ]
    content = b"\n".join(text) + b"\n" + _qr_path(url, qr_left, qr_bottom, QR_SIZE)
    if logo is not None:
        # In the band's right end, fitted into a 110-point square.
        scale = 110 / max(logo.width, logo.height)
        w, h = logo.width * scale, logo.height * scale
        x, y = width - MARGIN - w, height - 75 - h / 2
        content += f"\nq {w:.2f} 0 0 {h:.2f} {x:.2f} {y:.2f} cm /Logo Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            "/Resources << /Font << /F1 5 0 R /F2 6 0 R >>"
            + (" /XObject << /Logo 7 0 R >>" if logo is not None else "")
            + " >> /Contents 4 0 R >>"
        ).encode(),
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    if logo is not None:
        objects.append(
            (
                f"<< /Type /XObject /Subtype /Image /Width {logo.width} /Height {logo.height} "
                f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /{logo.filter} "
                f"/Length {len(logo.data)} >>\nstream\n"
            ).encode()
            + logo.data
            + b"\nendstream"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _location(db: Db, staff: CurrentManager, location_id: int) -> tuple[object, object]:
    with db.read() as conn:
        business = tenancy_store.business(conn, staff.business_id)
        location = tenancy.get_location(conn, staff.business_id, location_id)
    return business, location


PosterLang = Annotated[str, Query(max_length=5, alias="in")]


@router.get("/admin/locations/{location_id}/poster.pdf")
def poster(
    location_id: IdPath,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    language: PosterLang = "",
) -> Response:
    business, location = _location(db, staff, location_id)
    lang = language if language in ("es", "en") else business.locale  # type: ignore[attr-defined]
    _ = translator(lang)
    url = signup_url(settings.public_base_url, business.slug, location.id)  # type: ignore[attr-defined]
    with db.read() as conn:
        brand = branding.brand(conn, business)
        promised = branding.poster_lines(conn, business, lang, now)
        image = branding.logo(conn, business.id)  # type: ignore[attr-defined]
    logo = pdf_image(image[0], image[1]) if image is not None else None
    lines = [*promised, _("Scan the code with your phone's camera:")]
    pdf = poster_pdf(
        business.name,  # type: ignore[attr-defined]
        location.name,  # type: ignore[attr-defined]
        url,
        lines,
        brand.colour,
        brand.ink,
        logo,
    )
    name = f"poster-{business.slug}-{location.id}.pdf"  # type: ignore[attr-defined]
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/admin/locations/{location_id}/poster.png")
def table_card(
    location_id: IdPath,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    scale: Annotated[int, Query(ge=2, le=40)] = 12,
) -> Response:
    """The bare code, for table cards and stickers the business lays out itself."""
    business, location = _location(db, staff, location_id)
    url = signup_url(settings.public_base_url, business.slug, location.id)  # type: ignore[attr-defined]
    image = io.BytesIO()
    import segno

    segno.make(url, error="m").save(image, kind="png", scale=scale, border=4)
    return Response(image.getvalue(), media_type="image/png")


@router.get("/admin/poster", response_class=HTMLResponse)
def poster_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return draw_poster(request, staff, db, now, settings, lang, accept_language)


def draw_poster(
    request: Request,
    staff: StaffSession,
    db: Db,
    now: datetime,
    settings: Settings,
    lang: str | None,
    accept_language: str | None,
    just_live: bool = False,
) -> HTMLResponse:
    """The poster as a page to print: the brand, what a customer gets, the code to join (the
    first location's), and each location's PDF and table-card code. The set-up ends on it."""
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        locations = tenancy_store.business_locations(conn, staff.business_id)
        brand = branding.brand(conn, business)
        lines = branding.poster_lines(conn, business, language, now)
    url = (
        signup_url(settings.public_base_url, business.slug, locations[0].id)
        if locations
        else f"{settings.public_base_url}/join/{business.slug}"
    )
    return render_page(
        request,
        "poster_page.html",
        language,
        business=business,
        brand=brand,
        staff=staff,
        lines=lines,
        join_url=url,
        qr=Markup(qr_svg(url)),  # noqa: S704  (segno's SVG)
        locations=locations,
        just_live=just_live,
    )
