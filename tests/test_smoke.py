from botkit import Bot, Context
from tests.conftest import StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params


async def test_reply_reaches_twilio(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    bot = Bot("smoke")

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        await ctx.reply("hello")

    server = await start_server(bot, redis_url=store_url)
    response = await server.post(inbound_params("hi"))
    assert response.status == 200
    assert await response.text() == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert response.content_type == "text/xml"
    sent = await twilio.wait_for(1)
    assert sent[0].to == USER
    assert sent[0].params["From"] == BOT_NUMBER
    assert sent[0].body == "hello"
