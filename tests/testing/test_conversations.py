"""Conversations with several participants and a human agent, driven only through the tester:
phones text (the sandbox relays bound phones into their conversation), chat agents post through
the Conversations API, and the bot hears it all through its signed webhooks.

Handoff keeps its queue and agent loads in the stores, so these run on memory and on Redis.
"""

from __future__ import annotations

import pytest

from botkit import AgentPool, Bot, Context, ConversationContext, HandlerContext
from botkit.testing import Tester

ALICE = "+15550101001"
BOB = "+15550101002"
CAROL = "+15550101003"


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


@pytest.fixture
def bot() -> Bot:
    bot = Bot("desk", agents=AgentPool(["agent-7"], capacity=1))

    @bot.intent("human", keywords=["agent"])
    async def human(ctx: Context) -> None:
        await ctx.handoff()

    @bot.intent("count", keywords=["count"], scope="any")
    async def count(ctx: HandlerContext) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"count {ctx.session['n']}")

    @bot.intent("order", pattern=r"^order (?P<n>\d+)$", scope="conversation")
    async def order(ctx: ConversationContext) -> None:
        who = ctx.participant.address if ctx.participant else "?"
        await ctx.reply(f"{who}: order {ctx.slots['n']} ships today")

    return bot


async def test_handoff_to_a_chat_agent_and_back_to_the_bot(tester: Tester) -> None:
    alice = tester.phone(ALICE)
    agent = tester.agent("agent-7")
    await alice.send("count")
    await alice.expect_reply(equals="count 1")

    await alice.send("agent")
    await agent.expect_message(equals="You are now chatting with agent-7.", author="bot")
    await alice.expect_reply(equals="You are now chatting with agent-7.")
    assert agent.conversation_sid is not None

    # While the agent has the conversation, the bot stays silent; the two talk.
    await alice.send("count")
    await agent.expect_message(equals="count", author=ALICE)
    await agent.say("Hi Alice, Sam here.")
    await alice.expect_reply(equals="Hi Alice, Sam here.")
    await alice.expect_no_reply()

    # /resume: the bot takes the command before it is added, so Alice never sees it (Twilio
    # relays every post to the phones); the agent alone is told. The bot is back in the
    # conversation, with the session carried over.
    assert await agent.say("/resume") is False
    await alice.expect_reply(equals="You are back with the bot.")
    await agent.expect_notice(contains="New conversation: +1555***1001 (general)")
    await agent.expect_notice(equals="The bot has this conversation again.")
    await alice.send("count")
    await alice.expect_reply(equals="count 2")
    await agent.expect_no_message()


async def test_customers_wait_in_line_and_are_told_their_place(tester: Tester) -> None:
    alice, bob = tester.phone(ALICE), tester.phone(BOB)
    agent = tester.agent("agent-7")
    await alice.send("agent")
    await alice.expect_reply(contains="chatting with agent-7")
    await bob.send("agent")
    await bob.expect_reply(equals="You are number 1 in line. An agent will be with you shortly.")

    await agent.expect_message(contains="chatting with agent-7")
    await agent.say("/close")
    await alice.expect_reply(equals="This conversation is now closed. Thank you!")
    await agent.expect_message(equals="This conversation is now closed. Thank you!")
    # Free again, the agent took Bob, the next in line, with the close.
    await bob.expect_reply(equals="You are now chatting with agent-7.")
    assert await tester.bot.take_next("agent-7") is None
    await agent.expect_message(equals="You are now chatting with agent-7.")
    await agent.say("Hello Bob")
    await bob.expect_reply(equals="Hello Bob")


async def test_a_group_conversation_with_phones_and_an_agent(tester: Tester) -> None:
    alice, bob = tester.phone(ALICE), tester.phone(BOB)
    carol = tester.phone(CAROL, whatsapp=True)
    agent = tester.agent("agent-9")
    sid = await tester.conversation(alice, bob, carol, agent, friendly_name="orders")
    assert agent.conversation_sid == sid

    await bob.send("order 42")
    for phone in (alice, carol):  # everyone else reads a member's message...
        await phone.expect_reply(equals="order 42")
    for phone in (alice, bob, carol):  # ...and everyone reads the bot's answer
        await phone.expect_reply(equals=f"{BOB}: order 42 ships today")
    await agent.expect_message(equals="order 42", author=BOB)
    await agent.expect_message(equals=f"{BOB}: order 42 ships today", author="bot")

    # The author does not get its own message back.
    await carol.send("thanks!")
    await alice.expect_reply(equals="thanks!")
    await bob.expect_reply(equals="thanks!")
    await agent.expect_message(equals="thanks!", author="whatsapp:" + CAROL)
    await carol.expect_no_reply()

    await agent.say("count")  # a conversation-scoped intent, shared session
    await agent.expect_message(equals="count 1", author="bot")
    await carol.expect_reply(equals="count")
    await carol.expect_reply(equals="count 1")


async def test_an_agent_in_no_conversation_cannot_speak(tester: Tester) -> None:
    with pytest.raises(AssertionError, match="agent agent-3 cannot say 'hi': it is in no"):
        await tester.agent("agent-3").say("hi")
    with pytest.raises(ValueError, match="needs a chat identity"):
        tester.agent(" ")


async def test_expect_notice_says_what_the_agent_was_told_instead(tester: Tester) -> None:
    agent = tester.agent("agent-7")
    with pytest.raises(AssertionError, match=r"expected a notice .* within 0\.3 s, but none came"):
        await agent.expect_notice(contains="anything", within=0.3)
    alice = tester.phone(ALICE)
    await alice.send("agent")
    await alice.expect_reply(contains="chatting with agent-7")
    with pytest.raises(AssertionError, match=r"but the next notice was 'New conversation: "):
        await agent.expect_notice(equals="Closed.")
