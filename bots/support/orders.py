"""Order status: a flow that asks only for what it does not know yet, and remembers it.

The first time, the customer is asked for the order number, then for the email address or ZIP
code on the order (so a stranger who guesses a number learns nothing). Both answers are
remembered in the session, so "where is my order?" later answers at once (the verification
for a day: then it is asked again); a new number
in the message ("track 10077") replaces the remembered one. A lookup that fails forgets what
was remembered, so the next attempt asks again instead of repeating the same mistake.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from botkit import Ask, Context, Flow, Invalid, Router
from bots.support.priorities import COMMAND_PRIORITY

#: How long a verified email or ZIP code is taken as proof without asking again (seconds).
VERIFIED_FOR = 24 * 3600
ORDER_NUMBER = re.compile(r"#?\b(\d{5})\b")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
ZIP_CODE = re.compile(r"\d{5}")


class Order(BaseModel):
    number: str
    email: str
    zip_code: str
    status: str


#: A stand-in for the shop's order system, which a real bot would query over its API.
DEMO_ORDERS = {
    order.number: order
    for order in (
        Order(
            number="10042",
            email="ann@example.com",
            zip_code="94107",
            status="on its way with UPS (tracking 1Z999AA10123456784); it arrives Thursday",
        ),
        Order(
            number="10077",
            email="bo@example.com",
            zip_code="10001",
            status="being packed; it ships tomorrow",
        ),
    )
}


def order_number(text: str) -> str:
    found = ORDER_NUMBER.fullmatch(text.strip())
    if found is None:
        raise Invalid("Order numbers have 5 digits, like 10042. What is yours?")
    return found.group(1)


def email_or_zip(text: str) -> str:
    answer = text.strip().lower()
    if not (EMAIL.fullmatch(answer) or ZIP_CODE.fullmatch(answer)):
        raise Invalid("Please send the email address or the 5-digit ZIP code on the order.")
    return answer


order_status = Flow(
    "order_status",
    [
        Ask(
            "order_number",
            "What is your order number? (5 digits, like 10042)",
            validate=order_number,
            remember=True,
        ),
        Ask(
            "verification",
            "To keep your order private: what email address or ZIP code is on it?",
            validate=email_or_zip,
            remember=True,
            ttl=VERIFIED_FOR,
        ),
    ],
    timeout=15 * 60,
    on_timeout="(I stopped waiting for your order details; text ORDER to try again.)",
)


@order_status.on_done
async def tell_status(ctx: Context, answers: dict[str, Any]) -> None:
    number, verification = answers["order_number"], answers["verification"]
    order = DEMO_ORDERS.get(number)
    if order is None or verification not in (order.email, order.zip_code):
        for step in order_status.steps:
            ctx.session.pop(step.key, None)
        await ctx.reply(
            f"I could not find order {number} with that email or ZIP code. Text ORDER to try "
            "again, or AGENT to ask a person."
        )
        return
    await ctx.reply(f"Order {number} is {order.status}.")


def orders_router() -> Router:
    router = Router("orders")
    router.add_flow(order_status)

    # "ORDER ..." or "TRACK ..." is a command, above the FAQ; a question that merely mentions
    # an order ("how do I return an order?") is left to the FAQ first.
    @router.intent("order_status", pattern=r"^(order|track)\b", priority=COMMAND_PRIORITY)
    @router.intent("order_question", keywords=["order", "tracking", "package", "parcel"])
    async def track(ctx: Context) -> None:
        mentioned = ORDER_NUMBER.search(ctx.message.text)
        given = {"order_number": mentioned.group(1)} if mentioned else {}
        await ctx.start_flow(order_status, **given)

    return router
