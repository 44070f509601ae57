"""Human handoff: ``ctx.handoff``, agent mode and its commands, and the agent queue.

The store's contract is in test_store.py; here the flows run end to end through the sandbox: phones
text the bot's number (1:1 until handed off, then into the conversation, as Twilio routes a
bound phone), agents write through the Conversations API or text from their own phones, and
what each phone received is read from the sandbox's transcript.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from botkit import Bot, Context, ConversationContext, HandlerContext, HandoffClosedContext
from botkit.handoff.pool import AgentPool
from botkit.handoff.service import HandoffResult
from botkit.logging import mask_phone
from tests.support.handoff_stack import BOT, MakeStack, load, waiting
from tests.support.logs import JsonLogs
from tests.test_metrics import samples

ALICE = "+15550101001"
BOB = "+15550101002"
CAROL = "+15550101003"
DAVE = "+15550101004"
AGENT_PHONE = "+15550109000"


def test_pool_and_commands_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="at least one agent"):
        AgentPool([])
    with pytest.raises(ValueError, match="capacity"):
        AgentPool(["ann"], capacity=0)
    with pytest.raises(ValueError, match="no built-in agent command"):
        Bot(agent_commands=["/teleport"])
    with pytest.raises(ValueError, match="one word"):
        Bot().agent_command("/go now")
    bot = Bot(agent_commands=["/resume"])
    assert bot.compile_agent_commands().names == ["agent:/resume"]


async def test_conversations_and_handoff_need_a_running_bot() -> None:
    from botkit.errors import SendError

    bot = Bot()
    with pytest.raises(SendError):
        _ = bot.conversations
    with pytest.raises(SendError):
        await bot.take_next("ann")


# --- end to end through the sandbox ---------------------------------------------------------


def counting_bot(handoffs: list[HandoffResult], agent: str | None = "agent-7", **kw: Any) -> Bot:
    bot = Bot(**kw)

    @bot.intent("count", keywords=["count"], scope="any")
    async def count(ctx: HandlerContext) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"count {ctx.session['n']}")

    @bot.intent("human", keywords=["agent"])
    async def human(ctx: Context) -> None:
        ctx.session["asked"] = "agent"
        handoffs.append(await ctx.handoff(agent=agent))

    return bot


async def test_handoff_from_sms_to_a_chat_agent_and_back(
    handoff_stack: MakeStack, store_url: str | None
) -> None:
    handoffs: list[HandoffResult] = []
    d = await handoff_stack(counting_bot(handoffs), store_url)

    await d.text(ALICE, "count")
    await d.text(ALICE, "agent")
    (result,) = handoffs
    sid = result.conversation_sid
    assert result.agent == "agent-7" and result.position is None

    # The conversation: named after the customer, the handoff in its attributes, both in it.
    conversation = await d.conversation(sid)
    assert conversation.unique_name == f"handoff:{ALICE}:{BOT}"
    attributes = json.loads(conversation.attributes)["handoff"]
    assert (attributes["mode"], attributes["agent"], attributes["customer"]) == (
        "agent",
        "agent-7",
        ALICE,
    )
    participants = await d.sdk.conversations.v1.conversations(sid).participants.list_async()
    assert {(p.identity, (p.messaging_binding or {}).get("address")) for p in participants} == {
        (None, ALICE),
        ("agent-7", None),
    }
    # The 1:1 session was carried over (through the SessionStore).
    sessions, keys = d.server.runtime.stores.sessions, d.server.runtime.stores.session_keys
    assert await sessions.get(keys.conversation(sid)) == {"n": 1, "asked": "agent"}
    assert await sessions.get(keys.conversation(sid, ALICE)) == {"n": 1, "asked": "agent"}

    # Agent mode: the customer's messages reach the agent, not the bot, even commands.
    await d.text(ALICE, "count")
    await d.text(ALICE, "/resume")
    await d.write(sid, "agent-7", "Hi Alice, Sam here. How can I help?")
    assert "Hi Alice, Sam here. How can I help?" in await d.received(ALICE)
    assert (await d.handoff.store.get(sid)) is not None
    assert await d.handoff.mode(sid) == "agent"

    # /resume from the agent: never added to the conversation (Alice does not see it), the
    # bot is back, with the carried-over session.
    assert await d.write(sid, "agent-7", "/resume") is False
    await d.text(ALICE, "count")
    assert await d.transcript(sid) == [
        ("bot", "You are now chatting with agent-7."),
        (ALICE, "count"),
        (ALICE, "/resume"),
        ("agent-7", "Hi Alice, Sam here. How can I help?"),
        ("bot", "You are back with the bot."),
        (ALICE, "count"),
        ("bot", "count 2"),
    ]
    assert await d.received(ALICE) == [
        "count 1",
        "You are now chatting with agent-7.",
        "Hi Alice, Sam here. How can I help?",
        "You are back with the bot.",
        "count 2",
    ]
    assert await d.handoff.mode(sid) == "bot"
    assert await load(d, "agent-7") == 0
    remaining = await d.sdk.conversations.v1.conversations(sid).participants.list_async()
    assert [p.identity for p in remaining] == [None]  # the agent left


async def test_handoff_to_a_phone_agent_and_close(
    handoff_stack: MakeStack, store_url: str | None
) -> None:
    handoffs: list[HandoffResult] = []
    bot = counting_bot(handoffs, agent=AGENT_PHONE)
    d = await handoff_stack(bot, store_url)
    assert bot.conversations is d.server.runtime.conversations.client  # one shared client

    await d.text(ALICE, "agent")
    sid = handoffs[0].conversation_sid
    assert "You are now chatting with +15550109000." in await d.received(AGENT_PHONE)

    # Both phones text the bot's number; Twilio routes them into the conversation.
    await d.text(AGENT_PHONE, "Hello, this is the front desk.")
    await d.text(ALICE, "count")
    assert "Hello, this is the front desk." in await d.received(ALICE)
    assert "count" in await d.received(AGENT_PHONE)

    # A phone agent's command is kept out of the conversation too (Alice never gets it), and
    # the agent alone is told the result, by SMS from the number they are bound through.
    await d.text(AGENT_PHONE, "/close")
    assert (await d.conversation(sid)).state == "closed"
    assert await d.handoff.store.get(sid) is None
    assert (await d.received(ALICE))[-1] == "This conversation is now closed. Thank you!"
    assert "/close" not in await d.received(ALICE)
    assert (await d.received(AGENT_PHONE))[-1] == "Closed."
    # Closed: Alice's number is hers again, 1:1 with the bot, session and all.
    await d.text(ALICE, "count")
    assert (await d.received(ALICE))[-1] == "count 1"

    # A second handoff after a close gets a fresh conversation.
    await d.text(ALICE, "agent")
    second = handoffs[1].conversation_sid
    assert second != sid and (await d.conversation(second)).state == "active"


async def test_a_handoff_inside_a_conversation_and_custom_agent_commands(
    handoff_stack: MakeStack,
) -> None:
    bot = Bot(agent_commands=["/resume"])
    notes: list[str] = []

    @bot.intent("human", keywords=["human"], scope="conversation")
    async def human(ctx: ConversationContext) -> None:
        assert ctx.conversations is bot.conversations
        await ctx.handoff(agent="agent-7")

    @bot.intent("ping", keywords=["ping"], scope="conversation")
    async def ping(ctx: ConversationContext) -> None:
        await ctx.reply("pong")

    @bot.agent_command("/note")
    async def note(ctx: ConversationContext) -> None:
        notes.append(ctx.slots["args"])

    d = await handoff_stack(bot)
    created = await d.sdk.conversations.v1.conversations.create_async()
    await d.server.runtime.conversations.client.add_sms(created.sid, ALICE, BOT)

    await d.text(ALICE, "human")
    await d.text(ALICE, "ping")  # silenced
    await d.write(created.sid, "agent-7", "/note VIP customer")
    await d.write(created.sid, "agent-7", "/close")  # not kept: just a message
    assert notes == ["VIP customer"]
    assert (await d.conversation(created.sid)).state == "active"
    await d.write(created.sid, "agent-7", "/resume")
    await d.text(ALICE, "ping")
    assert (await d.transcript(created.sid))[-1] == ("bot", "pong")
    assert [body for author, body in await d.transcript(created.sid) if author == "bot"] == [
        "You are now chatting with agent-7.",
        "You are back with the bot.",
        "pong",
    ]


async def test_the_agent_queue_hands_out_conversations_in_order(
    handoff_stack: MakeStack, store_url: str | None
) -> None:
    handoffs: list[HandoffResult] = []
    bot = counting_bot(handoffs, agent=None, agents=AgentPool(["agent-1"], capacity=2))
    d = await handoff_stack(bot, store_url)

    for phone in (ALICE, BOB, CAROL, DAVE):
        await d.text(phone, "agent")
    alice, bob, carol, dave = handoffs
    assert (alice.agent, bob.agent) == ("agent-1", "agent-1")
    assert (carol.agent, carol.position, dave.agent, dave.position) == (None, 1, None, 2)
    assert (await d.received(DAVE))[-1] == (
        "You are number 2 in line. An agent will be with you shortly."
    )
    assert await waiting(d) == [carol.conversation_sid, dave.conversation_sid]
    # Waiting is silenced too: the bot does not talk over the queue.
    await d.text(CAROL, "count")
    assert "count 1" not in await d.received(CAROL)

    # agent-1 is full; closing Alice's conversation frees a place, and agent-1 takes Carol
    # (the oldest) at once, in the same step.
    assert await bot.take_next("agent-1") is None
    assert await d.write(alice.conversation_sid, "agent-1", "/close") is False
    assert (await d.received(CAROL))[-1] == "You are now chatting with agent-1."
    assert await waiting(d) == [dave.conversation_sid]
    assert await d.handoff.store.position(dave.conversation_sid) == 1
    assert (await d.received(DAVE))[-1] == "You are now number 1 in line."
    await d.write(carol.conversation_sid, "agent-1", "Hi Carol!")
    assert (await d.received(CAROL))[-1] == "Hi Carol!"

    # Away, agent-1 keeps Carol but takes no one new when Bob goes back to the bot; /next
    # takes Dave by hand. No command reached a customer.
    assert await d.write(carol.conversation_sid, "agent-1", "/away") is False
    assert await d.write(bob.conversation_sid, "agent-1", "/resume") is False
    assert await waiting(d) == [dave.conversation_sid]
    assert await d.write(carol.conversation_sid, "agent-1", "/next") is False
    assert await waiting(d) == []
    assert (await d.received(DAVE))[-1] == "You are now chatting with agent-1."
    assert await load(d, "agent-1") == 2
    for phone in (ALICE, BOB, CAROL, DAVE):
        assert not [body for body in await d.received(phone) if body.startswith("/")]
    told = [e.text for e in await d.handoff.notices.of("agent-1")]
    assert told[-4] == "agent-1: away: you keep your conversations and get no new ones."
    assert told[-3] == "The bot has this conversation again."
    assert told[-2].startswith(f"New conversation: {mask_phone(DAVE)} (general), waited ")
    assert told[-1] == f"You took {dave.conversation_sid}."


async def test_a_customer_already_bound_keeps_their_conversation(handoff_stack: MakeStack) -> None:
    from botkit.twilio.inbound import parse_inbound_message
    from tests.support.webhooks import inbound_params

    d = await handoff_stack(Bot())
    client = d.server.runtime.conversations.client
    existing = await client.create(unique_name="earlier")
    await client.add_sms(existing.sid, ALICE, BOT)

    message = parse_inbound_message(inbound_params("agent", From=ALICE, To=BOT))
    result = await d.handoff.from_direct(message, {"cart": ["tea"]}, "agent-7")
    await d.settle()

    assert result.conversation_sid == existing.sid
    listed = [c.sid async for c in client.list_conversations()]
    assert listed == [existing.sid]  # the conversation made for the handoff was deleted
    stores = d.server.runtime.stores
    assert await stores.sessions.get(stores.session_keys.conversation(existing.sid)) == {
        "cart": ["tea"]
    }
    assert await d.handoff.mode(existing.sid) == "agent"


async def test_closing_runs_the_bots_hooks_and_waiting_customers_hear_their_new_place(
    handoff_stack: MakeStack, store_url: str | None, logs: JsonLogs
) -> None:
    handoffs: list[HandoffResult] = []
    bot = counting_bot(handoffs, agent=None, agents=AgentPool(["agent-1"]))
    closed: list[tuple[str | None, str | None, str | None]] = []

    @bot.on_handoff_closed
    async def broken(ctx: HandoffClosedContext) -> None:
        raise RuntimeError("CRM down")

    @bot.on_handoff_closed
    async def survey(ctx: HandoffClosedContext) -> None:
        closed.append((ctx.customer, ctx.proxy, ctx.agent))
        assert ctx.customer is not None
        await ctx.send(ctx.customer, "How did we do? Reply 1-5.")

    d = await handoff_stack(bot, store_url)
    for phone in (ALICE, BOB, CAROL, DAVE):
        await d.text(phone, "agent")
    alice, bob, carol, dave = handoffs
    assert (bob.position, carol.position, dave.position) == (1, 2, 3)

    # Carol gives up while waiting: Dave, behind her, moves up; Bob, ahead, hears nothing new.
    await d.handoff.close(carol.conversation_sid)
    await d.settle()
    assert (await d.received(DAVE))[-1] == "You are now number 2 in line."
    assert (await d.received(BOB))[-1] == (
        "You are number 1 in line. An agent will be with you shortly."
    )
    # The agent closes Alice's chat: the hooks run (the failing one is only logged), and the
    # survey reaches Alice 1:1, from the number she wrote to, after the closing notice.
    await d.write(alice.conversation_sid, "agent-1", "/close")
    assert (await d.received(ALICE))[-2:] == [
        "This conversation is now closed. Thank you!",
        "How did we do? Reply 1-5.",
    ]
    assert closed == [(CAROL, BOT, None), (ALICE, BOT, "agent-1")]
    assert any(line.get("event") == "handoff-closed hook failed" for line in logs.take())

    # agent-1 is free, and took Bob, the next in line, with the close; Dave is now first.
    assert await bot.take_next("agent-1") is None
    assert (await d.received(BOB))[-1] == "You are now chatting with agent-1."
    assert (await d.received(DAVE))[-1] == "You are now number 1 in line."


def test_handoff_closed_hooks_must_be_async() -> None:
    def sync_hook(ctx: HandoffClosedContext) -> None: ...

    with pytest.raises(TypeError, match="handoff-closed hook"):
        Bot().on_handoff_closed(sync_hook)  # type: ignore[type-var]


async def test_metrics_show_the_handoff_queue_agents_and_events(
    handoff_stack: MakeStack, store_url: str | None
) -> None:
    """Queue length and oldest wait by skill, agents by presence, handoffs by event, and the
    time to the first agent reply."""
    bot = Bot("team", agents=AgentPool(["ann", "bea"], skills=["general", "billing"]))

    @bot.intent("human", keywords=["agent"])
    async def human(ctx: Context) -> None:
        await ctx.handoff(skill="billing")

    d = await handoff_stack(bot, store_url)
    await bot.set_presence("bea", "away")
    for phone in ("+15550101001", "+15550101002", "+15550101003"):
        await d.text(phone, "agent")
    first = (await d.handoff.store.holding("ann"))[0].conversation_sid
    await d.write(first, "ann", "Hello!")
    await d.write(first, "ann", "Anything else?")  # only the first reply is timed
    assert await d.write(first, "ann", "/transfer @general") is False

    found = samples(await (await d.server.client.get("/metrics")).text())
    # ann passed the first to general, where no one else is available, and took the next.
    assert found[("botkit_handoff_queue_length", (("skill", "billing"),))] == 1
    assert found[("botkit_handoff_queue_length", (("skill", "general"),))] == 1
    assert found[("botkit_handoff_oldest_wait_seconds", (("skill", "billing"),))] >= 0
    assert found[("botkit_handoff_agents", (("presence", "available"),))] == 1
    assert found[("botkit_handoff_agents", (("presence", "away"),))] == 1
    assert found[("botkit_handoffs_total", (("event", "started"),))] == 3
    assert found[("botkit_handoffs_total", (("event", "taken"),))] == 2
    assert found[("botkit_handoffs_total", (("event", "transferred"),))] == 1
    assert found[("botkit_handoff_first_reply_seconds_count", ())] == 1


async def test_only_the_first_places_in_line_are_told_each_move(
    handoff_stack: MakeStack,
) -> None:
    handoffs: list[HandoffResult] = []
    pool = AgentPool(["agent-1"], told_places=2)
    d = await handoff_stack(counting_bot(handoffs, agent=None, agents=pool))
    for phone in (ALICE, BOB, CAROL, DAVE):
        await d.text(phone, "agent")
    assert [h.position for h in handoffs] == [None, 1, 2, 3]  # everyone told when joining
    await d.handoff.close(handoffs[0].conversation_sid)
    await d.settle()
    assert (await d.received(CAROL))[-1] == "You are now number 1 in line."
    assert (await d.received(DAVE))[-1] == "You are now number 2 in line."
    await d.handoff.close(handoffs[1].conversation_sid)
    await d.settle()
    assert (await d.received(DAVE))[-1] == "You are now number 1 in line."
    await d.handoff.close(handoffs[2].conversation_sid)
    with pytest.raises(ValueError, match="told_places must be 0 or more"):
        AgentPool(["agent-1"], told_places=-1)


async def test_a_long_line_is_not_texted_at_every_move(handoff_stack: MakeStack) -> None:
    handoffs: list[HandoffResult] = []
    pool = AgentPool(["agent-1"], told_places=1)
    d = await handoff_stack(counting_bot(handoffs, agent=None, agents=pool))
    for phone in (ALICE, BOB, CAROL, DAVE):
        await d.text(phone, "agent")
    await d.handoff.close(handoffs[0].conversation_sid)
    await d.settle()
    assert (await d.received(CAROL))[-1] == "You are now number 1 in line."
    # Dave, now second, is not told again: he still has the place he was told on joining.
    assert (await d.received(DAVE))[-1] == (
        "You are number 3 in line. An agent will be with you shortly."
    )
