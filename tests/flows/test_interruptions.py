"""Leaving and pausing a flow: cancel words, timeouts, HELP and interrupting intents, STOP,
and a handoff to a person."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from botkit import Bot, Context, ConversationContext
from botkit.core import clock
from botkit.flows import Ask, Flow
from botkit.handoff.service import HandoffResult
from tests.flows.conftest import OpenChat
from tests.handoff.test_handoff import ALICE
from tests.support.handoff_stack import MakeStack, handoff_stack  # noqa: F401  (a fixture)
from tests.support.logs import JsonLogs


class Clock:
    """A clock the test moves by hand, installed as botkit.core.clock for the test's duration."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock() -> Iterator[Clock]:
    moved = Clock()
    with clock.use(moved):
        yield moved


def survey_bot(**flow_options: Any) -> tuple[Bot, list[dict[str, Any]]]:
    """A two-question survey started by "survey"; "hours" interrupts flows, "menu" does not."""
    bot = Bot("interrupts")
    done: list[dict[str, Any]] = []
    flow = bot.add_flow(
        Flow(
            "survey",
            [Ask("name", "Your name?"), Ask("score", "Score 1-5?", validate=int)],
            **flow_options,
        )
    )

    @flow.on_done
    async def finish(ctx: Context, answers: dict[str, Any]) -> None:
        done.append(answers)
        await ctx.reply("thanks")

    @bot.intent("survey", keywords=["survey"])
    async def survey(ctx: Context) -> None:
        await ctx.start_flow("survey")

    @bot.intent("hours", keywords=["hours"], interrupts_flows=True)
    async def hours(ctx: Context) -> None:
        await ctx.reply(f"open 9-5 (in flow: {ctx.active_flow})")

    @bot.intent("menu", keywords=["menu"])
    async def menu(ctx: Context) -> None:
        await ctx.reply("the menu")

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        await ctx.reply(f"fallback: {ctx.message.body}")

    return bot, done


async def test_a_cancel_word_ends_the_flow_and_says_so(open_chat: OpenChat) -> None:
    bot, done = survey_bot(on_cancel="Survey cancelled.")
    chat = await open_chat(bot)
    await chat.say("survey")
    assert await chat.say("Never mind!") == ["Survey cancelled."]
    assert await chat.say("exit") == ["fallback: exit"]  # no flow now: routed as usual
    assert done == []


async def test_cancel_words_are_configurable(open_chat: OpenChat) -> None:
    bot, _ = survey_bot(cancel_words=["stop survey"], on_cancel=None)
    chat = await open_chat(bot)
    await chat.say("survey")
    assert await chat.say("exit") == ["Score 1-5?"]  # not a cancel word here: the name
    assert await chat.say("STOP SURVEY") == []
    assert "botkit:flow" not in await chat.session()


async def test_a_cancel_word_wins_over_an_interrupting_intent(open_chat: OpenChat) -> None:
    bot, _ = survey_bot(cancel_words=["hours"], on_cancel="cancelled")
    chat = await open_chat(bot)
    await chat.say("survey")
    assert await chat.say("hours") == ["cancelled"]


async def test_a_flow_left_unanswered_past_its_timeout_expires(
    open_chat: OpenChat, fake_clock: Clock
) -> None:
    bot, done = survey_bot(timeout=600, on_timeout="(The survey timed out.)")
    chat = await open_chat(bot)
    await chat.say("survey")
    fake_clock.now += 599
    assert await chat.say("Ann") == ["Score 1-5?"]  # the timeout counts from each question
    fake_clock.now += 601
    assert await chat.say("5") == ["(The survey timed out.)", "fallback: 5"]
    assert await chat.say("5") == ["fallback: 5"]
    assert done == []


async def test_a_timed_out_flow_without_a_message_just_routes_normally(
    open_chat: OpenChat, fake_clock: Clock
) -> None:
    bot, _ = survey_bot(timeout=60)
    chat = await open_chat(bot)
    await chat.say("survey")
    fake_clock.now += 61
    assert await chat.say("menu") == ["the menu"]


async def test_without_a_timeout_a_flow_waits_as_long_as_the_session(
    open_chat: OpenChat, fake_clock: Clock
) -> None:
    bot, _ = survey_bot(timeout=None)
    chat = await open_chat(bot)
    await chat.say("survey")
    fake_clock.now += 23 * 3600  # within the 24 h session TTL
    assert await chat.say("Ann") == ["Score 1-5?"]


async def test_an_interrupting_intent_answers_then_the_question_is_asked_again(
    open_chat: OpenChat,
) -> None:
    bot, done = survey_bot()
    chat = await open_chat(bot)
    await chat.say("survey")
    await chat.say("Ann")
    assert await chat.say("hours?") == ["open 9-5 (in flow: survey)", "Score 1-5?"]
    # An intent not marked as interrupting is not one: its words are the answer.
    assert await chat.say("menu") == ["Sorry, I did not get that. Score 1-5?"]
    assert await chat.say("4") == ["thanks"]
    assert done == [{"name": "Ann", "score": 4}]


async def test_help_is_answered_by_compliance_and_then_the_question_is_asked_again(
    open_chat: OpenChat,
) -> None:
    bot, done = survey_bot()
    chat = await open_chat(bot)
    await chat.say("survey")
    assert await chat.say("HELP") == [
        "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
        "Your name?",
    ]
    await chat.say("Ann")
    await chat.say("3")
    assert done == [{"name": "Ann", "score": 3}]


async def test_help_with_no_flow_running_sends_only_the_help_text(open_chat: OpenChat) -> None:
    bot, _ = survey_bot()
    chat = await open_chat(bot)
    assert await chat.say("HELP") == ["Reply STOP to unsubscribe. Msg&Data Rates May Apply."]


async def test_an_interruption_does_not_count_as_a_bad_answer(open_chat: OpenChat) -> None:
    bot, _ = survey_bot()
    chat = await open_chat(bot)
    await chat.say("survey")
    await chat.say("Ann")
    await chat.say("x")
    await chat.say("hours")
    await chat.say("HELP")
    assert await chat.say("y") == ["Sorry, I did not get that. Score 1-5?"]  # 2nd bad answer
    assert await chat.say("z") == [
        "Sorry, I could not understand. Let's stop here; text me to try again."
    ]


async def test_an_interrupting_handler_that_starts_another_flow_replaces_this_one(
    open_chat: OpenChat,
) -> None:
    bot, _ = survey_bot()
    other = bot.add_flow(Flow("callback", [Ask("phone", "Which number should we call?")]))

    @bot.intent("call", keywords=["call me"], interrupts_flows=True, priority=1)
    async def call(ctx: Context) -> None:
        await other.start(ctx)

    chat = await open_chat(bot)
    await chat.say("survey")
    assert await chat.say("call me") == ["Which number should we call?"]


async def test_an_interrupting_handler_that_cancels_the_flow_is_not_re_asked(
    open_chat: OpenChat,
) -> None:
    bot, _ = survey_bot()

    @bot.intent("quit", keywords=["forget it"], interrupts_flows=True, priority=1)
    async def quit_(ctx: Context) -> None:
        await ctx.reply(f"ended: {ctx.cancel_flow()}, again: {ctx.cancel_flow()}")

    chat = await open_chat(bot)
    await chat.say("survey")
    assert await chat.say("forget it") == ["ended: True, again: False"]
    assert await chat.say("hi") == ["fallback: hi"]


async def test_stop_ends_the_flow_silently_and_start_does_not_bring_it_back(
    open_chat: OpenChat,
) -> None:
    bot, _ = survey_bot()
    chat = await open_chat(bot)
    await chat.say("survey")
    stop = await chat.say("STOP")
    assert len(stop) == 1 and "unsubscribed" in stop[0]  # the confirmation, and nothing after
    assert "botkit:flow" not in await chat.session()
    assert len(await chat.say("START")) == 1
    assert await chat.say("Ann") == ["fallback: Ann"]


async def test_a_handoff_ends_the_flow_instead_of_asking_again_after_it(
    handoff_stack: MakeStack,  # noqa: F811
) -> None:
    handoffs: list[HandoffResult] = []
    bot, _ = survey_bot()

    @bot.intent("agent", keywords=["agent"], interrupts_flows=True)
    async def agent(ctx: Context) -> None:
        handoffs.append(await ctx.handoff(agent="agent-7"))

    d = await handoff_stack(bot)
    await d.text(ALICE, "survey")
    await d.text(ALICE, "agent")
    (result,) = handoffs
    assert await d.received(ALICE) == ["Your name?", "You are now chatting with agent-7."]
    carried = await d.server.runtime.stores.sessions.get(
        f"interrupts|conversation|{result.conversation_sid}"
    )
    assert carried is not None and "botkit:flow" not in carried


async def test_endings_may_be_functions_given_the_answers_so_far(
    open_chat: OpenChat, fake_clock: Clock
) -> None:
    ended: list[tuple[str, dict[str, Any]]] = []

    def ending(kind: str) -> Any:
        async def record(ctx: Context, answers: dict[str, Any]) -> None:
            ended.append((kind, answers))
            await ctx.reply(f"{kind} after {sorted(answers)}")

        return record

    bot, _ = survey_bot(
        timeout=60,
        on_cancel=ending("cancel"),
        on_timeout=ending("timeout"),
        on_fail=ending("fail"),
    )
    chat = await open_chat(bot)
    await chat.say("survey")
    await chat.say("Ann")
    assert await chat.say("exit") == ["cancel after ['name']"]
    await chat.say("survey")
    fake_clock.now += 61
    assert await chat.say("menu") == ["timeout after []", "the menu"]
    await chat.say("survey")
    await chat.say("Bo")
    for _ in range(2):
        await chat.say("x")
    assert await chat.say("x") == ["fail after ['name']"]
    assert [kind for kind, _ in ended] == ["cancel", "timeout", "fail"]
    assert "botkit:flow" not in await chat.session()


async def test_starting_a_flow_in_a_conversation_is_a_clear_error(
    handoff_stack: MakeStack,  # noqa: F811
    logs: JsonLogs,
) -> None:
    bot = Bot("group")
    flow = bot.add_flow(Flow("f", [Ask("a", "A?")]))

    @bot.intent("form", keywords=["form"], scope="conversation")
    async def form(ctx: ConversationContext) -> None:
        await flow.start(ctx)  # type: ignore[arg-type]

    d = await handoff_stack(bot)
    created = await d.sdk.conversations.v1.conversations.create_async()
    await d.server.runtime.conversations.client.add_sms(created.sid, ALICE, "+15550002222")
    logs.take()
    await d.text(ALICE, "form")
    (failure,) = [line for line in logs.take() if line["event"] == "handler failed"]
    assert (
        "FlowError: flow 'f': flows run in 1:1 chats, and this is a ConversationContext"
        in failure["exception"]
    )
    assert (await d.transcript(created.sid))[-1] == (
        "bot",
        "Sorry, something went wrong on our side. Please try again.",
    )
