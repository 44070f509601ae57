"""The WhatsApp side of the simulator in Chromium, at a phone's width and a desktop's: the shop
bot's catalog shows the sandbox's bundled sample pictures (offline), a phone shares a location
at the shop's delivery step, and a list picker opens and is picked from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.sandbox.test_simulator_browser import browser, create_whatsapp_phone, needs_chromium
from tests.sandbox.test_simulator_layout import VIEWPORTS, assert_fits
from tests.support import sizes_bot
from tests.support.process import development_bot
from tests.support.sandbox_stack import BOT_NUMBER, sandbox_with_bot

__all__ = ["browser"]  # the fixture, shared


@pytest.fixture
def shop() -> Iterator[str]:
    """`botkit run bots.whatsapp_shop` in development mode; its sandbox's URL."""
    with development_bot("bots.whatsapp_shop") as url:
        yield url


async def keep_screenshot(page: Page, name: str, viewport: ViewportSize) -> None:
    """With BOTKIT_SCREENSHOTS set to a directory, a picture of the page at the end."""
    keep = os.environ.get("BOTKIT_SCREENSHOTS")
    if keep:
        size = f"{viewport['width']}x{viewport['height']}"
        await page.screenshot(path=str(Path(keep) / f"dx-{name}-{size}.png"))


async def tap(page: Page, title: str) -> None:
    await page.locator("#thread .msg.theirs button.action", has_text=title).last.click()
    await expect(page.locator("#thread .msg.mine").last).to_contain_text(title)


@needs_chromium
@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_shop_shows_pictures_and_takes_a_shared_location(
    browser: Browser, shop: str, viewport: ViewportSize
) -> None:
    page = await browser.new_page(viewport=viewport)
    try:
        await page.goto(shop)
        await create_whatsapp_phone(page, name="Ada Lovelace", number="+15550004111")
        await expect(page.locator("#location")).to_be_visible()
        await page.fill("#message", "hi")
        await page.keyboard.press("Enter")
        await expect(page.locator(".msg.theirs", has_text="Welcome to Leaf & Co")).to_be_visible()
        await tap(page, "Browse teas")
        card = page.locator(".msg.theirs", has_text="Earl Grey - $8.99").last
        picture = card.locator("img")
        await expect(picture).to_have_attribute(
            "src", f"{shop}/sandbox/static/samples/leafco/earl-grey.jpg"
        )
        await page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=await picture.element_handle()
        )
        await tap(page, "Add to cart")
        await expect(page.locator(".msg.theirs", has_text="Added Earl Grey")).to_be_visible()

        await page.fill("#message", "checkout")
        await page.keyboard.press("Enter")
        await expect(
            page.locator(".msg.theirs", has_text="Where should we deliver?")
        ).to_be_visible()
        await page.click("#location")
        await page.fill("#location-lat", "51.52344")
        await page.fill("#location-lng", "-0.15860")
        await page.fill("#location-label", "Home")
        await page.fill("#location-address", "221B Baker Street, London")
        await page.click("#location-share")
        shared = page.locator("#thread .msg.mine .location-card").last
        await expect(shared).to_contain_text("Home")
        await expect(shared).to_contain_text("51.52344, -0.15860")
        summary = page.locator(".msg.theirs", has_text="Please check your order").last
        await expect(summary).to_contain_text("221B Baker Street, London (51.52344, -0.15860)")
        await assert_fits(page)
        await keep_screenshot(page, "shop", viewport)
    finally:
        await page.close()


@needs_chromium
@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_a_list_picker_opens_and_an_item_is_picked(
    browser: Browser, viewport: ViewportSize
) -> None:
    async with sandbox_with_bot(sizes_bot.build()) as stack:
        page = await browser.new_page(viewport=viewport)
        try:
            await page.goto(stack.url)
            await create_whatsapp_phone(page, name="Grace Hopper", number="+15550004222")
            await expect(page.locator("#target")).to_have_value(BOT_NUMBER)
            await page.fill("#message", "sizes?")
            await page.keyboard.press("Enter")
            menu = page.locator(".msg.theirs", has_text="Which size, Ada?")
            await menu.locator("button.list-open", has_text=sizes_bot.BUTTON).click()
            await expect(menu.locator(".list-item")).to_have_count(2)
            await expect(menu.locator(".list-item").last).to_contain_text("1 kg")
            await menu.locator(".list-item", has_text="Large").click()
            await expect(page.locator("#thread .msg.mine").last).to_contain_text("Large")
            chosen = page.locator(".msg.theirs", has_text="You chose Large (size:l)")
            await expect(chosen).to_be_visible()
            await assert_fits(page)
            await keep_screenshot(page, "list-picker", viewport)
        finally:
            await page.close()
