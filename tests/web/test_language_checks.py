"""The language sweep's checks catch what the pages once showed (the texts reported in issue 17)
and let pass what a correct page says: so a green sweep means something."""

from __future__ import annotations

import pytest

from tests.web.language_checks import Sweep, visible_texts

SPANISH_PAGE_FAULTS = [
    "One stamp per drink: 1 stamp(s)",
    "Coffee card complete: 1 x free-drink",
    "Premios listos · free-drink",
    "Sellos · coffee",
    "Por member:1",
    "login_code",
    "ledger.adjust",
    "reward cruasan: Free croissant",
    "Purchases do not show a clear pattern yet for this customer.",
    "50.0 %",
    "+100.0",
    "1.00 EUR",
    "Te faltan 1",
    "1 respuestas",
    "rules[0].title",
    "title.es",
    "None",
    "2026-03-02",
    "Aún no se ha podido ajustar el modelo: At least 20 customers are needed; there are 12.",
    "experiment:1",
]
ENGLISH_PAGE_FAULTS = [
    "Tu tarjeta y tus puntos siguen igual.",
    "50 %",
    "12,50",
    "1 stamps",
    "Darme de baja",
]
FINE = {
    "es": [
        "Un sello por bebida: 1 sello",
        "Tarjeta Café completa: Bebida gratis",
        "Te faltan 2 sellos.",
        "Te faltan 1.042 puntos.",
        "1 respuesta",
        "50 %",
        "1,80 €",
        "1.500 CLP",
        "Código ZQGXS-Y9Y3P",
        "Cafetería La Esquina",
        "Escríbenos a hola@demo-cafe.example",
    ],
    "en": ["One stamp per drink: 1 stamp", "50%", "€1.80", "12.50", "Free drink ready"],
}


def _sweep() -> Sweep:
    return Sweep(
        own_words=["Cafetería La Esquina"],
        ids={"es": {"free-drink", "coffee", "cruasan"}, "en": {"free-drink", "cruasan"}},
    )


@pytest.mark.parametrize("text", SPANISH_PAGE_FAULTS)
def test_a_fault_on_a_spanish_page_is_found(text: str) -> None:
    sweep = _sweep()
    sweep.check("page", "es", [(text, None)])
    assert sweep.findings, text


@pytest.mark.parametrize("text", ENGLISH_PAGE_FAULTS)
def test_a_fault_on_an_english_page_is_found(text: str) -> None:
    sweep = _sweep()
    sweep.check("page", "en", [(text, None)])
    assert sweep.findings, text


@pytest.mark.parametrize(("lang", "text"), [(lang, t) for lang, ts in FINE.items() for t in ts])
def test_what_a_correct_page_says_passes(lang: str, text: str) -> None:
    sweep = _sweep()
    sweep.check("page", lang, [(text, None)])
    assert sweep.findings == []


def test_text_marked_in_the_other_language_is_read_in_that_language() -> None:
    html = '<p>Asunto</p><section><strong lang="en">Double points this weekend</strong></section>'
    sweep = _sweep()
    sweep.check("page", "es", visible_texts(html))
    assert sweep.findings == []


def test_scripts_styles_and_code_are_not_read_but_labels_and_buttons_are() -> None:
    html = (
        '<script>var the_key = "member:1";</script><style>.a{}</style><code>at_risk</code>'
        '<img alt="The card of the member"><input type="submit" value="Save the card">'
    )
    texts = [text for text, _ in visible_texts(html)]
    assert texts == ["The card of the member", "Save the card"]
