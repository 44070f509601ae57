"""Twilio's own verdict on the WhatsApp window (63016, reported in a status callback) is obeyed:
the message goes again as the bot's template. Also: StatusCallback comes from BOTKIT_PUBLIC_URL.
"""

from __future__ import annotations

import asyncio

import aiohttp

from botkit import Bot, Context
from botkit.outbound.shaping import WhatsAppTemplate
from tests.conftest import StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params

WA_USER = "whatsapp:+15550001111"
WA_BOT = "whatsapp:+15550002222"


async def _template(twilio: SandboxTwilio) -> str:
    config = twilio.sandbox.config
    body = {
        "friendly_name": "fallback",
        "language": "en",
        "variables": {"1": "news"},
        "types": {"twilio/text": {"body": "We have news for you: {{1}}"}},
    }
    async with (
        aiohttp.ClientSession(auth=aiohttp.BasicAuth(config.account_sid, config.auth_token)) as h,
        h.post(f"{twilio.base_url}/v1/Content", json=body) as response,
    ):
        assert response.status == 201
        return str((await response.json())["sid"])


async def test_a_63016_failure_is_resent_as_the_template(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    template = WhatsAppTemplate(content_sid=await _template(twilio))
    bot = Bot("wa", whatsapp_template=template)

    @bot.fallback
    async def answer(ctx: Context) -> None:
        await ctx.reply("free-form answer")

    server = await start_server(bot, redis_url=store_url, public=True)
    # The webhook reaches the bot, but not through the sandbox's phones: Twilio never saw the
    # user write, so its window is closed while ours is open.
    await server.post(inbound_params("hi", From=WA_USER, To=WA_BOT))
    sent = await twilio.wait_for(2, timeout=10)
    first, second = sent
    assert first.record.content_sid is None and first.record.body == "free-form answer"
    async with asyncio.timeout(5):
        while first.record.status != "failed":
            await asyncio.sleep(0.01)
    assert first.record.error_code == 63016
    assert second.to == WA_USER and second.record.content_sid == template.content_sid
    assert second.record.body == "We have news for you: free-form answer"
    await server.idle()
    await asyncio.sleep(0.2)
    assert len(twilio.sent) == 2  # the template went once, and nothing after it


async def test_status_callback_comes_from_the_public_url(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = Bot("cb")

    @bot.fallback
    async def answer(ctx: Context) -> None:
        await ctx.reply("ok")

    server = await start_server(bot, public=True)
    await server.post(inbound_params("hi"))
    [reply] = await twilio.wait_for(1)
    assert reply.record.status_callback == f"{server.settings.public_url}/twilio/status"
    async with asyncio.timeout(5):
        while await server.runtime.stores.statuses.get(reply.record.sid) is None:
            await asyncio.sleep(0.01)
