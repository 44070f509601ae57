"""Orders the shop has taken: kept beyond the customer's session (which expires), so the
shipping notice days later still knows who ordered what, through which number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from botkit import Bot, Records


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
    def of(cls, bot: Bot) -> ShopRecords:
        return cls(orders=bot.records(PlacedOrder, "shop:orders"))
