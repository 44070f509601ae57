"""Orders the shop has taken: kept beyond the customer's session (which expires), so the
shipping notice days later still knows who ordered what, through which number.

An order names its customer as its owner, so ``botkit privacy export|erase`` finds it through
the shop's privacy hooks below; it is kept SHOP_ORDER_RETENTION days (config.py). The cart
lives in the customer's session, which botkit exports and erases itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from botkit import Bot, PrivacyRequest, Records


class OrderLine(BaseModel):
    sku: str
    name: str
    quantity: int
    price_cents: int


class PlacedOrder(BaseModel):
    id: str
    customer: str
    #: The number the customer wrote to: the shipping notice comes from it.
    bot_number: str
    lines: list[OrderLine]
    total_cents: int
    deliver_to: str
    status: Literal["confirmed", "shipped"] = "confirmed"


@dataclass(frozen=True)
class ShopRecords:
    """The shop's record stores: in memory in development, beside the sessions in Redis."""

    orders: Records[PlacedOrder]

    @classmethod
    def of(cls, bot: Bot, retention: float) -> ShopRecords:
        """``retention``: seconds an order is kept."""
        records = cls(
            orders=bot.records(PlacedOrder, "shop:orders", ttl=retention, owner="customer")
        )
        bot.on_privacy_export(records.export_person)
        bot.on_privacy_erase(records.erase_person)
        return records

    async def export_person(self, request: PrivacyRequest) -> dict[str, Any]:
        """The customer's orders (their cart is in their session, exported by botkit)."""
        orders = await self.orders.of_person(request.number)
        return {"orders": [order.model_dump(mode="json") for order in orders.values()]}

    async def erase_person(self, request: PrivacyRequest) -> int:
        return await self.orders.forget_person(request.number)
