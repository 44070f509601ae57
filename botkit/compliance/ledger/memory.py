"""ConsentLedger in process memory, for development and tests; it mirrors the Redis semantics.

Each operation runs without awaiting in between, so under asyncio it is as atomic as the Redis
script. A restart forgets every opt-out, which is why production uses RedisConsentLedger.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    Action,
    ConsentEvent,
    ConsentRecord,
    ScopeState,
    check_keyword,
    check_scopes,
    check_source,
    event_row,
    is_blocked,
    normalize_scope,
    record_row,
)


class MemoryConsentLedger:
    """ConsentLedger in dicts, keyed by number hash like the Redis one."""

    def __init__(self, hasher: NumberHasher) -> None:
        self.hasher = hasher
        self._seq = 0
        self._states: dict[tuple[str, str], ScopeState] = {}
        self._records: dict[tuple[str, str], ConsentRecord] = {}
        self._audit: dict[str, list[ConsentEvent]] = {}

    @property
    def changes(self) -> int:
        """How many opt-outs and opt-ins were ever recorded: a claim reads it with its consent
        check, the way the Redis queue reads the ledger's ``seq`` key in its claim script."""
        return self._seq

    async def prepare(self) -> None:
        """Nothing to make ready: one process, one copy."""

    async def opt_out(self, number: str, scope: str, *, keyword: str | None, source: str) -> bool:
        return self._apply("opt_out", number, scope, keyword, source)

    async def opt_in(self, number: str, scope: str, *, keyword: str | None, source: str) -> bool:
        return self._apply("opt_in", number, scope, keyword, source)

    async def is_opted_out(self, number: str, scopes: Iterable[str]) -> bool:
        digest = self.hasher.digest(number)
        states = [self._states.get((digest, scope)) for scope in check_scopes(scopes)]
        return is_blocked(self._states.get((digest, GLOBAL_SCOPE)), states)

    async def entries(self, scope: str | None = None) -> list[ConsentRecord]:
        wanted = None if scope is None else normalize_scope(scope)
        found = [r for r in self._records.values() if wanted is None or r.scope == wanted]
        return sorted(found, key=lambda r: (r.at, r.number_hash, r.scope))

    async def history(self, number: str) -> list[ConsentEvent]:
        return list(self._audit.get(self.hasher.digest(number), []))

    async def export(
        self, scope: str | None = None, *, history: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        if not history:
            for record in await self.entries(scope):
                yield record_row(record)
            return
        wanted = None if scope is None else normalize_scope(scope)
        for digest in sorted(self._audit):
            for event in list(self._audit[digest]):
                if wanted is None or event.scope == wanted:
                    yield event_row(event)

    def _apply(
        self, action: Action, number: str, raw_scope: str, keyword: str | None, source: str
    ) -> bool:
        scope = normalize_scope(raw_scope)
        source, keyword = check_source(source), check_keyword(keyword)
        digest, masked = self.hasher.digest(number), self.hasher.mask(number)
        key, global_key = (digest, scope), (digest, GLOBAL_SCOPE)
        before = self._blocked(key, global_key)
        self._seq += 1
        at = datetime.fromtimestamp(time.time(), UTC)
        current = self._states.get(key)
        was_out = current is not None and current.kind == "out"
        if action == "opt_out":
            if scope == GLOBAL_SCOPE or not was_out:
                # A repeated STOPALL refreshes the sequence, cancelling exemptions made since.
                self._states[key] = ScopeState("out", self._seq)
            if not was_out:
                self._records[key] = ConsentRecord(
                    number_hash=digest, masked=masked, scope=scope,
                    keyword=keyword, source=source, at=at,
                )
        else:
            self._records.pop(key, None)
            if scope != GLOBAL_SCOPE and global_key in self._states:
                self._states[key] = ScopeState("in", self._seq)
            else:
                self._states.pop(key, None)
        self._audit.setdefault(digest, []).append(
            ConsentEvent(
                number_hash=digest, masked=masked, seq=self._seq, at=at, action=action,
                scope=scope, keyword=keyword, source=source,
            )
        )
        return before != self._blocked(key, global_key)

    def _blocked(self, key: tuple[str, str], global_key: tuple[str, str]) -> bool:
        scoped = [] if key == global_key else [self._states.get(key)]
        return is_blocked(self._states.get(global_key), scoped)
