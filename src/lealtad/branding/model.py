"""What a brand may be, decided without a database: a colour and the text colour that reads on
it, and which uploaded files are logos."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# The product's own look, for a business that chose nothing.
DEFAULT_COLOUR = "#5b3a29"
LIGHT_TEXT = "#ffffff"
DARK_TEXT = "#111111"
PAGE_BACKGROUND = "#f6f3ee"  # the wallet's and the join page's background
MAX_LOGO_BYTES = 300 * 1024
LOGO_TYPES = ("image/png", "image/jpeg", "image/webp")
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class NotAColour(ValueError):
    """Not a colour written as #rgb or #rrggbb."""


class NotALogo(ValueError):
    """An upload refused as a logo; `reason` is one of empty, too_large, svg, unknown_type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_colour(value: str) -> str:
    """'#A1b', 'a1b2c3' or '#a1b2c3' as '#a1b2c3'."""
    found = _HEX.match(value.strip())
    if found is None:
        raise NotAColour(value)
    digits = found.group(1).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return f"#{digits}"


def _luminance(colour: str) -> float:
    """Relative luminance as WCAG 2 defines it."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    a, b = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(colour: str) -> str:
    """White where white is readable (AA, 4.5:1), else near-black, else black: on any colour
    one of them reaches 4.5:1, since black and white are 21:1 apart."""
    if contrast(colour, LIGHT_TEXT) >= 4.5:
        return LIGHT_TEXT
    if contrast(colour, DARK_TEXT) >= 4.5:
        return DARK_TEXT
    return "#000000"


def logo_type(data: bytes) -> str:
    """The image type by its first bytes; the file's name and the browser's word are not
    trusted. SVG is refused: it is a document that can carry script."""
    if not data:
        raise NotALogo("empty")
    if len(data) > MAX_LOGO_BYTES:
        raise NotALogo("too_large")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise NotALogo("svg")
    raise NotALogo("unknown_type")


def logo_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class Brand:
    """What a page draws: the name, the colour with its text colour, the logo's address."""

    name: str
    slug: str
    colour: str = DEFAULT_COLOUR
    ink: str = LIGHT_TEXT
    logo_hash: str | None = None
    chosen_colour: bool = False

    @property
    def accent(self) -> str:
        """The colour as text or a border on the pages' light background: itself when it reads
        there (AA), else near-black."""
        return self.colour if contrast(self.colour, PAGE_BACKGROUND) >= 4.5 else DARK_TEXT

    @property
    def logo_path(self) -> str | None:
        return f"/b/{self.slug}/logo/{self.logo_hash}" if self.logo_hash else None

    def logo_url(self, base_url: str) -> str | None:
        path = self.logo_path
        return f"{base_url.rstrip('/')}{path}" if path else None


def brand_of(name: str, slug: str, colour: str | None, logo_hash: str | None) -> Brand:
    chosen = colour or DEFAULT_COLOUR
    return Brand(name, slug, chosen, text_on(chosen), logo_hash, colour is not None)
