"""The smallest useful bot: it greets, counts visits in the session, and echoes the rest."""

from botkit import Bot, Context

bot = Bot("echo")


@bot.intent("greet", keywords=["hi", "hello", "hey"])
async def greet(ctx: Context) -> None:
    ctx.session["visits"] = ctx.session.get("visits", 0) + 1
    await ctx.reply(f"Hello! Visit number {ctx.session['visits']}. Send anything and I echo it.")


@bot.fallback
async def echo(ctx: Context) -> None:
    if ctx.message.media:
        await ctx.reply(f"Got {len(ctx.message.media)} attachment(s).")
        return
    await ctx.reply(f"You said: {ctx.message.text}")
