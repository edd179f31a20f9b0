"""Built-in program templates: one per real program named in the product brief, each with its
program (rules.template_programs), the products its counter sells and the catalog entries of every
reward it gives (rules.template_shops), in the language and time zone of its market."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lealtad.errors import NotFound
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.template_programs import (
    catalog_points,
    coffee_stamps,
    gem_tiers,
    points_per_unit,
    stars_tiers,
    trade_b2b,
)
from lealtad.rules.template_shops import (
    CATALOG_PRODUCTS,
    CATALOG_REWARDS,
    COFFEE_PRODUCTS,
    COFFEE_REWARDS,
    GEM_PRODUCTS,
    GEM_REWARDS,
    POINTS_PRODUCTS,
    POINTS_REWARDS,
    STARS_PRODUCTS,
    STARS_REWARDS,
    TRADE_PRODUCTS,
    TRADE_REWARDS,
    ShopProduct,
)

__all__ = [
    "TEMPLATES",
    "Template",
    "catalog_points",
    "coffee_stamps",
    "gem_tiers",
    "get_template",
    "points_per_unit",
    "stars_tiers",
    "trade_b2b",
]


@dataclass(frozen=True)
class Template:
    name: str
    title_en: str
    title_es: str
    description_en: str
    description_es: str
    currency: str
    build: Callable[[], ProgramDefinition]
    # The market's language and time zone, and what a shop of this kind sells and gives.
    locale: str = "en"
    timezone: str = "UTC"
    products: tuple[ShopProduct, ...] = ()
    rewards: tuple[RewardIn, ...] = ()


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            name="coffee-stamps",
            title_en="Coffee stamp card",
            title_es="Tarjeta de sellos de café",
            description_en="Buy 10 drinks, the 11th is free: one stamp per drink.",
            description_es="Compra 10 bebidas y la 11.ª es gratis: un sello por bebida.",
            currency="EUR",
            build=coffee_stamps,
            locale="es",
            timezone="Europe/Madrid",
            products=COFFEE_PRODUCTS,
            rewards=COFFEE_REWARDS,
        ),
        Template(
            name="points-per-unit",
            title_en="Points per pound",
            title_es="Puntos por libra",
            description_en="4 points per pound spent; each point is worth 1p at the till.",
            description_es="4 puntos por libra gastada; cada punto vale 1 penique en caja.",
            currency="GBP",
            build=points_per_unit,
            locale="en",
            timezone="Europe/London",
            products=POINTS_PRODUCTS,
            rewards=POINTS_REWARDS,
        ),
        Template(
            name="catalog-points",
            title_en="Catalog points",
            title_es="Puntos para catálogo",
            description_en="1 point per 100 pesos, kept two years and redeemed for catalog items.",
            description_es="1 punto por cada 100 pesos, válido dos años y canjeable en el catálogo.",
            currency="CLP",
            build=catalog_points,
            locale="es",
            timezone="America/Santiago",
            products=CATALOG_PRODUCTS,
            rewards=CATALOG_REWARDS,
        ),
        Template(
            name="gem-tiers",
            title_en="Gem tiers with cashback",
            title_es="Niveles de gemas con cashback",
            description_en=(
                "Emerald, Sapphire, Ruby and Diamond by yearly spend; 10% cashback on every "
                "purchase and more points, free shipping and early access in higher tiers."
            ),
            description_es=(
                "Esmeralda, Zafiro, Rubí y Diamante según el gasto anual; 10 % de cashback en cada "
                "compra y más puntos, envío gratis y acceso anticipado en los niveles altos."
            ),
            currency="USD",
            build=gem_tiers,
            locale="en",
            timezone="America/New_York",
            products=GEM_PRODUCTS,
            rewards=GEM_REWARDS,
        ),
        Template(
            name="stars-tiers",
            title_en="Stars with a Gold tier",
            title_es="Estrellas con nivel Oro",
            description_en=(
                "2 stars per dollar, double stars on weekday afternoons, birthday stars and a "
                "Gold tier at 300 stars a year that earns 20% more."
            ),
            description_es=(
                "2 estrellas por dólar, estrellas dobles las tardes de lunes a viernes, estrellas "
                "de cumpleaños y un nivel Oro a las 300 estrellas al año que gana un 20 % más."
            ),
            currency="USD",
            build=stars_tiers,
            locale="en",
            timezone="America/Los_Angeles",
            products=STARS_PRODUCTS,
            rewards=STARS_REWARDS,
        ),
        Template(
            name="trade-b2b",
            title_en="Contractor trade program",
            title_es="Programa para profesionales",
            description_en=(
                "Contractors earn on purchases, training hours, referrals and surveys; four "
                "tiers by yearly spend multiply their points."
            ),
            description_es=(
                "Los profesionales ganan puntos por compras, horas de formación, referidos y "
                "encuestas; cuatro niveles según el gasto anual multiplican sus puntos."
            ),
            currency="USD",
            build=trade_b2b,
            locale="en",
            timezone="America/Chicago",
            products=TRADE_PRODUCTS,
            rewards=TRADE_REWARDS,
        ),
    )
}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        known = ", ".join(TEMPLATES)
        raise NotFound(
            f"no template named {name!r}; known templates: {known}",
            code="template_not_found",
            details={"known": list(TEMPLATES)},
        ) from None
