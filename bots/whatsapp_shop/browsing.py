"""Looking around and filling the cart: the welcome menu, product cards with their picture and
buttons, adding, removing, viewing and emptying the cart."""

from __future__ import annotations

from botkit import Context, Router
from bots.whatsapp_shop.cart import CART_REMINDER, CART_WAIT, Cart
from bots.whatsapp_shop.catalog import CATALOG, Product, after, find_product, money
from bots.whatsapp_shop.templates import ShopTemplates
from bots.whatsapp_shop.words import argument, command

NO_SUCH_PRODUCT = "Sorry, we do not sell {wanted!r}. We have: {names}. Text CATALOG to browse."


def browsing_router(templates: ShopTemplates) -> Router:
    router = Router("browsing")

    async def show(ctx: Context, product: Product) -> None:
        following = after(product)
        await ctx.reply(
            content_sid=templates.sid("product"),
            content_variables={
                "1": product.name,
                "2": money(product.price_cents),
                "3": product.blurb,
                "4": product.image,
                "5": product.sku,
                "6": following.sku,
            },
        )

    async def product_named(ctx: Context) -> Product | None:
        """The product the message names; None (after saying so) when there is no such one."""
        wanted = argument(ctx.message)
        product = find_product(wanted) if wanted else None
        if product is None:
            names = ", ".join(p.name for p in CATALOG)
            await ctx.reply(NO_SUCH_PRODUCT.format(wanted=wanted or "that", names=names))
        return product

    async def show_cart(ctx: Context) -> None:
        cart = Cart(ctx.session)
        if not cart:
            await ctx.reply("Your cart is empty. Text CATALOG to see our teas.")
            return
        await ctx.reply(
            content_sid=templates.sid("cart"),
            content_variables={"1": cart.listing(), "2": money(cart.total_cents)},
        )

    @router.intent("welcome", keywords=["hi", "hello", "hey", "menu"])
    async def welcome(ctx: Context) -> None:
        await ctx.reply(content_sid=templates.sid("welcome"))

    @router.intent("catalog", when=command("catalog", "browse", "shop", "teas"))
    async def catalog(ctx: Context) -> None:
        await show(ctx, CATALOG[0])

    @router.intent("show", when=command("show", "next"))
    async def show_one(ctx: Context) -> None:
        product = await product_named(ctx)
        if product is not None:
            await show(ctx, product)

    @router.intent("add", when=command("add"))
    async def add(ctx: Context) -> None:
        product = await product_named(ctx)
        if product is None:
            return
        count = Cart(ctx.session).add(product)
        await ctx.remind(in_=CART_WAIT, intent=CART_REMINDER, key=CART_REMINDER)
        await ctx.reply(
            f"Added {product.name} to your cart (you have {count}). "
            "Text CART to see it or CHECKOUT to order."
        )

    @router.intent("remove", when=command("remove"))
    async def remove(ctx: Context) -> None:
        product = await product_named(ctx)
        if product is None:
            return
        if not Cart(ctx.session).remove(product):
            await ctx.reply(f"There is no {product.name} in your cart.")
            return
        await show_cart(ctx)

    @router.intent("cart", when=command("cart", "basket"))
    async def view(ctx: Context) -> None:
        await show_cart(ctx)

    @router.intent("empty", when=command("empty"))
    async def empty(ctx: Context) -> None:
        Cart(ctx.session).clear()
        await ctx.cancel_reminder(CART_REMINDER)
        await ctx.reply("Your cart is empty now. Text CATALOG to start again.")

    @router.on_timer(CART_REMINDER)
    async def cart_waiting(ctx: Context) -> None:
        cart = Cart(ctx.session)
        if cart:
            await ctx.reply(
                f"Your cart is waiting: {cart.listing()}, {money(cart.total_cents)} in all. "
                "Text CHECKOUT to order, or EMPTY to clear it."
            )

    @router.fallback
    async def not_understood(ctx: Context) -> None:
        await ctx.reply("Sorry, I did not get that. Text MENU to see what I can do.")

    return router
