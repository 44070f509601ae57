"""botkit.testing: test a bot without a phone, through the real pipeline, in milliseconds.

Installing botkit registers a pytest plugin (it needs pytest-asyncio). A bot's test file needs
nothing else::

    import pytest
    from mybot import bot as my_bot

    @pytest.fixture
    def bot():
        return my_bot

    async def test_greeting(tester):
        phone = tester.phone("+15550001111")
        await phone.send("hi")
        await phone.expect_reply(contains="Hello")

Why in-process and real: the ``tester`` fixture starts the embedded sandbox (botkit/sandbox),
which plays Twilio and posts signed webhooks to the bot's own aiohttp server; the bot checks
signatures, routes, keeps sessions and sends its replies through the outbound worker and the Twilio
SDK back to the sandbox. Nothing is mocked, so what passes here passes against Twilio; only
sender rates are raised so no test waits on them. A turn (send + expect_reply) takes a few
milliseconds: ``python bench/turns.py``.

The bot under test, first match wins: ``@pytest.mark.botkit(bot=...)`` (a Bot or
``"module:attr"``), a ``bot`` fixture, the ini option ``botkit_bot = module:attr``.
The stores: memory by default; Redis with ``@pytest.mark.botkit(redis_url=...)``, the ini
option ``botkit_redis_url``, or an overridden ``botkit_redis_url`` fixture (the database is
emptied before each test). The marker also takes ``settings={...}`` (Settings fields, e.g.
``{"quiet_hours": {"start": "21:00", "end": "08:00"}}``), ``bot_number``, ``within`` (the
default wait, 2 s), ``status_callbacks`` and ``twilio_keyword_replies``. Outside pytest:
``async with Tester(bot) as tester: ...``.

Phones, ``tester.phone("+1555...")`` (SMS/MMS) or ``tester.phone("+1555...", whatsapp=True)``,
text the bot's number (``tester.bot_number``):

- ``send(text, media=[urls])``; ``send_location(lat, lon)`` (WhatsApp); ``tap("Yes")`` taps a
  quick-reply button (by title or payload) of a template message the phone received.
- ``expect_reply(contains=, equals=, matches=, media=, buttons=[...], template=)`` takes the
  next reply and returns it as a ``Message`` (``body``, ``media``, ``buttons``,
  ``content_sid``, ``status``...); ``expect_no_reply()`` waits until the bot has nothing left
  to do, then checks that nothing came. ``replies`` lists all it received.
- ``fail_deliveries(30003)`` and ``leave_whatsapp()`` make Twilio report the phone's messages
  undelivered / failed (63003); ``await tester.expect_status(message, "undelivered")`` waits
  for it, and the bot's ``@bot.on_status`` hooks run (status callbacks are on when the bot has
  hooks).

Conversations: ``tester.agent("agent-7")`` is a chat participant: the bot's ``ctx.handoff``
adds it, ``await tester.conversation(phone1, phone2, agent)`` creates a group. Agents
``say(text)`` into the conversation they joined last and ``expect_message(contains=...,
author=...)``; phones in a conversation get its messages as texts, and their texts go into it.

Content templates the bot sends are registered in the sandbox under the SID the bot uses:
``tester.add_template({"twilio/quick-reply": {...}}, sid="HX...")``. ``await
tester.session(phone)`` reads the bot's session with a phone; ``tester.runtime`` is the running
bot (stores, queues); ``await tester.settle()`` waits until nothing moves.

Time: the ``clock`` fixture (``TestClock``) is the clock every botkit rule reads.
``clock.advance(hours=25)`` expires sessions and closes WhatsApp windows; ``clock.set(datetime(
..., tzinfo=ZoneInfo("America/New_York")))`` puts a recipient in quiet hours, and moving the
clock past the night releases what was held for it.

Failures say what was expected, what came instead, why the bot may have stayed silent (its dead
letters), then the transcript of the whole test: who said what, on which channel.
"""

from botkit.testing.agent import TestAgent
from botkit.testing.clock import TestClock
from botkit.testing.expectations import BadExpectation, ReplyExpectation
from botkit.testing.messages import Button, ConversationPost, MediaItem, Message
from botkit.testing.phone import TestPhone
from botkit.testing.sandbox_client import SandboxRefused
from botkit.testing.tester import ACCOUNT_SID, AUTH_TOKEN, BOT_NUMBER, Tester
from botkit.testing.transcript import Transcript

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "BOT_NUMBER",
    "BadExpectation",
    "Button",
    "ConversationPost",
    "MediaItem",
    "Message",
    "ReplyExpectation",
    "SandboxRefused",
    "TestAgent",
    "TestClock",
    "TestPhone",
    "Tester",
    "Transcript",
]
