"""Asking, validating, re-asking, giving up, options, remembering: end to end through the
webhook, the pipeline and the sandbox, on the memory and the Redis stores."""

from __future__ import annotations

from typing import Any

import pytest

from botkit import Bot, Context, InboundMessage
from botkit.flows import Ask, Flow, Invalid, integer
from botkit.testing import TestClock
from tests.flows.conftest import OpenChat
from tests.support.logs import JsonLogs


def order_bot(*steps: Ask, **flow_options: Any) -> tuple[Bot, list[dict[str, Any]]]:
    """A bot whose "order" intent starts a flow of these steps; on_done records the answers."""
    bot = Bot("flows")
    done: list[dict[str, Any]] = []
    flow = Flow("order", list(steps), **flow_options)

    @flow.on_done
    async def finish(ctx: Context, answers: dict[str, Any]) -> None:
        done.append(answers)
        await ctx.reply(f"done: {sorted(answers.items())}")

    bot.add_flow(flow)

    @bot.intent("order", keywords=["order"])
    async def order(ctx: Context) -> None:
        await ctx.start_flow("order")

    @bot.fallback
    async def fallback(ctx: Context) -> None:
        await ctx.reply(f"fallback: {ctx.message.body}")

    return bot, done


async def test_a_flow_asks_each_step_and_runs_its_action_with_the_answers(
    open_chat: OpenChat,
) -> None:
    bot, done = order_bot(
        Ask("name", "What is your name?"),
        Ask("size", "Which size, {name}?"),
    )
    chat = await open_chat(bot)
    assert await chat.say("order") == ["What is your name?"]
    # "order" would match the intent again: inside a flow the message is the answer.
    assert await chat.say("order") == ["Which size, order?"]
    assert await chat.say("  Large ") == ["done: [('name', 'order'), ('size', 'Large')]"]
    assert done == [{"name": "order", "size": "Large"}]
    assert "botkit:flow" not in await chat.session()
    assert await chat.say("hello") == ["fallback: hello"]


async def test_a_bad_answer_is_re_asked_with_the_validators_message_then_the_retry_text(
    open_chat: OpenChat,
) -> None:
    def quantity(text: str) -> int:
        if text.strip().lower() == "lots":
            raise Invalid("Please give a number, like 3.")
        return int(text)  # a plain ValueError rejects too, without showing its message

    bot, done = order_bot(
        Ask("qty", "How many?", validate=quantity, retry="A number from 1 to 9, please."),
    )
    chat = await open_chat(bot)
    assert await chat.say("order") == ["How many?"]
    assert await chat.say("lots") == ["Please give a number, like 3."]
    assert await chat.say("three") == ["A number from 1 to 9, please."]
    assert await chat.say("3") == ["done: [('qty', 3)]"]
    assert done == [{"qty": 3}]


async def test_without_a_retry_text_the_question_is_asked_again_with_an_apology(
    open_chat: OpenChat,
) -> None:
    bot, _ = order_bot(Ask("qty", "How many?", validate=int))
    chat = await open_chat(bot)
    await chat.say("order")
    assert await chat.say("many") == ["Sorry, I did not get that. How many?"]


async def test_a_ready_made_validator_says_how_to_answer(open_chat: OpenChat) -> None:
    bot, _ = order_bot(Ask("qty", "How many?", validate=integer(min=1, max=9)))
    chat = await open_chat(bot)
    await chat.say("order")
    assert await chat.say("0") == ["Please answer with a whole number from 1 to 9."]
    assert await chat.say("9") == ["done: [('qty', 9)]"]


async def test_after_max_attempts_bad_answers_the_flow_gives_up(open_chat: OpenChat) -> None:
    bot, done = order_bot(
        Ask("qty", "How many?", validate=int, max_attempts=2),
        on_fail="Let's stop here.",
    )
    chat = await open_chat(bot)
    await chat.say("order")
    assert await chat.say("x") == ["Sorry, I did not get that. How many?"]
    assert await chat.say("y") == ["Let's stop here."]
    assert done == []
    assert "botkit:flow" not in await chat.session()
    assert await chat.say("4") == ["fallback: 4"]


async def test_a_good_answer_resets_the_attempts_for_the_next_question(
    open_chat: OpenChat,
) -> None:
    bot, _ = order_bot(
        Ask("a", "First?", validate=int, max_attempts=2),
        Ask("b", "Second?", validate=int, max_attempts=2),
    )
    chat = await open_chat(bot)
    await chat.say("order")
    await chat.say("x")
    assert await chat.say("1") == ["Second?"]
    assert await chat.say("y") == ["Sorry, I did not get that. Second?"]
    assert await chat.say("2") == ["done: [('a', 1), ('b', 2)]"]


async def test_an_empty_answer_is_not_an_answer(open_chat: OpenChat) -> None:
    bot, _ = order_bot(Ask("name", "Your name?"))
    chat = await open_chat(bot)
    await chat.say("order")
    assert await chat.say("   ") == ["Sorry, I did not get that. Your name?"]


async def test_options_are_listed_and_taken_by_number_value_or_label(open_chat: OpenChat) -> None:
    bot, done = order_bot(
        Ask("size", "Which size?", options={"s": "Small", "l": "Large"}),
        Ask("color", "Which color?", options=["Red", "Blue"]),
        Ask("box", "Gift box?", options=["Yes please", "No thanks"]),
    )
    chat = await open_chat(bot)
    assert await chat.say("order") == ["Which size?\n1. Small\n2. Large"]
    assert await chat.say("medium") == [
        "Sorry, I did not get that. Which size?\n1. Small\n2. Large"
    ]
    assert await chat.say("LARGE!") == ["Which color?\n1. Red\n2. Blue"]
    assert await chat.say("1") == ["Gift box?\n1. Yes please\n2. No thanks"]
    assert await chat.say("no thanks") == [
        "done: [('box', 'No thanks'), ('color', 'Red'), ('size', 'l')]"
    ]
    assert done == [{"size": "l", "color": "Red", "box": "No thanks"}]


async def test_a_whatsapp_quick_reply_tap_answers_with_its_payload(open_chat: OpenChat) -> None:
    bot, done = order_bot(Ask("size", "Which size?", options={"s": "Small", "l": "Large"}))
    chat = await open_chat(bot)
    chat.user = "whatsapp:+15550001111"
    wa = {"To": "whatsapp:+15550002222"}
    await chat.say("order", **wa)
    assert await chat.say("Big one", ButtonText="Big one", ButtonPayload="l", **wa) == [
        "done: [('size', 'l')]"
    ]
    assert done == [{"size": "l"}]


async def test_remembered_answers_are_stored_in_the_session_and_skipped_next_time(
    open_chat: OpenChat,
) -> None:
    bot, done = order_bot(
        Ask("order_id", "Order number?", validate=int),
        Ask("email", "Your email?", remember=True),
        Ask("phone", "Your phone?", remember="contact_phone"),
    )
    chat = await open_chat(bot)
    await chat.say("order")
    await chat.say("12")
    await chat.say("ann@example.com")
    await chat.say("555 0100")
    session = await chat.session()
    assert session["email"] == "ann@example.com"
    assert session["contact_phone"] == "555 0100"
    assert "order_id" not in session
    # Next time only what is missing is asked.
    assert await chat.say("order") == ["Order number?"]
    assert await chat.say("13") == [
        "done: [('email', 'ann@example.com'), ('order_id', 13), ('phone', '555 0100')]"
    ]
    assert done[-1] == {"order_id": 13, "email": "ann@example.com", "phone": "555 0100"}


async def test_a_remembered_answer_with_a_ttl_is_asked_again_once_it_expired(
    open_chat: OpenChat,
) -> None:
    bot, done = order_bot(
        Ask("order_id", "Order number?", validate=int),
        Ask("email", "Your email?", remember=True, ttl=3600),
    )
    chat = await open_chat(bot)
    clock = TestClock()
    with clock.installed():
        await chat.say("order")
        await chat.say("12")
        await chat.say("ann@example.com")
        clock.advance(minutes=30)
        assert await chat.say("order") == ["Order number?"]  # still remembered
        await chat.say("13")
        clock.advance(minutes=31)
        assert await chat.say("order") == ["Order number?"]
        assert await chat.say("14") == ["Your email?"]  # expired: asked again
        await chat.say("bo@example.com")
    assert done[-1] == {"order_id": 14, "email": "bo@example.com"}
    with pytest.raises(ValueError, match="ttl is seconds > 0 that a remembered answer is kept"):
        Ask("email", "Your email?", ttl=60)  # nothing remembered: nothing to expire


async def test_answers_given_to_start_flow_are_not_asked(open_chat: OpenChat) -> None:
    bot = Bot("flows")
    flow = bot.add_flow(
        Flow(
            "status",
            [Ask("order_id", "Order number?", validate=int), Ask("email", "Email?")],
        )
    )

    @flow.on_done
    async def look_up(ctx: Context, answers: dict[str, Any]) -> None:
        await ctx.reply(f"order {answers['order_id']} for {answers['email']}")

    @bot.intent("status", pattern=r"^status(?:\s+(?P<order_id>\d+))?$")
    async def status(ctx: Context) -> None:
        await flow.start(ctx, order_id=ctx.slots.get("order_id"))

    chat = await open_chat(bot)
    assert await chat.say("status 77") == ["Email?"]
    assert await chat.say("b@example.com") == ["order 77 for b@example.com"]
    assert await chat.say("status") == ["Order number?"]


def where(message: InboundMessage) -> str:
    """A shared WhatsApp location, or a typed address with a house number."""
    if message.whatsapp is not None and message.whatsapp.location is not None:
        spot = message.whatsapp.location
        return f"pin {spot.latitude:.3f},{spot.longitude:.3f}"
    if not any(c.isdigit() for c in message.text):
        raise Invalid("Share your location, or type the address with its house number.")
    return message.text


def photo(message: InboundMessage) -> list[str]:
    if not message.media:
        raise Invalid("Please send a photo.")
    return [m.url for m in message.media]


async def test_parse_reads_answers_that_are_not_text(open_chat: OpenChat) -> None:
    bot, done = order_bot(
        Ask("address", "Where to?", parse=where),
        Ask("damage", "A photo of the damage?", parse=photo),
    )
    chat = await open_chat(bot)
    chat.user = "whatsapp:+15550001111"
    wa = {"To": "whatsapp:+15550002222"}
    await chat.say("order", **wa)
    assert await chat.say("Elm Street", **wa) == [
        "Share your location, or type the address with its house number."
    ]
    assert await chat.say("", Latitude="37.7749", Longitude="-122.4194", **wa) == [
        "A photo of the damage?"
    ]
    assert await chat.say("here", **wa) == ["Please send a photo."]
    image = {"NumMedia": "1", "MediaUrl0": "https://example.com/dent.jpg",
             "MediaContentType0": "image/jpeg"}
    await chat.say("", **image, **wa)
    assert done == [{"address": "pin 37.775,-122.419", "damage": ["https://example.com/dent.jpg"]}]


async def test_a_parser_that_returns_nothing_is_a_bug_in_the_bot(
    open_chat: OpenChat, logs: JsonLogs
) -> None:
    bot, _ = order_bot(Ask("address", "Where to?", parse=lambda message: None))
    chat = await open_chat(bot)
    await chat.say("order")
    logs.take()
    assert await chat.say("1 Elm St") == [
        "Sorry, something went wrong on our side. Please try again."
    ]
    (failure,) = [line for line in logs.take() if line["event"] == "handler failed"]
    assert "step 'address': parse returned None; return the answer" in failure["exception"]


async def test_answers_given_to_start_flow_are_checked_like_typed_ones(
    open_chat: OpenChat,
) -> None:
    bot = Bot("flows")
    seen: list[dict[str, Any]] = []
    flow = bot.add_flow(
        Flow(
            "status",
            [
                Ask("order_id", "Order number?", validate=integer(min=10000, max=99999)),
                Ask("size", "Size?", options={"s": "Small", "l": "Large"}),
            ],
        )
    )

    @flow.on_done
    async def look_up(ctx: Context, answers: dict[str, Any]) -> None:
        seen.append(answers)

    @bot.intent("status", pattern=r"^status (?P<order_id>\S+) (?P<size>\S+)$")
    async def status(ctx: Context) -> None:
        await flow.start(ctx, order_id=ctx.slots["order_id"], size=ctx.slots["size"])

    chat = await open_chat(bot)
    assert await chat.say("status 10042 large") == []
    assert seen == [{"order_id": 10042, "size": "l"}]  # converted and chosen as if typed
    assert await chat.say("status 123 huge") == ["Order number?"]  # neither passes: asked
    assert await chat.say("10043") == ["Size?\n1. Small\n2. Large"]


async def test_a_photo_sent_by_mms_answers_a_question_asked_by_sms(open_chat: OpenChat) -> None:
    bot, done = order_bot(Ask("damage", "A photo of the damage?", parse=photo))
    chat = await open_chat(bot)
    await chat.say("order")
    image = {"NumMedia": "1", "MediaUrl0": "https://example.com/dent.jpg",
             "MediaContentType0": "image/jpeg"}
    await chat.say("here it is", **image)
    assert done == [{"damage": ["https://example.com/dent.jpg"]}]
