"""The example in botkit.flows' docstring is the one users copy: it must run as written."""

from __future__ import annotations

import textwrap
from typing import Any

import botkit.flows
from botkit import Bot
from tests.flows.conftest import OpenChat


def documented_bot() -> Bot:
    doc = botkit.flows.__doc__ or ""
    block = doc.split("::\n", 1)[1].split("\nWhat happens while", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(textwrap.dedent(block), "botkit/flows/__init__.py", "exec"), namespace)
    bot = namespace["bot"]
    assert isinstance(bot, Bot)
    return bot


async def test_the_documented_example_runs(open_chat: OpenChat) -> None:
    chat = await open_chat(documented_bot())
    assert await chat.say("order 42") == ["What email did you order with?"]
    assert await chat.say("Ann@Example.com") == ["Pickup or delivery?\n1. Pickup\n2. Delivery"]
    assert await chat.say("2") == ["Where should we deliver?"]
    assert await chat.say("1 Elm St") == ["Order 42 for ann@example.com, right?"]
    assert await chat.say("hours") == [
        "We are open 9-5.",
        "Order 42 for ann@example.com, right?",
    ]
    assert await chat.say("yes") == ["Order 42 is on its way."]
    # Remembered: the email and the address are not asked again.
    assert await chat.say("order") == ["What is your order number?"]
    assert await chat.say("43") == ["Pickup or delivery?\n1. Pickup\n2. Delivery"]
    assert await chat.say("pickup") == ["Order 43 for ann@example.com, right?"]
    assert await chat.say("no") == ["What is your order number?"]
