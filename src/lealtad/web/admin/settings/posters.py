"""The printable QR poster per location: an A4 PDF (and the bare code as a PNG for table cards)
that opens the business's sign-up page with the location recorded on the new member."""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Query
from fastapi.responses import Response

from lealtad.deps import AppSettings, Db
from lealtad.kit.ids import IdPath
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.web.i18n import translator
from lealtad.web.sessions import CurrentManager

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


def poster_pdf(business: str, location: str, url: str, lines: list[str]) -> bytes:
    width, height = A4
    qr_left = (width - QR_SIZE) / 2
    qr_bottom = 250
    text = [
        b"BT /F2 30 Tf",
        f"{MARGIN} {height - 110} Td".encode(),
        _pdf_text(business) + b" Tj",
        b"/F1 16 Tf 0 -28 Td",
        _pdf_text(location) + b" Tj",
        b"/F2 20 Tf 0 -50 Td",
        _pdf_text(lines[0]) + b" Tj",
        b"/F1 16 Tf 0 -26 Td",
        _pdf_text(lines[1]) + b" Tj",
        b"ET",
        b"BT /F1 14 Tf",
        f"{MARGIN} {qr_bottom - 40} Td".encode(),
        _pdf_text(lines[2]) + b" Tj",
        b"0 -22 Td /F1 11 Tf",
        _pdf_text(url) + b" Tj",
        b"ET",
    ]
    content = b"\n".join(text) + b"\n" + _qr_path(url, qr_left, qr_bottom, QR_SIZE)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            "/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>"
        ).encode(),
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
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
    language: PosterLang = "",
) -> Response:
    business, location = _location(db, staff, location_id)
    lang = language if language in ("es", "en") else business.locale  # type: ignore[attr-defined]
    _ = translator(lang)
    url = signup_url(settings.public_base_url, business.slug, location.id)  # type: ignore[attr-defined]
    lines = [
        _("Join our loyalty program"),
        _("Free, in a few seconds, from your phone."),
        _("Scan the code with your phone's camera:"),
    ]
    pdf = poster_pdf(business.name, location.name, url, lines)  # type: ignore[attr-defined]
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
    segno.make(url, error="m").save(image, kind="png", scale=scale, border=4)
    return Response(image.getvalue(), media_type="image/png")
