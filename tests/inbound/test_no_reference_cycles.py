"""A handled message is freed when its handler is done, not at the cycle collector's next pass.

Under load a message's context (its message, session and sends) left in a reference cycle kept
about twenty objects each for the collector, whose passes then took 40-85 ms in the middle of
webhooks (bench/README.md, "Reference cycles"). With the collector off, whatever is still alive
after the message was handled is held by a cycle or a leak.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Awaitable, Callable, Iterator

import pytest

from botkit import Bot, Context
from tests.conftest import StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_handled_messages_context_is_freed_without_the_cycle_collector(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None, no_collector: None
) -> None:
    bot = Bot("freed")
    contexts: list[weakref.ref[Context]] = []

    @bot.middleware
    async def around(ctx: Context, call_next: Callable[[], Awaitable[None]]) -> None:
        await call_next()

    @bot.fallback
    async def answer(ctx: Context) -> None:
        contexts.append(weakref.ref(ctx))
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply("ok")

    server = await start_server(bot, redis_url=store_url)
    for _ in range(3):
        assert (await server.post(inbound_params("hi"))).status == 200
        await server.idle()
    await twilio.wait_for(3, timeout=10)
    assert len(contexts) == 3
    assert [ref() for ref in contexts] == [None, None, None]
