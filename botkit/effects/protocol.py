"""The EffectStore protocol: the result of each side effect a handler ran, under its key.

A handler re-run after a crash repeats its sends without sending twice (their idempotency keys
come from the inbound event), but anything else it did (a ticket opened in a CRM, a refund, a
record written) would happen again. ``ctx.once(step, effect)`` keys such a step on the inbound
event and the step's name, runs it only when no result is stored under that key, and stores the
result: a re-run gets the first run's result back instead of running it again.

Results are kept ``ttl`` seconds (a day by default, as long as a MessageSid is remembered), long
enough for any re-run of the event.
"""

from __future__ import annotations

from typing import Protocol

#: How long a side effect's result is kept by default (seconds).
EFFECT_TTL = 24 * 3600.0


class EffectStore(Protocol):
    async def get(self, key: str) -> str | None:
        """The result stored under ``key``, or None if its effect never completed."""

    async def put_first(self, key: str, result: str, ttl: float) -> str:
        """Store ``result`` unless one is stored already; the stored one (the first wins)."""
