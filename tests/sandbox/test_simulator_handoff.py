"""A newcomer plays both sides of ``bots.support``'s handoff in the simulator, in development
mode (`botkit run bots.support`, no account): the customer asks for a person, the agent (a chat
identity opened in the simulator) answers, closes with ``/close``, and the customer gets the
survey. At a phone's width and a desktop's.

Set BOTKIT_SCREENSHOTS to a directory to keep a picture of each side at the end.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from botkit.cli.devserver import DEMO_NUMBER
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN
from tests.sandbox.test_simulator_browser import browser, needs_chromium
from tests.sandbox.test_simulator_layout import VIEWPORTS, assert_fits
from tests.support.process import development_bot

__all__ = ["browser"]  # the fixture, shared

CUSTOMER = "+15550003111"
CONNECTED = "You are now chatting with agent from Acme Support."


@dataclass
class Support:
    """`botkit run bots.support` in development mode: its sandbox's URL."""

    sandbox: str

    def conversation_state(self, sid: str) -> str:
        request = urllib.request.Request(f"{self.sandbox}/v1/Conversations/{sid}")
        pair = f"{DEVELOPMENT_ACCOUNT_SID}:{DEVELOPMENT_AUTH_TOKEN}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(json.load(response)["state"])


@pytest.fixture
def support() -> Iterator[Support]:
    with development_bot("bots.support") as url:
        yield Support(url)


async def new_phone_dialog(page: Page) -> None:
    """The phone list's New phone button, or the welcome's when the list is out of sight (a
    phone's screen with no phone yet)."""
    await page.wait_for_function("document.getElementById('live').dataset.state === 'live'")
    new_phone = page.locator("#new-phone")
    await (new_phone if await new_phone.is_visible() else page.locator("#welcome-new")).click()
    await expect(page.locator("#phone-dialog")).to_be_visible()


async def say(page: Page, text: str) -> None:
    await page.fill("#message", text)
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread .msg.mine").last).to_contain_text(text)


def heard(page: Page, text: str) -> object:
    return expect(page.locator("#thread .msg.theirs", has_text=text).last).to_be_visible()


@needs_chromium
@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_a_newcomer_plays_both_sides_of_a_handoff(
    browser: Browser, support: Support, viewport: ViewportSize
) -> None:
    customer_side = await browser.new_context(viewport=viewport)
    agent_side = await browser.new_context(viewport=viewport)
    try:
        agent = await agent_side.new_page()
        await agent.goto(support.sandbox)
        await new_phone_dialog(agent)
        await agent.click(".segmented label:has-text('Agent chat')")
        await expect(agent.locator("#phone-number")).to_be_hidden()
        await agent.fill("#phone-name", "Sam (agent)")
        await agent.fill("#phone-identity", "agent")
        await agent.click("#phone-create")
        await expect(agent.locator("#chat")).to_have_attribute("data-channel", "chat")
        await expect(agent.locator("#empty-text")).to_contain_text("hands them to agent")

        customer = await customer_side.new_page()
        await customer.goto(support.sandbox)
        await new_phone_dialog(customer)
        await customer.fill("#phone-name", "Ada Lovelace")
        await customer.fill("#phone-number", CUSTOMER)
        await customer.click("#phone-create")
        await expect(customer.locator("#target")).to_have_value(DEMO_NUMBER)
        await say(customer, "I want to talk to a person")
        await heard(customer, CONNECTED)

        # The agent's desk shows the conversation the bot handed over, and writes into it.
        await heard(agent, CONNECTED)
        conversation = await agent.locator("#target").input_value()
        assert conversation.startswith("CH")
        await say(agent, "Hi Ada, Sam here. What happened?")
        await heard(customer, "Hi Ada, Sam here. What happened?")
        await say(customer, "My tea never came")
        await heard(agent, "My tea never came")
        # Each side shows the message once: the agent's copy is not the customer's.
        for page in (customer, agent):
            tea = page.locator("#thread .msg", has_text="My tea never came")
            await expect(tea).to_have_count(1)
        await say(agent, "Sorry! A new tin is on its way.")
        await heard(customer, "Sorry! A new tin is on its way.")

        # An agent's command is taken at the pre-event: never added, so no one sees it.
        await agent.fill("#message", "/close")
        await agent.keyboard.press("Enter")
        await heard(customer, "This chat is now closed")
        await expect(customer.locator("#thread .msg", has_text="/close")).to_have_count(0)
        await heard(customer, "How did we do?")
        assert support.conversation_state(conversation) == "closed"
        await say(customer, "5")
        await heard(customer, "Thank you for rating us 5/5!")

        for page in (customer, agent):
            await assert_fits(page)
        keep = os.environ.get("BOTKIT_SCREENSHOTS")
        if keep:
            size = f"{viewport['width']}x{viewport['height']}"
            for side, page in (("customer", customer), ("agent", agent)):
                await page.screenshot(path=str(Path(keep) / f"dx-handoff-{side}-{size}.png"))
    finally:
        await customer_side.close()
        await agent_side.close()

