"""The WhatsApp shop (bots/whatsapp_shop), feature by feature, as a customer on WhatsApp sees
it: picture cards and quick-reply buttons, a cart, a shared location, a confirmed order, and
the shipping notice that goes out as the approved template once the 24-hour window closed."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from botkit import Bot, ConfigError
from botkit.runtime.privacy import is_empty
from botkit.testing import BOT_NUMBER, TestClock, Tester, TestPhone
from bots.whatsapp_shop import Shop, build
from tests.support.traces import memory_traces, redis_traces

CUSTOMER = "+15550001111"
OWNER = "+15550009999"


@pytest.fixture
def shop() -> Shop:
    return build(owners=[OWNER], media_url="https://cdn.leafco.test/img")


@pytest.fixture
def bot(shop: Shop) -> Bot:
    return shop.bot


@pytest.fixture
def customer(tester: Tester) -> TestPhone:
    return tester.phone(CUSTOMER, whatsapp=True)


async def order_a_tea(customer: TestPhone) -> str:
    """Add Earl Grey, check out (to the address given the first time), confirm; the order id."""
    await customer.send("add earl grey")
    await customer.expect_reply(contains="Added Earl Grey")
    await customer.send("checkout")
    if "Where should we deliver?" in (await customer.expect_reply()).body:
        await customer.send("1 Ferry Building, San Francisco")
        await customer.expect_reply(contains="Please check your order")
    await customer.tap("Confirm order")
    confirmed = await customer.expect_reply(contains="is confirmed")
    return confirmed.body.split()[3]  # "Thank you! Order LC-0001 is confirmed..."


# --- catalog and buttons ---------------------------------------------------------------------


async def test_the_menu_and_the_catalog_have_pictures_and_buttons(customer: TestPhone) -> None:
    await customer.send("hi")
    await customer.expect_reply(
        contains="Welcome to Leaf & Co",
        buttons=["Browse teas", "View cart", "Checkout"],
        template=True,
    )

    await customer.tap("Browse teas")
    await customer.expect_reply(
        contains="Earl Grey - $8.99",
        media="https://cdn.leafco.test/img/earl-grey.jpg",
        buttons=["Add to cart", "Next tea", "View cart"],
    )
    await customer.tap("Next tea")
    await customer.expect_reply(contains="Ceremonial Matcha - $24.00", media="matcha.jpg")
    await customer.tap("Add to cart")  # on the latest card: the matcha
    await customer.expect_reply(contains="Added Ceremonial Matcha to your cart (you have 1)")


async def test_an_unknown_product_is_named_back_with_what_there_is(customer: TestPhone) -> None:
    await customer.send("add kombucha")
    await customer.expect_reply(
        equals="Sorry, we do not sell 'kombucha'. We have: Earl Grey, Ceremonial Matcha, "
        "Chamomile. Text CATALOG to browse."
    )
    await customer.send("show")
    await customer.expect_reply(contains="Sorry, we do not sell 'that'")


# --- the cart --------------------------------------------------------------------------------


async def test_the_cart_adds_removes_and_shows(customer: TestPhone) -> None:
    await customer.send("cart")
    await customer.expect_reply(equals="Your cart is empty. Text CATALOG to see our teas.")

    await customer.send("add Earl Grey")
    await customer.expect_reply(contains="(you have 1)")
    await customer.send("add 1")  # the first tea of the catalog, again
    await customer.expect_reply(contains="Added Earl Grey to your cart (you have 2)")
    await customer.send("add matcha")
    await customer.expect_reply(contains="Added Ceremonial Matcha")
    await customer.send("cart")
    await customer.expect_reply(
        equals="Your cart:\n2 x Earl Grey - $17.98\n1 x Ceremonial Matcha - $24.00\nTotal: $41.98",
        buttons=["Checkout", "Keep browsing", "Empty cart"],
    )

    await customer.send("remove chamomile")
    await customer.expect_reply(equals="There is no Chamomile in your cart.")
    await customer.send("remove earl grey")
    await customer.expect_reply(contains="1 x Ceremonial Matcha - $24.00\nTotal: $24.00")
    await customer.tap("Empty cart")
    await customer.expect_reply(contains="Your cart is empty now")
    await customer.send("cart")
    await customer.expect_reply(contains="Your cart is empty")


# --- checkout --------------------------------------------------------------------------------


async def test_a_cart_left_for_four_hours_is_reminded_of_once(
    customer: TestPhone, clock: TestClock
) -> None:
    await customer.send("add earl grey")
    await customer.expect_reply(contains="Added Earl Grey")
    clock.advance(hours=2)
    await customer.send("add matcha")  # the wait counts from the last addition
    await customer.expect_reply(contains="Added Ceremonial Matcha")
    clock.advance(hours=3)
    await customer.expect_no_reply(within=0.3)
    clock.advance(hours=1)
    await customer.expect_reply(
        equals="Your cart is waiting: 1 x Earl Grey - $8.99\n1 x Ceremonial Matcha - $24.00, "
        "$32.99 in all. Text CHECKOUT to order, or EMPTY to clear it."
    )
    clock.advance(hours=8)
    await customer.expect_no_reply(within=0.3)


async def test_an_order_or_an_emptied_cart_is_not_reminded_of(
    customer: TestPhone, clock: TestClock
) -> None:
    await order_a_tea(customer)
    await customer.send("add matcha")
    await customer.expect_reply(contains="Added Ceremonial Matcha")
    await customer.send("empty")
    await customer.expect_reply(contains="Your cart is empty now")
    clock.advance(hours=5)
    await customer.expect_no_reply(within=0.3)


async def test_checkout_with_an_empty_cart_is_refused(customer: TestPhone) -> None:
    await customer.send("checkout")
    await customer.expect_reply(equals="Your cart is empty. Text CATALOG to see our teas.")
    await customer.send("confirm")
    await customer.expect_reply(contains="There is nothing to confirm")


async def test_checkout_to_a_shared_location_and_confirm(customer: TestPhone, shop: Shop) -> None:
    await customer.send("add matcha")
    await customer.expect_reply(contains="Added Ceremonial Matcha")
    await customer.send("add matcha")
    await customer.expect_reply(contains="(you have 2)")
    await customer.send("checkout")
    await customer.expect_reply(contains="Share your location")
    await customer.send("somewhere nice")  # no house number: asked again
    await customer.expect_reply(contains="type your street address with the house number")
    await customer.send_location(37.7955, -122.3937, label="Ferry Building")
    await customer.expect_reply(
        equals="Please check your order:\n2 x Ceremonial Matcha - $48.00\nTotal: $48.00\n"
        "Deliver to: Ferry Building (37.79550, -122.39370)",
        buttons=["Confirm order", "Not now"],
    )
    await customer.tap("Confirm order")
    await customer.expect_reply(
        equals="Thank you! Order LC-0001 is confirmed: $48.00, delivered to Ferry Building "
        "(37.79550, -122.39370). We will message you here when it ships."
    )
    order = await shop.records.orders.get("LC-0001")
    assert order is not None
    assert (order.customer, order.total_cents, order.lines[0].quantity) == (
        f"whatsapp:{CUSTOMER}",
        4800,
        2,
    )
    await customer.send("cart")
    await customer.expect_reply(contains="Your cart is empty")  # it became the order


async def test_a_returning_customer_skips_the_address_and_may_say_not_now(
    customer: TestPhone,
) -> None:
    await order_a_tea(customer)

    await customer.send("add chamomile")
    await customer.expect_reply(contains="Added Chamomile")
    await customer.send("checkout")  # the address was remembered: straight to the summary
    await customer.expect_reply(contains="Deliver to: 1 Ferry Building, San Francisco")
    await customer.tap("Not now")
    await customer.expect_reply(contains="nothing was ordered")
    await customer.send("confirm")
    await customer.expect_reply(contains="There is nothing to confirm")
    await customer.send("cart")
    await customer.expect_reply(contains="1 x Chamomile")


async def test_a_typed_address_is_checked_and_confirmed_too(
    customer: TestPhone, shop: Shop
) -> None:
    await customer.send("add chamomile")
    await customer.expect_reply(contains="Added Chamomile")
    await customer.send("checkout")
    await customer.expect_reply(contains="Where should we deliver?")
    await customer.send("next to the park")  # no house number: asked again
    await customer.expect_reply(contains="type your street address with the house number")
    await customer.send("1 Market St,   San Francisco")
    await customer.expect_reply(
        equals="Please check your order:\n1 x Chamomile - $6.50\nTotal: $6.50\n"
        "Deliver to: 1 Market St, San Francisco",
        buttons=["Confirm order", "Not now"],
    )
    await customer.tap("Confirm order")
    await customer.expect_reply(
        equals="Thank you! Order LC-0001 is confirmed: $6.50, delivered to 1 Market St, San "
        "Francisco. We will message you here when it ships."
    )
    order = await shop.records.orders.get("LC-0001")
    assert order is not None
    assert (order.customer, order.bot_number, order.total_cents) == (
        f"whatsapp:{CUSTOMER}",
        f"whatsapp:{BOT_NUMBER}",
        650,
    )
    await customer.send("cart")
    await customer.expect_reply(contains="Your cart is empty")  # it became the order


# --- the shipping notice ---------------------------------------------------------------------


async def test_the_shipping_notice_uses_the_template_once_the_window_closed(
    tester: Tester, customer: TestPhone, clock: TestClock, shop: Shop
) -> None:
    owner = tester.phone(OWNER)
    first = await order_a_tea(customer)

    # Within 24 hours of the customer's last message: free text.
    await owner.send(f"shipped {first} https://track.example/1Z999")
    await owner.expect_reply(equals=f"Order {first} marked shipped; whatsapp:{CUSTOMER} is told.")
    await customer.expect_reply(
        equals=f"Good news: your order {first} has shipped! Track it at https://track.example/1Z999",
        template=False,
    )

    second = await order_a_tea(customer)
    clock.advance(hours=25)
    await owner.send(f"SHIPPED {second}")
    await owner.expect_reply(contains="marked shipped")
    await customer.expect_reply(
        equals=f"Leaf & Co order update: Good news: your order {second} has shipped!",
        template=shop.templates.sid("shipping"),
    )

    await owner.send(f"shipped {second}")
    await owner.expect_reply(equals=f"Order {second} was already marked shipped.")
    await owner.send("shipped LC-9999")
    await owner.expect_reply(contains="No order LC-9999")
    await customer.expect_no_reply()


async def test_only_owners_can_mark_orders_shipped(customer: TestPhone) -> None:
    order = await order_a_tea(customer)
    await customer.send(f"shipped {order}")
    await customer.expect_reply(contains="Sorry, I did not get that")


async def test_the_shop_says_clearly_when_it_cannot_create_its_templates() -> None:
    unreachable = {"twilio_base_url": "http://127.0.0.1:9"}
    tester = Tester(build().bot, settings=unreachable)
    with pytest.raises(ConfigError, match="the shop cannot set up its Content templates"):
        await tester.start()
    await tester.stop()


def test_owners_and_the_media_address_are_checked_when_the_shop_is_built() -> None:
    with pytest.raises(ConfigError, match="owners: 'boss' is not a phone number"):
        build(owners=["boss"])
    with pytest.raises(ConfigError, match="media_url: WhatsApp fetches media over https"):
        build(media_url="http://cdn.leafco.test")


# --- development: pictures offline ------------------------------------------------------------


def test_in_development_the_pictures_come_from_the_sandbox() -> None:
    from botkit import Settings
    from bots.whatsapp_shop.config import DEFAULT_MEDIA_URL, default_media_url

    development = Settings(twilio_base_url="http://127.0.0.1:8081")
    assert default_media_url(development) == (
        "http://127.0.0.1:8081/sandbox/static/samples/leafco"
    )
    account = Settings(twilio_account_sid="AC" + "1" * 32, twilio_auth_token="t")
    assert default_media_url(account) == DEFAULT_MEDIA_URL


async def test_the_sandbox_serves_a_picture_for_every_product() -> None:
    import aiohttp

    from botkit.sandbox import Sandbox
    from bots.whatsapp_shop.catalog import CATALOG
    from bots.whatsapp_shop.config import SANDBOX_SAMPLES

    sandbox = Sandbox()
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as http:
            for product in CATALOG:
                url = f"{sandbox.url}{SANDBOX_SAMPLES}/{product.image}"
                async with http.get(url) as response:
                    assert response.status == 200, url
                    assert response.content_type == "image/jpeg"
                    assert (await response.read())[:2] == b"\xff\xd8"  # a JPEG
    finally:
        await sandbox.stop()


# --- privacy -----------------------------------------------------------------------------------


async def test_a_customers_orders_cart_and_window_are_exported_and_erased(
    tester: Tester, customer: TestPhone, botkit_redis_url: str | None
) -> None:
    """The shop's privacy hooks add its orders to ``botkit privacy``; the cart (in the session)
    and the WhatsApp window are botkit's own. After the erase nothing names the customer."""
    order_id = await order_a_tea(customer)
    await customer.send("add chamomile")  # a cart left in the session
    await customer.expect_reply(contains="Added Chamomile")
    await tester.settle()
    privacy = tester.runtime.privacy

    exported = await privacy.export(CUSTOMER)
    assert [o["id"] for o in exported["bot"]["export_person"]["orders"]] == [order_id]
    assert exported["whatsapp_windows"]
    assert any(s["session"].get("cart") for s in exported["sessions"])

    removed = await privacy.erase(CUSTOMER)
    assert removed["bot:erase_person"] == 1 and removed["whatsapp_windows"] == 1
    assert is_empty(await privacy.export(CUSTOMER))
    needles = [CUSTOMER.lstrip("+"), "1 Ferry Building"]
    if botkit_redis_url is None:
        assert memory_traces(tester.runtime.stores, needles) == []
    else:
        redis = Redis.from_url(botkit_redis_url)
        assert await redis_traces(redis, needles) == []
        await redis.aclose()
