"""The simulator page in real headless Chromium (Debian's, driven by Playwright): a person
creates a WhatsApp phone, texts a real botkit bot, sees its quick-reply template arrive with
delivery ticks, taps a button, and sees the bot answer the tap."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from botkit import Bot, Context
from botkit.sandbox import Sandbox
from tests.support.sandbox_stack import BOT_NUMBER, sandbox_with_bot

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def find_chromium() -> str | None:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium (/usr/bin/chromium): apt-get install chromium, or run scripts/test.sh",
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        await browser.close()


@dataclass
class Menu:
    """What the bot's handler needs once the stack runs: the SDK client and the template."""

    twilio: Client | None = None
    content_sid: str = ""


def menu_bot(menu: Menu) -> Bot:
    """Greets with a quick-reply template; answers a tap with what was tapped."""
    bot = Bot("simulator-test")

    @bot.fallback
    async def answer(ctx: Context) -> None:
        whatsapp = ctx.message.whatsapp
        if whatsapp and whatsapp.button_payload:
            await ctx.reply(f"You picked {whatsapp.button_payload}. On it!")
            return
        assert menu.twilio is not None
        await menu.twilio.messages.create_async(
            to=str(ctx.message.sender),
            from_=str(ctx.message.recipient),
            content_sid=menu.content_sid,
            content_variables=json.dumps({"1": (whatsapp and whatsapp.profile_name) or "there"}),
        )

    return bot


MENU_TEMPLATE = {
    "friendly_name": "menu",
    "language": "en",
    "types": {
        "twilio/quick-reply": {
            "body": "Hi {{1}}! What can I do for you?",
            "actions": [
                {"title": "Track order", "id": "track"},
                {"title": "Talk to a human", "id": "agent"},
            ],
        }
    },
}


@needs_chromium
async def test_chat_and_tap_a_quick_reply(browser: Browser) -> None:
    menu = Menu()
    async with sandbox_with_bot(menu_bot(menu)) as stack:
        menu.twilio = stack.twilio
        template = await stack.twilio.content.v1.contents.create_async(
            ContentList.ContentCreateRequest(MENU_TEMPLATE)
        )
        menu.content_sid = template.sid
        page = await browser.new_page()
        try:
            await page.goto(stack.url)
            await create_whatsapp_phone(page, name="Ada Lovelace", number="+15550001111")
            await expect(page.locator("#target")).to_have_value(BOT_NUMBER)

            await page.fill("#message", "hi")
            await page.keyboard.press("Enter")
            await expect(page.locator(".msg.mine").last).to_contain_text("hi")

            greeting = page.locator(".msg.theirs", has_text="Hi Ada Lovelace!")
            await expect(greeting).to_be_visible()
            await expect(greeting.locator(".ticks")).to_have_attribute("data-status", "delivered")
            buttons = greeting.locator("button.action")
            await expect(buttons).to_have_text(["Track order", "Talk to a human"])

            await buttons.first.click()
            await expect(page.locator(".msg.mine").last).to_contain_text("Track order")
            reply = page.locator(".msg.theirs", has_text="You picked track. On it!")
            await expect(reply).to_be_visible()
        finally:
            await page.close()


async def create_whatsapp_phone(page: Page, *, name: str, number: str) -> None:
    await page.click("#welcome-new")
    await page.click(".segmented label:has-text('WhatsApp')")
    await page.fill("#phone-name", name)
    await page.fill("#phone-number", number)
    await page.click("#phone-create")
    await expect(page.locator("#chat-name")).to_have_text(name)
    await expect(page.locator("#chat")).to_have_attribute("data-channel", "whatsapp")


async def test_page_and_assets_are_served_offline() -> None:
    """No CDN: everything the page loads comes from the sandbox itself."""
    sandbox = Sandbox()
    await sandbox.start()
    try:
        async with aiohttp.ClientSession(sandbox.url) as session:
            async with session.get("/") as index:
                html = await index.text()
                assert index.status == 200 and index.content_type == "text/html"
            for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
                assert f"/sandbox/static/{asset}" in html
                async with session.get(f"/sandbox/static/{asset}") as response:
                    assert response.status == 200 and kind in response.content_type
        assert not re.search(r'(src|href)="(https?:)?//', html)
    finally:
        await sandbox.stop()


async def test_stopping_ends_open_event_streams() -> None:
    """An open simulator tab must not hold the sandbox's shutdown until its next keep-alive."""
    sandbox = Sandbox()
    await sandbox.start()
    async with aiohttp.ClientSession() as session:
        stream = await session.get(f"{sandbox.url}/sandbox/events")
        await stream.content.readline()  # ": connected"
        async with asyncio.timeout(3):
            await sandbox.stop()
        stream.close()
