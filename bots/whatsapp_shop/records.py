"""Orders the shop has taken: kept beyond the customer's session (which expires), so the
shipping notice days later still knows who ordered what, through which number."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bots.common.records import BotRecords, RecordsBackend, RecordStore


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


class ShopRecords(BotRecords):
    orders: RecordStore[PlacedOrder]

    def choose(self, backend: RecordsBackend) -> None:
        self.orders = backend.store(PlacedOrder, "shop:orders")
