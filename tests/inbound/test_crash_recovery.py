"""A worker killed mid-handler loses nothing: another process runs the message (Redis mode)."""

from __future__ import annotations

import asyncio
import json
import signal
import textwrap
import uuid
from pathlib import Path

from botkit.twilio.client import create_async_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.support.process import botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params, post_form

CRASHING_BOT = """
    import asyncio
    import os
    import pathlib

    from botkit import Bot, Context

    bot = Bot("crashbot")
    MARKER = pathlib.Path(os.environ["CRASH_MARKER"])


    @bot.fallback
    async def handle(ctx: Context) -> None:
        ctx.session["runs"] = ctx.session.get("runs", 0) + 1
        await ctx.reply("working on it")  # queued before the crash, and again by the re-run
        if not MARKER.exists():
            MARKER.write_text(ctx.message.sid)
            await asyncio.sleep(3600)  # killed here
        await ctx.reply(f"session saw {ctx.session['runs']} run(s)")
"""


async def test_sigkill_mid_handler_loses_nothing(
    tmp_path: Path, clean_redis: str, twilio: SandboxTwilio
) -> None:
    (tmp_path / "crashbot.py").write_text(textwrap.dedent(CRASHING_BOT))
    marker = tmp_path / "marker"
    env = _crash_env(tmp_path, marker, clean_redis, twilio)
    params = inbound_params("hello")
    first_port = free_port()
    with botkit_process(
        ["run", "crashbot", "--port", str(first_port)], _serving(env, first_port)
    ) as first:
        await asyncio.to_thread(wait_healthy, first_port, first)
        url = f"http://127.0.0.1:{first_port}/twilio/messages"
        status = await asyncio.to_thread(post_form, url, params)
        assert status == 200
        async with asyncio.timeout(10):
            while not marker.exists():
                await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert [m.body for m in twilio.sent] in ([], ["working on it"])

    second_port = free_port()
    with botkit_process(
        ["run", "crashbot", "--port", str(second_port)], _serving(env, second_port)
    ) as second:
        await asyncio.to_thread(wait_healthy, second_port, second)
        sent = await twilio.wait_for(2, timeout=15)
        await asyncio.sleep(0.5)  # a duplicate, if any, would arrive now
        # The killed run's session changes were never saved; the message ran to completion once,
        # and the reply both runs queued (same inbound MessageSid, same position) went once.
        assert sorted(m.body for m in twilio.sent) == ["session saw 1 run(s)", "working on it"]
        assert len(sent) == 2
        assert marker.read_text() == params["MessageSid"]
        # Twilio redelivering the same webhook now changes nothing.
        url = f"http://127.0.0.1:{second_port}/twilio/messages"
        assert await asyncio.to_thread(post_form, url, params) == 200
        await asyncio.sleep(0.5)
        assert len(twilio.sent) == 2


def _crash_env(
    tmp_path: Path, marker: Path, redis_url: str, twilio: SandboxTwilio
) -> dict[str, str]:
    """A production-mode `botkit run` of tmp_path's crashbot, with short leases so a killed
    process's work is taken over quickly."""
    return clean_env(
        PYTHONPATH=str(tmp_path),
        CRASH_MARKER=str(marker),
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        REDIS_URL=redis_url,
        BOTKIT_TWILIO_BASE_URL=twilio.base_url,
        BOTKIT_LOCK_LEASE="1",
        BOTKIT_INBOUND_LEASE="1",
        BOTKIT_DISPATCH_LEASE="1",
        BOTKIT_CONSENT_PEPPER="crash-test-pepper-0123",
    )


def _serving(env: dict[str, str], port: int) -> dict[str, str]:
    """env for a `botkit run` on port: with an account, the host Twilio calls is configured."""
    return {**env, "BOTKIT_PUBLIC_HOSTS": f"http://127.0.0.1:{port}"}


CRASHING_CONVERSATION_BOT = """
    import asyncio
    import os
    import pathlib

    from botkit import Bot, ConversationContext

    bot = Bot("crashbot")
    MARKER = pathlib.Path(os.environ["CRASH_MARKER"])


    @bot.intent("any", pattern=r".", scope="conversation")
    async def handle(ctx: ConversationContext) -> None:
        ctx.session["runs"] = ctx.session.get("runs", 0) + 1
        await ctx.reply("working on it")  # queued before the crash, and again by the re-run
        if not MARKER.exists():
            MARKER.write_text(ctx.message.sid)
            await asyncio.sleep(3600)  # killed here
        await ctx.reply(f"session saw {ctx.session['runs']} run(s)", attributes={"n": 2})
"""


async def test_sigkill_mid_conversation_handler_posts_nothing_twice(
    tmp_path: Path, clean_redis: str, twilio: SandboxTwilio
) -> None:
    """Conversation replies take the one outbound path: the re-run's posts carry the same keys
    (the inbound MessageSid and their position), so the conversation gets each reply once."""
    (tmp_path / "crashbot.py").write_text(textwrap.dedent(CRASHING_CONVERSATION_BOT))
    marker = tmp_path / "marker"
    env = _crash_env(tmp_path, marker, clean_redis, twilio)
    sdk = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
    try:
        conversation = await sdk.conversations.v1.conversations.create_async()
        alice = await sdk.conversations.v1.conversations(
            conversation.sid
        ).participants.create_async(identity="alice")
        params = {
            "EventType": "onMessageAdded",
            "AccountSid": ACCOUNT_SID,
            "ChatServiceSid": conversation.chat_service_sid,
            "ConversationSid": conversation.sid,
            "MessageSid": "IM" + uuid.uuid4().hex,
            "Index": "0",
            "Author": "alice",
            "Body": "where is my order?",
            "Attributes": "{}",
            "ParticipantSid": alice.sid,
            "Source": "SDK",
            "RetryCount": "0",
            "DateCreated": "2024-05-01T10:00:00.123Z",
        }

        async def posts() -> list[tuple[str, str, dict[str, int]]]:
            listed = await sdk.conversations.v1.conversations(
                conversation.sid
            ).messages.list_async()
            return [(m.author, m.body, json.loads(m.attributes or "{}")) for m in listed]

        first_port = free_port()
        with botkit_process(
            ["run", "crashbot", "--port", str(first_port)], _serving(env, first_port)
        ) as first:
            await asyncio.to_thread(wait_healthy, first_port, first)
            url = f"http://127.0.0.1:{first_port}/twilio/conversations"
            assert await asyncio.to_thread(post_form, url, params) == 200
            async with asyncio.timeout(10):
                while not marker.exists():
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # let the first reply reach the conversation, as it may
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert await posts() in ([], [("bot", "working on it", {})])

        second_port = free_port()
        with botkit_process(
            ["run", "crashbot", "--port", str(second_port)], _serving(env, second_port)
        ) as second:
            await asyncio.to_thread(wait_healthy, second_port, second)
            async with asyncio.timeout(15):
                while len(await posts()) < 2:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # a duplicate, if any, would arrive now
            assert sorted(await posts(), key=str) == [
                ("bot", "session saw 1 run(s)", {"n": 2}),
                ("bot", "working on it", {}),
            ]
            assert marker.read_text() == params["MessageSid"]
    finally:
        await sdk.http_client.close()
