"""The pass's icon and logo: the business's own logo when it is a PNG (the only kind Wallet
shows), else its initial drawn on its brand colour."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image as PILImage

# Apple's sizes at @1x and @2x: the icon is 29 points square, the logo at most 160 x 50.
ICON = ((29, 29), (58, 58))
LOGO = ((160, 50), (320, 100))


def _png(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _initial(size: tuple[int, int], letter: str, colour: str, ink: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont  # here: a pass is drawn rarely (P6 memory)

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(min(size) * 0.7))
    draw.text((size[0] / 2, size[1] / 2), letter, fill=ink, font=font, anchor="mm")
    return _png(image)


def _fitted(logo: bytes, size: tuple[int, int]) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(logo))
    image.thumbnail(size)
    return _png(image)


def pass_images(name: str, colour: str, ink: str, logo: bytes | None) -> dict[str, bytes]:
    letter = (name.strip()[:1] or "L").upper()
    files: dict[str, bytes] = {}
    for (one, two), stem in ((ICON, "icon"), (LOGO, "logo")):
        for size, suffix in ((one, ""), (two, "@2x")):
            files[f"{stem}{suffix}.png"] = (
                _fitted(logo, size) if logo else _initial(size, letter, colour, ink)
            )
    return files
