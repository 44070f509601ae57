"""A support team through the testing kit, on memory and Redis: a handoff that carries the
customer's turns with the bot, routing by skill, auto-assignment when an agent frees up,
transfers, an agent going away or offline, and commands the customer never sees."""

from __future__ import annotations

import json

import pytest

from botkit import Agent, AgentPool, Bot, Context, Presence
from botkit.handoff.history.protocol import conversation_thread
from botkit.testing import Tester

ALICE = "+15550101001"
BOB = "+15550101002"
CAROL = "+15550101003"


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


@pytest.fixture
def bot() -> Bot:
    team = AgentPool(
        [
            Agent("ann", skills=["general"]),
            Agent("bea", skills=["general", "billing"]),
            Agent("cy", skills=["billing"]),
        ],
        capacity=1,
    )
    bot = Bot("team", agents=team)

    @bot.intent("order", keywords=["order"])
    async def order(ctx: Context) -> None:
        ctx.session["order"] = "10042"
        await ctx.reply("Order 10042 ships tomorrow.")

    @bot.intent("human", keywords=["agent"])
    async def human(ctx: Context) -> None:
        await ctx.handoff(reason="asked for a person")

    @bot.intent("refund", keywords=["refund"])
    async def refund(ctx: Context) -> None:
        await ctx.handoff(skill="billing", priority=5, reason="refund")

    return bot


async def test_the_agent_gets_the_turns_a_summary_and_the_reason_the_customer_not_again(
    tester: Tester,
) -> None:
    alice = tester.phone(ALICE)
    ann = tester.agent("ann")
    await alice.send("where is my order?")
    await alice.expect_reply(equals="Order 10042 ships tomorrow.")
    await alice.send("I want an agent")
    await alice.expect_reply(equals="You are now chatting with ann.")
    await alice.expect_no_reply()  # nothing of the transcript comes back to the customer
    notice = await ann.expect_notice(contains="New conversation: +1555***1001 (general)")
    assert notice.text.endswith("Reason: asked for a person")

    sid = ann.conversation_sid
    assert sid is not None
    history = await tester.runtime.stores.history.read(conversation_thread(sid))
    assert [(e.kind, e.role, e.text) for e in history[:4]] == [
        ("turn", "customer", "where is my order?"),
        ("turn", "bot", "Order 10042 ships tomorrow."),
        ("turn", "customer", "I want an agent"),
        ("handoff", "system", "asked for a person"),
    ]
    assert history[3].data == {"summary": {"order": "10042"}}
    # Any chat client finds the same in the conversation's attributes.
    attributes = (await tester.runtime.conversations.client.fetch(sid)).attributes
    handover = attributes["handoff"]["handover"]
    assert handover["reason"] == "asked for a person"
    assert handover["transcript"][0] == {"role": "customer", "text": "where is my order?"}
    # What was said in the conversation joins the history, for the agent desk.
    await ann.expect_message(equals="You are now chatting with ann.", author="bot")
    await alice.send("it is late")
    await ann.expect_message(equals="it is late")
    await ann.say("Let me check.")
    await alice.expect_reply(equals="Let me check.")
    await tester.settle()
    later = await tester.runtime.stores.history.read(conversation_thread(sid), after=4)
    assert [(e.role, e.text) for e in later if e.kind == "message"][-2:] == [
        ("customer", "it is late"),
        ("agent", "Let me check."),
    ]


async def test_routing_by_skill_and_priority_and_auto_assignment_on_close(tester: Tester) -> None:
    alice, bob, carol = tester.phone(ALICE), tester.phone(BOB), tester.phone(CAROL)
    ann, bea = tester.agent("ann"), tester.agent("bea")
    await alice.send("agent")
    await alice.expect_reply(equals="You are now chatting with ann.")
    await bob.send("agent")
    await bob.expect_reply(equals="You are now chatting with bea.")
    await carol.send("agent")
    await carol.expect_reply(equals="You are number 1 in line. An agent will be with you shortly.")

    # ann closes Alice's chat: she takes Carol, the next in line, at once. Alice never sees
    # the command itself.
    await ann.expect_message(contains="chatting with ann")
    assert await ann.say("/close") is False
    await alice.expect_reply(equals="This conversation is now closed. Thank you!")
    await carol.expect_reply(equals="You are now chatting with ann.")
    await ann.expect_notice(contains="+1555***1001")
    await ann.expect_notice(contains="New conversation: +1555***1003 (general)")
    await ann.expect_notice(equals="Closed.")
    assert ann.conversation_sid is not None
    await ann.say("Hi Carol")
    await carol.expect_reply(equals="Hi Carol")
    for phone in (alice, bob, carol):
        assert not [m for m in phone.replies if m.body.startswith("/")]

    # A refund goes to the billing queue, where cy (billing only) takes it.
    await alice.send("I need a refund")
    await alice.expect_reply(equals="You are now chatting with cy.")
    await bea.expect_notice(contains="+1555***1002")


async def test_transfer_to_an_agent_or_a_skill_with_a_note(tester: Tester) -> None:
    alice, bob = tester.phone(ALICE), tester.phone(BOB)
    ann, bea, cy = tester.agent("ann"), tester.agent("bea"), tester.agent("cy")
    await alice.send("agent")
    await alice.expect_reply(equals="You are now chatting with ann.")
    await ann.expect_notice(contains="New conversation")

    # Refused (bea is away): told to ann alone, and nothing moves.
    await tester.bot.set_presence("bea", "away")
    assert await ann.say("/transfer bea wants a refund") is False
    await ann.expect_notice(equals="bea is not available; nothing was transferred.")
    await alice.expect_no_reply()

    # To the billing queue: cy has room and takes it, with ann's note; ann is free again.
    assert await ann.say("/transfer @billing wants a refund for 10042") is False
    await alice.expect_reply(equals="You are now chatting with cy.")
    await cy.expect_notice(equals="ann transferred +1555***1001 to you: wants a refund for 10042")
    await ann.expect_notice(equals="Transferred to cy.")
    await cy.say("Refund on its way.")
    await alice.expect_reply(equals="Refund on its way.")
    sid = cy.conversation_sid
    assert sid is not None
    participants = await tester.runtime.conversations.client.list_participants(sid)
    assert sorted(p.author for p in participants) == [ALICE, "cy"]  # ann left
    history = await tester.runtime.stores.history.read(conversation_thread(sid))
    assert ("note", "Transferred by ann to @billing: wants a refund for 10042") in [
        (e.kind, e.text) for e in history
    ]

    # To a named agent: back to ann.
    await bob.send("agent")
    await bob.expect_reply(equals="You are now chatting with ann.")
    await tester.bot.set_presence("bea", "available")
    assert await cy.say("/transfer bea") is False
    await alice.expect_reply(equals="You are now chatting with bea.")
    await bea.expect_notice(equals="cy transferred +1555***1001 to you.")
    assert not [m for m in alice.replies if m.body.startswith("/")]


async def test_an_agent_going_away_then_offline(tester: Tester) -> None:
    alice, bob, carol = tester.phone(ALICE), tester.phone(BOB), tester.phone(CAROL)
    ann, bea = tester.agent("ann"), tester.agent("bea")
    await alice.send("agent")
    await alice.expect_reply(equals="You are now chatting with ann.")

    # Away: ann keeps Alice, and the next customer goes to bea instead.
    assert await ann.say("/away") is False
    await ann.expect_notice(contains="New conversation")
    await ann.expect_notice(equals="ann: away: you keep your conversations and get no new ones.")
    await bob.send("agent")
    await bob.expect_reply(equals="You are now chatting with bea.")
    await carol.send("agent")
    await carol.expect_reply(contains="You are number 1 in line")
    presence: Presence = await tester.runtime.conversations.handoff.presence("ann")
    assert presence == "away"

    # Offline: ann's conversation goes back in line, ahead of Carol (it waited longer).
    await tester.bot.set_presence("ann", "offline")
    await alice.expect_reply(equals="You are now number 1 in line.")
    await carol.expect_reply(equals="You are now number 2 in line.")
    handoff = tester.runtime.conversations.handoff
    assert [r.customer for r in await handoff.store.waiting("general")] == [ALICE, CAROL]
    assert await handoff.store.holding("ann") == []

    # bea closes Bob's chat and takes Alice; ann, available again, takes Carol.
    assert await bea.say("/close") is False
    await alice.expect_reply(equals="You are now chatting with bea.")
    await tester.bot.set_presence("ann", "available")
    await carol.expect_reply(equals="You are now chatting with ann.")


async def test_a_note_is_kept_for_agents_and_never_reaches_the_customer(tester: Tester) -> None:
    alice = tester.phone(ALICE)
    ann = tester.agent("ann")
    await alice.send("agent")
    await alice.expect_reply(equals="You are now chatting with ann.")
    await ann.expect_notice(contains="New conversation")
    await ann.expect_message(equals="You are now chatting with ann.")
    assert await ann.say("/note VIP, be quick") is False
    await ann.expect_notice(equals="Noted.")
    await alice.expect_no_reply()
    await ann.expect_no_message()
    sid = ann.conversation_sid
    assert sid is not None
    history = await tester.runtime.stores.history.read(conversation_thread(sid))
    assert [(e.kind, e.author, e.text) for e in history if e.kind == "note"] == [
        ("note", "ann", "VIP, be quick")
    ]
    attributes = (await tester.runtime.conversations.client.fetch(sid)).attributes
    assert "VIP" not in json.dumps(attributes)
