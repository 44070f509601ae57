"""botkit.testing: test a bot without a phone, through the real pipeline, in milliseconds.

Installing botkit registers a pytest plugin (needs pytest-asyncio). A bot's test file needs
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

The ``tester`` fixture runs the bot for real in the test's event loop: the embedded sandbox
(botkit/sandbox) plays Twilio and posts signed webhooks to the bot's aiohttp server, which
checks signatures, routes, keeps sessions and sends its replies through the dispatcher and the
Twilio SDK back to the sandbox. Memory stores by default; Redis with
``@pytest.mark.botkit(redis_url=...)`` or by overriding the ``botkit_redis_url`` fixture.
Instead of a ``bot`` fixture, ``@pytest.mark.botkit(bot="mybot:bot")`` or the ini option
``botkit_bot = mybot:bot`` name the bot. Outside pytest: ``async with Tester(bot) as tester``.

Phones (``TestPhone``):

- ``tester.phone("+1555...")`` texts over SMS/MMS; ``tester.phone("+1555...", whatsapp=True)``
  over WhatsApp. Both text the bot's number (``tester.bot_number``, +15550002222).
- ``send(text, media=[urls])``, ``send_location(lat, lon)`` (WhatsApp), ``tap("Yes")`` (a
  quick-reply button of a template message the phone received).
- ``expect_reply(contains=..., equals=..., matches=..., media=..., buttons=[...],
  template=...)`` takes the next reply and returns it (a ``Message``); ``expect_no_reply()``
  waits until the bot has nothing left to do and checks nothing came. A failure shows what was
  expected, what came, the bot's dead letters, and the transcript of the whole test.

Time: the ``clock`` fixture (``TestClock``) is the clock every botkit rule reads:
``clock.advance(hours=25)`` expires sessions and closes WhatsApp windows; ``clock.set(...)``
puts the recipient in quiet hours.
"""

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
    "TestClock",
    "TestPhone",
    "Tester",
    "Transcript",
]
