"""What the shop sells, and how a customer's words find a product.

A customer may name a product by its number in the catalog ("2"), its code ("matcha", what
the buttons send) or its name in any case ("Earl Grey"). Prices are whole cents, so totals
never pick up floating-point pennies.
"""

from __future__ import annotations

import re

from pydantic import BaseModel


class Product(BaseModel):
    sku: str
    name: str
    price_cents: int
    blurb: str
    #: The image's file name: templates add it to the shop's media address, as WhatsApp
    #: templates allow a variable only at the end of a media URL.
    image: str


CATALOG: tuple[Product, ...] = (
    Product(
        sku="earl-grey",
        name="Earl Grey",
        price_cents=899,
        blurb="Black tea with bergamot, 100 g loose leaf.",
        image="earl-grey.jpg",
    ),
    Product(
        sku="matcha",
        name="Ceremonial Matcha",
        price_cents=2400,
        blurb="Stone-ground green tea from Uji, 30 g tin.",
        image="matcha.jpg",
    ),
    Product(
        sku="chamomile",
        name="Chamomile",
        price_cents=650,
        blurb="Whole chamomile flowers, caffeine free, 50 g.",
        image="chamomile.jpg",
    ),
)
BY_SKU = {product.sku: product for product in CATALOG}


def words_of(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.casefold()))


def find_product(said: str) -> Product | None:
    """The product the customer means, or None."""
    wanted = words_of(said)
    if not wanted:
        return None
    for number, product in enumerate(CATALOG, start=1):
        if wanted in ((str(number),), words_of(product.sku), words_of(product.name)):
            return product
    return None


def after(product: Product) -> Product:
    """The next product in the catalog, round to the first after the last."""
    index = CATALOG.index(product)
    return CATALOG[(index + 1) % len(CATALOG)]


def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"
