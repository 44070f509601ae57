"""Intent routing, composed routers, middleware, handler injection, failures and replies.

Most tests go end to end: a signed webhook is posted to the running app, the inbound worker
runs the handler, and what reached the fake Twilio is checked. Pure routing-table questions
(order, priority) are also asked of ``Router.compile()`` directly, where that is clearer.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import pytest
import structlog

from botkit import Bot, Context, InboundMessage, OutboundHandle, Router, SendError
from botkit.logging import configure_logging
from botkit.twilio.inbound import parse_inbound_message
from tests.conftest import BotServer, StartServer
from tests.support.sandbox_twilio import SandboxTwilio, SentMessage
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params

DEFAULT_APOLOGY = "Sorry, something went wrong on our side. Please try again."
OTHER_USER = "+15550009999"
OTHER_BOT_NUMBER = "+15550003333"
SERVICE_SID = "MG" + "a" * 32
OTHER_SERVICE_SID = "MG" + "b" * 32
WA_USER = f"whatsapp:{USER}"
WA_BOT = f"whatsapp:{BOT_NUMBER}"
IMAGE_URL = "https://example.com/cat.jpg"


# --- helpers -----------------------------------------------------------------------------------


def answer(text: str) -> Callable[[Context], Awaitable[None]]:
    """A handler that replies with a fixed text, so the reply tells which handler ran."""

    async def handler(ctx: Context) -> None:
        await ctx.reply(text)

    return handler


def whatsapp_params(body: str = "hi", **overrides: str) -> dict[str, str]:
    return inbound_params(body, From=WA_USER, To=WA_BOT, **overrides)


def mms_params(body: str = "", **overrides: str) -> dict[str, str]:
    return inbound_params(
        body, NumMedia="1", MediaUrl0=IMAGE_URL, MediaContentType0="image/jpeg", **overrides
    )


def message(params: Mapping[str, str]) -> InboundMessage:
    return parse_inbound_message(params)


async def resolve_name(bot: Router, params: Mapping[str, str]) -> str | None:
    """The intent the routing table picks for params (None: nothing, not even a fallback)."""
    found = await bot.compile().resolve(message(params))
    return None if found is None else found.route.name


async def deliver(server: BotServer, *messages: Mapping[str, str]) -> None:
    """Post each webhook in turn and wait until its handler has finished."""
    for params in messages:
        response = await server.post(params)
        assert response.status == 200, await response.text()
        await server.idle()


async def reply_to(
    server: BotServer, twilio: SandboxTwilio, params: Mapping[str, str]
) -> SentMessage:
    """Deliver one message that must produce exactly one reply; return that reply."""
    before = len(twilio.sent)
    await deliver(server, params)
    sent = await twilio.wait_for(before + 1)
    assert len(sent) == before + 1, [m.body for m in sent[before:]]
    return sent[before]


async def body_of_reply(
    start_server: StartServer, twilio: SandboxTwilio, bot: Bot, params: Mapping[str, str]
) -> str:
    server = await start_server(bot)
    return (await reply_to(server, twilio, params)).body


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put structlog's configuration back after a test that reconfigures it.

    The test itself must call configure_logging: only during the test body is sys.stdout the
    stream that capsys reads (during fixture set-up it is another, later closed, one).
    """
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def log_events(out: str) -> list[dict[str, Any]]:
    events = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


# --- keywords ----------------------------------------------------------------------------------


def keyword_bot() -> Bot:
    bot = Bot("keywords")
    bot.intent("greet", keywords=["hi", "hello"])(answer("greet"))
    bot.intent("hours", keywords=["opening hours"])(answer("hours"))
    bot.intent("single", keywords="menu")(answer("menu"))
    bot.fallback(answer("fallback"))
    return bot


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("hi", "greet"),
        ("HI there", "greet"),
        ("  Hello!  ", "greet"),
        ("oh, hI, how are you", "greet"),
        ("this", "fallback"),
        ("hiking", "fallback"),
        ("chi", "fallback"),
        ("hello_world", "fallback"),
        ("What are your OPENING HOURS?", "hours"),
        ("opening", "fallback"),
        ("hours please", "fallback"),
        ("Show me the MENU", "menu"),
        ("m", "fallback"),
        ("e", "fallback"),
    ],
)
async def test_keywords_match_whole_words_case_insensitively(
    start_server: StartServer, twilio: SandboxTwilio, body: str, expected: str
) -> None:
    reply = await body_of_reply(start_server, twilio, keyword_bot(), inbound_params(body))
    assert reply == expected


async def test_keywords_are_special_characters_safe() -> None:
    bot = Bot("specials")
    bot.intent("plus", keywords=["c++", "a.b"])(answer("plus"))
    assert await resolve_name(bot, inbound_params("I like C++")) == "plus"
    assert await resolve_name(bot, inbound_params("a.b")) == "plus"
    assert await resolve_name(bot, inbound_params("axb")) is None
    assert await resolve_name(bot, inbound_params("c")) is None


def test_empty_keywords_are_rejected_at_registration() -> None:
    bot = Bot("empty")
    with pytest.raises(ValueError, match="keywords"):
        bot.intent("nothing", keywords=["", "  "])


# --- patterns ----------------------------------------------------------------------------------


def order_bot() -> Bot:
    bot = Bot("orders")

    @bot.intent("order", pattern=r"^order\s+(?P<order_id>\d+)$")
    async def order(ctx: Context) -> None:
        await ctx.reply(f"order {ctx.slots['order_id']} slots={sorted(ctx.slots.items())}")

    bot.fallback(answer("fallback"))
    return bot


async def test_pattern_named_groups_land_in_slots(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    reply = await body_of_reply(start_server, twilio, order_bot(), inbound_params("Order 42"))
    assert reply == "order 42 slots=[('order_id', '42')]"


async def test_pattern_is_searched_in_the_trimmed_body(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    reply = await body_of_reply(
        start_server, twilio, order_bot(), inbound_params("  ORDER   7 \n")
    )
    assert reply == "order 7 slots=[('order_id', '7')]"


async def test_pattern_that_does_not_match_falls_through(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    reply = await body_of_reply(
        start_server, twilio, order_bot(), inbound_params("order forty-two")
    )
    assert reply == "fallback"


async def test_unmatched_optional_groups_are_left_out_of_slots() -> None:
    bot = Bot("tracking")
    bot.intent("track", pattern=r"^track\s+(?P<code>[a-z]+)(?:\s+(?P<carrier>\w+))?$")(answer("x"))
    routes = bot.compile()
    found = await routes.resolve(message(inbound_params("track ABC")))
    assert found is not None and found.slots == {"code": "ABC"}
    found = await routes.resolve(message(inbound_params("track ABC ups")))
    assert found is not None and found.slots == {"code": "ABC", "carrier": "ups"}


async def test_precompiled_pattern_keeps_its_own_flags() -> None:
    bot = Bot("flags")
    bot.intent("exact", pattern=re.compile(r"^YES$"))(answer("x"))
    assert await resolve_name(bot, inbound_params("YES")) == "exact"
    assert await resolve_name(bot, inbound_params("yes")) is None


def test_invalid_pattern_is_rejected_at_registration() -> None:
    bot = Bot("bad")
    with pytest.raises(ValueError, match="invalid pattern"):
        bot.intent("broken", pattern=r"(unclosed")


# --- when predicates ---------------------------------------------------------------------------


async def test_sync_when_predicate_gets_the_message(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    seen: list[InboundMessage] = []

    def numeric(msg: InboundMessage) -> bool:
        seen.append(msg)
        return msg.text.isdigit()

    bot = Bot("when-sync")
    bot.intent("number", when=numeric)(answer("number"))
    bot.fallback(answer("fallback"))
    server = await start_server(bot)

    params = inbound_params("12345")
    assert (await reply_to(server, twilio, params)).body == "number"
    assert (await reply_to(server, twilio, inbound_params("12a"))).body == "fallback"
    assert isinstance(seen[0], InboundMessage)
    assert seen[0].sid == params["MessageSid"]


async def test_async_when_predicate_is_awaited(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    vips = {OTHER_USER}

    async def is_vip(msg: InboundMessage) -> bool:
        await asyncio.sleep(0)
        return msg.sender.number in vips

    bot = Bot("when-async")
    bot.intent("vip", when=is_vip)(answer("vip"))
    bot.fallback(answer("fallback"))
    server = await start_server(bot)

    assert (await reply_to(server, twilio, inbound_params("hey", From=OTHER_USER))).body == (
        "vip"
    )
    assert (await reply_to(server, twilio, inbound_params("hey"))).body == "fallback"


async def test_when_is_combined_with_keywords() -> None:
    bot = Bot("both")
    bot.intent("loud-hi", keywords=["hi"], when=lambda m: m.body.isupper())(answer("x"))
    assert await resolve_name(bot, inbound_params("HI")) == "loud-hi"
    assert await resolve_name(bot, inbound_params("hi")) is None
    assert await resolve_name(bot, inbound_params("HELLO")) is None


async def test_raising_when_predicate_gets_the_apology_and_is_not_retried(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    calls = 0

    def broken(msg: InboundMessage) -> bool:
        nonlocal calls
        calls += 1
        raise RuntimeError("predicate bug")

    bot = Bot("when-raises")
    bot.intent("never", when=broken)(answer("never"))
    server = await start_server(bot, inbound_lease=0.2)

    reply = await reply_to(server, twilio, inbound_params("anything"))
    assert reply.body == DEFAULT_APOLOGY
    await asyncio.sleep(0.5)  # more than the inbound lease: a retry would have happened
    await server.idle()
    assert calls == 1
    assert len(twilio.sent) == 1


# --- channels ----------------------------------------------------------------------------------


def channel_bot() -> Bot:
    bot = Bot("channels")
    bot.intent("wa", keywords=["hi"], channel="whatsapp")(answer("whatsapp"))
    bot.intent("pic", channel="mms")(answer("mms"))
    bot.intent("text", keywords=["hi"], channel=["sms", "mms"])(answer("sms-or-mms"))
    bot.fallback(answer("fallback"))
    return bot


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (inbound_params("hi"), "sms-or-mms"),
        (whatsapp_params("hi"), "whatsapp"),
        (mms_params("hi"), "mms"),
        (mms_params(""), "mms"),
        (whatsapp_params("hello"), "fallback"),
        (
            whatsapp_params("", NumMedia="1", MediaUrl0=IMAGE_URL, MediaContentType0="image/jpeg"),
            "fallback",
        ),
    ],
    ids=["sms", "whatsapp", "mms-with-text", "mms-no-text", "whatsapp-other", "whatsapp-media"],
)
async def test_channel_filter(
    start_server: StartServer,
    twilio: SandboxTwilio,
    params: dict[str, str],
    expected: str,
) -> None:
    params = {**params, "MessageSid": inbound_params()["MessageSid"]}  # fresh SID per run
    params["SmsSid"] = params["MessageSid"]
    assert await body_of_reply(start_server, twilio, channel_bot(), params) == expected


def test_unknown_channel_is_rejected_at_registration() -> None:
    bot = Bot("typo")
    with pytest.raises(ValueError, match="unknown channel"):
        bot.intent("x", channel="whatsap")  # type: ignore[arg-type]


# --- priority and order ------------------------------------------------------------------------


async def test_higher_priority_wins_even_when_registered_later(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = Bot("priority")
    bot.intent("general", keywords=["refund"])(answer("general"))
    bot.intent("urgent", keywords=["refund"], priority=10)(answer("urgent"))
    bot.intent("demoted", keywords=["refund"], priority=-1)(answer("demoted"))
    assert bot.compile().names == ["urgent", "general", "demoted"]
    assert await body_of_reply(start_server, twilio, bot, inbound_params("Refund")) == (
        "urgent"
    )


async def test_ties_go_to_registration_order(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = Bot("ties")
    bot.intent("first", keywords=["refund"], priority=5)(answer("first"))
    bot.intent("second", pattern="refund", priority=5)(answer("second"))
    bot.intent("third", keywords=["refund"])(answer("third"))
    assert bot.compile().names == ["first", "second", "third"]
    assert await body_of_reply(start_server, twilio, bot, inbound_params("refund")) == (
        "first"
    )


async def test_intent_without_conditions_matches_everything() -> None:
    bot = Bot("catch-all")
    bot.intent("specific", keywords=["hi"], priority=1)(answer("x"))
    bot.intent("anything")(answer("x"))
    bot.fallback(answer("x"))
    assert await resolve_name(bot, inbound_params("hi")) == "specific"
    assert await resolve_name(bot, inbound_params("zzz")) == "anything"


# --- fallback ----------------------------------------------------------------------------------


async def test_fallback_runs_when_nothing_matches(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    seen: list[tuple[str | None, dict[str, str]]] = []
    bot = Bot("fallback")
    bot.intent("greet", keywords=["hi"])(answer("greet"))

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        seen.append((ctx.intent, dict(ctx.slots)))
        await ctx.reply("Sorry, I did not get that.")

    assert await body_of_reply(start_server, twilio, bot, inbound_params("what?")) == (
        "Sorry, I did not get that."
    )
    assert seen == [("fallback", {})]


def test_second_fallback_on_a_router_is_rejected() -> None:
    bot = Bot("two-fallbacks")
    bot.fallback(answer("one"))
    with pytest.raises(ValueError, match="already has a fallback"):
        bot.fallback(answer("two"))


async def test_without_fallback_nothing_runs_and_nothing_is_sent(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    ran: list[str] = []
    bot = Bot("no-fallback")

    @bot.intent("ping", keywords=["ping"])
    async def ping(ctx: Context) -> None:
        ran.append(ctx.message.text)
        ctx.session["pinged"] = True
        await ctx.reply("pong")

    server = await start_server(bot, redis_url=store_url)
    unmatched = inbound_params("nothing to see")
    response = await server.post(unmatched)
    assert response.status == 200
    await server.idle()
    assert ran == []
    assert twilio.sent == []
    key = server.runtime.stores.session_keys.direct(message(unmatched))
    assert await server.runtime.stores.sessions.get(key) is None

    # The bot is alive and answers what it knows: the silence above was routing, not a hang.
    assert (await reply_to(server, twilio, inbound_params("ping"))).body == "pong"
    assert ran == ["ping"]


# --- composed routers --------------------------------------------------------------------------


def composed_bot() -> Bot:
    bot = Bot("composed")
    bot.intent("bot-first", keywords=["alpha"])(answer("bot-first"))
    shop = Router("shop")
    shop.intent("shop", keywords=["alpha", "beta"])(answer("shop"))
    deep = Router("deep")
    deep.intent("deep", keywords=["beta", "gamma"])(answer("deep"))
    deep.intent("deep-urgent", keywords=["omega"], priority=3)(answer("deep-urgent"))
    shop.include(deep)
    shop.intent("shop-late", keywords=["gamma", "delta"])(answer("shop-late"))
    bot.include(shop)
    bot.intent("bot-last", keywords=["beta", "gamma", "delta", "epsilon", "omega"])(
        answer("bot-last")
    )
    return bot


def test_included_intents_take_the_position_of_the_include() -> None:
    assert composed_bot().compile().names == [
        "deep-urgent",
        "bot-first",
        "shop",
        "deep",
        "shop-late",
        "bot-last",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("alpha", "bot-first"),
        ("beta", "shop"),
        ("gamma", "deep"),
        ("delta", "shop-late"),
        ("epsilon", "bot-last"),
        ("omega", "deep-urgent"),
    ],
)
async def test_nested_includes_route_end_to_end(
    start_server: StartServer, twilio: SandboxTwilio, body: str, expected: str
) -> None:
    reply = await body_of_reply(start_server, twilio, composed_bot(), inbound_params(body))
    assert reply == expected


async def test_fallback_of_an_included_router_is_used(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = Bot("inherits-fallback")
    bot.intent("greet", keywords=["hi"])(answer("greet"))
    support = Router("support")
    support.fallback(answer("support fallback"))
    nested = Router("nested")
    nested.fallback(answer("nested fallback"))
    support.include(nested)
    bot.include(support)
    reply = await body_of_reply(start_server, twilio, bot, inbound_params("???"))
    assert reply == "support fallback"


async def test_own_fallback_beats_an_included_one() -> None:
    bot = Bot("own-fallback")
    support = Router("support")
    support.fallback(answer("x"))
    bot.include(support)

    @bot.fallback
    async def mine(ctx: Context) -> None:
        await ctx.reply("mine")

    routes = bot.compile()
    assert routes.fallback is not None
    assert routes.fallback.handler.func is mine


def test_including_the_same_router_twice_raises() -> None:
    bot = Bot("twice")
    shop = Router("shop")
    bot.include(shop)
    with pytest.raises(ValueError, match="already included"):
        bot.include(shop)
    other = Router("other")
    with pytest.raises(ValueError, match="already included"):
        other.include(shop)


def test_including_a_router_in_itself_raises() -> None:
    shop = Router("shop")
    with pytest.raises(ValueError, match="already included"):
        shop.include(shop)


def test_include_cycles_are_rejected() -> None:
    bot = Bot("cycle")
    shop = Router("shop")
    deep = Router("deep")
    bot.include(shop)
    shop.include(deep)
    with pytest.raises(ValueError):
        deep.include(bot)
    with pytest.raises(ValueError):
        deep.include(shop)
    assert bot.compile().names == []  # still a tree: compiling terminates


# --- middleware --------------------------------------------------------------------------------


def middleware_bot(events: list[str]) -> Bot:
    bot = Bot("middleware")

    @bot.middleware
    async def outer(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        events.append(f"outer>{ctx.intent}")
        await call_next()
        events.append("outer<")

    shop = Router("shop")

    @shop.middleware
    async def shop_mw(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        events.append(f"shop>{ctx.intent}:{ctx.slots.get('item')}")
        await call_next()
        events.append("shop<")

    @shop.intent("buy", pattern=r"^buy (?P<item>\w+)$")
    async def buy(ctx: Context) -> None:
        events.append("buy")
        await ctx.reply(f"bought {ctx.slots['item']}")

    @shop.fallback
    async def shop_fallback(ctx: Context) -> None:
        events.append("shop-fallback")
        await ctx.reply("shop fallback")

    bot.include(shop)

    @bot.middleware
    async def second(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        events.append("second>")
        await call_next()
        events.append("second<")

    @bot.intent("help", keywords=["help"])
    async def help_(ctx: Context) -> None:
        events.append("help")
        await ctx.reply("help")

    return bot


async def test_middleware_wraps_handlers_outer_router_first(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    events: list[str] = []
    server = await start_server(middleware_bot(events))
    assert (await reply_to(server, twilio, inbound_params("buy apples"))).body == (
        "bought apples"
    )
    assert events == [
        "outer>buy",
        "second>",
        "shop>buy:apples",
        "buy",
        "shop<",
        "second<",
        "outer<",
    ]


async def test_router_middleware_does_not_wrap_sibling_handlers(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    events: list[str] = []
    server = await start_server(middleware_bot(events))
    # "help" alone is the HELP keyword, answered before routing; "help me" is a message.
    assert (await reply_to(server, twilio, inbound_params("help me"))).body == "help"
    assert events == ["outer>help", "second>", "help", "second<", "outer<"]


async def test_included_fallback_runs_inside_its_router_middleware(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    events: list[str] = []
    server = await start_server(middleware_bot(events))
    assert (await reply_to(server, twilio, inbound_params("??"))).body == "shop fallback"
    assert events == [
        "outer>fallback",
        "second>",
        "shop>fallback:None",
        "shop-fallback",
        "shop<",
        "second<",
        "outer<",
    ]


async def test_middleware_can_short_circuit(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    ran: list[str] = []
    bot = Bot("gate")

    @bot.middleware
    async def blocklist(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        if ctx.message.sender.number == OTHER_USER:
            ctx.session["blocked"] = True
            await ctx.reply("You are blocked.")
            return
        await call_next()

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        ran.append(ctx.message.sender.number)
        await ctx.reply("hello")

    server = await start_server(bot, redis_url=store_url)
    blocked = inbound_params("hi", From=OTHER_USER)
    assert (await reply_to(server, twilio, blocked)).body == "You are blocked."
    assert ran == []
    key = server.runtime.stores.session_keys.direct(message(blocked))
    assert await server.runtime.stores.sessions.get(key) == {"blocked": True}

    assert (await reply_to(server, twilio, inbound_params("hi"))).body == "hello"
    assert ran == [USER]


async def test_middleware_sees_and_shares_the_session(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    after: list[dict[str, Any]] = []
    bot = Bot("mw-session")

    @bot.middleware
    async def count(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        ctx.session["seen"] = ctx.session.get("seen", 0) + 1
        await call_next()
        after.append(dict(ctx.session))

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        ctx.session["greeted"] = ctx.session["seen"]
        await ctx.reply(f"seen {ctx.session['seen']}")

    server = await start_server(bot, redis_url=store_url)
    assert (await reply_to(server, twilio, inbound_params("hi"))).body == "seen 1"
    assert (await reply_to(server, twilio, inbound_params("hi"))).body == "seen 2"
    assert after == [{"seen": 1, "greeted": 1}, {"seen": 2, "greeted": 2}]


async def test_raising_middleware_is_a_handler_failure(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    ran: list[str] = []
    bot = Bot("mw-raises")

    @bot.middleware
    async def broken(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        raise RuntimeError("middleware bug")

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        ran.append("greet")

    assert await body_of_reply(start_server, twilio, bot, inbound_params("hi")) == (
        DEFAULT_APOLOGY
    )
    assert ran == []


# --- handler argument injection ----------------------------------------------------------------


async def test_handlers_get_what_they_ask_for_by_name(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    got: dict[str, Any] = {}
    bot = Bot("injection")

    @bot.intent("all", pattern=r"^all (?P<word>\w+)$")
    async def everything(
        slots: dict[str, str], session: dict[str, Any], message: InboundMessage, ctx: Context
    ) -> None:
        got.update(slots=slots, session=session, message=message, ctx=ctx)
        session["n"] = session.get("n", 0) + 1
        await ctx.reply(f"n={session['n']}")

    @bot.intent("message-only", keywords=["msg"])
    async def message_only(message: InboundMessage) -> None:
        got["message_only"] = message

    @bot.intent("named", keywords=["named"])
    async def any_name(c: Context) -> None:
        got["any_name"] = c

    @bot.intent("context", keywords=["context"])
    async def by_context(context: Context) -> None:
        got["context"] = context

    @bot.intent("nothing", keywords=["nothing"])
    async def nothing() -> None:
        got["nothing"] = True

    server = await start_server(bot, redis_url=store_url)
    params = inbound_params("all things")
    assert (await reply_to(server, twilio, params)).body == "n=1"
    ctx = got["ctx"]
    assert isinstance(ctx, Context)
    assert got["slots"] == {"word": "things"} and got["slots"] is ctx.slots
    assert got["session"] is ctx.session
    assert got["message"] is ctx.message and got["message"].sid == params["MessageSid"]
    assert (await reply_to(server, twilio, inbound_params("all again"))).body == "n=2"

    await deliver(
        server,
        inbound_params("msg"),
        inbound_params("named"),
        inbound_params("context"),
        inbound_params("nothing"),
    )
    assert isinstance(got["message_only"], InboundMessage)
    assert got["message_only"].body == "msg"
    assert isinstance(got["any_name"], Context) and got["any_name"].intent == "named"
    assert isinstance(got["context"], Context) and got["context"].intent == "context"
    assert got["nothing"] is True


def test_unknown_parameter_names_fail_at_registration() -> None:
    bot = Bot("typos")
    with pytest.raises(TypeError, match="sesion"):

        @bot.intent("typo", keywords=["x"])
        async def typo(ctx: Context, sesion: dict[str, Any]) -> None:
            return None

    with pytest.raises(TypeError, match="user"):

        @bot.fallback
        async def fallback(ctx: Context, user: str) -> None:
            return None

    assert bot.compile().names == []
    assert bot.compile().fallback is None


def test_non_async_handlers_fail_at_registration() -> None:
    bot = Bot("sync")
    with pytest.raises(TypeError, match="async"):

        @bot.intent("sync", keywords=["x"])  # type: ignore[type-var]
        def sync_handler(ctx: Context) -> None:
            return None

    with pytest.raises(TypeError, match="async"):
        bot.fallback(lambda ctx: None)  # type: ignore[type-var]


# --- handler failures --------------------------------------------------------------------------


def failing_bot(*, apology: str | None = None, calls: list[str] | None = None) -> Bot:
    bot = Bot("failing", apology=apology)
    calls = calls if calls is not None else []

    @bot.intent("count", keywords=["count"])
    async def count(ctx: Context) -> None:
        calls.append("count")
        ctx.session["visits"] = ctx.session.get("visits", 0) + 1
        await ctx.reply(f"visits {ctx.session['visits']}")

    @bot.intent("explode", keywords=["explode"])
    async def explode(ctx: Context) -> None:
        calls.append("explode")
        ctx.session["visits"] = 1000
        ctx.session["poisoned"] = True
        raise RuntimeError("boom")

    return bot


async def test_handler_failure_sends_the_apology_and_discards_session_changes(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    calls: list[str] = []
    bot = failing_bot(calls=calls)
    server = await start_server(bot, redis_url=store_url)

    assert (await reply_to(server, twilio, inbound_params("count"))).body == "visits 1"

    failing = inbound_params("explode")
    response = await server.post(failing)
    assert response.status == 200
    assert await response.text() == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    await server.idle()
    sent = await twilio.wait_for(2)
    assert [m.body for m in sent] == ["visits 1", DEFAULT_APOLOGY]
    assert sent[1].to == USER and sent[1].params["From"] == BOT_NUMBER

    key = server.runtime.stores.session_keys.direct(message(failing))
    assert await server.runtime.stores.sessions.get(key) == {"visits": 1}
    assert (await reply_to(server, twilio, inbound_params("count"))).body == "visits 2"
    assert calls == ["count", "explode", "count"]  # the failed message was not re-run


async def test_apology_can_be_set_on_the_bot(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = failing_bot(apology="Oops, our bad.")
    reply = await body_of_reply(start_server, twilio, bot, inbound_params("explode"))
    assert reply == "Oops, our bad."


async def test_apology_can_be_set_in_settings(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    server = await start_server(failing_bot(), apology="Settings say sorry.")
    assert (await reply_to(server, twilio, inbound_params("explode"))).body == (
        "Settings say sorry."
    )


async def test_bot_apology_beats_the_settings_one(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    server = await start_server(failing_bot(apology="Bot says sorry."), apology="Settings.")
    assert (await reply_to(server, twilio, inbound_params("explode"))).body == (
        "Bot says sorry."
    )


async def test_handler_failure_is_logged_with_the_message_sid(
    start_server: StartServer,
    twilio: SandboxTwilio,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    configure_logging("json")
    server = await start_server(failing_bot())
    failing = inbound_params("explode")
    await reply_to(server, twilio, failing)

    events = log_events(capsys.readouterr().out)
    failures = [e for e in events if e.get("event") == "handler failed"]
    assert len(failures) == 1, events
    failure = failures[0]
    assert failure["sid"] == failing["MessageSid"]
    assert failure["intent"] == "explode"
    assert failure["level"] == "error"
    assert "RuntimeError: boom" in failure["exception"]
    handled = [e for e in events if e.get("event") == "message handled"]
    assert [(e["sid"], e["result"]) for e in handled] == [(failing["MessageSid"], "error")]
    assert USER not in json.dumps(events)  # the user's number is masked in every line


# --- replies and sends -------------------------------------------------------------------------


def echo_bot(handles: list[OutboundHandle]) -> Bot:
    bot = Bot("echo")

    @bot.intent("echo", keywords=["echo"])
    async def echo(ctx: Context) -> None:
        handles.append(await ctx.reply("echo"))

    @bot.intent("forward", keywords=["forward"])
    async def forward(ctx: Context) -> None:
        handles.append(await ctx.reply("forwarding"))
        handles.append(await ctx.send(OTHER_USER, f"from {ctx.message.sender.number}"))
        handles.append(await ctx.reply("done"))

    @bot.intent("picture", keywords=["picture"])
    async def picture(ctx: Context) -> None:
        handles.append(await ctx.reply(media_urls=[IMAGE_URL, "https://example.com/dog.png"]))

    @bot.intent("senders", keywords=["senders"])
    async def senders(ctx: Context) -> None:
        handles.append(await ctx.send(OTHER_USER, "by number", from_=OTHER_BOT_NUMBER))
        handles.append(
            await ctx.send(OTHER_USER, "by service", messaging_service_sid=OTHER_SERVICE_SID)
        )

    return bot


async def test_reply_comes_from_the_number_the_user_wrote_to(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles))
    params = inbound_params("echo", To=OTHER_BOT_NUMBER)
    reply = await reply_to(server, twilio, params)
    assert reply.to == USER
    assert reply.params["From"] == OTHER_BOT_NUMBER
    assert "MessagingServiceSid" not in reply.params
    assert handles[0].idempotency_key == f"{params['MessageSid']}:1"


async def test_reply_comes_from_the_messaging_service_the_user_wrote_to(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles), messaging_service_sid=OTHER_SERVICE_SID)
    reply = await reply_to(
        server, twilio, inbound_params("echo", MessagingServiceSid=SERVICE_SID)
    )
    assert reply.to == USER
    assert reply.params["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in reply.params


async def test_send_reaches_another_recipient_and_keys_count_up(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles))
    params = inbound_params("forward")
    await deliver(server, params)
    sent = await twilio.wait_for(3)
    # Different recipients take turns in the outbound queue; per recipient, order holds.
    assert sorted((m.to, m.params["From"], m.body) for m in sent) == sorted(
        [
            (USER, BOT_NUMBER, "forwarding"),
            (OTHER_USER, BOT_NUMBER, f"from {USER}"),
            (USER, BOT_NUMBER, "done"),
        ]
    )
    assert [m.body for m in sent if m.to == USER] == ["forwarding", "done"]
    sid = params["MessageSid"]
    assert [h.idempotency_key for h in handles] == [f"{sid}:1", f"{sid}:2", f"{sid}:3"]
    assert len({h.id for h in handles}) == 3


async def test_send_can_choose_its_sender(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles))
    await deliver(server, inbound_params("senders"))
    by_number, by_service = await twilio.wait_for(2)
    assert by_number.to == OTHER_USER and by_number.params["From"] == OTHER_BOT_NUMBER
    assert "MessagingServiceSid" not in by_number.params
    assert by_service.params["MessagingServiceSid"] == OTHER_SERVICE_SID
    assert "From" not in by_service.params


async def test_whatsapp_replies_keep_the_prefix(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles))
    params = whatsapp_params("echo")
    reply = await reply_to(server, twilio, params)
    assert reply.to == WA_USER
    assert reply.params["From"] == WA_BOT
    assert handles[0].idempotency_key == f"{params['MessageSid']}:1"


async def test_media_urls_are_sent_as_media_url_params(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles))
    reply = await reply_to(server, twilio, mms_params("picture"))
    assert reply.params.getall("MediaUrl") == [IMAGE_URL, "https://example.com/dog.png"]
    assert "Body" not in reply.params
    assert reply.to == USER and reply.params["From"] == BOT_NUMBER


@pytest.mark.cluster
async def test_replies_of_a_duplicate_webhook_are_not_sent_again(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    handles: list[OutboundHandle] = []
    server = await start_server(echo_bot(handles), redis_url=store_url)
    params = inbound_params("echo")
    await deliver(server, params, params)
    assert [m.body for m in await twilio.wait_for(1)] == ["echo"]
    assert len(twilio.sent) == 1
    assert len(handles) == 1


# --- bot.send ----------------------------------------------------------------------------------


@pytest.fixture
def proactive_bot() -> Bot:
    bot = Bot("proactive")
    bot.intent("echo", keywords=["echo"])(answer("echo"))
    return bot


async def test_bot_send_needs_a_running_bot(
    start_server: StartServer, twilio: SandboxTwilio, proactive_bot: Bot
) -> None:
    with pytest.raises(SendError, match="running"):
        await proactive_bot.send(USER, "too early", from_=BOT_NUMBER)

    server = await start_server(proactive_bot)
    handle = await proactive_bot.send(USER, "news", from_=BOT_NUMBER, idempotency_key="k-1")
    (sent,) = await twilio.wait_for(1)
    assert (sent.to, sent.params["From"], sent.body) == (USER, BOT_NUMBER, "news")
    assert handle.idempotency_key == "k-1"

    await server.stop()
    with pytest.raises(SendError, match="running"):
        await proactive_bot.send(USER, "too late", from_=BOT_NUMBER)
    assert len(twilio.sent) == 1


async def test_bot_send_uses_the_default_messaging_service(
    start_server: StartServer, twilio: SandboxTwilio, proactive_bot: Bot
) -> None:
    await start_server(proactive_bot, messaging_service_sid=SERVICE_SID)
    await proactive_bot.send(OTHER_USER, "hello from the service")
    await proactive_bot.send(USER, "by number", from_=BOT_NUMBER)
    sent = await twilio.wait_for(2)
    [by_service] = [m for m in sent if m.to == OTHER_USER]
    [by_number] = [m for m in sent if m.to == USER]
    assert by_service.params["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in by_service.params
    assert by_number.params["From"] == BOT_NUMBER
    assert "MessagingServiceSid" not in by_number.params


async def test_bot_send_without_any_sender_raises(
    start_server: StartServer, twilio: SandboxTwilio, proactive_bot: Bot
) -> None:
    await start_server(proactive_bot)
    with pytest.raises(SendError, match="no sender"):
        await proactive_bot.send(USER, "who from?")
    with pytest.raises(SendError, match="cannot send to"):
        await proactive_bot.send("not-a-number", "hi", from_=BOT_NUMBER)
    assert twilio.sent == []


async def test_bot_send_works_while_handlers_run(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = Bot("broadcast")

    @bot.intent("subscribe", keywords=["subscribe"])
    async def subscribe(ctx: Context) -> None:
        await ctx.reply("subscribed")

    server = await start_server(bot)
    await deliver(server, inbound_params("subscribe"))
    await bot.send(OTHER_USER, "weekly news", from_=BOT_NUMBER)
    sent = await twilio.wait_for(2)
    assert [(m.to, m.body) for m in sent] == [(USER, "subscribed"), (OTHER_USER, "weekly news")]
