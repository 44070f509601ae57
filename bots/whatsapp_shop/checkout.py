"""From cart to order: where to deliver, a summary to confirm with a tap, and the order.

The delivery address is a flow step, remembered in the session, so a returning customer goes
straight to the summary. A shared WhatsApp location answers it too: the location intent
interrupts whatever flow is waiting and restarts checkout with the address filled in (a flow
step reads text, and a location message has none).
"""

from __future__ import annotations

import re
from typing import Any

from botkit import Ask, Context, Flow, InboundMessage, Invalid, Location, Router
from bots.whatsapp_shop.cart import CART_REMINDER, Cart
from bots.whatsapp_shop.catalog import money
from bots.whatsapp_shop.records import PlacedOrder, ShopRecords
from bots.whatsapp_shop.templates import ShopTemplates
from bots.whatsapp_shop.words import command

ADDRESS_KEY = "delivery_address"
AWAITING_KEY = "awaiting_confirmation"
EMPTY_CART = "Your cart is empty. Text CATALOG to see our teas."


def street_address(text: str) -> str:
    """A typed address needs a house number and a street name, at least."""
    if not (re.search(r"\d", text) and re.search(r"[^\W\d_]{2,}", text)):
        raise Invalid(
            "Please share your location (tap +, then Location) or type your street address "
            "with the house number."
        )
    return " ".join(text.split())


def describe(location: Location) -> str:
    """How a shared location reads in the order: its address if WhatsApp sent one."""
    place = location.address or location.label
    coordinates = f"{location.latitude:.5f}, {location.longitude:.5f}"
    return f"{place} ({coordinates})" if place else f"the pin at {coordinates}"


def shared_location(message: InboundMessage) -> bool:
    return message.whatsapp is not None and message.whatsapp.location is not None


def checkout_router(templates: ShopTemplates, records: ShopRecords) -> Router:
    router = Router("checkout")
    checkout = Flow(
        "checkout",
        [
            Ask(
                "address",
                "Where should we deliver? Share your location (tap +, then Location) or type "
                "your street address.",
                validate=street_address,
                remember=ADDRESS_KEY,
            )
        ],
    )
    router.add_flow(checkout)

    @checkout.on_done
    async def ask_to_confirm(ctx: Context, answers: dict[str, Any]) -> None:
        cart = Cart(ctx.session)
        if not cart:  # emptied in the meantime
            await ctx.reply(EMPTY_CART)
            return
        ctx.session[AWAITING_KEY] = True
        await ctx.reply(
            content_sid=templates.sid("confirm"),
            content_variables={
                "1": cart.listing(),
                "2": money(cart.total_cents),
                "3": answers["address"],
            },
        )

    @router.intent("checkout", when=command("checkout", "order", "pay"))
    async def start_checkout(ctx: Context) -> None:
        if not Cart(ctx.session):
            await ctx.reply(EMPTY_CART)
            return
        await ctx.start_flow(checkout)

    @router.intent("location", when=shared_location, interrupts_flows=True)
    async def deliver_here(ctx: Context) -> None:
        assert ctx.message.whatsapp is not None and ctx.message.whatsapp.location is not None
        address = describe(ctx.message.whatsapp.location)
        ctx.session[ADDRESS_KEY] = address
        if Cart(ctx.session):
            await ctx.start_flow(checkout, address=address)
        else:
            await ctx.reply(f"Thanks! We will deliver to {address}. Text CATALOG to shop.")

    @router.intent("confirm", when=command("confirm"))
    async def confirm(ctx: Context) -> None:
        cart = Cart(ctx.session)
        if not ctx.session.pop(AWAITING_KEY, False) or not cart:
            await ctx.reply("There is nothing to confirm. Text CART to see your cart.")
            return
        number = await records.orders.next_number()
        order = PlacedOrder(
            id=f"LC-{number:04d}",
            customer=str(ctx.message.sender),
            bot_number=str(ctx.message.recipient),
            lines=cart.lines(),
            total_cents=cart.total_cents,
            deliver_to=ctx.session[ADDRESS_KEY],
        )
        await records.orders.put(order.id, order)
        cart.clear()
        await ctx.cancel_reminder(CART_REMINDER)
        await ctx.reply(
            f"Thank you! Order {order.id} is confirmed: {money(order.total_cents)}, delivered "
            f"to {order.deliver_to}. We will message you here when it ships."
        )

    @router.intent("not_now", when=command("not"))
    async def not_now(ctx: Context) -> None:
        ctx.session.pop(AWAITING_KEY, None)
        await ctx.reply("No problem, nothing was ordered. Your cart is kept for you.")

    return router
