"""A logo as an image a PDF can draw: a JPEG as it is (PDF reads JPEG), a PNG decoded to RGB on
white (PDF has no PNG alpha); WebP and unusual PNGs (16-bit, interlaced, huge) are left out of
the PDF and shown on the printable page only. Pure Python, so the server needs no image library;
decoded logos are kept by their hash."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

MAX_PIXELS = 1_000_000


@dataclass(frozen=True)
class PdfImage:
    width: int
    height: int
    data: bytes
    filter: str  # DCTDecode (JPEG bytes) or FlateDecode (RGB rows, compressed)


def _jpeg(data: bytes) -> PdfImage | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        # Start-of-frame markers (baseline, progressive...) carry the size and the components.
        if marker in (0xC0, 0xC1, 0xC2) and data[at + 9] == 3:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return PdfImage(width, height, data, "DCTDecode")
        at += 2 + length
    return None


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> bytearray:
    stride = width * bpp
    out = bytearray(stride * height)
    previous = bytearray(stride)
    at = 0
    for y in range(height):
        kind, line = raw[at], bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((x + p) & 0xFF for x, p in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                corner = previous[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, previous[i], corner)) & 0xFF
        out[y * stride : (y + 1) * stride] = line
        previous = line
    return out


def _png(data: bytes) -> PdfImage | None:
    at, idat, palette = 8, bytearray(), b""
    width = height = depth = kind = interlace = 0
    while at + 8 <= len(data):
        length, name = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if name == b"IHDR":
            width, height, depth, kind, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
        elif name == b"PLTE":
            palette = body
        elif name == b"IDAT":
            idat += body
        at += 12 + length
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(kind)
    if channels is None or depth != 8 or interlace or not 0 < width * height <= MAX_PIXELS:
        return None
    pixels = _unfilter(zlib.decompress(bytes(idat)), width, height, channels)
    rgb = bytearray()
    for i in range(0, len(pixels), channels):
        px = pixels[i : i + channels]
        if kind == 3:
            colour = palette[px[0] * 3 : px[0] * 3 + 3] or b"\0\0\0"
            rgb += colour
            continue
        alpha = px[-1] if kind in (4, 6) else 255
        values = (px[0],) * 3 if kind in (0, 4) else tuple(px[:3])
        # On white paper: a transparent background prints white.
        rgb += bytes((v * alpha + 255 * (255 - alpha)) // 255 for v in values)
    return PdfImage(width, height, zlib.compress(bytes(rgb)), "FlateDecode")


@lru_cache(maxsize=32)
def pdf_image(data: bytes, kind: str) -> PdfImage | None:
    """The logo for a PDF, or None when it cannot be drawn there."""
    try:
        if kind == "image/jpeg":
            return _jpeg(data)
        if kind == "image/png":
            return _png(data)
    except (ValueError, IndexError, struct.error, zlib.error):
        return None
    return None
