"""What a business starting from a template sells and gives besides its program: the products
the counter shows as buttons (what the rules' categories and codes name), and a catalog entry for
every reward the template can give: each stamp card's reward, the tier perks that are rewards and
the rewards bought with points, with titles, costs and stock as such a shop would set them.

Prices are in minor units of the template's currency (CLP has none: pesos)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lealtad.rewards.schemas import RewardIn


@dataclass(frozen=True)
class ShopProduct:
    sku: str
    category: str
    title_es: str
    title_en: str
    price: int


def _reward(slug: str, kind: str, es: str, en: str, **values: Any) -> RewardIn:
    return RewardIn.model_validate(
        {"slug": slug, "kind": kind, "title": {"es": es, "en": en}} | values
    )


def _p(sku: str, category: str, es: str, en: str, price: int) -> ShopProduct:
    return ShopProduct(sku, category, es, en, price)


COFFEE_PRODUCTS = (
    _p("CAFE", "drinks", "Café", "Coffee", 150),
    _p("CCL", "drinks", "Café con leche", "Latte", 180),
    _p("CAP", "drinks", "Capuchino", "Cappuccino", 260),
    _p("TEA", "drinks", "Té", "Tea", 200),
    _p("ZUMO", "drinks", "Zumo de naranja", "Orange juice", 300),
    _p("CRO", "bakery", "Cruasán", "Croissant", 180),
    _p("TOS", "food", "Tostada", "Toast", 250),
)
COFFEE_REWARDS = (
    # The card's reward is owed already, so it costs the one reward the full card gave.
    _reward(
        "free-drink",
        "free_product",
        "Bebida gratis",
        "Free drink",
        cost_unit="reward.free-drink",
        cost=1,
        sku="CCL",
        value=180,
        voucher_days=30,
        description={
            "es": "Cualquier bebida de la carta, invita la casa.",
            "en": "Any drink on the menu, on the house.",
        },
    ),
)

POINTS_PRODUCTS = (
    _p("MEAL", "food", "Menú del día", "Meal deal", 399),
    _p("SHAMPOO", "toiletries", "Champú", "Shampoo", 450),
    _p("TOOTH", "toiletries", "Pasta de dientes", "Toothpaste", 250),
    _p("SUN", "suncare", "Crema solar", "Sun cream", 800),
    _p("VIT", "health", "Vitaminas", "Vitamins", 600),
)
POINTS_REWARDS = (
    _reward("five-off", "discount_fixed", "5 £ de descuento", "£5 off", cost=500, value=500),
    _reward("ten-off", "discount_fixed", "10 £ de descuento", "£10 off", cost=1000, value=1000),
)

CATALOG_PRODUCTS = (
    _p("POLERA", "clothing", "Polera", "T-shirt", 12_990),
    _p("JEANS", "clothing", "Jeans", "Jeans", 24_990),
    _p("ZAPAT", "footwear", "Zapatillas", "Trainers", 49_990),
    _p("SABANAS", "home", "Juego de sábanas", "Bed sheets", 19_990),
    _p("AUDIF", "electronics", "Audífonos", "Headphones", 29_990),
)
CATALOG_REWARDS = (
    _reward(
        "cine",
        "physical_gift",
        "Entrada de cine",
        "Cinema ticket",
        cost=800,
        stock=200,
        voucher_days=60,
    ),
    _reward(
        "gift-card-10000",
        "discount_fixed",
        "Gift card de $10.000",
        "$10,000 gift card",
        cost=1_500,
        value=10_000,
    ),
    _reward(
        "audifonos",
        "physical_gift",
        "Audífonos inalámbricos",
        "Wireless headphones",
        cost=4_000,
        stock=20,
        limit_per_member=1,
    ),
)

GEM_PRODUCTS = (
    _p("KIT-S", "kits", "Kit de pintura de diamantes pequeño", "Small diamond painting kit", 2_999),
    _p("KIT-L", "kits", "Kit de pintura de diamantes grande", "Large diamond painting kit", 5_999),
    _p("PEN", "tools", "Bolígrafo de diamantes", "Drill pen set", 1_499),
    _p("CASE", "storage", "Caja organizadora", "Storage case", 1_999),
)
GEM_REWARDS = (
    _reward("ten-off", "discount_fixed", "10 $ de descuento", "$10 off", cost=500, value=1_000),
    # Perks of the higher tiers that are rewards: free shipping, once a week, and Diamond's kits.
    _reward(
        "free-shipping",
        "discount_fixed",
        "Envío gratis",
        "Free shipping",
        cost=1,
        value=799,
        limit_per_member=1,
        limit_period="week",
        visible_tiers=["sapphire", "ruby", "diamond"],
    ),
    _reward(
        "exclusive-kit",
        "physical_gift",
        "Kit exclusivo Diamante",
        "Diamond exclusive kit",
        cost=1_500,
        stock=25,
        visible_tiers=["diamond"],
    ),
)

STARS_PRODUCTS = (
    _p("DRIP", "drinks", "Café de filtro", "Brewed coffee", 295),
    _p("LATTE", "drinks", "Latte", "Latte", 495),
    _p("FRAP", "drinks", "Frappuccino", "Frappuccino", 575),
    _p("MUFFIN", "bakery", "Muffin", "Muffin", 345),
    _p("SAND", "food", "Sándwich de desayuno", "Breakfast sandwich", 545),
    _p("BEANS", "retail", "Café en grano", "Coffee beans", 1_695),
)
STARS_REWARDS = (
    _reward(
        "extra-shot",
        "free_product",
        "Shot extra o sirope",
        "Extra shot or syrup",
        cost=25,
        sku="SHOT",
        value=80,
    ),
    _reward(
        "brewed-or-bakery",
        "free_product",
        "Café de filtro, té o bollería",
        "Brewed coffee, tea or bakery item",
        cost=100,
        sku="DRIP",
        value=295,
    ),
    _reward(
        "handcrafted-drink",
        "free_product",
        "Bebida preparada o desayuno caliente",
        "Handcrafted drink or hot breakfast",
        cost=200,
        sku="LATTE",
        value=495,
    ),
    _reward(
        "merchandise",
        "physical_gift",
        "Taza o café en grano",
        "Mug or coffee beans",
        cost=400,
        stock=100,
    ),
    # Gold's perk: an extra shot or syrup on the house, once a day.
    _reward(
        "gold-extra-shot",
        "free_product",
        "Shot extra gratis (Oro)",
        "Free extra shot (Gold)",
        cost=1,
        sku="SHOT",
        value=80,
        limit_per_member=1,
        limit_period="day",
        visible_tiers=["gold"],
    ),
)

TRADE_PRODUCTS = (
    _p("SHINGLE", "roofing", "Tejas asfálticas (paquete)", "Shingles (bundle)", 3_999),
    _p("UNDER", "roofing", "Rollo de lámina base", "Underlayment roll", 8_999),
    _p("RIDGE", "roofing", "Cumbrera (paquete)", "Ridge cap (bundle)", 5_499),
    _p("NAILS", "fasteners", "Clavos para techo (caja)", "Roofing nails (box)", 4_599),
)
TRADE_REWARDS = (
    _reward(
        "cash-back-50",
        "cashback_credit",
        "50 $ de reembolso",
        "$50 cash back",
        cost=5_000,
        value=5_000,
    ),
    _reward(
        "marketing-250",
        "marketing_credit",
        "250 $ en material de marketing",
        "$250 marketing credit",
        cost=20_000,
        value=25_000,
    ),
    _reward(
        "workshop",
        "workshop_seat",
        "Plaza en un taller de instalación",
        "Installation workshop seat",
        cost=3_000,
        stock=30,
        limit_per_member=2,
        limit_period="year",
    ),
    # The extended warranty offers of Elite and Master.
    _reward(
        "extended-warranty",
        "extended_warranty",
        "Garantía ampliada de 10 años",
        "10-year extended warranty",
        cost=10_000,
        visible_tiers=["elite", "master"],
    ),
)
