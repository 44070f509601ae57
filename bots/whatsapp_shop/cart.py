"""The cart, kept in the customer's session as ``{sku: quantity}``: it survives between
messages and processes, and expires with the session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bots.whatsapp_shop.catalog import BY_SKU, Product, money
from bots.whatsapp_shop.records import OrderLine

CART_KEY = "cart"
#: "Your cart is waiting": a durable timer per customer, armed again on every addition (so it
#: counts from the last one) and disarmed by an order or an emptied cart. Inside WhatsApp's
#: 24-hour window, so it can be free text.
CART_REMINDER = "cart_waiting"
CART_WAIT = timedelta(hours=4)


class Cart:
    def __init__(self, session: dict[str, Any]) -> None:
        self._items: dict[str, int] = session.setdefault(CART_KEY, {})
        # Drop what the catalog no longer sells (a product removed in a deploy).
        for sku in [sku for sku in self._items if sku not in BY_SKU]:
            del self._items[sku]

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, product: Product) -> int:
        """One more of ``product``; how many are in the cart now."""
        self._items[product.sku] = self._items.get(product.sku, 0) + 1
        return self._items[product.sku]

    def remove(self, product: Product) -> bool:
        """All of ``product`` out; False if there were none."""
        return self._items.pop(product.sku, None) is not None

    def clear(self) -> None:
        self._items.clear()

    def lines(self) -> list[OrderLine]:
        return [
            OrderLine(
                sku=sku,
                name=BY_SKU[sku].name,
                quantity=quantity,
                price_cents=BY_SKU[sku].price_cents,
            )
            for sku, quantity in self._items.items()
        ]

    @property
    def total_cents(self) -> int:
        return sum(line.price_cents * line.quantity for line in self.lines())

    def listing(self) -> str:
        return "\n".join(
            f"{line.quantity} x {line.name} - {money(line.price_cents * line.quantity)}"
            for line in self.lines()
        )
