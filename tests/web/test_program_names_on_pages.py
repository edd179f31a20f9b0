"""Cards and rewards by their titles with plural forms, in Spanish and English: what the counter
says a purchase earned, and the wallet's stamps and rewards sections. No id, slug or "(s)" is
left in the text a person reads."""

from __future__ import annotations

import re
from typing import Any

from tests.support import counter_login, form_field, make_template_shop, wallet_login


def _visible(html: str) -> str:
    """The page's text as a person reads it: no tags, no attributes."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def _no_ids(text: str) -> None:
    for raw in ("free-drink", "stamps.", "reward.", "stamp(s)", "sello(s)", "stamp-per-drink"):
        assert raw not in text, raw


def _sell(client: Any, shop: Any, csrf: str, drinks: int, lang: str) -> str:
    page = client.get(f"/counter/members/{shop.members[0]}?lang={lang}").text
    ids = re.findall(r'name="product" value="(\d+)"', page)
    form = {
        "product": ids,
        "count": [str(drinks)] + ["0"] * (len(ids) - 1),
        "key": form_field(page, "key"),
        "csrf": csrf,
        "lang": lang,
    }
    answer = client.post(f"/counter/members/{shop.members[0]}/purchases", data=form)
    assert answer.status_code == 201, answer.text
    return _visible(answer.text)


def test_the_counter_names_the_card_and_its_reward_with_plural_forms_in_both_languages(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = counter_login(client, shop)
    one = _sell(client, shop, csrf, 1, "es")
    assert "+1 sello en la tarjeta Café" in one
    assert "1 de 10 sellos" in one
    full = _sell(client, shop, csrf, 10, "es")
    assert "+10 sellos en la tarjeta Café · Un sello por bebida" in full
    assert "Tarjeta Café completa: ya puede canjear Bebida gratis." in full
    assert "Saldo ahora: 1 sello en la tarjeta Café · 1 premio listo: Bebida gratis" in full
    # The reward's price in the list of what can be redeemed, as the wallet says it.
    assert "Bebida gratis 1 tarjeta Café completa" in full
    _no_ids(full)
    english = _sell(client, shop, csrf, 2, "en")
    assert "+2 stamps on the Coffee card · One stamp per drink" in english
    assert "1 reward ready: Free drink" in english
    _no_ids(english)


def test_the_wallets_stamps_and_rewards_sections_name_the_card_and_reward_in_both_languages(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = counter_login(client, shop)
    _sell(client, shop, csrf, 11, "es")
    client.cookies.clear()
    wallet_login(client, db, shop, shop.members[0])
    for lang, card, ready, cost in (
        ("es", "Café · 1 de 10 sellos", "Para canjear: Bebida gratis", "1 tarjeta Café completa"),
        ("en", "Coffee · 1 of 10 stamps", "Ready to redeem: Free drink", "1 full Coffee card"),
    ):
        balance = _visible(client.get(f"/w/{shop.slug}/balance?lang={lang}").text)
        assert card in balance
        assert ready in balance
        _no_ids(balance)
        rewards = _visible(client.get(f"/w/{shop.slug}/rewards?lang={lang}").text)
        assert cost in rewards
        _no_ids(rewards)
    history = _visible(client.get(f"/w/{shop.slug}/history?lang=es").text)
    assert "Un sello por bebida" in history
    assert "Tarjeta Café completa: Bebida gratis" in history
    _no_ids(history)
