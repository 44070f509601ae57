"""Where a flow lives and what happens when things go wrong: the session across a restart,
state a new deploy no longer understands, failing actions, and code that misuses flows."""

from __future__ import annotations

import datetime
from typing import Any

from botkit import Bot, Context, KeywordPolicy, Router
from botkit.app.routes import CallNext
from botkit.flows import Ask, Confirm, Flow
from tests.conftest import StartServer
from tests.flows.chat import Chat
from tests.flows.conftest import OpenChat
from tests.support.logs import JsonLogs
from tests.support.sandbox_twilio import SandboxTwilio

APOLOGY = "Sorry, something went wrong on our side. Please try again."
TOMORROW = datetime.date(2030, 1, 1)  # not JSON: a session cannot hold it


def booking_bot(name: str = "booking") -> Bot:
    bot = Bot(name)
    flow = bot.add_flow(
        Flow("book", [Ask("day", "Which day?"), Ask("time", "What time on {day}?")])
    )

    @flow.on_done
    async def book(ctx: Context, answers: dict[str, Any]) -> None:
        await ctx.reply(f"booked {answers['day']} at {answers['time']}")

    @bot.intent("book", keywords=["book"])
    async def start(ctx: Context) -> None:
        await ctx.start_flow("book")

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        await ctx.reply(f"fallback: {ctx.message.body}")

    return bot


async def test_a_flow_survives_a_restart_on_redis(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    first = Chat(await start_server(booking_bot(), redis_url=clean_redis), twilio)
    await first.say("book")
    assert await first.say("Friday") == ["What time on Friday?"]
    await first.server.stop()
    second = first.on(await start_server(booking_bot(), redis_url=clean_redis))
    assert await second.say("10am") == ["booked Friday at 10am"]


async def test_state_for_a_flow_the_bot_no_longer_has_is_dropped(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str, logs: JsonLogs
) -> None:
    first = Chat(await start_server(booking_bot(), redis_url=clean_redis), twilio)
    await first.say("book")
    await first.server.stop()
    renamed = Bot("booking")

    @renamed.fallback
    async def fallback(ctx: Context) -> None:
        await ctx.reply(f"fallback: {ctx.message.body}")

    renamed.add_flow(Flow("reserve", [Ask("day", "Day?")]))
    second = first.on(await start_server(renamed, redis_url=clean_redis))
    logs.take()
    assert await second.say("Friday") == ["fallback: Friday"]
    dropped = [line for line in logs.take() if line["event"].startswith("flow state dropped")]
    assert [(d["flow"], d["step"], d["level"]) for d in dropped] == [("book", "day", "warning")]
    assert "botkit:flow" not in await second.session()


async def test_unreadable_flow_state_is_dropped_not_a_trap(
    open_chat: OpenChat, logs: JsonLogs
) -> None:
    bot = booking_bot()

    @bot.intent("corrupt", keywords=["corrupt"])
    async def corrupt(ctx: Context) -> None:
        ctx.session["botkit:flow"] = {"flow": "book", "step": 3}

    chat = await open_chat(bot)
    await chat.say("corrupt")
    logs.take()
    assert await chat.say("Friday") == ["fallback: Friday"]
    assert any(line["event"] == "unreadable flow state dropped" for line in logs.take())


async def test_an_action_that_fails_leaves_the_flow_where_it_was(open_chat: OpenChat) -> None:
    bot = Bot("failing")
    attempts: list[str] = []
    flow = bot.add_flow(Flow("pay", [Ask("amount", "How much?", validate=int)]))

    @flow.on_done
    async def charge(ctx: Context, answers: dict[str, Any]) -> None:
        attempts.append(str(answers["amount"]))
        if len(attempts) == 1:
            raise RuntimeError("payment service down")
        await ctx.reply(f"charged {answers['amount']}")

    @bot.intent("pay", keywords=["pay"])
    async def pay(ctx: Context) -> None:
        await ctx.start_flow(flow)

    chat = await open_chat(bot)
    await chat.say("pay")
    assert await chat.say("10") == [APOLOGY]
    # The session change of the failed run (the flow ending) was discarded: still asked.
    assert await chat.say("12") == ["charged 12"]
    assert attempts == ["10", "12"]


async def test_misuse_at_run_time_is_a_logged_error_and_an_apology(
    open_chat: OpenChat, logs: JsonLogs
) -> None:
    bot = Bot("misuse")
    bot.add_flow(
        Flow(
            "f",
            [
                Ask("when", "When?", validate=lambda t: TOMORROW if t == "tomorrow" else t),
                Ask("where", "Where?", next=lambda _: "nowhere"),
                Ask("what", "What?"),
            ],
        )
    )

    @bot.intent("unknown", keywords=["unknown"])
    async def unknown(ctx: Context) -> None:
        await ctx.start_flow("g")

    @bot.intent("typo", keywords=["typo"])
    async def typo(ctx: Context) -> None:
        await ctx.start_flow("f", wen="now")

    @bot.intent("jump", keywords=["jump"])
    async def jump(ctx: Context) -> None:
        await ctx.start_flow("f", when="now")

    @bot.intent("date", keywords=["date"])
    async def date(ctx: Context) -> None:
        await ctx.start_flow("f")

    chat = await open_chat(bot)
    cases = {
        "unknown": "flow 'g' is not registered with this bot (registered: f); add it with "
        "bot.add_flow(flow)",
        "typo": "flow 'f' has no step 'wen' to fill in (its steps: when, where, what)",
        "jump": "flow 'f', step 'where': next chose 'nowhere', which is not a step (nor DONE "
        "or CANCEL)",
    }
    for trigger, error in cases.items():
        logs.take()
        replies = await chat.say(trigger)
        if trigger == "jump":
            replies += await chat.say("home")
        assert replies[-1] == APOLOGY
        failures = [line for line in logs.take() if line["event"] == "handler failed"]
        assert len(failures) == 1 and error in failures[0]["exception"], failures
    # The failed answer left the flow waiting at "where": leave it.
    assert await chat.say("exit") == ["OK, I stopped that. Text me any time to start again."]
    await chat.say("date")
    logs.take()
    assert await chat.say("tomorrow") == [APOLOGY]
    (failure,) = [line for line in logs.take() if line["event"] == "handler failed"]
    assert "the answer datetime.date(2030, 1, 1) (date) cannot be kept in a session" in (
        failure["exception"]
    )


async def test_a_bot_without_flows_says_so_when_one_is_started(
    open_chat: OpenChat, logs: JsonLogs
) -> None:
    bot = Bot("noflows")

    @bot.fallback
    async def start(ctx: Context) -> None:
        await ctx.start_flow("survey")

    chat = await open_chat(bot)
    logs.take()
    assert await chat.say("hi") == [APOLOGY]
    (failure,) = [line for line in logs.take() if line["event"] == "handler failed"]
    assert "flow 'survey': this bot has no flows; add it with bot.add_flow" in (
        failure["exception"]
    )


async def test_answers_reach_a_flow_in_a_bot_without_a_fallback(open_chat: OpenChat) -> None:
    bot = Bot("nofallback")
    flow = bot.add_flow(Flow("f", [Ask("a", "A?"), Ask("b", "B?")]))

    @flow.on_done
    async def end(ctx: Context, answers: dict[str, Any]) -> None:
        await ctx.reply(f"got {answers}")

    @bot.intent("go", keywords=["go"])
    async def go(ctx: Context) -> None:
        await flow.start(ctx)

    chat = await open_chat(bot)
    assert await chat.say("nothing matches") == []
    await chat.say("go")
    assert await chat.say("x") == ["B?"]
    assert await chat.say("y") == ["got {'a': 'x', 'b': 'y'}"]
    assert await chat.say("nothing matches") == []


async def test_flow_steps_run_under_the_middleware_of_their_router(open_chat: OpenChat) -> None:
    bot = Bot("mw")
    seen: list[str | None] = []
    forms = Router("forms")

    @forms.middleware
    async def record(ctx: Any, call_next: CallNext) -> None:
        seen.append(ctx.intent)
        await call_next()

    forms.add_flow(Flow("f", [Ask("a", "A?")]))

    @forms.intent("go", keywords=["go"])
    async def go(ctx: Context) -> None:
        await ctx.start_flow("f")

    bot.include(forms)
    chat = await open_chat(bot)
    await chat.say("go")
    await chat.say("x")
    assert seen == ["go", "flow:f"]


async def test_a_flow_that_loops_without_asking_is_stopped_with_a_clear_error(
    open_chat: OpenChat, logs: JsonLogs
) -> None:
    bot = Bot("loop")
    flow = bot.add_flow(
        Flow("f", [Ask("a", "A?", when=lambda _: False), Ask("b", "B?", next="a")])
    )

    @bot.intent("go", keywords=["go"])
    async def go(ctx: Context) -> None:
        await flow.start(ctx, b="known")

    chat = await open_chat(bot)
    logs.take()
    assert await chat.say("go") == [APOLOGY]
    (failure,) = [line for line in logs.take() if line["event"] == "handler failed"]
    assert (
        "flow 'f' goes round its steps without asking anything (through b); check the steps' "
        "when= and next=" in failure["exception"]
    )


async def test_prompt_and_start_mistakes_are_reported_with_the_step(
    open_chat: OpenChat, logs: JsonLogs
) -> None:
    bot = Bot("prompts", keywords=KeywordPolicy(opt_in=frozenset({"START"})))
    bot.add_flow(
        Flow(
            "f",
            [
                Ask("kind", "Kind?", options=["House", "Flat"]),
                Ask("floor", "Floor?", when=lambda a: a["kind"] == "Flat"),
                Ask("bell", "Bell for floor {floor}?"),
            ],
        )
    )
    not_text: Any = lambda answers: 42  # noqa: E731
    bot.add_flow(Flow("g", [Ask("x", not_text), Confirm("ok", "Sure?")]))

    @bot.intent("house", keywords=["house"])
    async def house(ctx: Context) -> None:
        await ctx.start_flow("f", kind="house")

    @bot.intent("number", keywords=["number"])
    async def number(ctx: Context) -> None:
        await ctx.start_flow("g")

    @bot.intent("confirmed", keywords=["confirmed"])
    async def confirmed(ctx: Context) -> None:
        await ctx.start_flow("g", ok=True)

    chat = await open_chat(bot)
    cases = {
        "house": "step 'bell': the prompt uses {floor}, which has no answer on the path this "
        "flow took (guard the step with when=, or use a prompt function)",
        "number": "step 'x': the prompt function returned int",
        "confirmed": "flow 'g': step 'ok' is a confirmation, always asked",
    }
    for trigger, error in cases.items():
        logs.take()
        assert await chat.say(trigger) == [APOLOGY]
        (failure,) = [line for line in logs.take() if line["event"] == "handler failed"]
        assert error in failure["exception"]
    assert "botkit:flow" not in await chat.session()
