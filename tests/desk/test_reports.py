"""Campaign reports at /campaigns/: the JSON behind the page (a desk token required in
production, one-line 4xx otherwise) and the page itself in Chromium, drawing delivery over
time, at a phone's width and at a desktop's.

Set BOTKIT_DESK_SCREENSHOTS=<directory> to keep a screenshot of the page at each width.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from botkit import Bot
from botkit.testing import Tester
from tests.sandbox.test_simulator_browser import needs_chromium

TOKEN = "lead-token-0123456789"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


async def campaign_sent(tester: Tester) -> str:
    ann, bob = tester.phone("+15550001111"), tester.phone("+15550002323")
    imported = await tester.bot.broadcast(
        [ann.number, bob.number], text="spring sale", from_=tester.bot_number, name="Spring"
    )
    await ann.expect_reply(equals="spring sale")
    await bob.expect_reply(equals="spring sale")
    async with asyncio.timeout(10):
        while (await tester.bot.campaign(imported.campaign.id)).counts.get("sent", 0) < 2:
            await asyncio.sleep(0.05)
    return imported.campaign.id


def origin(tester: Tester) -> str:
    assert tester.settings is not None and tester.settings.public_hosts
    return tester.settings.public_hosts.split(",")[0].rstrip("/")


async def test_the_report_api_needs_a_desk_token_and_gives_counts_by_minute() -> None:
    async with Tester(Bot("reports"), settings={"desk_tokens": {"lead": TOKEN}}) as tester:
        campaign_id = await campaign_sent(tester)
        base = f"{origin(tester)}/campaigns"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/campaigns") as refused:
                assert (refused.status, await refused.text()) == (
                    401, "a desk token is required (Authorization: Bearer ...)\n"
                )
            signed = {"Authorization": f"Bearer {TOKEN}"}
            async with http.get(f"{base}/api/campaigns", headers=signed) as listing:
                found = (await listing.json())["campaigns"]
                assert [(c["id"], c["name"]) for c in found] == [(campaign_id, "Spring")]
            async with http.get(f"{base}/api/campaigns/{campaign_id}?token={TOKEN}") as one:
                report = await one.json()
                assert report["counts"]["sent"] == 2
                assert sum(m.get("sent", 0) for m in report["series"].values()) == 2
            async with http.get(f"{base}/api/campaigns/nope", headers=signed) as missing:
                assert (missing.status, await missing.text()) == (404, "no campaign nope\n")
            async with http.get(f"{base}/api/campaigns/a%20b", headers=signed) as bad:
                assert bad.status == 400
            async with http.get(f"{base}/") as page:  # the page holds no data itself
                assert page.status == 200 and "delivery over time" in await page.text()


async def test_in_production_without_desk_tokens_there_are_no_reports() -> None:
    async with (
        Tester(Bot("reports")) as tester,
        aiohttp.ClientSession() as http,
        http.get(f"{origin(tester)}/campaigns/api/campaigns") as response,
    ):
        assert response.status == 404


async def assert_fits(page: Page) -> None:
    """No sideways scrolling, and the chart lies within the screen's width."""
    scroll_width, inner_width = await page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"the page is {scroll_width} px wide in a {inner_width} px wide viewport"
    )
    chart = await page.locator("section svg").bounding_box()
    assert chart is not None, "the chart is not rendered"
    assert chart["x"] >= 0 and chart["x"] + chart["width"] <= inner_width + 0.5, chart
    assert chart["height"] > 100, chart


@needs_chromium
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
async def test_the_page_draws_delivery_over_time(
    browser: Browser, viewport: ViewportSize
) -> None:
    async with Tester(Bot("reports"), settings={"desk_tokens": {"lead": TOKEN}}) as tester:
        campaign_id = await campaign_sent(tester)
        other = await tester.bot.broadcast(
            [tester.phone("+15550003333").number], text="later", from_=tester.bot_number,
            name="Autumn re-engagement for customers who have not ordered since March",
            paused=True,
        )
        page = await browser.new_page(viewport=viewport)
        try:
            await page.goto(f"{origin(tester)}/campaigns/?token={TOKEN}#{campaign_id}")
            await expect(page.locator("h1")).to_have_text("Spring")
            await expect(page.locator('svg path[data-count="sent"]')).to_have_count(1)
            await expect(page.locator("table")).to_contain_text("sent")
            await expect(page.locator("nav a.on")).to_contain_text(campaign_id)
            await assert_fits(page)
            nav = await page.locator("nav").bounding_box()
            section = await page.locator("section").bounding_box()
            assert nav is not None and section is not None
            if viewport == PHONE:  # one column: the list above the report
                assert nav["y"] + nav["height"] <= section["y"] + 0.5
            else:  # the list beside the report
                assert nav["x"] + nav["width"] <= section["x"] + 0.5
            await screenshot(page, viewport)

            # Another campaign, picked from the list: one not sent yet says so.
            await page.locator("nav a", has_text="Autumn").click()
            await expect(page.locator("h1")).to_have_text(re.compile("^Autumn"))
            await expect(page.locator(".state")).to_contain_text(f"{other.campaign.id} - paused")
            await expect(page.locator("section svg")).to_contain_text("Nothing sent yet.")
            await expect(page.locator("table")).to_contain_text("left to feed")
            await assert_fits(page)
        finally:
            await page.close()


async def screenshot(page: Page, viewport: ViewportSize) -> None:
    """With BOTKIT_DESK_SCREENSHOTS=<directory>, keep the page at this width."""
    folder = os.environ.get("BOTKIT_DESK_SCREENSHOTS")
    if folder:
        name = f"campaigns-{viewport['width']}x{viewport['height']}.png"
        await page.screenshot(path=str(Path(folder) / name), full_page=True)
