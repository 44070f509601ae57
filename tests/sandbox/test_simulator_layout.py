"""The simulator page at a phone's width and at a desktop's, with messages of everyday length:
nothing may push the page wider than the screen or the composer out of sight, and on a phone
the phone list sits behind a button. Also the smaller cosmetics of the same page: quick-reply
buttons fit their bubble, and an attachment is labelled by its real type."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)
from twilio.rest.content.v1.content import ContentList

from botkit import Bot, Context
from tests.sandbox.test_simulator_browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    create_whatsapp_phone,
    needs_chromium,
)
from tests.support.sandbox_stack import BOT_NUMBER, Stack, sandbox_with_bot

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
VIEWPORTS = [pytest.param(PHONE, id="390x844"), pytest.param(DESKTOP, id="1280x800")]

#: The bot's answer: about 200 characters, with a link that is one long unbroken word.
LONG_REPLY = (
    "Thanks for waiting! Your parcel left our Leeds warehouse this morning and should reach "
    "you on Thursday. Track it live at "
    "https://tracking.example.com/parcels/GB4471XQ29Z7K3M8P5R2T6V9W1Y4H8J3 or reply HELP."
)

#: Phones of the list, each with a question of everyday length (the one that made the page
#: 625 px wide was 72 characters).
PHONES = [
    (
        "+15550003001",
        "Grace Hopper",
        "Hi, can you tell me when my order will arrive? I ordered it last Tuesday.",
    ),
    (
        "whatsapp:+15550003002",
        "Katherine Johnson",
        "Where is parcel GB4471XQ29Z7K3M8P5R2T6V9W1Y4H8J3ZZ? It was due on Monday, thanks",
    ),
    (
        "+15550003003",
        "",
        "Could I change the delivery address to my office on Baker Street, please?",
    ),
    (
        "+15550003004",
        "Margaret Hamilton-Fairweather",
        "Is there any way to get the parcel delivered on Saturday morning instead?",
    ),
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        await browser.close()


def answering_bot() -> Bot:
    """Answers anything with LONG_REPLY."""
    bot = Bot("simulator-layout-test")

    @bot.fallback
    async def answer(ctx: Context) -> None:
        await ctx.reply(LONG_REPLY)

    return bot


async def seed_phones(stack: Stack) -> None:
    """Every phone asks its question and gets the bot's long answer; the first one asks twice,
    so its thread has some history. Returns once every answer is delivered, so that no status
    change redraws a bubble while the test measures it."""
    asked: Counter[str] = Counter()
    async with aiohttp.ClientSession(stack.url) as session:
        for address, name, _ in PHONES:
            await post(session, "/sandbox/phones", {"address": address, "name": name})
        for address, _, question in [*PHONES, PHONES[0]]:
            await post(session, transcript(address), {"to": BOT_NUMBER, "body": question})
            asked[address] += 1
            await wait_for_answers(session, address, asked[address])


def transcript(address: str) -> str:
    return f"/sandbox/phones/{quote(address, safe='')}/messages"


async def post(session: aiohttp.ClientSession, path: str, data: dict[str, Any]) -> None:
    async with session.post(path, json=data) as response:
        assert response.status == 201, await response.text()


async def wait_for_answers(session: aiohttp.ClientSession, address: str, count: int) -> None:
    messages: list[dict[str, Any]] = []
    for _ in range(200):
        async with session.get(transcript(address)) as response:
            messages = (await response.json())["messages"]
        answers = [
            m
            for m in messages
            if m["to"] == address and m["body"] == LONG_REPLY and m["status"] == "delivered"
        ]
        if len(answers) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{address} did not get {count} answer(s): {messages}")


async def assert_inside(page: Page, locator: Locator, what: str) -> None:
    size = page.viewport_size
    assert size is not None
    # The thread is patched as messages and their statuses arrive: wait until the element is
    # there and shown (a node being replaced has no box for a moment), then measure it.
    await expect(locator).to_be_visible()
    box = await locator.bounding_box()
    assert box is not None, f"{what} is not rendered"
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    assert box["x"] >= -0.5 and right <= size["width"] + 0.5, (
        f"{what} spans x {box['x']:.0f}..{right:.0f}, outside 0..{size['width']}"
    )
    assert box["y"] >= -0.5 and bottom <= size["height"] + 0.5, (
        f"{what} spans y {box['y']:.0f}..{bottom:.0f}, outside 0..{size['height']}"
    )


async def assert_fits(page: Page) -> None:
    """No sideways scrolling, and what a person needs to chat is on the screen."""
    scroll_width, inner_width = await page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"the page is {scroll_width} px wide in a {inner_width} px wide viewport"
    )
    await expect(page.locator("#thread-wrap")).to_be_visible()
    await expect(page.locator("#composer")).to_be_visible()
    await assert_inside(page, page.locator("#message"), "the composer's input")
    await assert_inside(page, page.locator("#send"), "the Send button")
    await assert_inside(page, page.locator("#target"), "the bot-number selector")
    bubbles = page.locator("#thread .msg:not(.typing) .bubble")
    await assert_inside(page, bubbles.last, "the last bubble")
    await assert_inside(page, page.locator("#thread .msg.mine .bubble").last, "my last bubble")


async def still(locator: Locator) -> None:
    """Wait for the element's animations and transitions (and its children's) to end."""
    await locator.evaluate(
        "node => Promise.all(node.getAnimations({subtree: true}).map((a) => a.finished))"
    )


async def settled(message: Locator) -> None:
    """Wait until message is delivered (a status change redraws it) and done animating in."""
    await expect(message.locator(".ticks")).to_have_attribute("data-status", "delivered")
    await still(message)


async def open_phone(page: Page, name: str) -> None:
    await page.locator(".sidebar .phone-item", has_text=name).click()
    await expect(page.locator("#chat-name")).to_have_text(name)
    await expect(page.locator("#thread .msg.theirs").last).to_contain_text("tracking.example")


@needs_chromium
@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_long_messages_fit_the_screen(browser: Browser, viewport: ViewportSize) -> None:
    async with sandbox_with_bot(answering_bot()) as stack:
        await seed_phones(stack)
        page = await browser.new_page(viewport=viewport)
        try:
            await page.goto(stack.url)
            sidebar = page.locator(".sidebar")
            toggle = page.get_by_role("button", name="Phones", exact=True)
            await expect(page.locator(".sidebar .phone-item")).to_have_count(len(PHONES))

            await open_phone(page, "Grace Hopper")
            await assert_fits(page)

            if viewport == PHONE:
                # One column: the list is behind its button, the thread has the screen.
                await expect(sidebar).to_be_hidden()
                await expect(toggle).to_be_visible()
                await toggle.click()
                await expect(sidebar).to_be_visible()
                await expect(toggle).to_have_attribute("aria-expanded", "true")
                await still(sidebar)
                items = sidebar.locator(".phone-item")
                for index in range(await items.count()):
                    await assert_inside(page, items.nth(index), f"phone {index + 1} of the list")
                await open_phone(page, "Katherine Johnson")
                await expect(sidebar).to_be_hidden()
                await expect(toggle).to_have_attribute("aria-expanded", "false")
                await assert_fits(page)
            else:
                # The sidebar stays beside the thread.
                await expect(toggle).to_be_hidden()
                await expect(sidebar).to_be_visible()
                side = await sidebar.bounding_box()
                thread = await page.locator("#thread-wrap").bounding_box()
                assert side is not None and thread is not None
                assert side["x"] + side["width"] <= thread["x"] + 0.5
                await open_phone(page, "Katherine Johnson")
                await assert_fits(page)
        finally:
            await page.close()


@dataclass
class Menu:
    """What the bot's handler needs once the stack runs."""

    content_sid: str = ""
    file_url: str = ""


MENU_TEMPLATE = {
    "friendly_name": "short-menu",
    "language": "en",
    "types": {
        "twilio/quick-reply": {
            "body": "Pick one:",
            "actions": [
                {"title": "Track my order", "id": "track"},
                {"title": "Talk to a human", "id": "agent"},
            ],
        }
    },
}


def menu_bot(menu: Menu) -> Bot:
    """Answers a file with a file of its own (a stylesheet), anything else with a short
    quick-reply menu."""
    bot = Bot("simulator-cosmetics-test")

    @bot.fallback
    async def answer(ctx: Context) -> None:
        if ctx.message.media:
            await ctx.reply("Here is ours", media_urls=[menu.file_url])
        else:
            await ctx.reply(content_sid=menu.content_sid)

    return bot


@needs_chromium
@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_quick_replies_fit_their_bubble_and_files_show_their_type(
    browser: Browser, viewport: ViewportSize
) -> None:
    menu = Menu()
    async with sandbox_with_bot(menu_bot(menu)) as stack:
        template = await stack.twilio.content.v1.contents.create_async(
            ContentList.ContentCreateRequest(MENU_TEMPLATE)
        )
        menu.content_sid = template.sid
        menu.file_url = f"{stack.url}/sandbox/static/style.css"
        page = await browser.new_page(viewport=viewport)
        try:
            await page.goto(stack.url)
            await create_whatsapp_phone(page, name="Ada Lovelace", number="+15550001111")

            await page.fill("#message", "hi")
            await page.keyboard.press("Enter")
            greeting = page.locator(".msg.theirs.has-actions", has_text="Pick one:")
            await expect(greeting.locator("button.action")).to_have_count(2)
            await settled(greeting)
            bubble = await greeting.locator(".bubble").bounding_box()
            assert bubble is not None
            for button in await greeting.locator("button.action").all():
                box = await button.bounding_box()
                assert box is not None
                assert box["x"] >= bubble["x"] - 0.5, (box, bubble)
                assert box["x"] + box["width"] <= bubble["x"] + bubble["width"] + 0.5, (
                    f"a {box['width']:.0f} px button under a {bubble['width']:.0f} px bubble"
                )

            # A stylesheet both ways: sent from the phone, and sent back by the bot.
            await page.click("#attach")
            await page.fill("#media-url", menu.file_url)
            await page.fill("#message", "my stylesheet")
            await page.click("#send")
            mine = page.locator(".msg.mine", has_text="my stylesheet")
            await expect(mine.locator(".file-name")).to_have_text("style.css")
            await expect(mine.locator(".file-type")).to_have_text("text/css")
            theirs = page.locator(".msg.theirs", has_text="Here is ours")
            await expect(theirs.locator(".file-name")).to_have_text("style.css")
            await expect(theirs.locator(".file-type")).to_have_text("text/css")
            await settled(theirs)
            await assert_fits(page)

            # The bot was told the phone's real type too.
            async with (
                aiohttp.ClientSession(stack.url) as session,
                session.get(transcript("whatsapp:+15550001111")) as response,
            ):
                messages = (await response.json())["messages"]
            sent = [m for m in messages if m["body"] == "my stylesheet"]
            assert [item["content_type"] for item in sent[0]["media"]] == ["text/css"]
        finally:
            await page.close()
