"""``POST /twilio/conversations``: Conversations webhooks through the bot's one router.

Layers, bottom up: parsing the webhook params into typed events; routing rules (scopes, hooks)
registered on routers; and end to end through the sandbox, which posts signed pre- and
post-events to the bot's public URL when phones text into a conversation or the API changes
one. Anything that keeps state runs on the memory stores and on Redis (``store_url``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException

from botkit import Bot, Context, Router
from botkit.compliance.hashing import NumberHasher
from botkit.compliance.keywords import DEFAULT_POLICY
from botkit.compliance.ledger.memory import MemoryConsentLedger
from botkit.contexts.conversation import ConversationContext, HandlerContext
from botkit.contexts.hooks import ConversationStateContext, MessageAddContext, ParticipantContext
from botkit.inbound.events import ConversationEvent, decode_event
from botkit.inbound.message_add_gate import MessageAddGate, Verdict
from botkit.twilio.client import create_async_client
from botkit.twilio.conversation_events import (
    ConversationStateUpdated,
    MalformedConversationEvent,
    MessageAdd,
    MessageAdded,
    ParticipantAdded,
    parse_conversation_event,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, BotServer, StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params, post_signed

PATH = "/twilio/conversations"
BOT = "+15550002222"
BOT_WA = "whatsapp:+15550002222"
ALICE = "+15550101001"
BOB = "+15550101002"
CAROL_WA = "whatsapp:+15550101003"
EVENTS = [
    "onMessageAdd",
    "onMessageAdded",
    "onParticipantAdded",
    "onParticipantRemoved",
    "onConversationStateUpdated",
    "onConversationRemoved",
]
ON = "true"


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def message_added(body: str = "hello", **overrides: str) -> dict[str, str]:
    """The form Twilio posts for onMessageAdded from an SMS participant."""
    params = {
        "EventType": "onMessageAdded",
        "AccountSid": ACCOUNT_SID,
        "ChatServiceSid": sid("IS"),
        "ConversationSid": sid("CH"),
        "MessageSid": sid("IM"),
        "Index": "0",
        "Author": ALICE,
        "Body": body,
        "Attributes": "{}",
        "ParticipantSid": sid("MB"),
        "Source": "SMS",
        "RetryCount": "0",
        "DateCreated": "2024-05-01T10:00:00.123Z",
        "MessagingBinding.Address": ALICE,
        "MessagingBinding.ProxyAddress": BOT,
    }
    params.update(overrides)
    return params


# --- parsing --------------------------------------------------------------------------------


def test_parse_message_added_from_a_phone() -> None:
    params = message_added(
        "  order 42 ",
        Attributes='{"lang": "en"}',
        Media='[{"Sid": "ME1", "ContentType": "image/jpeg", "Filename": null, "Size": 10}]',
    )
    event = parse_conversation_event(params)
    assert isinstance(event, MessageAdded)
    assert (event.sid, event.index, event.author) == (params["MessageSid"], 0, ALICE)
    assert event.conversation_sid == params["ConversationSid"]
    assert event.participant_sid == params["ParticipantSid"]
    assert event.text == "order 42" and event.attributes == {"lang": "en"}
    assert event.binding is not None and event.binding.proxy_address == BOT
    assert [(m.sid, m.content_type, m.size) for m in event.media] == [("ME1", "image/jpeg", 10)]
    assert event.channel == "mms" and event.source == "SMS"
    assert event.params == params


@pytest.mark.parametrize(
    ("overrides", "channel"),
    [
        ({}, "sms"),
        ({"Source": "WHATSAPP", "MessagingBinding.Address": CAROL_WA}, "whatsapp"),
        ({"Source": "SDK", "Author": "agent-7"}, "chat"),
        ({"Source": "API", "Author": "system", "ParticipantSid": ""}, "chat"),
    ],
)
def test_message_channel(overrides: dict[str, str], channel: str) -> None:
    params = message_added(**overrides)
    if params["Source"] in ("SDK", "API"):  # chat authors have no binding
        del params["MessagingBinding.Address"], params["MessagingBinding.ProxyAddress"]
    event = parse_conversation_event(params)
    assert isinstance(event, MessageAdded) and event.channel == channel


def test_parse_pre_event_participant_and_state_events() -> None:
    pre = message_added("hi", EventType="onMessageAdd")
    del pre["MessageSid"], pre["Index"]
    parsed = parse_conversation_event(pre)
    assert isinstance(parsed, MessageAdd) and parsed.body == "hi"

    added = parse_conversation_event(
        {
            "EventType": "onParticipantAdded",
            "AccountSid": ACCOUNT_SID,
            "ChatServiceSid": sid("IS"),
            "ConversationSid": sid("CH"),
            "ParticipantSid": sid("MB"),
            "Identity": "agent-7",
            "Attributes": '{"role": "agent"}',
            "DateCreated": "2024-05-01T10:00:00.123Z",
        }
    )
    assert isinstance(added, ParticipantAdded)
    assert added.identity == "agent-7" and added.attributes == {"role": "agent"}
    assert added.binding is None and added.date_created is not None

    state = parse_conversation_event(
        {
            "EventType": "onConversationStateUpdated",
            "AccountSid": ACCOUNT_SID,
            "ChatServiceSid": sid("IS"),
            "ConversationSid": sid("CH"),
            "StateFrom": "active",
            "StateTo": "inactive",
            "Reason": "TIMER",
            "UniqueName": "desk",
        }
    )
    assert isinstance(state, ConversationStateUpdated)
    assert (state.state_from, state.state_to, state.reason) == ("active", "inactive", "TIMER")
    assert state.unique_name == "desk"


def test_events_botkit_does_not_handle_parse_to_none() -> None:
    for event_type in ("onMessageUpdated", "onDeliveryUpdated", "onParticipantAdd"):
        assert parse_conversation_event({"EventType": event_type}) is None


def test_queued_event_round_trips() -> None:
    event = parse_conversation_event(message_added("hello"))
    assert isinstance(event, MessageAdded)
    item = ConversationEvent(event=event)
    decoded = decode_event(item.model_dump_json())
    assert decoded == item
    assert item.dedup_id == f"conversation:onMessageAdded:{event.sid}:0"


MALFORMED = [
    ({"EventType": ""}, "missing required parameter EventType"),
    ({"EventType": "onMessageExploded"}, "is not a Conversations webhook event"),
    ({"ConversationSid": "CH123"}, "ConversationSid 'CH123' is not a Twilio conversation SID"),
    ({"MessageSid": ""}, "missing required parameter MessageSid"),
    ({"MessageSid": sid("SM")}, "is not a Twilio conversation message SID"),
    ({"Index": "x1"}, "Index 'x1' is not a message index"),
    ({"Index": "9" * 40}, "is not a message index"),
    ({"Author": " "}, "missing required parameter Author"),
    ({"Attributes": "{not json"}, "Attributes is not valid JSON"),
    ({"Media": '{"Sid": "ME1"}'}, "Media must be a JSON list of objects with a Sid"),
    ({"ParticipantSid": "MB1"}, "ParticipantSid 'MB1' is not a Twilio participant SID"),
    (
        {"EventType": "onConversationStateUpdated", "StateFrom": "active", "StateTo": "open"},
        "StateTo 'open' is not a conversation state",
    ),
]


@pytest.mark.parametrize(("overrides", "reason"), MALFORMED)
def test_malformed_events_are_refused_with_one_line(overrides: dict[str, str], reason: str) -> None:
    with pytest.raises(MalformedConversationEvent) as refused:
        parse_conversation_event(message_added(**overrides))
    assert reason in str(refused.value) and "\n" not in str(refused.value)


# --- registering ----------------------------------------------------------------------------


async def _handler(ctx: HandlerContext) -> None:
    return None


def test_scopes_and_session_overrides_are_checked_at_registration() -> None:
    bot = Bot()
    with pytest.raises(ValueError, match="unknown scope"):
        bot.intent("x", scope="group")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel 'chat' exists only in conversations"):
        bot.intent("x", channel="chat")
    with pytest.raises(ValueError, match="applies to conversation messages"):
        bot.intent("x", conversation_sessions="participant")
    with pytest.raises(ValueError, match="unknown conversation_sessions"):
        bot.intent("x", scope="any", conversation_sessions="user")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown conversation_sessions"):
        Bot(conversation_sessions="chat")  # type: ignore[arg-type]
    bot.intent("ok", channel=["sms", "chat"], scope="conversation")(_handler)


def test_hooks_are_checked_and_compose_through_include() -> None:
    bot, inner = Bot(), Router("inner")

    async def first(ctx: ParticipantContext) -> None: ...
    async def second(ctx: ParticipantContext) -> None: ...
    async def closed(ctx: ConversationStateContext) -> None: ...

    bot.on_participant_added(first)
    inner.on_participant_added(second)
    inner.on_conversation_state("closed")(closed)
    bot.include(inner)
    hooks = bot.compile_conversation_hooks()
    assert [h.func for h in hooks.of("participant_added")] == [first, second]
    assert [h.func for h in hooks.of("conversation_state", "closed")] == [closed]
    assert hooks.of("conversation_state", "inactive") == []

    with pytest.raises(ValueError, match="not conversation states"):
        bot.on_conversation_state("open")
    with pytest.raises(TypeError, match="must be an async function"):
        bot.on_participant_removed(lambda ctx: None)  # type: ignore[arg-type,return-value]

    async def two(ctx: MessageAddContext, extra: int) -> None: ...

    with pytest.raises(TypeError, match="must take one argument"):
        bot.on_message_add(two)  # type: ignore[arg-type]


# --- the pre-event gate -------------------------------------------------------------------


def gate_with(bot: Bot, ledger: MemoryConsentLedger, time_limit: float = 1.0) -> MessageAddGate:
    return MessageAddGate(
        bot.compile_conversation_hooks(), ledger, DEFAULT_POLICY, "bot", time_limit=time_limit
    )


def pre_event(body: str, **overrides: str) -> MessageAdd:
    params = message_added(body, EventType="onMessageAdd", **overrides)
    del params["MessageSid"], params["Index"]
    event = parse_conversation_event(params)
    assert isinstance(event, MessageAdd)
    return event


async def test_the_gate_runs_hooks_in_order_and_fails_open() -> None:
    bot = Bot()
    ran: list[str] = []
    ledger = MemoryConsentLedger(NumberHasher("test-pepper-0123456789"))

    @bot.on_message_add
    async def broken(ctx: MessageAddContext) -> None:
        ran.append("broken")
        raise RuntimeError("bug in a hook")

    @bot.on_message_add
    async def shout(ctx: MessageAddContext) -> None:
        ran.append("shout")
        if ctx.body == "slow":
            await asyncio.sleep(10)
        ctx.rewrite(body=ctx.body.upper())

    @bot.on_message_add
    async def refuse(ctx: MessageAddContext) -> None:
        ran.append("refuse")
        if ctx.body == "NO":
            ctx.reject("said no")

    gate = gate_with(bot, ledger, time_limit=0.05)
    assert await gate.decide(pre_event("yes")) == Verdict(changes={"body": "YES"})
    assert await gate.decide(pre_event("no")) == Verdict(rejection="said no")
    assert await gate.decide(pre_event("slow")) == Verdict()  # out of time: let through
    assert await gate.decide(pre_event("yes", Author="bot")) == Verdict()  # the bot's own
    assert ran == ["broken", "shout", "refuse"] * 2 + ["broken", "shout"]


async def test_the_gate_rejects_opted_out_phones_but_lets_keywords_through() -> None:
    ledger = MemoryConsentLedger(NumberHasher("test-pepper-0123456789"))
    gate = gate_with(Bot(), ledger)
    await ledger.opt_out(ALICE, BOT, keyword="STOP", source="keyword")
    assert (await gate.decide(pre_event("hello"))).rejection is not None
    for keyword in ("START", "help", "STOP"):
        assert await gate.decide(pre_event(keyword)) == Verdict()
    # Another sender's participant, and chat authors, are not affected.
    other = pre_event("hello", **{"MessagingBinding.ProxyAddress": "+15550003333"})
    assert await gate.decide(other) == Verdict()
    chat = message_added("hello", EventType="onMessageAdd", Author="agent-7", Source="SDK")
    for name in (
        "MessageSid",
        "Index",
        "MessagingBinding.Address",
        "MessagingBinding.ProxyAddress",
    ):
        del chat[name]
    parsed = parse_conversation_event(chat)
    assert isinstance(parsed, MessageAdd) and await gate.decide(parsed) == Verdict()


# --- end to end through the sandbox ---------------------------------------------------------


@dataclass
class Stage:
    """A bot server Twilio (the sandbox) can call back, and the SDK to drive Conversations."""

    server: BotServer
    twilio: SandboxTwilio
    sdk: Any

    def conversations(self) -> Any:
        return self.sdk.conversations.v1.conversations

    async def create(self, **kwargs: Any) -> Any:
        return await self.conversations().create_async(x_twilio_webhook_enabled=ON, **kwargs)

    async def add_phone(self, conversation: str, address: str, proxy: str = BOT) -> Any:
        return await self.conversations()(conversation).participants.create_async(
            messaging_binding_address=address,
            messaging_binding_proxy_address=proxy,
            x_twilio_webhook_enabled=ON,
        )

    async def add_chat(self, conversation: str, identity: str) -> Any:
        return await self.conversations()(conversation).participants.create_async(
            identity=identity, x_twilio_webhook_enabled=ON
        )

    async def write(self, conversation: str, author: str, body: str) -> Any:
        """A chat participant (or any author) writes through the REST API."""
        return await self.conversations()(conversation).messages.create_async(
            author=author, body=body, x_twilio_webhook_enabled=ON
        )

    async def text(self, phone: str, to: str, body: str) -> None:
        """A phone texts ``to``; the sandbox turns it into a conversation message."""
        status, _ = await self.sandbox_http(
            "POST", f"/sandbox/phones/{phone}/messages", {"to": to, "body": body}
        )
        assert status == 201

    async def sandbox_http(
        self, method: str, path: str, data: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, Any]:
        auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
        async with (
            aiohttp.ClientSession(auth=auth) as session,
            session.request(
                method, self.twilio.base_url + path, data=data, headers=headers
            ) as response,
        ):
            text = await response.text()
            return response.status, json.loads(text) if text else None

    async def settle(self) -> None:
        """Until the sandbox has posted everything and the bot has handled everything, twice
        over: a reply posted by a handler sends webhooks of its own."""
        for _ in range(3):
            await self.twilio.sandbox.settle()
            await self.server.idle()

    async def transcript(self, conversation: str) -> list[tuple[str, str]]:
        listed = await self.conversations()(conversation).messages.list_async()
        return [(m.author, m.body) for m in listed]

    async def phone_received(self, phone: str) -> list[str]:
        _, data = await self.sandbox_http("GET", f"/sandbox/phones/{phone}/messages")
        return [m["body"] for m in data["messages"] if m["direction"] != "inbound"]


MakeStage = Callable[..., Awaitable[Stage]]


@pytest.fixture
async def stage(start_server: StartServer, twilio: SandboxTwilio) -> AsyncIterator[MakeStage]:
    clients: list[Any] = []

    async def make(bot: Bot, store_url: str | None = None, **settings: Any) -> Stage:
        server = await start_server(bot, public=True, redis_url=store_url, **settings)
        sdk = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
        clients.append(sdk)
        url = f"{server.settings.public_url}{PATH}"
        await sdk.conversations.v1.configuration.webhooks().update_async(
            pre_webhook_url=url, post_webhook_url=url, method="POST", filters=EVENTS
        )
        return Stage(server, twilio, sdk)

    yield make
    for sdk in clients:
        await sdk.http_client.close()


async def test_a_participants_message_reaches_the_intent_as_that_participant(
    stage: MakeStage, store_url: str | None
) -> None:
    bot = Bot()
    seen: list[ConversationContext] = []

    @bot.intent("order", pattern=r"^order (?P<number>\d+)$", scope="conversation")
    async def order(ctx: ConversationContext) -> None:
        seen.append(ctx)
        await ctx.reply(f"Looking up order {ctx.slots['number']}")

    s = await stage(bot, store_url)
    conversation = await s.create(unique_name="support-42", attributes='{"tier": "gold"}')
    alice = await s.add_phone(conversation.sid, ALICE)
    carol = await s.add_phone(conversation.sid, CAROL_WA, BOT_WA)
    agent = await s.add_chat(conversation.sid, "agent-7")

    await s.text(ALICE, BOT, "order 42")
    await s.settle()
    await s.text(CAROL_WA, BOT_WA, "order 43")
    await s.settle()
    await s.write(conversation.sid, "agent-7", "order 44")
    await s.settle()

    by_alice, by_carol, by_agent = seen
    assert (by_alice.participant.sid, by_alice.participant.kind) == (alice.sid, "sms")
    assert (by_alice.participant.address, by_alice.participant.proxy_address) == (ALICE, BOT)
    assert (by_alice.message.channel, by_alice.message.author) == ("sms", ALICE)
    assert (by_carol.participant.sid, by_carol.participant.kind) == (carol.sid, "whatsapp")
    assert by_carol.message.channel == "whatsapp"
    assert (by_agent.participant.sid, by_agent.participant.identity) == (agent.sid, "agent-7")
    assert (by_agent.participant.kind, by_agent.message.channel) == ("chat", "chat")
    assert [ctx.slots["number"] for ctx in seen] == ["42", "43", "44"]

    info = by_alice.conversation
    assert (info.sid, info.unique_name, info.attributes) == (
        conversation.sid,
        "support-42",
        {"tier": "gold"},
    )
    assert [p.sid for p in info.participants] == [alice.sid, carol.sid, agent.sid]
    assert info.participant("agent-7") is not None

    # The replies are in the conversation, by the bot, and reach the phones.
    assert await s.transcript(conversation.sid) == [
        (ALICE, "order 42"),
        ("bot", "Looking up order 42"),
        (CAROL_WA, "order 43"),
        ("bot", "Looking up order 43"),
        ("agent-7", "order 44"),
        ("bot", "Looking up order 44"),
    ]
    assert "Looking up order 42" in await s.phone_received(ALICE)
    assert "Looking up order 44" in await s.phone_received(CAROL_WA)


async def test_the_bots_own_messages_never_trigger_it(
    stage: MakeStage, store_url: str | None
) -> None:
    bot = Bot()
    heard: list[str] = []

    @bot.intent("echo", scope="conversation")
    async def echo(ctx: ConversationContext) -> None:
        heard.append(ctx.message.body)
        await ctx.reply(f"echo: {ctx.message.body}")

    s = await stage(bot, store_url, conversations_identity="helper-bot")
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)

    await s.text(ALICE, BOT, "hello")
    await s.settle()
    # Messages by no participant (the API's "system" author) do not reach intents either.
    await s.write(conversation.sid, "system", "Your order shipped")
    await s.settle()

    assert heard == ["hello"]
    assert await s.transcript(conversation.sid) == [
        (ALICE, "hello"),
        ("helper-bot", "echo: hello"),
        ("system", "Your order shipped"),
    ]
    assert await s.phone_received(ALICE) == ["echo: hello", "Your order shipped"]


async def test_direct_intents_do_not_fire_in_conversations_unless_they_opt_in(
    stage: MakeStage,
) -> None:
    bot = Bot()
    calls: list[tuple[str, str, bool]] = []

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        calls.append(("greet", ctx.message.body, False))

    @bot.intent("status", keywords=["status"], scope="any")
    async def status(ctx: HandlerContext, conversation: Any) -> None:
        calls.append(("status", ctx.message.body, conversation is not None))
        await ctx.reply("All systems go")

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        calls.append(("fallback", ctx.message.body, False))

    s = await stage(bot)
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)
    for body in ("hi", "status", "what?"):
        await s.text(ALICE, BOT, body)
        await s.settle()
    assert calls == [("status", "status", True)]
    assert await s.transcript(conversation.sid) == [
        (ALICE, "hi"),
        (ALICE, "status"),
        ("bot", "All systems go"),
        (ALICE, "what?"),
    ]

    calls.clear()
    for body in ("hi", "status", "what?"):
        response = await s.server.post(inbound_params(body, From="+15550109999", To=BOT))
        assert response.status == 200
        await s.settle()
    assert calls == [
        ("greet", "hi", False),
        ("status", "status", False),
        ("fallback", "what?", False),
    ]


async def test_sessions_per_conversation_and_per_participant(
    stage: MakeStage, store_url: str | None
) -> None:
    bot = Bot()  # conversation_sessions="conversation" by default

    @bot.intent("count", keywords=["count"], scope="any")
    async def count(ctx: HandlerContext) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"count {ctx.session['n']}")

    @bot.intent(
        "mine", keywords=["mine"], scope="conversation", conversation_sessions="participant"
    )
    async def mine(ctx: ConversationContext) -> None:
        ctx.session["mine"] = ctx.session.get("mine", 0) + 1
        await ctx.reply(f"{ctx.participant.address} has {ctx.session['mine']}")

    s = await stage(bot, store_url)
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)
    await s.add_phone(conversation.sid, BOB)
    for phone, body in [
        (ALICE, "count"),
        (BOB, "count"),
        (ALICE, "mine"),
        (BOB, "mine"),
        (ALICE, "mine"),
    ]:
        await s.text(phone, BOT, body)
        await s.settle()
    # ALICE also texts the bot 1:1 on another number: a session of its own.
    await s.server.post(inbound_params("count", From=ALICE, To="+15550003333"))
    await s.settle()

    replies = [body for author, body in await s.transcript(conversation.sid) if author == "bot"]
    assert replies == [
        "count 1",
        "count 2",
        f"{ALICE} has 1",
        f"{BOB} has 1",
        f"{ALICE} has 2",
    ]
    sessions = s.server.runtime.stores.sessions
    # People are named by their pseudonym in session keys, never by their number.
    alice, bob = (s.server.runtime.stores.hasher.digest(n) for n in (ALICE, BOB))
    assert await sessions.get(f"bot|conversation|{conversation.sid}") == {"n": 2}
    assert await sessions.get(f"bot|conversation|{conversation.sid}|participant|{alice}") == {
        "mine": 2
    }
    assert await sessions.get(f"bot|conversation|{conversation.sid}|participant|{bob}") == {
        "mine": 1
    }
    assert await sessions.get(f"bot|sms|+15550003333|{alice}") == {"n": 1}


async def test_a_bot_can_scope_sessions_per_participant(stage: MakeStage) -> None:
    bot = Bot(conversation_sessions="participant")

    @bot.intent("count", keywords=["count"], scope="conversation")
    async def count(ctx: ConversationContext) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"count {ctx.session['n']}")

    @bot.intent(
        "team", keywords=["team"], scope="conversation", conversation_sessions="conversation"
    )
    async def team(ctx: ConversationContext) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"team {ctx.session['n']}")

    s = await stage(bot)
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)
    await s.add_phone(conversation.sid, BOB)
    for phone, body in [(ALICE, "count"), (BOB, "count"), (ALICE, "team"), (BOB, "team")]:
        await s.text(phone, BOT, body)
        await s.settle()
    replies = [body for author, body in await s.transcript(conversation.sid) if author == "bot"]
    assert replies == ["count 1", "count 1", "team 1", "team 2"]


async def test_participant_hooks_and_the_mirror(stage: MakeStage, store_url: str | None) -> None:
    bot, lobby = Bot(), Router("lobby")
    events: list[tuple[str, str, str | None]] = []

    @lobby.on_participant_added
    async def joined(ctx: ParticipantContext) -> None:
        who = ctx.participant.identity or ctx.participant.address
        events.append(("added", ctx.participant.kind, who))
        await ctx.reply(f"Welcome, {who}")

    @lobby.on_participant_removed
    async def left(ctx: ParticipantContext) -> None:
        events.append(("removed", ctx.participant.kind, ctx.participant.identity))

    bot.include(lobby)
    s = await stage(bot, store_url)
    conversation = await s.create()
    alice = await s.add_phone(conversation.sid, ALICE)
    # Twilio promises no order between webhooks in flight, and the mirror orders participants
    # as their events arrive: let the first one arrive before adding the second.
    await s.settle()
    agent = await s.add_chat(conversation.sid, "agent-7")
    await s.settle()
    mirror = s.server.runtime.conversations.client.mirror
    assert mirror is not None
    assert [p.sid for p in await mirror.participants(conversation.sid)] == [alice.sid, agent.sid]

    # twilio-python drops X-Twilio-Webhook-Enabled on deletes: go over plain HTTP.
    status, _ = await s.sandbox_http(
        "DELETE",
        f"/v1/Conversations/{conversation.sid}/Participants/{agent.sid}",
        **{"X-Twilio-Webhook-Enabled": "true"},
    )
    assert status == 204
    await s.settle()

    assert events == [
        ("added", "sms", ALICE),
        ("added", "chat", "agent-7"),
        ("removed", "chat", "agent-7"),
    ]
    assert await s.transcript(conversation.sid) == [
        ("bot", f"Welcome, {ALICE}"),
        ("bot", "Welcome, agent-7"),
    ]
    assert [p.sid for p in await mirror.participants(conversation.sid)] == [alice.sid]
    assert await mirror.find(conversation.sid, "agent-7") is None


async def test_conversation_state_hooks(stage: MakeStage) -> None:
    bot = Bot()
    moves: list[tuple[str, str, str, str | None]] = []

    @bot.on_conversation_state("inactive", "closed")
    async def asleep(ctx: ConversationStateContext) -> None:
        moves.append(("asleep", ctx.old_state, ctx.new_state, ctx.reason))

    @bot.on_conversation_state()
    async def any_move(ctx: ConversationStateContext) -> None:
        moves.append(("any", ctx.old_state, ctx.new_state, ctx.reason))
        if ctx.new_state == "active":
            await ctx.reply("Welcome back")

    s = await stage(bot)
    conversation = await s.create()
    for state in ("inactive", "active", "closed"):
        await s.conversations()(conversation.sid).update_async(
            state=state, x_twilio_webhook_enabled=ON
        )
        await s.settle()
    assert moves == [
        ("asleep", "active", "inactive", "API"),
        ("any", "active", "inactive", "API"),
        ("any", "inactive", "active", "API"),
        ("asleep", "active", "closed", "API"),
        ("any", "active", "closed", "API"),
    ]
    assert await s.transcript(conversation.sid) == [("bot", "Welcome back")]


async def test_the_pre_event_hook_rejects_or_rewrites_messages(stage: MakeStage) -> None:
    bot = Bot()
    heard: list[tuple[str, dict[str, Any]]] = []

    @bot.on_message_add
    async def moderate(ctx: MessageAddContext) -> None:
        if "spam" in ctx.body:
            ctx.reject("no spam here")
        elif "card" in ctx.body:
            ctx.rewrite(body="[redacted]", attributes={"redacted": True})

    @bot.intent("all", scope="conversation")
    async def everything(ctx: ConversationContext) -> None:
        heard.append((ctx.message.body, ctx.message.attributes))

    s = await stage(bot)
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)
    await s.add_phone(conversation.sid, BOB)

    await s.text(ALICE, BOT, "buy spam now")
    await s.text(ALICE, BOT, "my card is 4111 1111")
    await s.settle()
    with pytest.raises(TwilioRestException) as refused:
        await s.write(conversation.sid, "system", "spam from the API")
    assert "onMessageAdd" in refused.value.msg
    await s.settle()

    assert await s.transcript(conversation.sid) == [(ALICE, "[redacted]")]
    listed = await s.conversations()(conversation.sid).messages.list_async()
    assert json.loads(listed[0].attributes) == {"redacted": True}
    assert heard == [("[redacted]", {"redacted": True})]
    assert await s.phone_received(BOB) == ["[redacted]"]


async def test_a_participant_who_opted_out_cannot_write_until_start(
    stage: MakeStage, store_url: str | None
) -> None:
    bot = Bot()
    heard: list[str] = []

    @bot.intent("all", scope="conversation")
    async def everything(ctx: ConversationContext) -> None:
        heard.append(ctx.message.body)

    s = await stage(bot, store_url)
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)
    await s.add_phone(conversation.sid, BOB)
    ledger = s.server.runtime.stores.ledger

    await s.text(ALICE, BOT, "STOP")
    await s.settle()
    assert await ledger.is_opted_out(ALICE, [BOT])
    await s.text(ALICE, BOT, "are you there?")
    await s.settle()
    await s.text(ALICE, BOT, "START")
    await s.settle()
    assert not await ledger.is_opted_out(ALICE, [BOT])
    await s.text(ALICE, BOT, "back again")
    await s.settle()

    # STOP and START reach the conversation (Twilio answers them on the phone) but no intent;
    # the message in between never made it in, so BOB never got it.
    assert await s.transcript(conversation.sid) == [
        (ALICE, "STOP"),
        (ALICE, "START"),
        (ALICE, "back again"),
    ]
    assert heard == ["back again"]
    assert "are you there?" not in await s.phone_received(BOB)
    assert [e.action for e in await ledger.history(ALICE)] == ["opt_out", "opt_in"]


async def test_failures_in_conversations_are_contained(stage: MakeStage) -> None:
    bot = Bot(apology="Oops, try again")
    wrapped: list[str] = []
    hooks: list[str] = []

    @bot.middleware
    async def trace(ctx: HandlerContext, call_next: Callable[[], Awaitable[None]]) -> None:
        wrapped.append(type(ctx).__name__)
        await call_next()

    @bot.intent("boom", keywords=["boom"], scope="conversation")
    async def boom(ctx: ConversationContext) -> None:
        ctx.session["touched"] = True
        raise RuntimeError("handler bug")

    @bot.on_participant_added
    async def broken(ctx: ParticipantContext) -> None:
        hooks.append("broken")
        raise RuntimeError("hook bug")

    @bot.on_participant_added
    async def fine(ctx: ParticipantContext) -> None:
        hooks.append("fine")

    s = await stage(bot)
    conversation = await s.create()
    await s.add_phone(conversation.sid, ALICE)
    await s.text(ALICE, BOT, "boom")
    await s.settle()

    assert hooks == ["broken", "fine"]
    assert wrapped == ["ConversationContext"]
    assert await s.transcript(conversation.sid) == [(ALICE, "boom"), ("bot", "Oops, try again")]
    sessions = s.server.runtime.stores.sessions
    assert await sessions.get(f"bot|conversation|{conversation.sid}") is None
    assert await s.server.runtime.stores.inbound.backlog() == 0


# --- the endpoint itself --------------------------------------------------------------------


async def test_forged_events_get_403_and_change_nothing(
    start_server: StartServer,
) -> None:
    bot = Bot()
    ran: list[str] = []

    @bot.intent("all", scope="conversation")
    async def everything(ctx: ConversationContext) -> None:
        ran.append("intent")

    @bot.on_message_add
    async def moderate(ctx: MessageAddContext) -> None:
        ran.append("pre")

    server = await start_server(bot)
    pre = message_added("hi", EventType="onMessageAdd")
    for params in (message_added("hi"), pre):
        forged = await post_signed(server.client, params, token="not-the-token", path=PATH)
        assert forged.status == 403
        assert "invalid X-Twilio-Signature" in await forged.text()
        unsigned = await server.client.post(PATH, data=params)
        assert unsigned.status == 403
    await server.idle()
    assert ran == []
    assert await server.runtime.stores.inbound.backlog() == 0


@pytest.mark.parametrize(("overrides", "reason"), MALFORMED[:4])
async def test_malformed_events_get_400(
    start_server: StartServer, overrides: dict[str, str], reason: str
) -> None:
    server = await start_server(Bot())
    response = await server.post(message_added(**overrides), path=PATH)
    assert response.status == 400
    text = await response.text()
    assert reason in text and text.count("\n") == 1
    assert await server.runtime.stores.inbound.backlog() == 0


async def test_a_duplicate_event_runs_once(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    bot = Bot()
    ran: list[str] = []

    @bot.intent("all", scope="conversation")
    async def everything(ctx: ConversationContext) -> None:
        ran.append(ctx.message.sid)

    server = await start_server(bot, redis_url=store_url)
    sdk = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
    try:
        conversation = await sdk.conversations.v1.conversations.create_async()
        alice = await sdk.conversations.v1.conversations(
            conversation.sid
        ).participants.create_async(
            messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
        )
    finally:
        await sdk.http_client.close()
    params = message_added("hello", ConversationSid=conversation.sid, ParticipantSid=alice.sid)
    first, second = [await server.post(params, path=PATH) for _ in range(2)]
    assert (first.status, second.status) == (200, 200)
    assert await first.text() == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    await server.idle()
    assert ran == [params["MessageSid"]]

    ignored = await server.post(
        {"EventType": "onDeliveryUpdated", "ConversationSid": conversation.sid}, path=PATH
    )
    assert ignored.status == 200
    assert await server.runtime.stores.inbound.backlog() == 0


async def test_an_accepted_event_survives_until_a_worker_runs_it(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    """Accepted = durably queued: a server without workers takes the webhook, another process
    sharing Redis handles it (and its reply reaches the conversation)."""

    def make_bot(ran: list[str]) -> Bot:
        bot = Bot()

        @bot.intent("all", scope="conversation")
        async def everything(ctx: ConversationContext) -> None:
            ran.append(ctx.message.body)
            await ctx.reply("got it")

        return bot

    first_ran: list[str] = []
    second_ran: list[str] = []
    front = await start_server(
        make_bot(first_ran), workers=False, public=True, redis_url=clean_redis
    )
    sdk = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
    try:
        await sdk.conversations.v1.configuration.webhooks().update_async(
            post_webhook_url=f"{front.settings.public_url}{PATH}", filters=["onMessageAdded"]
        )
        conversation = await sdk.conversations.v1.conversations.create_async()
        await sdk.conversations.v1.conversations(conversation.sid).participants.create_async(
            messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
        )
        async with aiohttp.ClientSession() as session:
            await session.post(
                f"{twilio.base_url}/sandbox/phones/{ALICE}/messages",
                data={"to": BOT, "body": "anyone?"},
            )
        await twilio.sandbox.settle()
        assert await front.runtime.stores.inbound.backlog() == 1

        worker = await start_server(make_bot(second_ran), redis_url=clean_redis)
        async with asyncio.timeout(10):
            while not second_ran:
                await asyncio.sleep(0.01)
        await worker.idle()
        listed = await sdk.conversations.v1.conversations(conversation.sid).messages.list_async()
        assert [(m.author, m.body) for m in listed] == [(ALICE, "anyone?"), ("bot", "got it")]
    finally:
        await sdk.http_client.close()
    assert first_ran == [] and second_ran == ["anyone?"]
