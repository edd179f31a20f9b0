"""What the poster promises, said from each template's program in both languages: the card's
and reward's titles for a stamp card, points per unit of money, cashback, tiers by name."""

from __future__ import annotations

import pytest

from lealtad.branding.promise import ordinal, promise
from lealtad.rules.names import ProgramNames
from lealtad.rules.templates import TEMPLATES

EXPECTED = {
    ("coffee-stamps", "es"): ("Únete y tu 11.º café es gratis", "Bebida gratis al completar"),
    ("coffee-stamps", "en"): ("Join and your 11th coffee is free", "Free drink when your card"),
    ("points-per-unit", "es"): ("Únete y gana 4 puntos por cada 1", ""),
    ("points-per-unit", "en"): ("Join and earn 4 points per £1", ""),
    ("catalog-points", "es"): ("Únete y gana 1 punto por cada 100", ""),
    ("catalog-points", "en"): ("Join and earn 1 point per CLP100", ""),
    ("gem-tiers", "es"): ("Únete y recupera un 10\u00a0% de cada compra", "Niveles: Esmeralda"),
    ("gem-tiers", "en"): ("Join and get 10% back on every purchase", "Levels: Emerald, Sapphire"),
    ("stars-tiers", "es"): ("Únete y gana 2 estrellas por cada 1", "Niveles: Verde, Oro."),
    ("stars-tiers", "en"): ("Join and earn 2 stars per $1", "Levels: Green, Gold."),
    ("trade-b2b", "es"): ("Únete y gana 1 punto por cada 1", "Niveles: Socio, Preferente"),
    ("trade-b2b", "en"): ("Join and earn 1 point per $1", "Levels: Member, Preferred"),
}


@pytest.mark.parametrize(("template", "lang"), sorted(EXPECTED))
def test_the_poster_says_what_a_customer_gets(template: str, lang: str) -> None:
    shop = TEMPLATES[template]
    definition = shop.build()
    titles = {r.slug: r.title.model_dump() for r in shop.rewards}
    names = ProgramNames.of(definition, titles, lang, shop.currency)
    headline, how = promise(definition, names)
    expected_headline, expected_how = EXPECTED[(template, lang)]
    assert headline.startswith(expected_headline)
    assert how.startswith(expected_how)


def test_an_empty_program_invites_to_join() -> None:
    from lealtad.rules.definition import ProgramDefinition

    names = ProgramNames.of(ProgramDefinition(), {}, "en")
    assert promise(ProgramDefinition(), names)[0] == "Join our loyalty program"


@pytest.mark.parametrize(
    ("n", "said"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (12, "12th"), (21, "21st")]
)
def test_english_ordinals(n: int, said: str) -> None:
    assert ordinal(n, "en") == said
