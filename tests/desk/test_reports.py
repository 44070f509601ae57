"""Campaign reports at /campaigns/: the JSON behind the page (a desk token required in
production, one-line 4xx otherwise) and the page itself in Chromium, drawing delivery over
time."""

from __future__ import annotations

import asyncio

import aiohttp
from playwright.async_api import Browser, expect

from botkit import Bot
from botkit.testing import Tester
from tests.sandbox.test_simulator_browser import needs_chromium

TOKEN = "lead-token-0123456789"


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
    async with Tester(Bot("reports")) as tester, aiohttp.ClientSession() as http:
        async with http.get(f"{origin(tester)}/campaigns/api/campaigns") as response:
            assert response.status == 404


@needs_chromium
async def test_the_page_draws_delivery_over_time(browser: Browser) -> None:
    async with Tester(Bot("reports"), settings={"desk_tokens": {"lead": TOKEN}}) as tester:
        campaign_id = await campaign_sent(tester)
        page = await browser.new_page()
        try:
            await page.goto(f"{origin(tester)}/campaigns/?token={TOKEN}#{campaign_id}")
            await expect(page.locator("h1")).to_have_text("Spring")
            await expect(page.locator('svg path[data-count="sent"]')).to_have_count(1)
            await expect(page.locator("table")).to_contain_text("sent")
            await expect(page.locator("nav a.on")).to_contain_text(campaign_id)
        finally:
            await page.close()

