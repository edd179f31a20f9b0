"""Built-in program templates: one per real program named in the product brief, each a function
returning a validated ProgramDefinition that a business can start from and then edit.

Money is in minor units throughout, including tier thresholds on the "spend" metric (a threshold
of 30_000 on a USD program is $300). Figures are realistic but illustrative, not the brands' own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

from lealtad.errors import NotFound
from lealtad.rules.definition import (
    Cap,
    CashbackPercent,
    CashbackPolicy,
    Conditions,
    EarnRule,
    FixedPoints,
    ItemMatch,
    Multiplier,
    PointsPerUnit,
    PointsPolicy,
    ProgramDefinition,
    StampCard,
    Stamps,
    Tier,
    TierPolicy,
    TierWindow,
    TimeWindow,
)


@dataclass(frozen=True)
class Template:
    name: str
    title_en: str
    title_es: str
    description_en: str
    description_es: str
    currency: str
    build: Callable[[], ProgramDefinition]


def coffee_stamps() -> ProgramDefinition:
    """BonusQR coffee shop: buy 10 drinks, the 11th is free. Stamps only, nothing else."""
    return ProgramDefinition(
        name="Coffee card",
        stamp_cards=[
            StampCard(id="coffee", name="Coffee card", stamps_required=10, reward="free-drink")
        ],
        rules=[
            EarnRule(
                id="stamp-per-drink",
                name="One stamp per drink",
                conditions=Conditions(items=ItemMatch(categories=["drinks"])),
                action=Stamps(card="coffee", stamps=1, per_item=True),
            )
        ],
    )


def points_per_unit() -> ProgramDefinition:
    """Boots-style: 4 points per pound, each point worth 1p at the till."""
    return ProgramDefinition(
        name="Points card",
        # Boots-style points do not run out while the card is in use. The definition has no
        # "after N months without activity" expiry, and a per-lot expiry would take points from
        # members who shop every week, so the closest faithful choice is that they never expire.
        points=PointsPolicy(expiry="never", value_per_point=Decimal(1)),
        rules=[
            EarnRule(
                id="base",
                name="4 points per pound",
                action=PointsPerUnit(rate=Decimal(4), rounding="floor"),
            )
        ],
    )


def catalog_points() -> ProgramDefinition:
    """Falabella-style: 1 point per 100 pesos, points kept two years, spent on a catalog."""
    return ProgramDefinition(
        name="Catalog points",
        # Points are redeemed for catalog items (rewards come with the catalog), not at the till,
        # hence no value_per_point. Department-store points typically last about two years.
        points=PointsPolicy(expiry="days", expiry_days=730),
        rules=[
            EarnRule(
                id="base",
                name="1 point per 100 pesos",
                # CLP has no minor unit: 1 minor unit = 1 peso, so 0.01 points per peso.
                action=PointsPerUnit(rate=Decimal("0.01"), rounding="floor"),
            )
        ],
    )


def gem_tiers() -> ProgramDefinition:
    """Diamond Art Club: gem tiers by yearly spend, 10% cashback, points multiplied by tier."""
    return ProgramDefinition(
        name="Gem rewards",
        cashback=CashbackPolicy(redemption_minimum=500),  # $5 of cashback before it can be used
        tiers=TierPolicy(
            metric="spend",
            window=TierWindow(kind="calendar", period="year"),
            levels=[
                Tier(id="emerald", name="Emerald", threshold=Decimal(0)),
                Tier(
                    id="sapphire",
                    name="Sapphire",
                    threshold=Decimal(30_000),  # $300 in the calendar year
                    multiplier=Decimal("1.25"),
                    perks=["free shipping"],
                ),
                Tier(
                    id="ruby",
                    name="Ruby",
                    threshold=Decimal(75_000),
                    multiplier=Decimal("1.5"),
                    perks=["free shipping", "early access to new releases"],
                ),
                Tier(
                    id="diamond",
                    name="Diamond",
                    threshold=Decimal(150_000),
                    multiplier=Decimal(2),
                    perks=["free shipping", "early access to new releases", "exclusive kits"],
                ),
            ],
        ),
        rules=[
            EarnRule(
                id="base",
                name="1 point per dollar",
                action=PointsPerUnit(rate=Decimal(1)),
            ),
            EarnRule(
                id="cashback",
                name="10% cashback",
                action=CashbackPercent(percent=Decimal(10)),
            ),
        ],
    )


def stars_tiers() -> ProgramDefinition:
    """Starbucks-style: 2 stars per dollar, Gold at 300 stars a year, birthday and happy hour."""
    # The rewards at 25, 100, 200 and 400 stars are catalog rewards with a points cost; they come
    # with the rewards catalog, so this template only earns.
    return ProgramDefinition(
        name="Stars",
        # Stars lapse about six months after they are earned.
        points=PointsPolicy(expiry="days", expiry_days=180),
        tiers=TierPolicy(
            metric="points_earned",
            window=TierWindow(kind="rolling", days=365),
            levels=[
                Tier(id="green", name="Green", threshold=Decimal(0)),
                Tier(
                    id="gold",
                    name="Gold",
                    threshold=Decimal(300),
                    multiplier=Decimal("1.2"),
                    perks=["free extra shot or syrup", "member-only offers"],
                ),
            ],
        ),
        rules=[
            EarnRule(
                id="base",
                name="2 stars per dollar",
                action=PointsPerUnit(rate=Decimal(2)),
            ),
            EarnRule(
                id="happy-hour",
                name="Double stars at happy hour",
                description="Weekdays 14:00-17:00",
                conditions=Conditions(
                    weekdays=[0, 1, 2, 3, 4],
                    time_window=TimeWindow(start=time(14, 0), end=time(17, 0)),
                ),
                action=Multiplier(factor=Decimal(2)),
            ),
            EarnRule(
                id="birthday",
                name="Birthday stars",
                trigger="birthday",
                action=FixedPoints(points=50),
            ),
        ],
    )


def trade_b2b() -> ProgramDefinition:
    """TAMKO Edge-style contractor program: purchases, training hours, referrals, surveys."""
    # Its rewards (cash back, marketing credits, workshops, extended warranties) are catalog
    # rewards bought with points; they come with the rewards catalog.
    return ProgramDefinition(
        name="Contractor rewards",
        points=PointsPolicy(expiry="days", expiry_days=730),
        tiers=TierPolicy(
            metric="spend",
            window=TierWindow(kind="calendar", period="year"),
            levels=[
                Tier(id="member", name="Member", threshold=Decimal(0)),
                Tier(
                    id="preferred",
                    name="Preferred",
                    threshold=Decimal(2_500_000),  # $25,000 in the calendar year
                    multiplier=Decimal("1.1"),
                    perks=["co-branded marketing material"],
                ),
                Tier(
                    id="elite",
                    name="Elite",
                    threshold=Decimal(7_500_000),
                    multiplier=Decimal("1.25"),
                    perks=["co-branded marketing material", "extended warranty offers"],
                ),
                Tier(
                    id="master",
                    name="Master",
                    threshold=Decimal(15_000_000),
                    multiplier=Decimal("1.5"),
                    perks=[
                        "co-branded marketing material",
                        "extended warranty offers",
                        "dedicated account manager",
                    ],
                ),
            ],
        ),
        rules=[
            EarnRule(
                id="base",
                name="1 point per dollar",
                action=PointsPerUnit(rate=Decimal(1)),
            ),
            EarnRule(
                id="training",
                name="100 points per training hour",
                trigger="training_hours",
                action=PointsPerUnit(rate=Decimal(100)),
                # At most 4,000 points (40 hours) of training a calendar year.
                caps=[Cap(period="year", max_units=4_000)],
            ),
            EarnRule(
                id="referral",
                name="Referral bonus",
                description="For the referrer, when the referred contractor first buys",
                trigger="referral",
                award_to="referrer",
                conditions=Conditions(referral_on="first_purchase"),
                action=FixedPoints(points=500),
            ),
            EarnRule(
                id="survey",
                name="Survey bonus",
                trigger="survey_answered",
                action=FixedPoints(points=50),
            ),
        ],
    )


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
        ),
        Template(
            name="points-per-unit",
            title_en="Points per pound",
            title_es="Puntos por libra",
            description_en="4 points per pound spent; each point is worth 1p at the till.",
            description_es="4 puntos por libra gastada; cada punto vale 1 penique en caja.",
            currency="GBP",
            build=points_per_unit,
        ),
        Template(
            name="catalog-points",
            title_en="Catalog points",
            title_es="Puntos para catálogo",
            description_en="1 point per 100 pesos, kept two years and redeemed for catalog items.",
            description_es="1 punto por cada 100 pesos, válido dos años y canjeable en el catálogo.",
            currency="CLP",
            build=catalog_points,
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
        ),
        Template(
            name="stars-tiers",
            title_en="Stars with a Gold tier",
            title_es="Estrellas con nivel Gold",
            description_en=(
                "2 stars per dollar, double stars on weekday afternoons, birthday stars and a "
                "Gold tier at 300 stars a year that earns 20% more."
            ),
            description_es=(
                "2 estrellas por dólar, estrellas dobles las tardes de lunes a viernes, estrellas "
                "de cumpleaños y un nivel Gold a las 300 estrellas al año que gana un 20 % más."
            ),
            currency="USD",
            build=stars_tiers,
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
