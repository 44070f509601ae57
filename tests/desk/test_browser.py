"""The whole support flow in a real browser (Debian's Chromium, headless): customers play their
phones in the simulator, an agent works in the desk, against the sandbox in development mode,
as a newcomer would side by side. Handoff with the transcript, a command the customer never
sees, a customer waiting in the desk's queue, auto-assignment on close, a transfer, an agent
going away. The desk runs at a phone's width and at a desktop's.

Set BOTKIT_DESK_SCREENSHOTS=<directory> to keep a screenshot of the desk at each width.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from botkit import Agent
from bots.support import build
from tests.sandbox.test_simulator_browser import needs_chromium
from tests.support.sandbox_stack import Stack, sandbox_with_bot

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
EVENTS = ["onMessageAdd", "onMessageAdded", "onParticipantAdded", "onParticipantRemoved"]


async def wire_conversations(stack: Stack) -> None:
    """Point the sandbox's Conversations webhooks (pre and post) at the bot, as a developer
    does in the Console."""
    url = str(stack.bot_server.make_url("/twilio/conversations"))
    await stack.twilio.conversations.v1.configuration.webhooks().update_async(
        pre_webhook_url=url, post_webhook_url=url, method="POST", filters=EVENTS
    )


async def new_phone(page: Page, name: str, number: str, *, first: bool) -> None:
    await page.click("#welcome-new" if first else "#new-phone")
    await page.fill("#phone-name", name)
    await page.fill("#phone-number", number)
    await page.click("#phone-create")
    await expect(page.locator("#chat-name")).to_have_text(name)


async def text(page: Page, body: str) -> None:
    await page.fill("#message", body)
    await page.keyboard.press("Enter")
    await expect(page.locator(".msg.mine").last).to_contain_text(body)


async def sees(page: Page, body: str) -> None:
    await expect(page.locator("#thread .msg.theirs", has_text=body).last).to_be_visible()


async def open_phone(page: Page, name: str) -> None:
    await page.locator(".sidebar .phone-item", has_text=name).click()
    await expect(page.locator("#chat-name")).to_have_text(name)


async def desk_shows(desk: Page, tab: str, narrow: bool) -> None:
    """On a phone the desk shows one view at a time: pick it (the queue, my chats or the
    conversation); on a desktop they are all there."""
    if narrow:
        await desk.locator("#tabs button", has_text=tab).click()


@needs_chromium
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
async def test_a_customer_in_the_simulator_and_an_agent_in_the_desk(
    browser: Browser, viewport: ViewportSize
) -> None:
    support = build(agents=[Agent("ann"), Agent("bea", skills=["billing"])])
    narrow = viewport == PHONE
    async with sandbox_with_bot(support.bot) as stack:
        await wire_conversations(stack)
        phones = await browser.new_page(viewport=DESKTOP)
        desk = await browser.new_page(viewport=viewport)
        try:
            # ann signs in (development mode: her token is her name).
            await desk.goto(str(stack.bot_server.make_url("/desk/")))
            await desk.fill("#token", "wrong")
            await desk.click("#signin-submit")
            await expect(desk.locator("#signin-error")).to_have_text(
                "That token is not an agent's."
            )
            await desk.fill("#token", "ann")
            await desk.click("#signin-submit")
            await expect(desk.locator("#me-name")).to_have_text("ann")
            await expect(desk.locator("#presence [data-presence=available]")).to_have_attribute(
                "aria-checked", "true"
            )

            # Ada talks to the bot, then asks for a person: ann gets her with the transcript.
            await phones.goto(stack.url)
            await new_phone(phones, "Ada", "+15550001111", first=True)
            await text(phones, "hello")
            await sees(phones, "I am the Acme support bot")
            await text(phones, "I want an agent")
            await sees(phones, "You are now chatting with ann from Acme Support.")
            await desk_shows(desk, "My chats", narrow)
            await expect(desk.locator("#mine .item")).to_have_count(1)
            await expect(desk.locator("#mine .item .who")).to_have_text("+1555***1111")
            await desk_shows(desk, "Conversation", narrow)
            await expect(desk.locator("#handover-reason")).to_have_text(
                "Reason: asked for a person"
            )
            await expect(desk.locator("#handover-turns li").first).to_have_text("Customerhello")
            await expect(desk.locator("#notices")).to_contain_text("New conversation")

            # ann writes; Ada reads it. A /note stays with the agents: Ada never sees it.
            await desk.fill("#text", "Hello Ada, this is Ann. How can I help?")
            await desk.keyboard.press("Enter")
            await sees(phones, "Hello Ada, this is Ann. How can I help?")
            await text(phones, "My teapot arrived cracked")
            await expect(desk.locator("#thread .msg.customer").last).to_have_text(
                "My teapot arrived cracked"
            )
            await desk.fill("#text", "/note VIP customer, second teapot")
            await desk.keyboard.press("Enter")
            await expect(desk.locator("#thread .msg.note")).to_contain_text("VIP customer")
            await expect(desk.locator("#notices")).to_contain_text("Noted.")

            # Grace asks too: ann is full, so Grace waits in the desk's queue.
            await new_phone(phones, "Grace", "+15550001112", first=False)
            await text(phones, "agent please")
            await sees(phones, "You are number 1 in line")
            await desk_shows(desk, "Queue", narrow)
            waiting = desk.locator("#queues .item", has_text="+1555***1112")
            await expect(waiting).to_be_visible()
            await expect(waiting.locator(".wait")).to_have_text(re.compile(r"^\d+s$"))
            await desk_shows(desk, "Conversation", narrow)
            await screenshot(desk, viewport)

            # ann closes Ada's chat: she takes Grace at once.
            await desk.click("#close")
            await open_phone(phones, "Ada")
            await sees(phones, "This chat is now closed")
            await desk_shows(desk, "My chats", narrow)
            await expect(desk.locator("#mine .item .who")).to_have_text("+1555***1112")
            await desk_shows(desk, "Queue", narrow)
            await expect(desk.locator("#queues .item")).to_have_count(0)

            # ann transfers Grace to billing, where bea takes her.
            await desk_shows(desk, "Conversation", narrow)
            await desk.click("#transfer-open")
            await desk.select_option("#transfer-to", "@billing")
            await desk.fill("#transfer-note", "wants a refund")
            await desk.click("#transfer-submit")
            await expect(desk.locator("#notices")).to_contain_text("Transferred to bea.")
            await open_phone(phones, "Grace")
            await sees(phones, "You are now chatting with bea from Acme Support.")
            await desk_shows(desk, "My chats", narrow)
            await expect(desk.locator("#mine .item")).to_have_count(0)

            # ann goes away: Ada, asking again, waits; back, ann takes her at once.
            await desk.click("#presence [data-presence=away]")
            await expect(desk.locator("#presence [data-presence=away]")).to_have_attribute(
                "aria-checked", "true"
            )
            await open_phone(phones, "Ada")
            await text(phones, "agent")
            await sees(phones, "You are number 1 in line")
            await desk_shows(desk, "Queue", narrow)
            await expect(desk.locator("#queues .item", has_text="+1555***1111")).to_be_visible()
            await desk.click("#presence [data-presence=available]")
            await sees(phones, "You are now chatting with ann from Acme Support.")
            await desk_shows(desk, "My chats", narrow)
            await expect(desk.locator("#mine .item .who")).to_have_text("+1555***1111")

            # No agent command ever reached a customer's phone.
            for name in ("Ada", "Grace"):
                await open_phone(phones, name)
                await expect(phones.locator("#thread .msg", has_text="/note")).to_have_count(0)
            await assert_fits(desk)
        finally:
            await phones.close()
            await desk.close()


async def assert_fits(page: Page) -> None:
    """Nothing pushes the desk wider than the screen."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth")


async def screenshot(page: Page, viewport: ViewportSize) -> None:
    folder = os.environ.get("BOTKIT_DESK_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"support-desk-{viewport['width']}.png"))
