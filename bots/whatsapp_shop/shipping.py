"""The shipping notice: a proactive message, days after the order, sent with ``bot.send``.

By then the customer's 24-hour WhatsApp window has usually closed, and WhatsApp refuses free
text. The bot does not have to know: the dispatcher sends the bot's approved ``shipping``
template instead (see templates.py), with the notice as its variable. Inside the window the
customer gets the plain text.

The shop's owner triggers it by texting the bot "SHIPPED LC-0001 https://track.example/..."
from a number in SHOP_OWNERS; a fulfilment system in the same process could call
``notify_shipped`` directly.
"""

from __future__ import annotations

from collections.abc import Collection

from botkit import Bot, Context, InboundMessage, Router
from bots.whatsapp_shop.records import PlacedOrder, ShopRecords
from bots.whatsapp_shop.words import argument, verb


async def notify_shipped(bot: Bot, order: PlacedOrder, tracking: str | None) -> None:
    """Tell the customer; the key makes a repeated call (a retried job) send once."""
    text = f"Good news: your order {order.id} has shipped!"
    if tracking:
        text += f" Track it at {tracking}"
    await bot.send(
        order.customer, text, from_=order.bot_number, idempotency_key=f"shipped:{order.id}"
    )


def shipping_router(bot: Bot, records: ShopRecords, owners: Collection[str]) -> Router:
    router = Router("shipping")

    def from_an_owner(message: InboundMessage) -> bool:
        return verb(message) == "shipped" and message.sender.number in owners

    @router.intent("shipped", when=from_an_owner)
    async def shipped(ctx: Context) -> None:
        order_id, _, tracking = argument(ctx.message).partition(" ")
        order = await records.orders.get(order_id.upper()) if order_id else None
        if order is None:
            await ctx.reply(f"No order {order_id or '(none given)'}. Usage: SHIPPED LC-0001 [URL]")
            return
        if order.status == "shipped":
            await ctx.reply(f"Order {order.id} was already marked shipped.")
            return
        await records.orders.put(order.id, order.model_copy(update={"status": "shipped"}))
        await notify_shipped(bot, order, tracking.strip() or None)
        await ctx.reply(f"Order {order.id} marked shipped; {order.customer} is told.")

    return router
