"""The bot under test, running for real in this process, with the sandbox as its Twilio.

Nothing is mocked: the sandbox posts signed webhooks to the bot's aiohttp server, which checks
the signatures, queues, routes, loads and saves sessions, and sends replies through the
outbound worker and the official Twilio SDK back to the sandbox. Only what merely slows tests is
changed: sender rates are high, and status callbacks are on only when the bot listens to them.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from botkit.app.bot import Bot
from botkit.errors import ConfigError
from botkit.handoff.history.protocol import HistoryEntry
from botkit.logging import ensure_masked
from botkit.outbound.limits.rates import RateTable
from botkit.runtime.runtime import Runtime
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.content import template_from_request
from botkit.sandbox.errors import ApiError
from botkit.sandbox.ids import new_sid
from botkit.server.app import RUNTIME, create_app
from botkit.settings import Settings, describe_validation_error
from botkit.testing.agent import TestAgent
from botkit.testing.clock import TestClock
from botkit.testing.hub import EventHub
from botkit.testing.messages import Message
from botkit.testing.phone import TestPhone
from botkit.testing.sandbox_client import SandboxClient
from botkit.testing.stage import failure
from botkit.twilio.address import parse_address
from botkit.twilio.conversation_events import HANDLED_EVENTS
from botkit.twilio.inbound import Channel, InboundMessage

#: The test account: not the development sandbox's, so the bot runs as in production.
ACCOUNT_SID = "AC" + "7e57" * 8
AUTH_TOKEN = "botkit-testing-auth-token"
BOT_NUMBER = "+15550002222"
#: High enough that no test waits on a sender's rate; the limits are still enforced.
FAST_RATES = RateTable(
    long_code=10_000, toll_free=10_000, short_code=10_000, messaging_service=10_000,
    whatsapp=10_000,
)
#: Seconds a stopping bot keeps sending what it queued (memory stores).
STOP_GRACE = 0.5
_TEMPLATE_SID = re.compile(r"HX[0-9a-fA-F]{32}")
class Tester:
    """Starts the sandbox and the bot, hands out phones, and waits for things to settle.

    ``async with Tester(bot) as tester:`` outside pytest; the ``tester`` fixture does this
    for you. ``redis_url``: run on Redis (its database is emptied first) instead of memory.
    ``settings``: Settings fields to override (e.g. ``{"quiet_hours": {...}}``).
    ``status_callbacks``: whether messages carry a StatusCallback; by default only when the
    bot has ``@bot.on_status`` hooks (each callback is four more webhooks per message).
    """

    __test__ = False

    def __init__(
        self,
        bot: Bot,
        *,
        redis_url: str | None = None,
        bot_number: str = BOT_NUMBER,
        settings: Mapping[str, Any] | None = None,
        status_callbacks: bool | None = None,
        twilio_keyword_replies: bool = False,
        within: float = 2.0,
        clock: TestClock | None = None,
    ) -> None:
        if not isinstance(bot, Bot):
            raise TypeError(f"Tester needs a botkit.Bot, got {type(bot).__name__}")
        self.bot = bot
        self.bot_number = _bare_number(bot_number, "bot_number")
        self.redis_url = redis_url
        self.default_timeout = within
        self.clock = clock or TestClock()
        self.clock.on_jump(self._release_held)
        self._releases: set[asyncio.Task[None]] = set()
        self._overrides = dict(settings or {})
        unknown = sorted(set(self._overrides) - set(Settings.model_fields))
        if unknown:
            raise ValueError(
                f"unknown setting {', '.join(map(repr, unknown))}: settings= takes Settings "
                "field names, e.g. {'session_ttl': 60, 'quiet_hours': {...}}"
            )
        self._status_callbacks = (
            len(bot.compile_status_hooks()) > 0 if status_callbacks is None else status_callbacks
        )
        self.sandbox = Sandbox(
            SandboxConfig(
                account_sid=ACCOUNT_SID,
                auth_token=AUTH_TOKEN,
                status_step=0.001,
                keyword_replies=twilio_keyword_replies,
            )
        )
        self.hub = EventHub(self.sandbox.state.bus)
        self._runner: web.AppRunner | None = None
        self._client: SandboxClient | None = None
        self._phones: dict[str, TestPhone] = {}
        self._agents: dict[str, TestAgent] = {}
        self.settings: Settings | None = None

    # Lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Tester:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        # Masked logs even when nothing configured logging (a bot's own test suite).
        ensure_masked()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        try:
            # The sandbox's URL is not known yet: settings are checked first, then completed.
            self.settings = self._settings(base, "http://127.0.0.1:1")
            if self.redis_url is not None:
                await _empty_redis(self.redis_url)
            await self.sandbox.start()
        except BaseException:
            listener.close()
            raise
        self.settings = self._settings(base, self.sandbox.url)
        await self.hub.start()
        self._client = SandboxClient(self.sandbox.url, ACCOUNT_SID, AUTH_TOKEN)
        self._runner = web.AppRunner(create_app(self.bot, self.settings), access_log=None)
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, listener).start()
        except BaseException:
            listener.close()
            await self.stop()
            raise
        self.sandbox.own_number(self.bot_number, f"{base}/twilio/messages")
        await self.client.configure_conversation_webhooks(
            f"{base}/twilio/conversations", HANDLED_EVENTS
        )

    def _release_held(self, ahead: float) -> None:
        """The clock jumped: messages held in the queue (quiet hours, send_at) whose time has
        come on the test clock go back in line, as they would have by waiting, and timers that
        came due fire."""
        if self._runner is None or RUNTIME not in self._runner.app:
            return
        task = asyncio.get_running_loop().create_task(self._promote(ahead))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _promote(self, ahead: float) -> None:
        if self._runner is None:
            return
        runtime = self._runner.app[RUNTIME]
        runtime.timer_feed.wake()  # timers are due by the rule clock: look at once
        due_by_us = int((time.time() + ahead) * 1_000_000)
        released = await runtime.stores.queue.promote_delayed(due_by_us)
        if released and runtime.outbound_worker is not None:
            runtime.outbound_worker.wake()

    async def stop(self) -> None:
        if self._releases:
            await asyncio.gather(*self._releases, return_exceptions=True)
        if self._runner is not None:
            if RUNTIME in self._runner.app:
                # What is due goes out at test rates within this; what is held (quiet hours)
                # would otherwise hold the teardown for the runtime's full grace.
                self._runner.app[RUNTIME].drain_grace = STOP_GRACE
            await self._runner.cleanup()
            self._runner = None
        await self.hub.stop()
        if self._client is not None:
            await self._client.close()
            self._client = None
        await self.sandbox.stop()

    def _settings(self, base_url: str, sandbox_url: str) -> Settings:
        # Every field given explicitly: a test must not pick up REDIS_URL or BOTKIT_QUIET_HOURS
        # from the shell it happens to run in.
        values: dict[str, Any] = {
            name: field.get_default(call_default_factory=True)
            for name, field in Settings.model_fields.items()
        }
        values.update(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_base_url=sandbox_url,
            redis_url=self.redis_url,
            public_url=base_url if self._status_callbacks else None,
            # Signatures are checked over this origin, not one a request names.
            public_hosts=base_url,
            consent_pepper="botkit-testing-pepper",
            rates=FAST_RATES,
            log_format="json",
        )
        values.update(self._overrides)
        try:
            return Settings(**values)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None

    # What tests use -----------------------------------------------------------------------

    @property
    def client(self) -> SandboxClient:
        if self._client is None:
            raise RuntimeError("the tester is not running (use `async with Tester(bot)`)")
        return self._client

    @property
    def runtime(self) -> Runtime:
        """The running bot's stores, outbox and workers (for assertions on sessions, say)."""
        if self._runner is None:
            raise RuntimeError("the tester is not running (use `async with Tester(bot)`)")
        return self._runner.app[RUNTIME]

    def phone(self, number: str, *, whatsapp: bool = False) -> TestPhone:
        """A phone that texts the bot: ``+1555...`` for SMS/MMS, and with ``whatsapp=True``
        (or a ``whatsapp:`` address) a WhatsApp user. The same number gives the same phone."""
        address = _bare_number(number, "phone number")
        if whatsapp or number.strip().lower().startswith("whatsapp:"):
            address = "whatsapp:" + address
        found = self._phones.get(address)
        if found is None:
            found = self._phones[address] = TestPhone(self, address)
        return found

    async def session(self, phone: TestPhone, *, channel: Channel | None = None) -> Any:
        """The bot's 1:1 session with ``phone`` as stored now (None when it has none), read
        through the session store: what the next message's handler will load."""
        probe = InboundMessage(
            sid="SM" + "0" * 32,
            channel=channel or ("whatsapp" if phone.whatsapp else "sms"),
            sender=parse_address(phone.address),
            recipient=parse_address(("whatsapp:" if phone.whatsapp else "") + self.bot_number),
            params={},
        )
        stores = self.runtime.stores
        return await stores.sessions.get(stores.session_keys.direct(probe))

    def agent(self, identity: str) -> TestAgent:
        """A chat participant of Conversations (a human agent): the bot's handoff adds it to a
        conversation, ``tester.conversation`` too; it reads and writes there."""
        if not identity.strip():
            raise ValueError("an agent needs a chat identity, e.g. tester.agent('agent-7')")
        found = self._agents.get(identity)
        if found is None:
            found = self._agents[identity] = TestAgent(self, identity)
        return found

    async def conversation(
        self, *members: TestPhone | TestAgent, friendly_name: str | None = None
    ) -> str:
        """A new Conversation with these members, as an app would create it (the bot gets the
        webhooks): phones bound through the bot's number, so their texts go into it, and chat
        agents by identity. Its SID."""
        sid = await self.client.create_conversation(friendly_name)
        for member in members:
            if isinstance(member, TestAgent):
                await self.client.add_participant(sid, identity=member.identity)
            else:
                proxy = ("whatsapp:" if member.whatsapp else "") + self.bot_number
                await self.client.add_participant(sid, address=member.address, proxy_address=proxy)
        return sid

    async def expect_status(
        self, message: Message, status: str, *, within: float | None = None
    ) -> Message:
        """Wait until ``message`` (one a phone received) reaches ``status`` (``delivered``,
        ``undelivered``, ``failed``...), as the sandbox reports it in status callbacks."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        wait = self.default_timeout if within is None else within
        try:
            async with asyncio.timeout(wait):
                while status not in message.history:
                    await self.hub.status_changed()
        except TimeoutError:
            raise await failure(
                self,
                f"expected message {message.sid} to {message.recipient} to become {status} "
                f"within {wait} s, but its statuses were: {', '.join(message.history)}",
            ) from None
        return message

    def add_template(
        self,
        types: Mapping[str, Any],
        *,
        sid: str | None = None,
        variables: Mapping[str, str] | None = None,
        friendly_name: str | None = None,
        language: str = "en",
    ) -> str:
        """Register a Content template in the sandbox; its SID. Bots name approved templates
        by SID (``WhatsAppTemplate(content_sid=...)``), so give ``sid`` to register the one the
        bot already uses. ``types`` as in the Content API, e.g.
        ``{"twilio/quick-reply": {"body": "{{1}}", "actions": [{"title": "Track", "id": "t"}]}}``.
        """
        chosen = sid or new_sid("HX")
        if not _TEMPLATE_SID.fullmatch(chosen):
            raise ValueError(f"a Content SID is HX followed by 32 hex digits, got {chosen!r}")
        definition = {
            "friendly_name": friendly_name,
            "language": language,
            "variables": dict(variables or {}),
            "types": dict(types),
        }
        try:
            template = template_from_request(chosen, ACCOUNT_SID, definition)
        except ApiError as exc:
            raise ValueError(f"bad template: {exc.message}") from None
        self.sandbox.state.contents[chosen] = template
        return chosen

    async def settle(self, within: float = 5.0) -> bool:
        """Wait until the sandbox has nothing in flight and the bot has handled every inbound
        event and sent every message it queued; False if that did not happen ``within`` seconds
        (a message held for quiet hours, say, keeps the bot busy)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        quiet_rounds = 0
        while loop.time() < deadline:
            seen = self.hub.count
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self.sandbox.settle()
            except TimeoutError:
                return False
            if await self._bot_idle() and self.hub.count == seen:
                quiet_rounds += 1
                if quiet_rounds == 2:
                    return True
                await asyncio.sleep(0)
            else:
                quiet_rounds = 0
                await asyncio.sleep(0.001)
        return False

    async def _bot_idle(self) -> bool:
        stores = self.runtime.stores
        return not await stores.inbound.backlog() and not await stores.queue.pending()

    async def notices(self, agent: str, after: int) -> list[HistoryEntry]:
        return await self.runtime.conversations.handoff.notices.of(agent, after)

    async def diagnosis(self) -> str:
        """Dead letters: messages the outbound worker gave up on, the usual reason for silence."""
        dead = await self.runtime.stores.queue.dead_letters(limit=5)
        if not dead:
            return ""
        lines = ["messages the bot could not send (dead letters):"]
        lines.extend(
            f"  to {letter.job.message.to}: {letter.reason}"
            + (f" ({letter.error})" if letter.error else "")
            for letter in dead
        )
        return "\n".join(lines)


def _bare_number(raw: str, label: str) -> str:
    try:
        return parse_address(raw).number
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None


async def _empty_redis(url: str) -> None:
    """Each test starts from nothing, as with the memory stores."""
    redis = Redis.from_url(url, socket_connect_timeout=3)
    try:
        await redis.flushdb()
    except (RedisError, OSError) as exc:
        raise ConfigError(f"redis_url {url}: cannot reach Redis ({exc})") from None
    finally:
        await redis.aclose()
