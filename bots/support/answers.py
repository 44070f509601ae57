"""Greeting, FAQ answers and the fallback, all worded in the operator's knowledge file."""

from __future__ import annotations

from botkit import Context, InboundMessage, Knowledge, Router
from bots.support.priorities import FAQ_PRIORITY


def answers_router(knowledge: Knowledge) -> Router:
    router = Router("answers")
    # Checked now, not when the first customer says hello.
    greeting, fallback = knowledge.text("greeting"), knowledge.text("fallback")

    @router.intent("greet", keywords=["hi", "hello", "hey"])
    async def greet(ctx: Context) -> None:
        await ctx.reply(greeting)

    def asks_a_known_question(message: InboundMessage) -> bool:
        return knowledge.lookup(message.text) is not None

    # Above intents that merely mention an order or a problem: "how do I return an order?"
    # is a question about returns, and the operator decides what counts as one by editing
    # the keywords. Commands ("TICKET ...") stay above it.
    @router.intent("faq", when=asks_a_known_question, priority=FAQ_PRIORITY)
    async def faq(ctx: Context) -> None:
        found = knowledge.lookup(ctx.message.text)
        assert found is not None  # the intent's condition
        _, entry = found
        await ctx.reply(entry.answer)

    @router.fallback
    async def not_understood(ctx: Context) -> None:
        await ctx.reply(fallback)

    return router
