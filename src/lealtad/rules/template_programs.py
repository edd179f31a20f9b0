"""The programs of the built-in templates, one per real program named in the product brief, each
a function returning a validated ProgramDefinition with its names in Spanish and English. What a
business gets with them besides (products, catalog rewards) is in rules.template_shops.

Money is in minor units throughout, including tier thresholds on the "spend" metric (a threshold
of 30_000 on a USD program is $300). Figures are realistic but illustrative, not the brands' own."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from lealtad.rules.definition import (
    CashbackPolicy,
    PointsName,
    PointsPolicy,
    ProgramDefinition,
    StampCard,
    Tier,
    TierPolicy,
    TierWindow,
)
from lealtad.rules.earn_rule import (
    Cap,
    CashbackPercent,
    Conditions,
    EarnRule,
    FixedPoints,
    ItemMatch,
    Multiplier,
    PointsPerUnit,
    Stamps,
    TimeWindow,
)
from lealtad.rules.program_parts import Titles


def _t(es: str, en: str) -> Titles:
    return Titles(es=es, en=en)


_SHIPPING = _t("envío gratis", "free shipping")
_EARLY = _t("acceso anticipado a las novedades", "early access to new releases")
_MARKETING = _t("material de marketing con tu marca", "co-branded marketing material")
_WARRANTY = _t("ofertas de garantía ampliada", "extended warranty offers")


def coffee_stamps() -> ProgramDefinition:
    """BonusQR coffee shop: buy 10 drinks, the 11th is free. Stamps only, nothing else."""
    return ProgramDefinition(
        name="Coffee card",
        title=_t("Tarjeta de café", "Coffee card"),
        stamp_cards=[
            StampCard(
                id="coffee",
                name="Coffee card",
                title=_t("Café", "Coffee"),
                stamps_required=10,
                reward="free-drink",
            )
        ],
        rules=[
            EarnRule(
                id="stamp-per-drink",
                name="One stamp per drink",
                title=_t("Un sello por bebida", "One stamp per drink"),
                conditions=Conditions(items=ItemMatch(categories=["drinks"])),
                action=Stamps(card="coffee", stamps=1, per_item=True),
            )
        ],
    )


def points_per_unit() -> ProgramDefinition:
    """Boots-style: 4 points per pound, each point worth 1p at the till."""
    return ProgramDefinition(
        name="Points card",
        title=_t("Tarjeta de puntos", "Points card"),
        # Boots-style points do not run out while the card is in use. The definition has no
        # "after N months without activity" expiry, and a per-lot expiry would take points from
        # members who shop every week, so the closest faithful choice is that they never expire.
        points=PointsPolicy(expiry="never", value_per_point=Decimal(1)),
        rules=[
            EarnRule(
                id="base",
                name="4 points per pound",
                title=_t("4 puntos por libra", "4 points per pound"),
                action=PointsPerUnit(rate=Decimal(4), rounding="floor"),
            )
        ],
    )


def catalog_points() -> ProgramDefinition:
    """Falabella-style: 1 point per 100 pesos, points kept two years, spent on a catalog."""
    return ProgramDefinition(
        name="Catalog points",
        title=_t("Puntos para catálogo", "Catalog points"),
        # Points are redeemed for catalog items (rewards come with the catalog), not at the till,
        # hence no value_per_point. Department-store points typically last about two years.
        points=PointsPolicy(expiry="days", expiry_days=730),
        rules=[
            EarnRule(
                id="base",
                name="1 point per 100 pesos",
                title=_t("1 punto por cada $100", "1 point per $100"),
                # CLP has no minor unit: 1 minor unit = 1 peso, so 0.01 points per peso.
                action=PointsPerUnit(rate=Decimal("0.01"), rounding="floor"),
            )
        ],
    )


def gem_tiers() -> ProgramDefinition:
    """Diamond Art Club: gem tiers by yearly spend, 10% cashback, points multiplied by tier."""
    return ProgramDefinition(
        name="Gem rewards",
        title=_t("Premios de gemas", "Gem rewards"),
        cashback=CashbackPolicy(redemption_minimum=500),  # $5 of cashback before it can be used
        tiers=TierPolicy(
            metric="spend",
            window=TierWindow(kind="calendar", period="year"),
            levels=[
                Tier(
                    id="emerald",
                    name="Emerald",
                    title=_t("Esmeralda", "Emerald"),
                    threshold=Decimal(0),
                ),
                Tier(
                    id="sapphire",
                    name="Sapphire",
                    title=_t("Zafiro", "Sapphire"),
                    threshold=Decimal(30_000),  # $300 in the calendar year
                    multiplier=Decimal("1.25"),
                    perks=["free shipping"],
                    perk_titles=[_SHIPPING],
                ),
                Tier(
                    id="ruby",
                    name="Ruby",
                    title=_t("Rubí", "Ruby"),
                    threshold=Decimal(75_000),
                    multiplier=Decimal("1.5"),
                    perks=["free shipping", "early access to new releases"],
                    perk_titles=[_SHIPPING, _EARLY],
                ),
                Tier(
                    id="diamond",
                    name="Diamond",
                    title=_t("Diamante", "Diamond"),
                    threshold=Decimal(150_000),
                    multiplier=Decimal(2),
                    perks=["free shipping", "early access to new releases", "exclusive kits"],
                    perk_titles=[_SHIPPING, _EARLY, _t("kits exclusivos", "exclusive kits")],
                ),
            ],
        ),
        rules=[
            EarnRule(
                id="base",
                name="1 point per dollar",
                title=_t("1 punto por dólar", "1 point per dollar"),
                action=PointsPerUnit(rate=Decimal(1)),
            ),
            EarnRule(
                id="cashback",
                name="10% cashback",
                title=_t("10 % de cashback", "10% cashback"),
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
        title=_t("Estrellas", "Stars"),
        # Stars lapse about six months after they are earned; members hear "stars", not points.
        points=PointsPolicy(
            expiry="days",
            expiry_days=180,
            name=PointsName(one=_t("estrella", "star"), other=_t("estrellas", "stars")),
        ),
        tiers=TierPolicy(
            metric="points_earned",
            window=TierWindow(kind="rolling", days=365),
            levels=[
                Tier(id="green", name="Green", title=_t("Verde", "Green"), threshold=Decimal(0)),
                Tier(
                    id="gold",
                    name="Gold",
                    title=_t("Oro", "Gold"),
                    threshold=Decimal(300),
                    multiplier=Decimal("1.2"),
                    perks=["free extra shot or syrup", "member-only offers"],
                    perk_titles=[
                        _t("shot extra o sirope gratis", "free extra shot or syrup"),
                        _t("ofertas solo para socios", "member-only offers"),
                    ],
                ),
            ],
        ),
        rules=[
            EarnRule(
                id="base",
                name="2 stars per dollar",
                title=_t("2 estrellas por dólar", "2 stars per dollar"),
                action=PointsPerUnit(rate=Decimal(2)),
            ),
            EarnRule(
                id="happy-hour",
                name="Double stars at happy hour",
                title=_t("Estrellas dobles por la tarde", "Double stars at happy hour"),
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
                title=_t("Estrellas de cumpleaños", "Birthday stars"),
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
        title=_t("Premios para profesionales", "Contractor rewards"),
        points=PointsPolicy(expiry="days", expiry_days=730),
        tiers=TierPolicy(
            metric="spend",
            window=TierWindow(kind="calendar", period="year"),
            levels=[
                Tier(id="member", name="Member", title=_t("Socio", "Member"), threshold=Decimal(0)),
                Tier(
                    id="preferred",
                    name="Preferred",
                    title=_t("Preferente", "Preferred"),
                    threshold=Decimal(2_500_000),  # $25,000 in the calendar year
                    multiplier=Decimal("1.1"),
                    perks=["co-branded marketing material"],
                    perk_titles=[_MARKETING],
                ),
                Tier(
                    id="elite",
                    name="Elite",
                    title=_t("Élite", "Elite"),
                    threshold=Decimal(7_500_000),
                    multiplier=Decimal("1.25"),
                    perks=["co-branded marketing material", "extended warranty offers"],
                    perk_titles=[_MARKETING, _WARRANTY],
                ),
                Tier(
                    id="master",
                    name="Master",
                    title=_t("Máster", "Master"),
                    threshold=Decimal(15_000_000),
                    multiplier=Decimal("1.5"),
                    perks=[
                        "co-branded marketing material",
                        "extended warranty offers",
                        "dedicated account manager",
                    ],
                    perk_titles=[
                        _MARKETING,
                        _WARRANTY,
                        _t("gestor de cuenta dedicado", "dedicated account manager"),
                    ],
                ),
            ],
        ),
        rules=[
            EarnRule(
                id="base",
                name="1 point per dollar",
                title=_t("1 punto por dólar", "1 point per dollar"),
                action=PointsPerUnit(rate=Decimal(1)),
            ),
            EarnRule(
                id="training",
                name="100 points per training hour",
                title=_t("100 puntos por hora de formación", "100 points per training hour"),
                trigger="training_hours",
                action=PointsPerUnit(rate=Decimal(100)),
                # At most 4,000 points (40 hours) of training a calendar year.
                caps=[Cap(period="year", max_units=4_000)],
            ),
            EarnRule(
                id="referral",
                name="Referral bonus",
                title=_t("Bonificación por recomendar", "Referral bonus"),
                description="For the referrer, when the referred contractor first buys",
                trigger="referral",
                award_to="referrer",
                conditions=Conditions(referral_on="first_purchase"),
                action=FixedPoints(points=500),
            ),
            EarnRule(
                id="survey",
                name="Survey bonus",
                title=_t("Bonificación por encuesta", "Survey bonus"),
                trigger="survey_answered",
                action=FixedPoints(points=50),
            ),
        ],
    )
