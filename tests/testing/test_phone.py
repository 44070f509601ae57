import pytest

from botkit import Bot, Context


@pytest.fixture
def bot() -> Bot:
    bot = Bot("greeter")

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"Hello! visit {ctx.session['n']}")

    return bot

async def test_hi(tester) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("hi")
    await phone.expect_reply(contains="Hello")
    await phone.send("hi")
    await phone.expect_reply(contains="visit 2")
    await phone.expect_no_reply()
