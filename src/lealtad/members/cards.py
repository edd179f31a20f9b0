"""The member card as a QR image."""

from __future__ import annotations

import io

import segno


def qr_image(token: str, kind: str, scale: int) -> bytes:
    code = segno.make(token, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=scale, border=4)
    return buffer.getvalue()
