"""The names of program things in a language: titles where the program has them, the name the
business wrote where it has not (programs stored before titles existed load unchanged), and
amounts with the language's plural forms, never an id or "sello(s)"."""

from __future__ import annotations

import dataclasses

from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.names import ProgramNames, in_phrase, name_in
from lealtad.rules.templates import get_template

COFFEE = get_template("coffee-stamps").build()
TITLES = {"free-drink": {"es": "Bebida gratis", "en": "Free drink"}}


def test_spanish_and_english_count_stamps_points_and_what_is_missing_with_plural_forms() -> None:
    es = ProgramNames.of(COFFEE, TITLES, "es")
    en = ProgramNames.of(COFFEE, TITLES, "en")
    assert es.award("stamps.coffee", 1) == "1 sello en la tarjeta Café"
    assert es.award("stamps.coffee", 2) == "2 sellos en la tarjeta Café"
    assert en.award("stamps.coffee", 1) == "1 stamp on the Coffee card"
    assert en.award("stamps.coffee", 3) == "3 stamps on the Coffee card"
    assert (es.amount("points", 1), es.amount("points", 1200)) == ("1 punto", "1.200 puntos")
    assert es.missing("stamps.coffee", 1) == "Te falta 1 sello."
    assert es.missing("points", 3) == "Te faltan 3 puntos."
    assert en.missing("points", 1) == "1 point to go."
    assert es.missing_for("stamps.coffee", 4, "Bebida gratis") == (
        "Te faltan 4 sellos para Bebida gratis"
    )
    assert (es.have_of(1, 10), en.have_of(0, 1)) == ("1 de 10 sellos", "0 of 1 stamp")


def test_rewards_are_named_by_their_catalog_titles_and_full_cards_by_the_card() -> None:
    es = ProgramNames.of(COFFEE, TITLES, "es")
    assert es.amount("reward.free-drink", 1) == "Bebida gratis"
    assert es.amount("reward.free-drink", 2) == "2 × Bebida gratis"
    # Held, as the counter says it after a sale: "Saldo ahora: 1 premio listo: Bebida gratis".
    assert es.ready("reward.free-drink", 1) == "1 premio listo: Bebida gratis"
    assert ProgramNames.of(COFFEE, TITLES, "en").ready("reward.free-drink", 2) == (
        "2 rewards ready: Free drink"
    )
    assert es.ready("stamps.coffee", 3) == es.amount("stamps.coffee", 3)
    assert es.quantity("reward.free-drink", 1) == "1 tarjeta Café completa"
    assert es.unit("stamps.coffee") == "Café"
    assert es.amount("cashback", 125) == "1,25\xa0€ de cashback"
    without_catalog = ProgramNames.of(COFFEE, {}, "es")
    assert without_catalog.reward("free-drink") == "El premio de la tarjeta Café"


def test_a_program_stored_without_titles_loads_and_is_named_by_what_the_business_wrote() -> None:
    stored = COFFEE.as_json()
    for thing in (*stored["rules"], *stored["stamp_cards"]):
        thing.pop("title")
    old = ProgramDefinition.model_validate(stored)
    assert "title" not in old.as_json()["rules"][0], "written as before titles existed"
    es = ProgramNames.of(old, TITLES, "es")
    assert es.card("coffee") == "Coffee card"
    assert name_in(old.rules[0], "es") == "One stamp per drink"
    assert es.memo("purchase R1: One stamp per drink: stamps") == "Compra R1: One stamp per drink"


def test_the_journal_s_english_memos_read_in_the_members_language() -> None:
    es = ProgramNames.of(COFFEE, TITLES, "es")
    assert es.memo("purchase R7: One stamp per drink: stamps") == "Compra R7: Un sello por bebida"
    assert es.memo("Coffee card complete: 1 x free-drink") == "Tarjeta Café completa: Bebida gratis"
    assert es.memo("reward free-drink: Free drink") == "Premio: Bebida gratis"
    assert es.memo("Disculpa por un pedido equivocado") == "Disculpa por un pedido equivocado"
    gems = ProgramNames.of(get_template("gem-tiers").build(), {}, "es")
    assert gems.tier("sapphire") == "Zafiro"
    assert gems.rule("tier:sapphire") == "Nivel Zafiro"


def test_a_program_that_names_its_points_is_said_with_its_own_word() -> None:

    stars = get_template("stars-tiers").build()
    spanish = ProgramNames.of(stars, {}, "es", "USD")
    english = ProgramNames.of(stars, {}, "en", "USD")
    assert spanish.quantity("points", 1) == "1 estrella"
    assert spanish.quantity("points", 32) == "32 estrellas"
    assert english.quantity("points", 1) == "1 star"
    assert spanish.unit("points") == "Estrellas"
    assert english.unit("points") == "Stars"
    plain = ProgramNames.of(get_template("points-per-unit").build(), {}, "es", "GBP")
    assert plain.quantity("points", 2) == "2 puntos"
    assert plain.unit("points") == "Puntos"


def test_a_card_named_with_the_word_card_is_not_said_twice() -> None:
    assert in_phrase("Coffee card") == "Coffee"
    assert in_phrase("Tarjeta café") == "café"
    assert in_phrase("Card") == "Card"
    assert in_phrase("Cardamom") == "Cardamom"
    en = ProgramNames.of(COFFEE, TITLES, "en")
    named = dataclasses.replace(en, cards={"coffee": "Coffee card"})
    assert named.award("stamps.coffee", 2) == "2 stamps on the Coffee card"
    assert named.memo("Coffee card complete: 1 x free-drink") == (
        "Coffee card complete: Free drink"
    )
