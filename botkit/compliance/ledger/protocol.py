"""The ConsentLedger protocol: who opted out of which sender, and the audit trail of how.

Implementations: ``MemoryConsentLedger`` (ledger_memory.py, one process, development and tests)
and ``RedisConsentLedger`` (ledger_redis.py, production; its module documents the key layout the
outbound worker reads inside its claim script). The same test suite runs against both.

Scopes. An opt-out is about one scope:

- a sender: ``+15550001111``, ``whatsapp:+15550001111`` or a short code ``12345``. SMS and
  WhatsApp from the same number are different senders, as they are on Twilio;
- a Messaging Service SID (``MG...``): Twilio applies opt-outs per service when the sender is in
  one, so a STOP to any number of the pool covers the pool;
- ``GLOBAL_SCOPE`` (``*``): every sender, for STOPALL (when the keyword policy marks it global).

``is_opted_out(number, scopes)`` takes the scopes a message would be sent under (its sender
and, if any, its service) and always checks the global scope too.

START and a global opt-out. START lifts the opt-out of the scope it names. After a STOPALL it
also exempts that scope, and only that scope, from the global opt-out: the person asked for
messages from that sender again, so blocking them would ignore explicit consent, while lifting
the global opt-out would re-subscribe them to senders they never asked back. A later STOPALL
cancels every such exemption. Operators lift a global opt-out with ``opt_in(..., GLOBAL_SCOPE)``;
that leaves per-scope opt-outs standing, which were separate requests. To make "later" exact
across processes, every change takes a sequence number from one counter.

The audit trail is append-only: every call to opt_out or opt_in is recorded, whether or not it
changed anything, since a repeated STOP is still evidence of what the person asked for.

For the inbound pipeline, ``record_keyword`` turns a classified STOP/START (keywords.py) into
the right ledger call, with ``scope_for`` choosing the scope as Twilio does.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.keywords import KeywordMatch
from botkit.twilio.address import parse_address

GLOBAL_SCOPE = "*"
Action = Literal["opt_out", "opt_in"]

#: Where an opt-out or opt-in came from; any short string is accepted, these are the usual ones.
SOURCE_KEYWORD = "keyword"
SOURCE_TWILIO_21610 = "twilio-21610"
SOURCE_OPERATOR = "operator"

_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def normalize_scope(raw: str) -> str:
    """Canonical spelling of a scope; ValueError if it is not a sender, a service or ``*``."""
    text = raw.strip()
    if text == GLOBAL_SCOPE or _SERVICE_SID.match(text):
        return text
    try:
        return str(parse_address(text))
    except ValueError:
        raise ValueError(
            f"scope {raw!r} is not a sender number, a whatsapp: address, a Messaging Service "
            f"SID (MG...) or {GLOBAL_SCOPE!r}"
        ) from None


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes to look up besides the global one: normalised, deduplicated, in order."""
    seen: list[str] = []
    for raw in scopes:
        scope = normalize_scope(raw)
        if scope != GLOBAL_SCOPE and scope not in seen:
            seen.append(scope)
    return seen


def scope_for(sender: str, messaging_service_sid: str | None = None) -> str:
    """The scope a keyword sent to ``sender`` is about: its Messaging Service when the message
    came through one (Twilio keeps opt-outs per service), else the sender itself."""
    return normalize_scope(messaging_service_sid or sender)


def check_keyword(keyword: str | None) -> str | None:
    """The keyword as recorded: trimmed, None when there was none (operator actions)."""
    return (keyword or "").strip() or None


def check_source(source: str) -> str:
    if not source.strip():
        raise ValueError("an opt-out or opt-in needs a source (e.g. 'keyword', 'operator')")
    return source.strip()


@dataclass(frozen=True)
class ScopeState:
    """The stored state of one (number, scope): an opt-out, or an exemption from a global one.

    Encoded as ``out:<seq>`` / ``in:<seq>`` so a Lua script can read it with one pattern match.
    """

    kind: Literal["out", "in"]
    seq: int

    def encode(self) -> str:
        return f"{self.kind}:{self.seq}"

    @classmethod
    def decode(cls, raw: str | bytes | None) -> ScopeState | None:
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        kind, _, seq = text.partition(":")
        if kind not in ("out", "in"):
            raise ValueError(f"unexpected consent state {text!r}")
        return cls(kind="out" if kind == "out" else "in", seq=int(seq))


def is_blocked(global_state: ScopeState | None, scope_states: Iterable[ScopeState | None]) -> bool:
    """The consent rule: any scope opted out blocks; a global opt-out blocks unless one of the
    scopes was explicitly opted back in after it. ledger_redis.CONSENT_LUA is the same rule."""
    exempt = False
    for state in scope_states:
        if state is None:
            continue
        if state.kind == "out":
            return True
        if global_state is not None and state.seq > global_state.seq:
            exempt = True
    return global_state is not None and global_state.kind == "out" and not exempt


class ConsentRecord(BaseModel):
    """A standing opt-out: the number behind ``number_hash`` gets nothing from ``scope``."""

    model_config = ConfigDict(frozen=True)

    number_hash: str
    masked: str
    scope: str
    keyword: str | None
    source: str
    at: datetime


class ConsentEvent(BaseModel):
    """One audit-trail entry. ``seq`` orders events across all numbers and processes."""

    model_config = ConfigDict(frozen=True)

    number_hash: str
    masked: str
    seq: int
    at: datetime
    action: Action
    scope: str
    keyword: str | None
    source: str


class ConsentLedger(Protocol):
    @property
    def hasher(self) -> NumberHasher:
        """The HMAC used for keys; the outbound worker needs it to build consent keys itself."""

    async def prepare(self) -> None:
        """Make ready before serving: the Redis ledger fills the copies the outbound queue's
        shards check consent in."""

    async def opt_out(self, number: str, scope: str, *, keyword: str | None, source: str) -> bool:
        """Record that number wants nothing from scope. True if that changed whether messages
        from scope reach the number."""

    async def opt_in(self, number: str, scope: str, *, keyword: str | None, source: str) -> bool:
        """Record that number wants messages from scope again (START, operator removal). True if
        that changed whether messages from scope reach the number."""

    async def is_opted_out(self, number: str, scopes: Iterable[str]) -> bool:
        """Whether a message under these scopes (sender and/or service) must not be sent; the
        global scope is always checked. One atomic read."""

    async def entries(self, scope: str | None = None) -> list[ConsentRecord]:
        """Standing opt-outs, optionally of one scope, oldest first (operators)."""

    async def history(self, number: str) -> list[ConsentEvent]:
        """One number's audit trail, oldest first."""

    def export(
        self, scope: str | None = None, *, history: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """JSON-ready rows: standing opt-outs, or with ``history`` every audit event."""


def record_row(record: ConsentRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


def event_row(event: ConsentEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


async def record_keyword(
    ledger: ConsentLedger,
    match: KeywordMatch,
    *,
    number: str,
    sender: str,
    messaging_service_sid: str | None = None,
) -> bool:
    """Write what an inbound keyword means: opt-outs (global ones to ``*``) and opt-ins to the
    sender's scope; HELP writes nothing. Returns whether the verdict for that scope changed."""
    if match.kind == "help":
        return False
    scope = GLOBAL_SCOPE if match.is_global else scope_for(sender, messaging_service_sid)
    change = ledger.opt_out if match.kind == "opt_out" else ledger.opt_in
    return await change(number, scope, keyword=match.keyword, source=SOURCE_KEYWORD)
