"""The EffectStore protocol: the result of each side effect a handler ran, under its key.

A handler re-run after a crash repeats its sends without sending twice (their idempotency keys
come from the inbound event), but anything else it did (a ticket opened in a CRM, a refund, a
record written) would happen again. ``ctx.once(step, effect)`` keys such a step on the inbound
event and the step's name, runs it only when no result is stored under that key, and stores the
result: a re-run gets the first run's result back instead of running it again.

Results are kept ``ttl`` seconds (a day by default, as long as a MessageSid is remembered), long
enough for any re-run of the event. A result may hold what the effect made for the person who
wrote (their ticket), so the pipeline stores each under the writer's pseudonym
(``owned_by``), and a person's are exported and erased by it.
"""

from __future__ import annotations

from typing import Protocol

from botkit.core.person import Found, Person

#: How long a side effect's result is kept by default (seconds).
EFFECT_TTL = 24 * 3600.0


class EffectStore(Protocol):
    async def get(self, key: str) -> str | None:
        """The result stored under ``key``, or None if its effect never completed."""

    async def put_first(self, key: str, result: str, ttl: float) -> str:
        """Store ``result`` unless one is stored already; the stored one (the first wins)."""

    async def export_person(self, person: Person) -> Found:
        """The results stored under ``person``'s pseudonym."""

    async def erase_person(self, person: Person) -> int:
        """Delete them; how many there were."""


class OwnedEffects:
    """The results of the side effects of one person's events, kept under their pseudonym
    (``<pseudonym>:<key>``) in ``store``."""

    def __init__(self, store: EffectStore, owner: str) -> None:
        self._store = store
        self._owner = owner

    async def get(self, key: str) -> str | None:
        return await self._store.get(f"{self._owner}:{key}")

    async def put_first(self, key: str, result: str, ttl: float) -> str:
        return await self._store.put_first(f"{self._owner}:{key}", result, ttl)

    async def export_person(self, person: Person) -> Found:
        return await self._store.export_person(person)

    async def erase_person(self, person: Person) -> int:
        return await self._store.erase_person(person)


def owned_by(store: EffectStore | None, owner: str) -> EffectStore | None:
    return None if store is None else OwnedEffects(store, owner)
