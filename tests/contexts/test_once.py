"""``ctx.once``: a handler's side effect happens once per inbound event and step, even when
the handler is re-run after a SIGKILL (Redis mode), as its replies are sent once."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel
from redis.asyncio import Redis

from botkit import Bot, Context, once
from botkit.testing import Tester
from tests.inbound.test_crash_recovery import _crash_env as crash_env
from tests.support.crashes import kill_mid_handler, serving
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params


class Ticket(BaseModel):
    id: str
    summary: str


async def test_a_second_call_for_the_same_message_and_step_returns_the_first_result(
    store_url: str | None,
) -> None:
    bot = Bot("once-test")
    opened: list[str] = []

    async def make_ticket() -> Ticket:
        ticket = Ticket(id=f"T-{opened.count('T') + 1}", summary="cracked lid")
        opened.append("T")
        return ticket

    @once("notify-crm")
    async def notify(ctx: Context, ticket: Ticket) -> int:
        opened.append("crm")
        return len(ticket.id)

    @bot.fallback
    async def handle(ctx: Context) -> None:
        first = await ctx.once("open-ticket", make_ticket)
        again = await ctx.once("open-ticket", make_ticket)  # the same event and step
        assert again == first and isinstance(again, Ticket)
        assert await notify(ctx, first) == await notify(ctx, first) == 3
        await ctx.reply(f"{first.id} ({ctx.once_key('open-ticket')})")

    async with Tester(bot, redis_url=store_url) as tester:
        phone = tester.phone("+15550001111")
        await phone.send("the lid is cracked")
        first = await phone.expect_reply(contains="T-1 (SM")
        await phone.send("and the spout")  # another message: another ticket
        await phone.expect_reply(contains="T-2 (SM")
    assert opened == ["T", "crm", "T", "crm"]
    assert first.body.endswith(":open-ticket)")


def test_a_step_needs_a_name_and_a_readable_return_type() -> None:
    from botkit.contexts.once import EventEffects, returned_type

    with pytest.raises(ValueError, match="needs a step name"):
        EventEffects(None, "SM1").key(" ")

    async def unresolvable() -> NotDefinedAnywhere:  # type: ignore[name-defined]  # noqa: F821
        raise AssertionError

    with pytest.raises(TypeError, match="pass returns="):
        returned_type(unresolvable)


TICKET_BOT = """
    import asyncio
    import os
    import pathlib

    from botkit import Bot, Context

    bot = Bot("oncebot")
    tickets = bot.records(dict, "oncebot:tickets")
    MARKER = pathlib.Path(os.environ["CRASH_MARKER"])


    @bot.fallback
    async def handle(ctx: Context) -> None:
        async def open_ticket() -> str:
            number = await tickets.next_number()
            return f"T-{number:05d}"

        ticket = await ctx.once("open-ticket", open_ticket)
        if not MARKER.exists():
            MARKER.write_text(ticket)
            await asyncio.sleep(3600)  # killed here, after the ticket was opened
        await ctx.reply(f"Ticket {ticket} is open")
"""


async def test_sigkill_after_the_side_effect_does_not_repeat_it(
    tmp_path: Path, clean_redis: str, twilio: SandboxTwilio
) -> None:
    (tmp_path / "oncebot.py").write_text(textwrap.dedent(TICKET_BOT))
    marker = tmp_path / "marker"
    env = crash_env(tmp_path, marker, clean_redis, twilio)
    params = inbound_params("the lid is cracked")
    await kill_mid_handler("oncebot", env, params, marker)
    assert marker.read_text() == "T-00001"
    async with serving("oncebot", env):
        await twilio.wait_for(1, timeout=15)
        await asyncio.sleep(0.5)  # a second ticket's reply, if any, would arrive now
    # The re-run got the first run's ticket back instead of opening another.
    assert [m.body for m in twilio.sent] == ["Ticket T-00001 is open"]
    redis = Redis.from_url(clean_redis)
    try:
        assert await redis.get("{oncebot:tickets}:#counter") == b"1"
    finally:
        await redis.aclose()
