"""The support bot (bots/support), feature by feature, as a customer on a phone sees it.

Every test runs the real bot through botkit.testing: the sandbox plays Twilio, the bot's
server checks signatures, routes, keeps sessions and sends through its outbound worker.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path

import pytest
from redis.asyncio import Redis

from botkit import Bot, ConfigError, KnowledgeError
from botkit.testing import TestClock, Tester, TestPhone
from bots.support import Support, build
from tests.inbound.test_crash_recovery import _crash_env as crash_env
from tests.support.crashes import kill_mid_handler, serving, until
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params

CUSTOMER = "+15550001111"
TICKET_OPENED = r"Ticket (T-\d{5}) is open"


def ticket_in(text: str) -> str:
    found = re.search(TICKET_OPENED, text)
    assert found is not None, text
    return found.group(1)


@pytest.fixture
def support() -> Support:
    return build(agents=["agent"])


@pytest.fixture
def bot(support: Support) -> Bot:
    return support.bot


# --- greeting and FAQ ------------------------------------------------------------------------


async def test_greeting_and_faq_answers_come_from_the_knowledge_file(
    tester: Tester, support: Support
) -> None:
    phone = tester.phone(CUSTOMER)

    await phone.send("hello")
    await phone.expect_reply(equals=support.knowledge.text("greeting"))

    await phone.send("What are your opening times?")
    await phone.expect_reply(contains="Monday to Friday, 9am to 6pm")
    await phone.send("how long does shipping take")
    await phone.expect_reply(contains="Standard shipping takes 3-5 business days")
    # A question about returns that mentions an order is still a question about returns.
    await phone.send("How do I return an order?")
    await phone.expect_reply(contains="return anything within 30 days")

    await phone.send("what is the meaning of life")
    await phone.expect_reply(contains="Sorry, I did not get that")


@pytest.fixture
def edited_knowledge(tmp_path: Path) -> Path:
    """The shipped knowledge file, with the weekend hours an operator changed."""
    edited = tmp_path / "knowledge.yaml"
    original = Path("bots/support/knowledge.yaml").read_text()
    edited.write_text(original.replace("Saturday, 10am to 2pm", "Saturday and Sunday, 10am to 4pm"))
    return edited


async def test_the_operator_edits_answers_without_touching_code(
    edited_knowledge: Path, botkit_redis_url: str | None
) -> None:
    bot = build(knowledge_path=edited_knowledge).bot
    async with Tester(bot, redis_url=botkit_redis_url) as tester:
        phone = tester.phone(CUSTOMER)
        await phone.send("are you open on sunday?")
        await phone.expect_reply(contains="Saturday and Sunday, 10am to 4pm")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("faq:\n  hours:\n    keywords: [hours]\n", "faq.hours.answer: Field required"),
        ("faq:\n  hours: {keywords: [hours], answer: x}\n  hours: {}\n", "duplicate key"),
        ("faq: {}\ntexts: {greeting: Hi}\n", "no text 'help'"),
    ],
)
def test_a_broken_knowledge_file_stops_the_bot_with_one_clear_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    knowledge = tmp_path / "knowledge.yaml"
    knowledge.write_text(content)
    with pytest.raises(KnowledgeError) as raised:
        build(knowledge_path=knowledge)
    message = str(raised.value)
    assert problem in message and "\n" not in message


# --- order status --------------------------------------------------------------------------


async def test_order_status_asks_for_what_is_missing_and_remembers_it(tester: Tester) -> None:
    phone = tester.phone(CUSTOMER)

    await phone.send("Where is my order?")
    await phone.expect_reply(contains="What is your order number?")
    await phone.send("my order")  # not a number: asked again, with how to answer
    await phone.expect_reply(equals="Order numbers have 5 digits, like 10042. What is yours?")
    await phone.send("#10042")
    await phone.expect_reply(contains="what email address or ZIP code is on it?")
    await phone.send("Ann@Example.com")
    await phone.expect_reply(contains="Order 10042 is on its way with UPS")

    # Next time nothing is asked: the number and the email were remembered.
    await phone.send("track my order")
    await phone.expect_reply(contains="Order 10042 is on its way")
    # A new number in the message replaces the remembered one; the email still checks it.
    await phone.send("ORDER 10077")
    await phone.expect_reply(contains="I could not find order 10077")
    # That failure forgot what was remembered, so the next lookup asks again.
    await phone.send("order status")
    await phone.expect_reply(contains="What is your order number?")
    await phone.send("10077")
    await phone.expect_reply(contains="email address or ZIP code")
    await phone.send("10001")
    await phone.expect_reply(equals="Order 10077 is being packed; it ships tomorrow.")


async def test_a_customer_can_leave_the_order_questions(tester: Tester) -> None:
    phone = tester.phone(CUSTOMER)
    await phone.send("order")
    await phone.expect_reply(contains="What is your order number?")
    await phone.send("never mind")
    await phone.expect_reply(contains="OK, I stopped that")
    await phone.send("hello")
    await phone.expect_reply(contains="I am the Acme support bot")


async def test_order_questions_time_out(tester: Tester, clock: TestClock) -> None:
    phone = tester.phone(CUSTOMER)
    await phone.send("order")
    await phone.expect_reply(contains="What is your order number?")
    clock.advance(minutes=16)
    await phone.send("10042")
    await phone.expect_reply(contains="I stopped waiting for your order details")
    await phone.expect_reply(contains="Sorry, I did not get that")


# --- tickets ---------------------------------------------------------------------------------


async def test_a_ticket_is_opened_and_stored(tester: Tester, support: Support) -> None:
    phone = tester.phone(CUSTOMER)

    await phone.send("Ticket: the lid of my teapot arrived cracked")
    reply = await phone.expect_reply(matches=TICKET_OPENED)
    ticket_id = ticket_in(reply.body)
    ticket = await support.records.tickets.get(ticket_id)
    assert ticket is not None
    assert (ticket.customer, ticket.summary) == (CUSTOMER, "the lid of my teapot arrived cracked")

    # Naming only the kind of trouble gets asked for a description, until it is one.
    await phone.send("my parcel is damaged")
    await phone.expect_reply(contains="Please describe the problem")
    await phone.send("damaged")
    await phone.expect_reply(contains="Please tell me a little more")
    await phone.send("The box was crushed and two tins are dented")
    second = await phone.expect_reply(matches=TICKET_OPENED)
    assert ticket_in(second.body) != ticket_id


# --- escalation, queue, survey ---------------------------------------------------------------


async def test_escalation_queue_positions_and_survey(tester: Tester, support: Support) -> None:
    first, second, third = (tester.phone(f"+1555000111{n}") for n in (1, 2, 3))
    agent = tester.agent("agent")

    await first.send("I want to talk to a person")
    await first.expect_reply(equals="You are now chatting with agent from Acme Support.")
    await agent.expect_message(contains="You are now chatting", author="bot")
    # The only agent is busy: the others are told their place in line.
    await second.send("agent")
    await second.expect_reply(contains="You are number 1 in line")
    await third.send("human please")
    await third.expect_reply(contains="You are number 2 in line")

    # The agent helps and closes. Every conversation post reaches the phone, as on Twilio, but
    # the bot takes the /close command before it is added: the customer never sees it.
    await first.send("My tea never came")
    await agent.expect_message(equals="My tea never came", author="+15550001111")
    await agent.say("Sorry! A new tin is on its way.")
    await first.expect_reply(equals="Sorry! A new tin is on its way.")
    closed = agent.conversation_sid
    assert await agent.say("/close") is False
    await first.expect_reply(contains="This chat is now closed")

    # Free again, the agent takes the next in line at once; the one behind moves up and is
    # told.
    await second.expect_reply(equals="You are now chatting with agent from Acme Support.")
    await third.expect_reply(equals="You are now number 1 in line.")
    assert await support.bot.take_next("agent") is None  # busy with the second already

    # The agent closed: the customer gets the survey 1:1 and answers it.
    await first.expect_reply(contains="How did we do? Reply with a number from 1")
    await first.send("9")
    await first.expect_reply(equals="Please reply with a number from 1 to 5.")
    await first.send("4")
    await first.expect_reply(equals="Thank you for rating us 4/5!")
    assert closed is not None
    rating = await support.records.ratings.get(closed)
    assert rating is not None
    assert (rating.customer, rating.agent, rating.rating) == ("+15550001111", "agent", 4)
    # Answered: a lone number is no longer a rating.
    await first.send("4")
    await first.expect_reply(contains="Sorry, I did not get that")
    assert not [m for m in first.replies if m.body.startswith("/")]


async def test_the_agent_sees_what_the_bot_was_told_and_why(tester: Tester) -> None:
    phone = tester.phone(CUSTOMER)
    agent = tester.agent("agent")
    await phone.send("hello")
    await phone.expect_reply(contains="I am the Acme support bot")
    await phone.send("I want an agent")
    await phone.expect_reply(equals="You are now chatting with agent from Acme Support.")
    notice = await agent.expect_notice(contains="New conversation: +1555***1111 (general)")
    assert notice.text.endswith("Reason: asked for a person")
    sid = agent.conversation_sid
    assert sid is not None
    handover = (await tester.runtime.conversations.client.fetch(sid)).attributes["handoff"]
    assert [t["text"] for t in handover["handover"]["transcript"]][:2] == [
        "hello",
        support_greeting(),
    ]


def support_greeting() -> str:
    return build(agents=["agent"]).knowledge.text("greeting")


async def surveyed_after_a_handoff(tester: Tester) -> TestPhone:
    """The customer, handed to the agent, who closes the chat: the survey has just been asked."""
    phone = tester.phone(CUSTOMER)
    await phone.send("agent")
    await phone.expect_reply(contains="You are now chatting with agent")
    await tester.agent("agent").say("/close")
    await phone.expect_reply(contains="This chat is now closed")
    await phone.expect_reply(contains="How did we do?")
    return phone


async def test_the_survey_takes_a_rating_only_for_a_day_after_the_close(
    tester: Tester, clock: TestClock
) -> None:
    phone = await surveyed_after_a_handoff(tester)
    clock.advance(hours=25)
    await phone.send("4")  # too late: an ordinary message
    await phone.expect_reply(contains="Sorry, I did not get that")


async def test_an_unanswered_survey_is_reminded_once_halfway_through_its_window(
    tester: Tester, clock: TestClock
) -> None:
    phone = await surveyed_after_a_handoff(tester)
    clock.advance(hours=11, minutes=59)
    await phone.expect_no_reply(within=0.3)
    clock.advance(minutes=1)
    await phone.expect_reply(contains="Have a moment? Rate your chat")
    await phone.send("5")
    await phone.expect_reply(equals="Thank you for rating us 5/5!")


async def test_answering_the_survey_cancels_its_reminder(
    tester: Tester, clock: TestClock
) -> None:
    phone = await surveyed_after_a_handoff(tester)
    await phone.send("3")
    await phone.expect_reply(equals="Thank you for rating us 3/5!")
    assert await tester.runtime.stores.timers.pending() == 0
    clock.advance(hours=13)
    await phone.expect_no_reply(within=0.3)


async def test_the_survey_window_is_configurable(
    botkit_redis_url: str | None, monkeypatch: pytest.MonkeyPatch, clock: TestClock
) -> None:
    monkeypatch.setenv("SUPPORT_SURVEY_WINDOW", "48")
    support = build(agents=["agent"])
    async with Tester(support.bot, redis_url=botkit_redis_url, clock=clock) as tester:
        phone = await surveyed_after_a_handoff(tester)
        clock.advance(hours=47)
        await phone.expect_reply(contains="Have a moment?")  # halfway: 24 hours in
        await phone.send("5")
        await phone.expect_reply(equals="Thank you for rating us 5/5!")
    monkeypatch.setenv("SUPPORT_SURVEY_WINDOW", "soon")
    with pytest.raises(ConfigError, match="SUPPORT_SURVEY_WINDOW: hours > 0"):
        build(agents=["agent"])


async def test_help_is_bot_specific_and_nothing_is_sent_after_stop(
    tester: Tester, support: Support
) -> None:
    phone = tester.phone(CUSTOMER)
    await phone.send("HELP")
    await phone.expect_reply(equals=support.knowledge.text("help"))

    await phone.send("agent")
    await phone.expect_reply(contains="You are now chatting with agent")
    await phone.send("STOP")
    assert await tester.agent("agent").say("/close") is False
    # Closed, but the customer opted out: no closing notice, no survey...
    await phone.expect_no_reply()
    # ...and back 1:1 with the bot, still nothing, until they opt in again.
    await phone.send("hello")
    await phone.expect_no_reply()
    await phone.send("START")
    await phone.expect_reply(contains="re-subscribed")
    await phone.send("hello")
    await phone.expect_reply(equals=support.knowledge.text("greeting"))


CRASHING_SUPPORT = """
    import asyncio
    import os
    import pathlib

    from bots.support import bot

    MARKER = pathlib.Path(os.environ["CRASH_MARKER"])


    @bot.middleware
    async def crash_once(ctx, call_next):
        await call_next()
        if MARKER.exists():  # the re-run
            MARKER.with_suffix(".rerun").write_text(ctx.message.sid)
            return
        MARKER.write_text(ctx.message.sid)
        await asyncio.sleep(3600)  # killed here, the ticket opened and its reply queued
"""


async def test_a_ticket_is_opened_once_when_the_bot_is_killed_mid_answer(
    tmp_path: Path, clean_redis: str, twilio: SandboxTwilio
) -> None:
    """The support bot opens tickets with ctx.once: the re-run of a message whose handler was
    SIGKILLed gets the first run's ticket back, and its reply is sent once."""
    (tmp_path / "crashing_support.py").write_text(textwrap.dedent(CRASHING_SUPPORT))
    marker = tmp_path / "marker"
    env = crash_env(tmp_path, marker, clean_redis, twilio)
    params = inbound_params("TICKET the lid arrived cracked and the tea leaked")
    await kill_mid_handler("crashing_support", env, params, marker)
    async with serving("crashing_support", env):
        await until(marker.with_suffix(".rerun").exists)
        await twilio.wait_for(1, timeout=15)
        await asyncio.sleep(0.5)  # a second ticket's reply, if any, would arrive now
    assert [ticket_in(m.body) for m in twilio.sent] == ["T-00001"]
    redis = Redis.from_url(clean_redis)
    try:
        assert await redis.get("{support:tickets}:#counter") == b"1"
    finally:
        await redis.aclose()
