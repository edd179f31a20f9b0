"""Who is in a demo business, in its market's language: the business's name, its two shops, its
staff and its customers' names, and the words of its manual corrections."""

from __future__ import annotations

import random
from dataclasses import dataclass

# A name a shop of each template's kind could carry in its market.
BUSINESS_NAMES = {
    "coffee-stamps": "Cafetería La Esquina",
    "points-per-unit": "Corner Chemist",
    "catalog-points": "Tienda Los Andes",
    "gem-tiers": "Sparkle Art Studio",
    "stars-tiers": "Harbor Coffee Co.",
    "trade-b2b": "Ridgeline Roofing Supply",
}
# Each demo business wears a colour of its trade, as a real one would after the set-up.
BRAND_COLOURS = {
    "coffee-stamps": "#7a4a2a",
    "points-per-unit": "#0b6e4f",
    "catalog-points": "#b03a2e",
    "gem-tiers": "#6a3d9a",
    "stars-tiers": "#1f5f8b",
    "trade-b2b": "#c05a00",
}
LOCATIONS = {
    "coffee-stamps": ("Centro", "Estación"),
    "points-per-unit": ("High Street", "King's Cross"),
    "catalog-points": ("Providencia", "Las Condes"),
    "gem-tiers": ("Brooklyn studio", "Online shop"),
    "stars-tiers": ("Pike Place", "Capitol Hill"),
    "trade-b2b": ("Dallas branch", "Fort Worth branch"),
}


@dataclass(frozen=True)
class Words:
    staff: tuple[str, str, str, str]  # owner, manager, counter at the first shop, at the second
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]
    regular_tag: str
    apology: str


SPANISH = Words(
    staff=("Marta Ruiz", "Javier Ortega", "Lucía Fernández", "Pablo Gómez"),
    first_names=tuple(
        [
            "Ana",
            "Carmen",
            "Lucía",
            "María",
            "Elena",
            "Paula",
            "Sara",
            "Laura",
            "Marta",
            "Julia",
            "Alejandro",
            "Daniel",
            "Pablo",
            "David",
            "Javier",
            "Sergio",
            "Diego",
            "Jorge",
            "Carlos",
            "Manuel",
            "Álvaro",
            "Nuria",
            "Irene",
            "Raúl",
        ]
    ),
    surnames=tuple(
        [
            "García",
            "Martínez",
            "López",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Martín",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Moreno",
            "Muñoz",
            "Álvarez",
            "Romero",
            "Navarro",
            "Torres",
            "Gil",
        ]
    ),
    regular_tag="habitual",
    apology="Disculpa por un pedido equivocado",
)
ENGLISH = Words(
    staff=("Sarah Mitchell", "James Carter", "Emily Brooks", "Daniel Reed"),
    first_names=tuple(
        [
            "Olivia",
            "Emma",
            "Amelia",
            "Sophie",
            "Grace",
            "Chloe",
            "Hannah",
            "Lily",
            "Ella",
            "Ruby",
            "Jack",
            "Harry",
            "George",
            "Noah",
            "Leo",
            "Oscar",
            "Henry",
            "Thomas",
            "Samuel",
            "Ethan",
            "Lucas",
            "Mia",
            "Isla",
            "Max",
        ]
    ),
    surnames=tuple(
        [
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Johnson",
            "Davies",
            "Walker",
            "Wright",
            "Thompson",
            "Evans",
            "Roberts",
            "Green",
            "Hall",
            "Wood",
            "Clarke",
            "Hughes",
        ]
    ),
    regular_tag="regular",
    apology="Apology for a wrong order",
)
TRADE_NAMES = (
    "Rivera Roofing",
    "Hale Contracting",
    "Summit Exteriors",
    "Lone Star Roofing",
    "Oak Creek Builders",
    "Prairie Home Repairs",
    "Bluebonnet Roofing",
    "Trinity Construction",
    "Cedar Ridge Renovations",
    "Red River Roofing",
    "Pecan Valley Builders",
    "Ironwood Contractors",
)


def words(locale: str) -> Words:
    return SPANISH if locale == "es" else ENGLISH


def member_name(template: str, locale: str, n: int, rng: random.Random) -> str:
    """A customer's name: a person's in the market's language, a firm's for the trade program."""
    if template == "trade-b2b":
        base = TRADE_NAMES[(n - 1) % len(TRADE_NAMES)]
        return base if n <= len(TRADE_NAMES) else f"{base} {n // len(TRADE_NAMES) + 1}"
    said = words(locale)
    return f"{rng.choice(said.first_names)} {rng.choice(said.surnames)}"
