"""Startup and shutdown hooks: where a bot opens what it owns and closes it again.

A bot often keeps its own data next to the sessions (tickets, survey answers, an order cache)
and must choose where from the same settings the runtime uses: Redis with ``REDIS_URL``, memory
without. Opening it at import time would bind a Redis client to no event loop in particular and
read the environment before the CLI has validated it; a startup hook runs inside the server's
loop, with the validated settings, before the first message is handled.

Hooks also get the Twilio SDK client (async, pointed at the sandbox in development) for set-up
calls such as finding or creating the bot's Content templates. They run before the outbound worker
starts, so a hook may still choose ``bot.whatsapp_template``. A hook that raises stops start-up;
a ``ConfigError`` becomes the one-line error the CLI prints.

Shutdown hooks run once the runtime has stopped (handlers and sends finished), in reverse order
of registration, each on its own: one that fails is logged and the others still run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from botkit.logging import get_logger
from botkit.settings import Settings

log = get_logger("lifecycle")


@dataclass(frozen=True)
class Startup:
    """What a startup hook receives. ``twilio``: the runtime's ``twilio.rest.Client`` for async
    calls (``await startup.twilio.content.v1.contents.list_async()``), open while the bot runs."""

    settings: Settings
    twilio: Any


StartupHook = Callable[[Startup], Awaitable[None]]
ShutdownHook = Callable[[], Awaitable[None]]


class Lifecycle:
    """A bot's startup and shutdown hooks, in registration order."""

    def __init__(self) -> None:
        self.startup: list[StartupHook] = []
        self.shutdown: list[ShutdownHook] = []

    async def start(self, settings: Settings, twilio: Any) -> None:
        """Run every startup hook in order, with the runtime's Twilio client; the first that
        raises stops start-up."""
        for hook in self.startup:
            await hook(Startup(settings, twilio))

    async def stop(self) -> None:
        """Run every shutdown hook, last registered first; failures are logged, not raised."""
        for hook in reversed(self.shutdown):
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed", hook=hook.__qualname__)
