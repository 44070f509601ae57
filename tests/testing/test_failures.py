"""Every way an expectation or a set-up can fail says so in words: what was expected, what came,
why the bot may have stayed silent, and the transcript. Mistakes in the set-up are one line."""

from __future__ import annotations

from datetime import datetime

import pytest

from botkit import Bot, Context
from botkit.errors import ConfigError
from botkit.testing import BadExpectation, Message, ReplyExpectation, TestClock, Tester
from botkit.testing.transcript import Transcript

ALICE = "+15550101001"
MENU = "HX" + "b2" * 16


@pytest.fixture
def bot() -> Bot:
    bot = Bot("failing")

    @bot.intent("menu", keywords=["menu"], channel=["sms", "whatsapp"])
    async def menu(ctx: Context) -> None:
        await ctx.reply(content_sid=MENU)

    @bot.intent("cat", keywords=["cat"])
    async def cat(ctx: Context) -> None:
        await ctx.reply("a cat", media_urls=["https://example.com/cat.jpg"])

    @bot.fallback
    async def echo(ctx: Context) -> None:
        await ctx.reply(f"echo: {ctx.message.body}")

    return bot


async def failure_of(expectation: object) -> str:
    """The text of the AssertionError an awaited expectation raised."""
    with pytest.raises(AssertionError) as failed:
        await expectation  # type: ignore[misc]
    return str(failed.value)


async def test_silence_is_explained_by_the_bots_dead_letters(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone(ALICE, whatsapp=True)
    await phone.send("hello")
    await phone.expect_reply(equals="echo: hello")
    clock.advance(hours=25)  # the window closed, and this bot has no fallback template
    await tester.bot.send(phone.address, "news", from_="whatsapp:" + tester.bot_number)
    text = await failure_of(phone.expect_reply(contains="news", within=0.5))
    assert text.startswith(
        "expected a reply containing 'news' to whatsapp:+15550101001 within 0.5 s, "
        "but none came\nmessages the bot could not send (dead letters):\n"
        "  to whatsapp:+15550101001: undeliverable (outside the WhatsApp 24-hour window and "
        "the bot has no fallback template"
    )
    assert text.endswith(
        "transcript (2 messages):\n"
        "  1. [whatsapp] whatsapp:+15550101001 -> whatsapp:+15550002222: 'hello'\n"
        "  2. [whatsapp] whatsapp:+15550002222 -> whatsapp:+15550101001: 'echo: hello'"
    )


async def test_an_unexpected_reply_is_named(tester: Tester) -> None:
    phone = tester.phone(ALICE)
    await phone.send("hi")
    text = await failure_of(phone.expect_no_reply())
    assert text.startswith(f"expected no reply to {ALICE}, but it got: 'echo: hi'\n")
    assert "transcript (2 messages):" in text


async def test_media_buttons_and_templates_mismatches_say_what_was_there(
    tester: Tester,
) -> None:
    tester.add_template(
        {"twilio/quick-reply": {"body": "Pick", "actions": [{"title": "A"}, {"title": "B"}]}},
        sid=MENU,
    )
    phone = tester.phone(ALICE, whatsapp=True)
    await phone.send("menu")
    text = await failure_of(phone.expect_reply(buttons=["A", "C"]))
    assert f"expected a reply with buttons A | C to whatsapp:{ALICE}, but the next reply was " \
        f"'Pick' [buttons: A | B] [template {MENU}] (its buttons are A | B)" in text

    await phone.send("menu")
    text = await failure_of(phone.expect_reply(template=False))
    assert f"(it is template {MENU})" in text

    sms = tester.phone(ALICE)
    await sms.send("cat")
    text = await failure_of(sms.expect_reply(media=False))
    assert "but the next reply was 'a cat' [media: https://example.com/cat.jpg] " \
        "(it has media: https://example.com/cat.jpg)" in text
    await sms.send("plain")
    text = await failure_of(sms.expect_reply(media="dog.png", template=True))
    assert "expected a reply with media 'dog.png' sent as a template" in text
    assert "(its media are none)" in text


async def test_tapping_a_button_nobody_offered(tester: Tester) -> None:
    phone = tester.phone(ALICE, whatsapp=True)
    await phone.send("hi")
    await phone.expect_reply()
    text = await failure_of(phone.tap("Yes"))
    assert text.startswith(
        f"whatsapp:{ALICE} cannot tap 'Yes': no message it received has that button "
        "(buttons received: none)\n"
    )


async def test_agent_expectations_fail_in_words(tester: Tester) -> None:
    phone, agent = tester.phone(ALICE), tester.agent("agent-1")
    await tester.conversation(phone, agent)
    text = await failure_of(agent.expect_message(within=0.2))
    assert text.startswith("expected a message for agent agent-1 within 0.2 s, but none came")

    await phone.send("hello there")
    text = await failure_of(agent.expect_message(contains="hello", author="bot"))
    assert (
        f"expected a message containing 'hello' from bot for agent agent-1, but the next "
        f"message was {ALICE}: 'hello there' (it is from {ALICE})" in text
    )
    await phone.send("again")
    text = await failure_of(agent.expect_no_message())
    assert text.startswith(f"expected no message for agent agent-1, but it got: {ALICE}: 'again'")


async def test_a_status_never_reached(tester: Tester) -> None:
    phone = tester.phone(ALICE)
    await phone.send("hi")
    reply = await phone.expect_reply()
    text = await failure_of(tester.expect_status(reply, "read", within=0.2))
    assert "to become read within 0.2 s, but its statuses were: queued" in text


def test_bad_expectations_are_the_tests_own_mistake() -> None:
    with pytest.raises(BadExpectation, match=r"matches='\[' is not a regex"):
        ReplyExpectation(matches="[")
    with pytest.raises(BadExpectation, match=r"a list of titles, e.g. buttons=\['Yes'\]"):
        ReplyExpectation(buttons="Yes")


def test_a_long_transcript_shows_its_end() -> None:
    transcript = Transcript()
    for n in range(45):
        transcript.add_message(
            Message(sid=f"SM{n}", sender=ALICE, recipient="+15550002222", body=f"m{n}",
                    channel="sms", outbound=False)
        )
    lines = transcript.render().splitlines()
    assert lines[:2] == ["transcript (45 messages):", "  ... 5 earlier messages not shown"]
    assert lines[2] == f"  6. [sms] {ALICE} -> +15550002222: 'm5'"
    assert lines[-1] == f"  45. [sms] {ALICE} -> +15550002222: 'm44'"
    assert Transcript().render() == "transcript: (empty: no message was sent or received)"


def test_the_clock_only_moves_forward_to_real_moments() -> None:
    clock = TestClock()
    with pytest.raises(ValueError, match="goes forward only, got -60 s"):
        clock.advance(minutes=-1)
    with pytest.raises(ValueError, match="needs an aware datetime"):
        clock.set(datetime(2026, 1, 1, 12, 0))
    before = clock.now()
    clock.advance(days=1)
    assert clock.now() - before == pytest.approx(86400, abs=1)


@pytest.fixture
def quiet_bot() -> Bot:
    return Bot("unstarted")


async def test_set_up_mistakes_are_one_line(quiet_bot: Bot) -> None:
    with pytest.raises(TypeError, match=r"Tester needs a botkit\.Bot, got int"):
        Tester(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown setting 'sesion_ttl': settings= takes"):
        Tester(quiet_bot, settings={"sesion_ttl": 5})
    with pytest.raises(ValueError, match="bot_number: 'abc'"):
        Tester(quiet_bot, bot_number="abc")
    with pytest.raises(ConfigError, match="invalid settings: BOTKIT_SESSION_TTL: "):
        await Tester(quiet_bot, settings={"session_ttl": -1}).start()
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1:1/0: cannot reach Redis"):
        await Tester(quiet_bot, redis_url="redis://127.0.0.1:1/0").start()
