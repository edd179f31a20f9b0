"""A business's slug, made from its name, is what its poster and sign-up link show."""

from __future__ import annotations

import pytest

from lealtad.tenancy.model import slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Aurora", "cafe-aurora"),
        ("Cafetería La Esquina", "cafeteria-la-esquina"),
        ("Ñandú & Pingüino", "nandu-pinguino"),
        ("Summit Roofing Supply", "summit-roofing-supply"),
        ("  ¡Olé!  ", "ole"),
        ("東京", "business"),
    ],
)
def test_an_accented_letter_keeps_its_letter_in_the_slug(name: str, slug: str) -> None:
    assert slugify(name) == slug
